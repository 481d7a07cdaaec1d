"""The users pages, included under /users/ on tenant hosts only (provider staff are managed in the admin)."""

from django.urls import path

from . import user_views

app_name = "users"

urlpatterns = [
    path("", user_views.user_list, name="list"),
    path("add/", user_views.user_add, name="add"),
    path("bulk/", user_views.user_bulk, name="bulk"),
    path("<int:pk>/", user_views.user_detail, name="detail"),
    path("<int:pk>/disable/", user_views.user_action, {"action": "disable"}, name="disable"),
    path("<int:pk>/enable/", user_views.user_action, {"action": "enable"}, name="enable"),
    path("<int:pk>/reset-password/", user_views.user_action, {"action": "reset-password"}, name="reset-password"),
    path("<int:pk>/unlock/", user_views.user_action, {"action": "unlock"}, name="unlock"),
    path("<int:pk>/invite/", user_views.user_action, {"action": "invite"}, name="invite"),
]
