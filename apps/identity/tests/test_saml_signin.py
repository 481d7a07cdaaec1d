"""SAML 2.0 sign-in and single logout against a real, independent IdP (samlify), through Nimbus's own views.

Every bad-input case is a switch of the IdP (tests/peers/saml-idp.cjs): the
answer is really built, signed (or not) and posted as a browser would.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.urls import reverse
from django_tenants.utils import schema_context

from apps.accounts.models import UserSession
from apps.audit.models import AuditEvent
from apps.identity.saml_flow import PENDING
from apps.identity.signin import SESSION_PROVIDER
from apps.identity.tests.saml_peer import *  # noqa: F403 (fixtures: saml_idp, saml_provider_in)
from apps.identity.tests.saml_peer import SamlBrowser

pytestmark = pytest.mark.django_db

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


@pytest.fixture
def corp(acme, saml_provider_in):
    return saml_provider_in(acme)


@pytest.fixture
def person(host_client, saml_idp, corp):
    person = SamlBrowser(host_client("acme.localhost"), saml_idp, corp.slug)
    person.register()
    return person


@pytest.fixture
def alice(acme):
    from apps.accounts.services import user_create

    with schema_context(acme.schema_name):
        return user_create(email="alice@example.test", password=None)


def refused(response, reason: str, status: int = 400) -> bool:
    body = response.content.decode()
    assert response.status_code == status, body[:3000]
    assert f'data-reason="{reason}"' in body, body[:3000]
    return True


def events(tenant, action: str) -> list[AuditEvent]:
    with schema_context(tenant.schema_name):
        return list(AuditEvent.objects.filter(action=action).order_by("id"))


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


# --- Happy paths ----------------------------------------------------------------------------------------------------


def test_sign_in_sends_a_signed_request_and_applies_group_mappings(person, alice, acme, corp, empty_streams):
    from apps.access.services import group_create
    from apps.identity import services

    with schema_context(acme.schema_name):
        admins = group_create(name="Cloud admins")
        services.mapping_create(
            provider=corp, claim="groups", operator="has_value", value="nimbus-admins", group=admins
        )

    idp_url = person.start("/identity/")
    query = parse_qs(urlsplit(idp_url).query)
    assert query["SigAlg"] == [RSA_SHA256] and query["Signature"]
    assert "/identity/" not in query["RelayState"][0]  # a reference to the session's entry, not the URL
    answer = person.at_idp(idp_url)  # samlify checked the request's signature before answering
    response = person.post(answer)

    assert response.status_code == 302 and response["Location"] == "/identity/"
    assert signed_in_user_id(person.client) == str(alice.pk)
    facts = person.client.session[SESSION_PROVIDER]
    assert facts["slug"] == "corp" and facts["name_id"] == "alice@example.test"
    assert facts["session_index"].startswith("_session_")
    assert person.client.session[PENDING] == {}
    with schema_context(acme.schema_name):
        assert admins.members.filter(pk=alice.pk).exists()
    (login,) = events(acme, "identity:sso:login")
    assert login.metadata["protocol"] == "saml" and login.metadata["subject"] == "alice@example.test"
    assert login.metadata["resolved_by"] == "email"


def test_encrypted_assertion_is_decrypted_with_the_sp_key(person, saml_idp, alice):
    saml_idp.mode(encrypt=True)
    answer = person.at_idp(person.start())
    assert b"EncryptedAssertion" in base64.b64decode(answer.fields["SAMLResponse"])
    response = person.post(answer)
    assert response.status_code == 302
    assert signed_in_user_id(person.client) == str(alice.pk)


def test_sp_metadata_publishes_acs_sls_and_the_key_for_signing_and_encryption(person):
    metadata = person.client.get("/identity/saml/corp/metadata/").content.decode()
    assert 'WantAssertionsSigned="true"' in metadata
    assert 'use="signing"' in metadata and 'use="encryption"' in metadata
    assert "http://acme.localhost/identity/saml/corp/acs/" in metadata
    assert 'SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"' in metadata
    assert "http://acme.localhost/identity/saml/corp/sls/" in metadata


def test_idp_single_logout_url_is_read_from_its_metadata(corp, saml_idp):
    assert corp.idp_slo_url == f"{saml_idp.base}/slo"


# --- Bad input: each refused with its reason, audited, never a 500 ---------------------------------------------------


@pytest.mark.parametrize(
    ("switches", "reason"),
    [
        ({"tampered": True}, "invalid_signature"),
        ({"unsigned": True}, "invalid_signature"),
        ({"audience": "http://someone-else.example/sp"}, "wrong_audience"),
        ({"destination": "http://acme.localhost/identity/saml/other/acs/"}, "wrong_destination"),
        ({"expired": True}, "expired"),
        ({"status": "urn:oasis:names:tc:SAML:2.0:status:Responder"}, "idp_error"),
    ],
)
def test_bad_answers_are_refused_with_their_reason(person, saml_idp, alice, acme, empty_streams, switches, reason):
    saml_idp.mode(**switches)
    response, _answer = person.sign_in()
    assert refused(response, reason)
    assert signed_in_user_id(person.client) is None
    (failure,) = events(acme, "identity:sso:login_failed")
    assert failure.metadata["reason"] == reason and failure.metadata["provider"] == "corp"
    assert not events(acme, "identity:sso:login")


def test_tampered_encrypted_answer_is_refused(person, saml_idp, alice):
    # Encrypted and then altered: decryption or the signature check must fail, never a sign-in.
    saml_idp.mode(encrypt=True)
    answer = person.at_idp(person.start())
    xml = base64.b64decode(answer.fields["SAMLResponse"]).decode()
    answer.fields["SAMLResponse"] = base64.b64encode(xml.replace("CipherValue>", "CipherValue>AAAA", 1).encode())
    response = person.post(answer)
    assert response.status_code == 400
    assert signed_in_user_id(person.client) is None


def test_replayed_response_is_refused(person, alice, acme, empty_streams):
    first, answer = person.sign_in()
    assert first.status_code == 302
    person.client.post(reverse("accounts:sign-out"))

    assert refused(person.post(answer), "replayed")


def test_replayed_response_is_refused_even_with_a_fresh_outstanding_request(person, alice):
    first, answer = person.sign_in()
    assert first.status_code == 302
    person.client.post(reverse("accounts:sign-out"))
    person.start()  # a new request is outstanding now; the old answer is not its answer anyway
    assert refused(person.post(answer), "replayed")

    # Even if the old request were still outstanding (a second tab, a bug), the assertion id is spent.
    session = person.client.session
    in_response_to = base64.b64decode(answer.fields["SAMLResponse"]).decode().split('InResponseTo="')[1].split('"')[0]
    entry = next(iter(session[PENDING].values()))
    session[PENDING] = {in_response_to: {**entry, "relay": answer.fields["RelayState"]}}
    session.save()
    assert refused(person.post(answer), "replayed")
    assert signed_in_user_id(person.client) is None


def test_answer_to_another_browsers_request_is_refused(person, host_client, saml_idp, alice, acme):
    other = SamlBrowser(host_client("acme.localhost"), saml_idp, "corp")
    answer = other.at_idp(other.start())  # the IdP answers the other person's request
    person.start()  # this person has a request of its own outstanding
    assert refused(person.post(answer), "state_mismatch")
    assert signed_in_user_id(person.client) is None


def test_unsolicited_answer_is_refused_after_the_same_site_bounce(person, host_client, saml_idp, alice):
    answer = person.at_idp(person.start())
    stranger = host_client("acme.localhost")  # no session cookie: as a cross-site POST arrives in a person
    bounce = person.post(answer, client=stranger)
    assert bounce.status_code == 200 and b'name="nimbus_same_site"' in bounce.content
    response = stranger.post(answer.path, {**answer.fields, "nimbus_same_site": "1"})
    assert refused(response, "state_mismatch")


def test_wrong_relay_state_is_refused(person, alice):
    answer = person.at_idp(person.start())
    answer.fields["RelayState"] = "not-the-one-we-sent"
    assert refused(person.post(answer), "state_mismatch")


def test_garbage_is_refused_cleanly(person, alice):
    person.start()
    assert refused(
        person.client.post("/identity/saml/corp/acs/", {"SAMLResponse": "%%%not base64"}), "invalid_response"
    )
    assert refused(person.client.post("/identity/saml/corp/acs/", {}), "invalid_response")
    doctype = base64.b64encode(b'<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>').decode()
    assert refused(person.client.post("/identity/saml/corp/acs/", {"SAMLResponse": doctype}), "invalid_response")


def test_person_without_account_is_refused_after_the_checks(person, saml_idp, acme):
    saml_idp.mode(user={"email": "nobody@example.test", "groups": []})
    response, _answer = person.sign_in()
    assert refused(response, "no_account", status=403)


def test_disabled_provider_is_refused(person, alice, acme, corp):
    from apps.identity import services

    answer = person.at_idp(person.start())
    with schema_context(acme.schema_name):
        services.provider_disable(provider=corp)
    assert refused(person.post(answer), "provider_disabled", status=403)


def test_acme_answer_posted_to_globex_is_refused(person, host_client, saml_idp, saml_provider_in, globex, alice):
    # Globex trusts the very same IdP under the same slug: the worst case for isolation.
    saml_provider_in(globex)
    globex_browser = SamlBrowser(host_client("globex.localhost"), saml_idp, "corp")
    globex_browser.start()  # globex's person even has a request outstanding
    answer = person.at_idp(person.start())  # the IdP answers acme's request (acme's SP is registered)

    response = globex_browser.post(answer)
    assert refused(response, "wrong_destination")
    assert signed_in_user_id(globex_browser.client) is None
    (failure,) = events(globex, "identity:sso:login_failed")
    assert failure.metadata["reason"] == "wrong_destination"


# --- Single logout --------------------------------------------------------------------------------------------------


def test_signing_out_of_nimbus_signs_out_at_the_idp(person, saml_idp, alice, acme, empty_streams):
    response, _answer = person.sign_in()
    assert response.status_code == 302
    session_index = person.client.session[SESSION_PROVIDER]["session_index"]

    out = person.client.post(reverse("accounts:sign-out"))
    assert out.status_code == 302 and out["Location"].startswith(f"{saml_idp.base}/slo?")
    assert signed_in_user_id(person.client) is None  # signed out of Nimbus already
    query = parse_qs(urlsplit(out["Location"]).query)
    assert query["SigAlg"] == [RSA_SHA256] and query["Signature"]

    at_idp = requests.get(out["Location"], allow_redirects=False, timeout=30)  # samlify checks the signature
    assert at_idp.status_code == 302, at_idp.text
    told = saml_idp.last()["logoutRequest"]
    assert told["nameID"] == "alice@example.test" and session_index in str(told["sessionIndex"])

    back = urlsplit(at_idp.headers["Location"])
    assert back.path == "/identity/saml/corp/sls/"
    done = person.client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302 and done["Location"] == reverse("accounts:sign-in")
    steps = [e.metadata["step"] for e in events(acme, "identity:sso:logout")]
    assert steps == ["request_sent", "response_received"]

    # The same LogoutResponse again answers no request any more.
    assert refused(person.client.get(f"{back.path}?{back.query}"), "state_mismatch")


def test_password_sign_out_without_saml_goes_to_the_sign_in_page(signed_in_client, acme, corp):
    client = signed_in_client(acme, email="local@example.test")
    out = client.post(reverse("accounts:sign-out"))
    assert out.status_code == 302 and out["Location"] == reverse("accounts:sign-in")


def test_idp_initiated_logout_ends_that_persons_saml_sessions(
    person, host_client, saml_idp, alice, acme, signed_in_client, empty_streams
):
    response, _answer = person.sign_in()
    assert response.status_code == 302
    facts = person.client.session[SESSION_PROVIDER]
    with schema_context(acme.schema_name):
        password_session = host_client("acme.localhost")
        password_session.force_login(alice)  # a session not made by this IdP's sign-in: left alone
        sessions_before = UserSession.objects.filter(user=alice).count()

    url = urlsplit(saml_idp.logout_request_url(name_id=facts["name_id"], session_index=facts["session_index"]))
    assert url.path == "/identity/saml/corp/sls/"
    answer = person.client.get(f"{url.path}?{url.query}")
    assert answer.status_code == 302 and answer["Location"].startswith(f"{saml_idp.base}/slo?")
    assert signed_in_user_id(person.client) is None
    assert password_session.session.get("_auth_user_id") == str(alice.pk)
    with schema_context(acme.schema_name):
        assert UserSession.objects.filter(user=alice).count() == sessions_before - 1
    (event,) = events(acme, "identity:sso:logout")
    assert event.metadata["initiated_by"] == "idp" and event.metadata["ended"] == 1

    confirmed = requests.get(answer["Location"], timeout=30)  # samlify verifies our signed LogoutResponse
    assert confirmed.status_code == 200 and confirmed.text == "logged out"


def test_unsigned_idp_logout_request_is_refused(person, saml_idp, alice, acme):
    response, _answer = person.sign_in()
    assert response.status_code == 302
    facts = person.client.session[SESSION_PROVIDER]
    url = urlsplit(saml_idp.logout_request_url(name_id=facts["name_id"], session_index=facts["session_index"]))
    unsigned = "&".join(p for p in url.query.split("&") if not p.startswith(("Signature=", "SigAlg=")))
    assert refused(person.client.get(f"{url.path}?{unsigned}"), "invalid_signature")
    assert signed_in_user_id(person.client) == str(alice.pk)

    tampered = url.query.replace("Signature=", "Signature=AAAA", 1)
    assert refused(person.client.get(f"{url.path}?{tampered}"), "invalid_signature")
    assert signed_in_user_id(person.client) == str(alice.pk)


def test_idp_logout_for_someone_without_sessions_is_still_answered(person, saml_idp, alice, acme, empty_streams):
    url = urlsplit(saml_idp.logout_request_url(name_id="nobody@example.test", session_index="_unknown"))
    answer = person.client.get(f"{url.path}?{url.query}")
    assert answer.status_code == 302 and answer["Location"].startswith(f"{saml_idp.base}/slo?")
    (event,) = events(acme, "identity:sso:logout")
    assert event.metadata["ended"] == 0
