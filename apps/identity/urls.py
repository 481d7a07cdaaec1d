"""The identity pages (/identity/ on tenant hosts) and each SAML provider's public SP endpoints."""

from django.urls import path

from . import oidc_flow, saml_flow, views

app_name = "identity"

urlpatterns = [
    path("", views.provider_list, name="provider-list"),
    path("settings/", views.settings_edit, name="settings"),
    path("scim-tokens/", views.scim_token_create, name="scim-token-create"),
    path("scim-tokens/<int:pk>/revoke/", views.scim_token_revoke, name="scim-token-revoke"),
    path("add/oidc/", views.provider_add_oidc, name="provider-add-oidc"),
    path("add/saml/", views.provider_add_saml, name="provider-add-saml"),
    path("<int:pk>/", views.provider_detail, name="provider-detail"),
    path("<int:pk>/edit/", views.provider_edit, name="provider-edit"),
    path("<int:pk>/enable/", views.provider_enable, name="provider-enable"),
    path("<int:pk>/disable/", views.provider_disable, name="provider-disable"),
    path("<int:pk>/default/", views.provider_default, name="provider-default"),
    path("<int:pk>/delete/", views.provider_delete, name="provider-delete"),
    path("<int:pk>/mappings/add/", views.mapping_add, name="mapping-add"),
    path("<int:pk>/mappings/<int:mapping_pk>/delete/", views.mapping_delete, name="mapping-delete"),
    path("<int:pk>/mappings/preview/", views.mapping_preview, name="mapping-preview"),
    path("sso/<slug:slug>/", views.sso_start, name="sso-start"),
    path("saml/<slug:slug>/metadata/", views.saml_metadata, name="saml-metadata"),
    path("saml/<slug:slug>/acs/", saml_flow.acs, name="saml-acs"),
    path("saml/<slug:slug>/sls/", saml_flow.sls, name="saml-sls"),
    path("oidc/callback/", oidc_flow.callback, name="oidc-callback"),
]
