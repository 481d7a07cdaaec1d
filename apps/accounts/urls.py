"""Account pages, included by both the provider and the tenant URL confs."""

from django.urls import path

from . import delegation_views, user_views, views

app_name = "accounts"

urlpatterns = [
    path("sign-in/", views.SignInView.as_view(), name="sign-in"),
    path("sign-out/", views.SignOutView.as_view(), name="sign-out"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password-change"),
    path("account/password/done/", views.PasswordChangeDoneView.as_view(), name="password-change-done"),
    path("account/", views.profile, name="profile"),
    path("account/sessions/", views.sessions, name="sessions"),
    path("account/tokens/", views.api_tokens, name="api-tokens"),
    path("account/tokens/<int:pk>/revoke/", views.api_token_revoke, name="api-token-revoke"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password-reset"),
    path("password-reset/sent/", views.PasswordResetDoneView.as_view(), name="password-reset-done"),
    path("password-reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password-reset-confirm"),
    path("sub-tenants/", delegation_views.sub_tenants, name="sub-tenants"),
    path("sub-tenants/<slug:slug>/open/", delegation_views.sub_tenant_open, name="sub-tenant-open"),
    path("delegate/<str:token>/", delegation_views.delegate, name="delegate"),
    path("password-reset/complete/", views.PasswordResetCompleteView.as_view(), name="password-reset-complete"),
    path("invitation/<uidb64>/<token>/", user_views.InvitationView.as_view(), name="invitation"),
    path("settings/security/", views.security_settings, name="security-settings"),
]
