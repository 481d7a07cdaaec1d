"""The daily re-read of discovery documents and metadata: changes land, failures keep the provider and are audited."""

import pytest
from django.conf import settings
from django_tenants.utils import schema_context

from apps.audit.models import AuditEvent
from apps.identity import services
from apps.identity.models import IdentityProvider
from apps.identity.schedules import SCHEDULES
from nimbus import temporal

from .conftest import idp_metadata

pytestmark = pytest.mark.django_db


def test_refresh_picks_up_new_endpoints_and_new_metadata(acme, peer, oidc_in):
    provider = oidc_in(acme, slug="okta")
    peer.documents["/corp.xml"] = ("application/xml", idp_metadata(sso="https://idp.example.test/old").encode())
    with schema_context(acme.schema_name):
        saml = services.provider_create_saml(name="Corp", slug="corp", metadata_url=f"{peer.base}/corp.xml")
        uploaded = services.provider_create_saml(name="Upload", slug="upload", metadata_xml=idp_metadata())
    # The IdPs move things around overnight.
    document = peer.documents["/okta/.well-known/openid-configuration"]
    peer.documents["/okta/.well-known/openid-configuration"] = (
        document[0],
        document[1].replace(b"/op/token", b"/op/token-v2"),
    )
    peer.documents["/corp.xml"] = ("application/xml", idp_metadata(sso="https://idp.example.test/new").encode())

    # The schedule's activity calls this in each schema (it also releases connections, as a request does, which
    # would close this test's transaction: so it is called here directly).
    with schema_context(acme.schema_name):
        assert services.providers_refresh() == {"refreshed": 2, "failed": 0}
        assert IdentityProvider.objects.get(pk=provider.pk).token_endpoint.endswith("/op/token-v2")
        assert IdentityProvider.objects.get(pk=saml.pk).idp_sso_url == "https://idp.example.test/new"
        assert IdentityProvider.objects.get(pk=uploaded.pk).metadata_xml  # nothing to re-read: untouched


def test_a_failed_refresh_keeps_the_provider_and_is_recorded(acme, peer, oidc_in):
    provider = oidc_in(acme, slug="okta")
    del peer.documents["/okta/.well-known/openid-configuration"]  # the IdP answers 404 now

    with schema_context(acme.schema_name):
        assert services.providers_refresh() == {"refreshed": 0, "failed": 1}
        assert IdentityProvider.objects.get(pk=provider.pk).token_endpoint == provider.token_endpoint
        event = AuditEvent.objects.get(action="identity:provider:refresh")
        assert event.outcome == "error" and "404" in event.metadata["reason"]


def test_the_refresh_runs_on_a_schedule():
    schedule_id, schedule = dict(enumerate(f() for f in SCHEDULES))[0]
    assert schedule_id == f"{settings.TEMPORAL_TASK_QUEUE}.identity-refresh"
    assert schedule.spec.intervals[0].every.total_seconds() == settings.NIMBUS_IDENTITY_REFRESH_HOURS * 3600
    assert "RefreshProvidersWorkflow" in [w.__name__ for w in temporal.registered_workflows()]
    assert "refresh_providers" in [a.__name__ for a in temporal.registered_activities()]
