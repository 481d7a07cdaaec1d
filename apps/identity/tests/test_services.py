"""Identity services: OIDC discovery against a real local server, SAML metadata parsing, defaults, audit events."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context

from apps.audit.models import AuditEvent
from apps.identity import saml, services
from apps.identity.models import IdentityProvider

from .conftest import idp_metadata

pytestmark = pytest.mark.django_db

SECRET = "client-secret-never-shown-42"


def _oidc(peer, slug="okta", **kwargs):
    issuer = peer.discovery(f"{peer.base}/{slug}", path=f"/{slug}")
    return services.provider_create_oidc(
        name=slug.title(), slug=slug, issuer=issuer, client_id="nimbus", client_secret=SECRET, **kwargs
    )


def test_oidc_discovery_fills_the_endpoints_and_the_secret_is_encrypted(acme, peer):
    with schema_context(acme.schema_name):
        provider = _oidc(peer)
        assert provider.token_endpoint == f"{peer.base}/op/token" and provider.discovery_fetched_at
        assert IdentityProvider.objects.get(pk=provider.pk).client_secret == SECRET
        with connection.cursor() as cursor:
            cursor.execute("SELECT client_secret FROM identity_identityprovider WHERE id = %s", [provider.pk])
            stored = cursor.fetchone()[0]
        assert SECRET not in stored and stored.startswith("gAAAA")


def test_a_discovery_document_naming_another_issuer_is_refused(acme, peer):
    issuer = peer.discovery(f"{peer.base}/evil", path="/evil", claimed_issuer="https://someone-else.test")
    with schema_context(acme.schema_name), pytest.raises(ValidationError) as refused:
        services.provider_create_oidc(name="Evil", slug="evil", issuer=issuer, client_id="x", client_secret="y")
    assert "names the issuer 'https://someone-else.test'" in refused.value.message_dict["issuer"][0]


def test_plain_http_and_private_addresses_are_refused_unless_allow_listed(acme, peer, settings):
    settings.NIMBUS_OUTBOUND_ALLOW = []
    with schema_context(acme.schema_name):
        with pytest.raises(ValidationError, match="must use https"):
            services.provider_create_oidc(name="A", slug="a", issuer=f"{peer.base}/a", client_id="x", client_secret="y")
        with pytest.raises(ValidationError, match="private or reserved"):
            services.provider_create_oidc(
                name="B", slug="b", issuer="https://127.0.0.1:1/b", client_id="x", client_secret="y"
            )
        with pytest.raises(ValidationError, match="query or fragment"):
            services.provider_create_oidc(
                name="C", slug="c", issuer="https://idp.test/?x=1", client_id="x", client_secret="y"
            )
        assert not IdentityProvider.objects.exists()


def test_missing_discovery_and_bad_input_say_what_to_fix(acme, peer):
    with schema_context(acme.schema_name):
        with pytest.raises(ValidationError, match="HTTP 404"):
            services.provider_create_oidc(
                name="N", slug="n", issuer=f"{peer.base}/none", client_id="x", client_secret="y"
            )
        with pytest.raises(ValidationError) as refused:
            services.provider_create_oidc(name=" ", slug="Bad Slug", issuer="", client_id="x", client_secret="y")
        assert "name" in refused.value.message_dict
        with pytest.raises(ValidationError, match="openid"):
            _oidc(peer, slug="s", scopes="email profile")
        _oidc(peer)
        with pytest.raises(ValidationError, match="exists already"):
            _oidc(peer)


def test_one_default_per_tenant_and_disabling_clears_it(acme, peer):
    with schema_context(acme.schema_name):
        first = _oidc(peer, slug="one", is_default=True)
        second = _oidc(peer, slug="two")
        services.provider_set_default(provider=second)
        assert list(IdentityProvider.objects.filter(is_default=True)) == [second]
        services.provider_disable(provider=second)
        assert not IdentityProvider.objects.filter(is_default=True).exists()
        with pytest.raises(ValidationError, match="enable it first"):
            services.provider_set_default(provider=IdentityProvider.objects.get(pk=second.pk))
        services.provider_set_default(provider=first)
        assert IdentityProvider.objects.get(is_default=True) == first


def test_sso_only_needs_an_enabled_provider_and_keeps_the_last_one(acme, peer):
    with schema_context(acme.schema_name):
        with pytest.raises(ValidationError, match="before making sign-in SSO-only"):
            services.settings_update(sso_only=True)
        provider = _oidc(peer)
        assert services.settings_update(sso_only=True).sso_only
        with pytest.raises(ValidationError, match="turn SSO-only off"):
            services.provider_disable(provider=provider)
        with pytest.raises(ValidationError, match="turn SSO-only off"):
            services.provider_delete(provider=provider)


def test_update_keeps_an_empty_secret_rediscovers_a_new_issuer_and_refuses_saml_fields(acme, peer):
    with schema_context(acme.schema_name):
        provider = _oidc(peer)
        services.provider_update(provider=provider, name="Okta EU", client_secret="")
        assert IdentityProvider.objects.get(pk=provider.pk).client_secret == SECRET
        issuer = peer.discovery(f"{peer.base}/moved", path="/moved")
        updated = services.provider_update(provider=provider, issuer=issuer, client_secret="new-secret")
        assert updated.issuer == issuer and updated.client_secret == "new-secret"
        with pytest.raises(ValidationError, match="has no metadata_url"):
            services.provider_update(provider=provider, metadata_url="https://idp.test/md")


def test_events_are_recorded_without_secrets(acme, peer, empty_streams):
    with schema_context(acme.schema_name):
        provider = _oidc(peer)
        services.provider_update(provider=provider, client_secret="rotated-secret-xyz", scopes="openid email")
        services.provider_delete(provider=provider)
        events = list(AuditEvent.objects.filter(action__startswith="identity:").order_by("id"))
    assert [e.action for e in events] == [
        "identity:provider:create",
        "identity:provider:update",
        "identity:provider:delete",
    ]
    assert "client_secret" in events[1].changes  # named as changed ("(changed)", or redacted by the recorder)
    assert events[1].changes["scopes"] == ["openid email profile", "openid email"]
    with schema_context(acme.schema_name):
        everything = json.dumps([[e.changes, e.metadata] for e in AuditEvent.objects.all()], default=str)
    assert SECRET not in everything and "rotated-secret-xyz" not in everything


def test_saml_provider_from_uploaded_metadata_gets_its_own_key_pair(acme):
    with schema_context(acme.schema_name):
        provider = services.provider_create_saml(name="ADFS", slug="adfs", metadata_xml=idp_metadata())
        other = services.provider_create_saml(name="Entra", slug="entra", metadata_xml=idp_metadata())
        assert provider.idp_entity_id == "https://idp.example.test/saml"
        assert provider.idp_sso_url == "https://idp.example.test/sso"
        assert provider.idp_signing_certificate.startswith("-----BEGIN CERTIFICATE-----")
        assert provider.sp_certificate != other.sp_certificate
        with connection.cursor() as cursor:
            cursor.execute("SELECT sp_private_key FROM identity_identityprovider WHERE id = %s", [provider.pk])
            assert "PRIVATE KEY" not in cursor.fetchone()[0]
        assert "PRIVATE KEY" in IdentityProvider.objects.get(pk=provider.pk).sp_private_key


def test_saml_metadata_by_url_through_the_guard(acme, peer):
    peer.documents["/md.xml"] = ("application/samlmetadata+xml", idp_metadata(entity_id="urn:idp:url").encode())
    with schema_context(acme.schema_name):
        provider = services.provider_create_saml(name="Keycloak", slug="kc", metadata_url=f"{peer.base}/md.xml")
        assert provider.idp_entity_id == "urn:idp:url" and provider.metadata_url.endswith("/md.xml")
        with pytest.raises(ValidationError, match="one of the two"):
            services.provider_create_saml(name="X", slug="x", metadata_url=f"{peer.base}/md.xml", metadata_xml="<a/>")


XXE = """<?xml version="1.0"?>
<!DOCTYPE md [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&xxe;"/>"""

BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&lol2;"/>"""


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        (XXE, "DOCTYPE"),
        (BOMB, "DOCTYPE"),
        ("<not-closed", "not well-formed"),
        ('<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>', "IDPSSODescriptor"),
        ("<EntityDescriptor/>", "not a SAML 2.0 EntityDescriptor"),
        (idp_metadata().replace("HTTP-Redirect", "SOAP"), "SingleSignOnService"),
        (idp_metadata().replace('use="signing"', 'use="encryption"'), "signing certificate"),
    ],
)
def test_bad_saml_metadata_is_refused_with_the_reason(xml, reason):
    with pytest.raises(ValidationError, match=reason):
        saml.parse_idp_metadata(xml)


def test_a_corrupt_certificate_is_refused():
    xml = idp_metadata()
    start = xml.index("<ds:X509Certificate>") + len("<ds:X509Certificate>")
    with pytest.raises(ValidationError, match=r"not a valid X\.509"):
        saml.parse_idp_metadata(xml[:start] + "QUJD" + xml[start + 40 :])
