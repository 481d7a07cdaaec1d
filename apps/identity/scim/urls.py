"""``/scim/v2/`` on tenant hosts (never on the provider host: its urlconf does not include this)."""

from django.urls import path, re_path

from . import views

app_name = "scim"

urlpatterns = [
    path("ServiceProviderConfig", views.service_provider_config, name="service-provider-config"),
    path("ResourceTypes", views.resource_types, name="resource-types"),
    path("ResourceTypes/<str:name>", views.resource_types, name="resource-type"),
    path("Schemas", views.schema_list, name="schemas"),
    path("Schemas/<str:urn>", views.schema_list, name="schema"),
    path(".search", views.root_search, name="root-search"),
    re_path(r"^(?P<resource>Users|Groups)$", views.collection, name="collection"),
    re_path(r"^(?P<resource>Users|Groups)/\.search$", views.search, name="search"),
    re_path(r"^(?P<resource>Users|Groups)/(?P<scim_id>[^/]+)$", views.item, name="item"),
    re_path(r"^(?P<rest>.*)$", views.unknown, name="unknown"),
]
