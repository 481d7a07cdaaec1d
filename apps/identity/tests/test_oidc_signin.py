"""OIDC sign-in end to end against a real OpenID Provider (node oidc-provider), the person's browser played by
``requests`` at the OP and by the Django test client on the tenant host."""

# The OP fixtures live in oidc_peer (not the shared conftest); imported here, their names are re-bound as
# test arguments, which is how pytest fixtures work.
# ruff: noqa: F811

from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.access import services as access_services
from apps.accounts.models import User
from apps.accounts.services import user_create
from apps.audit.models import AuditEvent
from apps.identity import services
from apps.identity.models import IdentityLink, IdentityProvider
from apps.identity.tests.oidc_peer import (  # noqa: F401 (fixtures)
    CLIENT_ID,
    browser_at_op,
    loopback_allowed,
    oidc_op,
    oidc_op_other,
    oidc_provider,
    relative,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_browser(host_client):
    return host_client("acme.localhost")


def authorize_url(client, slug="op", **query) -> str:
    response = client.get(f"/identity/sso/{slug}/", query)
    assert response.status_code == 302, response.content[:300]
    return response["Location"]


def callback_from_op(client, login, slug="op", **query) -> str:
    """Start at Nimbus, sign in at the OP, return the callback URL the OP sends the browser to."""
    return browser_at_op(authorize_url(client, slug, **query), login)


def signed_in_user_id(client, tenant):
    with schema_context(tenant.schema_name):
        return client.session.get(SESSION_KEY)


def failures(tenant, reason=None):
    with schema_context(tenant.schema_name):
        events = AuditEvent.objects.filter(action="identity:sso:login_failed").order_by("id")
        return [e.metadata for e in events if reason is None or e.metadata.get("reason") == reason]


def with_query(url: str, **changes) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def assert_refused(response, reason, tenant, status=400):
    assert response.status_code == status, response.content[:500]
    assert any(t.name == "identity/sso_refused.html" for t in response.templates)
    assert response.context["reason"] == reason
    assert failures(tenant, reason), f"no identity:sso:login_failed event with reason {reason}"


# --- The happy path --------------------------------------------------------------------------------------------


def test_sign_in_links_user_applies_group_mapping_and_is_audited(acme, acme_browser, oidc_provider, empty_streams):
    provider = oidc_provider(acme, link_by_email=True)
    with schema_context(acme.schema_name):
        alice = user_create(email="alice@oidc.test", password=None)
        admins = access_services.group_create(name="Cloud admins")
        services.mapping_create(
            provider=provider, claim="groups", operator="has_value", value="nimbus-admins", group=admins
        )

    callback = callback_from_op(acme_browser, "alice", next="/identity/")
    assert urlsplit(callback).path == "/identity/oidc/callback/"
    response = acme_browser.get(relative(callback))

    assert response.status_code == 302
    assert response["Location"] == "/identity/"
    assert signed_in_user_id(acme_browser, acme) == str(alice.pk)
    with schema_context(acme.schema_name):
        assert IdentityLink.objects.get(provider=provider, subject="alice").user == alice
        assert admins.members.filter(pk=alice.pk).exists()
        login = AuditEvent.objects.get(action="identity:sso:login")
        assert login.actor_id == alice.pk
        assert login.metadata["provider"] == "op" and login.metadata["subject"] == "alice"
        assert login.metadata["resolved_by"] == "email"
        assert AuditEvent.objects.filter(action="identity:link:create").exists()
        everything = str([e.metadata for e in AuditEvent.objects.all()])
        assert "nimbus-secret" not in everything


def test_second_sign_in_uses_the_link_and_goes_home_without_next(acme, acme_browser, oidc_provider):
    provider = oidc_provider(acme)  # no email linking: only the existing link can sign alice in
    with schema_context(acme.schema_name):
        alice = user_create(email="someone-else@oidc.test", password=None)
        IdentityLink.objects.create(provider=provider, subject="alice", user=alice)

    response = acme_browser.get(relative(callback_from_op(acme_browser, "alice")))

    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_user_id(acme_browser, acme) == str(alice.pk)


def test_authorization_request_uses_pkce_s256_state_and_nonce(acme, acme_browser, oidc_provider):
    oidc_provider(acme)
    query = parse_qs(urlsplit(authorize_url(acme_browser)).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43  # base64url of a SHA-256 digest
    assert query["state"][0] and query["nonce"][0]
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == ["http://acme.localhost/identity/oidc/callback/"]
    assert query["scope"] == ["openid email profile groups"]
    with schema_context(acme.schema_name):
        flow = acme_browser.session["oidc_states"][query["state"][0]]
    assert len(flow["code_verifier"]) >= 43 and flow["next"] == ""


def test_several_providers_share_the_callback(acme, acme_browser, oidc_provider, empty_streams):
    oidc_provider(acme, slug="first")
    second = oidc_provider(acme, slug="second", link_by_email=True)
    with schema_context(acme.schema_name):
        user_create(email="alice@oidc.test", password=None)

    first_started = authorize_url(acme_browser, "first")  # a flow left unfinished at the first provider
    response = acme_browser.get(relative(callback_from_op(acme_browser, "alice", "second")))

    assert response.status_code == 302
    with schema_context(acme.schema_name):
        assert IdentityLink.objects.get(subject="alice").provider == second
    assert first_started


# --- Linking and accounts --------------------------------------------------------------------------------------


def test_no_link_by_email_when_the_provider_does_not_allow_it(acme, acme_browser, oidc_provider, empty_streams):
    oidc_provider(acme, link_by_email=False)
    with schema_context(acme.schema_name):
        user_create(email="alice@oidc.test", password=None)

    response = acme_browser.get(relative(callback_from_op(acme_browser, "alice")))

    assert_refused(response, "no_account", acme, status=403)
    assert signed_in_user_id(acme_browser, acme) is None


def test_unverified_email_is_not_linked(acme, acme_browser, oidc_provider, empty_streams):
    oidc_provider(acme, link_by_email=True)
    with schema_context(acme.schema_name):
        user_create(email="unverified@oidc.test", password=None)

    response = acme_browser.get(relative(callback_from_op(acme_browser, "unverified")))

    assert_refused(response, "email_not_verified", acme, status=403)
    with schema_context(acme.schema_name):
        assert not IdentityLink.objects.exists()


def test_unknown_person_gets_a_clear_page(acme, acme_browser, oidc_provider, empty_streams):
    oidc_provider(acme, link_by_email=True)

    response = acme_browser.get(relative(callback_from_op(acme_browser, "stranger")))

    assert_refused(response, "no_account", acme, status=403)
    assert b"no Nimbus account here yet" in response.content
    assert failures(acme, "no_account")[0]["subject"] == "stranger"


def test_disabled_user_is_refused(acme, acme_browser, oidc_provider, empty_streams):
    oidc_provider(acme, link_by_email=True)
    with schema_context(acme.schema_name):
        boss = User.objects.get(email="admin@acme.localhost")
        person = user_create(email="disabled@oidc.test", password=None)
        from apps.accounts.services import user_disable

        user_disable(actor=boss, user=person)

    response = acme_browser.get(relative(callback_from_op(acme_browser, "disabled")))

    assert_refused(response, "account_disabled", acme, status=403)
    assert signed_in_user_id(acme_browser, acme) is None


def test_disabled_provider_cannot_start_or_finish(acme, acme_browser, oidc_provider, empty_streams):
    provider = oidc_provider(acme, link_by_email=True)
    with schema_context(acme.schema_name):
        user_create(email="alice@oidc.test", password=None)
    callback = callback_from_op(acme_browser, "alice")
    with schema_context(acme.schema_name):
        services.provider_disable(provider=provider)

    assert acme_browser.get("/identity/sso/op/").status_code == 404
    response = acme_browser.get(relative(callback))
    assert_refused(response, "provider_disabled", acme, status=403)
    assert signed_in_user_id(acme_browser, acme) is None


# --- State, nonce, replay --------------------------------------------------------------------------------------


def test_unknown_state_is_refused(acme, acme_browser, oidc_provider, empty_streams):
    oidc_provider(acme)
    callback = callback_from_op(acme_browser, "alice")

    response = acme_browser.get(relative(with_query(callback, state="forged-state")))

    assert_refused(response, "state_mismatch", acme)


def test_callback_without_state_or_session_is_refused(acme, host_client, empty_streams):
    response = host_client("acme.localhost").get("/identity/oidc/callback/?code=abc&state=xyz")
    assert_refused(response, "state_mismatch", acme)


def test_replayed_callback_is_refused(acme, acme_browser, oidc_provider, empty_streams):
    oidc_provider(acme, link_by_email=True)
    with schema_context(acme.schema_name):
        user_create(email="alice@oidc.test", password=None)
    callback = callback_from_op(acme_browser, "alice")
    assert acme_browser.head(relative(callback)).status_code == 405  # a HEAD never spends the state
    assert acme_browser.get(relative(callback)).status_code == 302

    response = acme_browser.get(relative(callback))

    assert_refused(response, "state_mismatch", acme)


def test_nonce_mismatch_is_refused(acme, acme_browser, oidc_provider, empty_streams):
    oidc_provider(acme, link_by_email=True)
    with schema_context(acme.schema_name):
        user_create(email="alice@oidc.test", password=None)
    callback = callback_from_op(acme_browser, "alice")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    with schema_context(acme.schema_name):
        session = acme_browser.session
        session["oidc_states"][state]["nonce"] = "not-the-nonce-the-op-saw"
        session.save()

    response = acme_browser.get(relative(callback))

    assert_refused(response, "nonce_mismatch", acme)
    assert signed_in_user_id(acme_browser, acme) is None


def test_pkce_verifier_is_sent_and_checked_by_the_op(acme, acme_browser, oidc_provider, empty_streams):
    oidc_provider(acme, link_by_email=True)
    callback = callback_from_op(acme_browser, "alice")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    with schema_context(acme.schema_name):
        session = acme_browser.session
        session["oidc_states"][state]["code_verifier"] = "x" * 64  # not the one the challenge was made from
        session.save()

    response = acme_browser.get(relative(callback))

    assert_refused(response, "invalid_response", acme)
    assert "invalid_grant" in failures(acme, "invalid_response")[0]["detail"]


# --- The IdP's answer ------------------------------------------------------------------------------------------


def test_wrong_issuer_in_the_id_token_is_refused(acme, acme_browser, oidc_provider, empty_streams):
    provider = oidc_provider(acme, link_by_email=True)
    callback = callback_from_op(acme_browser, "alice")
    with schema_context(acme.schema_name):
        # A record whose issuer string differs from what the OP signs (as a misconfiguration or mix-up would).
        IdentityProvider.objects.filter(pk=provider.pk).update(issuer=provider.issuer + "/other")

    # Without the RFC 9207 parameter, the ID token's own iss must catch it.
    response = acme_browser.get(relative(with_query(callback, iss=None)))

    assert_refused(response, "wrong_issuer", acme)
    assert "ID token iss" in failures(acme, "wrong_issuer")[0]["detail"]


def test_wrong_iss_callback_parameter_is_refused(acme, acme_browser, oidc_provider, empty_streams):
    oidc_provider(acme)
    callback = callback_from_op(acme_browser, "alice")
    assert parse_qs(urlsplit(callback).query)["iss"]  # oidc-provider sends RFC 9207's iss

    response = acme_browser.get(relative(with_query(callback, iss="https://evil.example")))

    assert_refused(response, "wrong_issuer", acme)
    assert "callback iss" in failures(acme, "wrong_issuer")[0]["detail"]


def test_wrong_audience_is_refused(acme, acme_browser, oidc_provider, empty_streams):
    provider = oidc_provider(acme)
    callback = callback_from_op(acme_browser, "alice")
    with schema_context(acme.schema_name):
        # The OP still knows the client as "nimbus"; the ID token it issues names that audience, not ours.
        IdentityProvider.objects.filter(pk=provider.pk).update(client_id="someone-else")

    response = acme_browser.get(relative(callback))

    # The OP refuses the code for another client id before an ID token exists; either way nobody signs in.
    assert response.status_code == 400
    assert signed_in_user_id(acme_browser, acme) is None
    assert failures(acme)


def test_id_token_signed_by_another_key_is_refused(acme, acme_browser, oidc_provider, oidc_op_other, empty_streams):
    provider = oidc_provider(acme)
    callback = callback_from_op(acme_browser, "alice")
    with schema_context(acme.schema_name):
        IdentityProvider.objects.filter(pk=provider.pk).update(jwks_uri=f"{oidc_op_other.issuer}/jwks")

    response = acme_browser.get(relative(callback))

    assert_refused(response, "invalid_signature", acme)


def test_expired_id_token_is_refused(acme, acme_browser, oidc_provider, empty_streams):
    oidc_provider(acme, link_by_email=True)
    with schema_context(acme.schema_name):
        user_create(email="alice@oidc.test", password=None)
    callback = callback_from_op(acme_browser, "alice")

    # The OP's ID tokens live 300 s; ten minutes later (beyond the 60 s leeway) it is expired.
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        response = acme_browser.get(relative(callback))

    assert_refused(response, "expired", acme)
    assert signed_in_user_id(acme_browser, acme) is None


def test_idp_error_callback_is_refused(acme, acme_browser, oidc_provider, empty_streams):
    provider = oidc_provider(acme)
    state = parse_qs(urlsplit(authorize_url(acme_browser)).query)["state"][0]
    query = urlencode(
        {"error": "access_denied", "error_description": "End-User aborted", "state": state, "iss": provider.issuer}
    )

    response = acme_browser.get(f"/identity/oidc/callback/?{query}")

    assert_refused(response, "idp_error", acme)
    assert "access_denied" in failures(acme, "idp_error")[0]["detail"]
    # The state is spent: the same answer cannot be played again.
    assert_refused(acme_browser.get(f"/identity/oidc/callback/?{query}"), "state_mismatch", acme)


def test_unreachable_idp_is_a_502(acme, acme_browser, oidc_provider, empty_streams):
    provider = oidc_provider(acme)
    callback = callback_from_op(acme_browser, "alice")
    with schema_context(acme.schema_name):
        IdentityProvider.objects.filter(pk=provider.pk).update(token_endpoint="http://127.0.0.1:9/token")

    response = acme_browser.get(relative(callback))

    assert_refused(response, "idp_unreachable", acme, status=502)


def test_guard_refuses_loopback_idp_when_not_allowed(acme, acme_browser, oidc_provider, settings, empty_streams):
    oidc_provider(acme)
    callback = callback_from_op(acme_browser, "alice")
    settings.NIMBUS_OUTBOUND_ALLOW = []

    response = acme_browser.get(relative(callback))

    assert_refused(response, "idp_unreachable", acme, status=502)
    assert "private or reserved" in failures(acme, "idp_unreachable")[0]["detail"]


def test_stale_discovery_is_refreshed_at_start(acme, acme_browser, oidc_provider):
    provider = oidc_provider(acme)
    with schema_context(acme.schema_name):
        IdentityProvider.objects.filter(pk=provider.pk).update(
            discovery_fetched_at=timezone.now() - timedelta(days=2), authorization_endpoint="http://127.0.0.1:9/old"
        )

    location = authorize_url(acme_browser)

    assert location.startswith(f"{provider.issuer}/auth?")
    with schema_context(acme.schema_name):
        provider.refresh_from_db()
    assert timezone.now() - provider.discovery_fetched_at < timedelta(minutes=1)


# --- Tenant isolation (from the attacker's side) ---------------------------------------------------------------


def test_acme_provider_is_not_reachable_on_globex(acme, globex, host_client, oidc_provider):
    oidc_provider(acme, slug="acme-op")
    assert host_client("globex.localhost").get("/identity/sso/acme-op/").status_code == 404


def test_state_started_on_acme_cannot_finish_on_globex(acme, globex, acme_browser, oidc_provider, empty_streams):
    oidc_provider(acme, link_by_email=True)
    with schema_context(acme.schema_name):
        user_create(email="alice@oidc.test", password=None)
    with schema_context(globex.schema_name):
        user_create(email="alice@oidc.test", password=None)
    callback = callback_from_op(acme_browser, "alice")

    # Same browser (the test client sends its cookies to every host), the callback replayed on globex's host.
    globex_browser = acme_browser
    response = globex_browser.get(relative(callback), HTTP_HOST="globex.localhost")

    assert_refused(response, "state_mismatch", globex)
    assert signed_in_user_id(globex_browser, globex) is None
    with schema_context(globex.schema_name):
        assert not IdentityLink.objects.exists()
