"""Shared by the SCIM tests: an in-process scim2-client (its WSGI engine on Django's handler) and a token maker."""

from __future__ import annotations

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django_tenants.utils import schema_context
from scim2_client.engines.wsgi import WSGISCIMClient

from apps.identity.services import scim_token_create


@pytest.fixture
def scim_wsgi_app():
    """Django's WSGI handler, run in the test's thread and transaction.

    Django closes "old" connections when a request starts and finishes; in a
    test that would close the connection holding the test's transaction (the
    test client avoids it the same way).
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def scim_token_for():
    """``scim_token_for(tenant)``: the raw text of a new SCIM token of that tenant."""

    def make(tenant, name: str = "Okta provisioning") -> str:
        with schema_context(tenant.schema_name):
            _token, raw = scim_token_create(name=name)
        return raw

    return make


@pytest.fixture
def scim_client_for(scim_wsgi_app, scim_token_for):
    """``scim_client_for(tenant, token=None, discover=True)``: a scim2-client on that tenant's /scim/v2/."""

    def make(tenant, token: str | None = None, *, discover: bool = True, **options) -> WSGISCIMClient:
        token = token or scim_token_for(tenant)
        client = WSGISCIMClient(
            scim_wsgi_app,
            base_url=f"http://{tenant.slug}.localhost/scim/v2",
            headers={"Authorization": f"Bearer {token}"},
            **options,
        )
        if discover:
            client.discover()
        client.token = token
        return client

    return make
