"""The access-control pages, included under /access/ on tenant hosts."""

from django.urls import path

from . import views

app_name = "access"

urlpatterns = [
    path("", views.index, name="index"),
    path("roles/", views.role_list, name="role-list"),
    path("roles/add/", views.role_add, name="role-add"),
    path("roles/<int:pk>/", views.role_detail, name="role-detail"),
    path("roles/<int:pk>/edit/", views.role_edit, name="role-edit"),
    path("roles/<int:pk>/delete/", views.role_delete, name="role-delete"),
    path("groups/", views.group_list, name="group-list"),
    path("groups/add/", views.group_add, name="group-add"),
    path("groups/<int:pk>/", views.group_detail, name="group-detail"),
    path("groups/<int:pk>/edit/", views.group_edit, name="group-edit"),
    path("groups/<int:pk>/delete/", views.group_delete, name="group-delete"),
    path("groups/<int:pk>/members/add/", views.group_member_add, name="group-member-add"),
    path("groups/<int:pk>/members/<int:user_pk>/remove/", views.group_member_remove, name="group-member-remove"),
    path("groups/<int:pk>/groups/add/", views.group_child_add, name="group-child-add"),
    path("groups/<int:pk>/groups/<int:child_pk>/remove/", views.group_child_remove, name="group-child-remove"),
    path("assignments/", views.assignment_list, name="assignment-list"),
    path("assignments/add/", views.assignment_add, name="assignment-add"),
    path("assignments/<int:pk>/delete/", views.assignment_delete, name="assignment-delete"),
    path("policies/", views.policy_list, name="policy-list"),
    path("policies/add/", views.policy_add, name="policy-add"),
    path("policies/validate/", views.policy_validate, name="policy-validate"),
    path("policies/<int:pk>/", views.policy_detail, name="policy-detail"),
    path("policies/<int:pk>/delete/", views.policy_delete, name="policy-delete"),
    path("grants/", views.grant_list, name="grant-list"),
    path("grants/add/", views.grant_add, name="grant-add"),
    path("grants/remove/", views.grant_remove, name="grant-remove"),
    path("users/<int:pk>/permissions/", views.user_permissions, name="user-permissions"),
    path("simulator/", views.simulator, name="simulator"),
]
