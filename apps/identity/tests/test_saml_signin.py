"""SAML 2.0 sign-in and single logout against a real, independent IdP (samlify), through Nimbus's own views."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from apps.audit.models import AuditEvent
from apps.identity.signin import SESSION_PROVIDER
from apps.identity.tests.saml_peer import SamlBrowser, saml_idp, saml_idp_process, saml_provider_in  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def corp(acme, saml_provider_in):
    return saml_provider_in(acme)


@pytest.fixture
def browser(host_client, saml_idp, corp):
    person = SamlBrowser(host_client("acme.localhost"), saml_idp, corp.slug)
    person.register()
    return person


@pytest.fixture
def alice(acme):
    from apps.accounts.services import user_create

    with schema_context(acme.schema_name):
        return user_create(email="alice@example.test", password=None)


def test_happy_path(browser, alice, acme):
    response, answer = browser.sign_in("/identity/")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == "/identity/"
    session = browser.client.session
    assert session[SESSION_PROVIDER]["name_id"] == "alice@example.test"
