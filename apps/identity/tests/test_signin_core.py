"""The protocol-independent end of SSO sign-in: links, verified-email linking, the JIT hook, mappings, refusals.

The OIDC and SAML flows (tested against real peers elsewhere) hand ``signin.sign_in``
an identity they have proven; these tests hand it one directly, to pin down
who it signs in, what it grants and what it refuses.
"""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import RequestFactory
from django_tenants.utils import schema_context

from apps.access import services as access_services
from apps.access.models import Role, RoleAssignment
from apps.accounts.services import user_create
from apps.audit.models import AuditEvent
from apps.identity import mappings, services, signin
from apps.identity.models import IdentityLink, MappingGrant, MappingOperator
from apps.identity.signin import AssertedIdentity, Reason, SsoRefused

from .conftest import idp_metadata

pytestmark = pytest.mark.django_db


def _request(tenant):
    request = RequestFactory().get("/", HTTP_HOST=f"{tenant.slug}.localhost", REMOTE_ADDR="203.0.113.9")
    request.session = SessionStore()
    request.user = AnonymousUser()
    request.tenant = tenant
    return request


@pytest.fixture
def saml_provider(acme):
    with schema_context(acme.schema_name):
        return services.provider_create_saml(name="Corp IdP", slug="corp", metadata_xml=idp_metadata())


def _identity(provider, subject="idp-subject-1", **kwargs):
    return AssertedIdentity(provider=provider, subject=subject, **kwargs)


def test_a_linked_subject_signs_in_as_its_user_whatever_email_the_idp_now_reports(acme, saml_provider):
    with schema_context(acme.schema_name):
        ada = user_create(email="ada@acme.test", password=None)
        IdentityLink.objects.create(provider=saml_provider, subject="s-ada", user=ada)
        request = _request(acme)
        user = signin.sign_in(request, _identity(saml_provider, "s-ada", email="someone-else@acme.test"))
        assert user == ada and request.user == ada
        assert request.session[signin.SESSION_PROVIDER]["slug"] == "corp"
        event = AuditEvent.objects.filter(action="identity:sso:login").get()
        assert event.actor_id == ada.pk and event.metadata["subject"] == "s-ada"
        assert event.metadata["resolved_by"] == "link"


def test_an_unknown_subject_is_refused_with_a_clear_reason_and_audited(acme, saml_provider):
    with schema_context(acme.schema_name):
        user_create(email="ada@acme.test", password=None)
        request = _request(acme)
        with pytest.raises(SsoRefused) as refused:
            signin.sign_in(request, _identity(saml_provider, email="ada@acme.test", email_verified=True))
        assert refused.value.reason == Reason.NO_ACCOUNT
        assert not request.user.is_authenticated
        failed = AuditEvent.objects.get(action="identity:sso:login_failed")
        assert failed.outcome == "denied" and failed.metadata["reason"] == "no_account"
        assert not IdentityLink.objects.exists()  # link_by_email is off by default


def test_linking_by_email_needs_the_option_and_a_verified_email(acme, saml_provider):
    with schema_context(acme.schema_name):
        ada = user_create(email="ada@acme.test", password=None)
        services.provider_update(provider=saml_provider, link_by_email=True)
        saml_provider.refresh_from_db()
        with pytest.raises(SsoRefused) as refused:
            signin.sign_in(_request(acme), _identity(saml_provider, email="ADA@acme.test", email_verified=False))
        assert refused.value.reason == Reason.EMAIL_NOT_VERIFIED
        user = signin.sign_in(_request(acme), _identity(saml_provider, email="ADA@acme.test", email_verified=True))
        assert user == ada
        assert IdentityLink.objects.get(provider=saml_provider).subject == "idp-subject-1"
        assert AuditEvent.objects.get(action="identity:link:create").metadata == {
            "subject": "idp-subject-1",
            "by": "email",
        }


def test_a_second_idp_account_claiming_a_linked_email_is_refused(acme, saml_provider):
    with schema_context(acme.schema_name):
        ada = user_create(email="ada@acme.test", password=None)
        services.provider_update(provider=saml_provider, link_by_email=True)
        saml_provider.refresh_from_db()
        IdentityLink.objects.create(provider=saml_provider, subject="the-real-ada", user=ada)
        with pytest.raises(SsoRefused) as refused:
            signin.sign_in(
                _request(acme), _identity(saml_provider, "impostor", email="ada@acme.test", email_verified=True)
            )
        assert refused.value.reason == Reason.NO_ACCOUNT


def jit_hook_creating_users(identity):
    """A JIT hook as a later issue will write one: create the user the IdP vouches for."""
    return user_create(email=identity.email, password=None)


def test_the_jit_hook_decides_for_unknown_subjects(acme, saml_provider, settings):
    settings.NIMBUS_SSO_JIT_HOOK = f"{__name__}.jit_hook_creating_users"
    with schema_context(acme.schema_name):
        user = signin.sign_in(_request(acme), _identity(saml_provider, "new-subject", email="new@acme.test"))
        assert user.email == "new@acme.test"
        assert IdentityLink.objects.get(subject="new-subject").user == user
        assert AuditEvent.objects.get(action="identity:link:create").metadata["by"] == "jit"


def test_disabled_accounts_and_disabled_providers_are_refused(acme, saml_provider):
    with schema_context(acme.schema_name):
        ada = user_create(email="ada@acme.test", password=None)
        IdentityLink.objects.create(provider=saml_provider, subject="s-ada", user=ada)
        ada.is_active = False
        ada.save()
        with pytest.raises(SsoRefused) as refused:
            signin.sign_in(_request(acme), _identity(saml_provider, "s-ada"))
        assert refused.value.reason == Reason.ACCOUNT_DISABLED
        ada.is_active = True
        ada.save()
        services.provider_disable(provider=saml_provider)
        saml_provider.refresh_from_db()
        with pytest.raises(SsoRefused) as refused:
            signin.sign_in(_request(acme), _identity(saml_provider, "s-ada"))
        assert refused.value.reason == Reason.PROVIDER_DISABLED
        reasons = sorted(e.metadata["reason"] for e in AuditEvent.objects.filter(action="identity:sso:login_failed"))
        assert reasons == ["account_disabled", "provider_disabled"]


# --- Mappings ----------------------------------------------------------------------------------------------


@pytest.fixture
def mapped(acme, saml_provider):
    """Acme's SAML provider mapping groups=nimbus-admins → group Admins, groups=dev* → role read_only."""
    with schema_context(acme.schema_name):
        admins = access_services.group_create(name="Admins")
        viewer = Role.objects.get(name="read_only")
        services.mapping_create(
            provider=saml_provider,
            claim="groups",
            operator=MappingOperator.HAS_VALUE,
            value="nimbus-admins",
            group=admins,
        )
        services.mapping_create(
            provider=saml_provider,
            claim="groups",
            operator=MappingOperator.HAS_VALUE_STARTING,
            value="dev",
            role=viewer,
        )
        ada = user_create(email="ada@acme.test", password=None)
        IdentityLink.objects.create(provider=saml_provider, subject="s-ada", user=ada)
    return {"admins": admins, "viewer": viewer, "ada": ada}


def test_mappings_grant_at_sign_in_and_take_back_only_their_own_grants(acme, saml_provider, mapped):
    admins, viewer, ada = mapped["admins"], mapped["viewer"], mapped["ada"]
    with schema_context(acme.schema_name):
        signin.sign_in(
            _request(acme), _identity(saml_provider, "s-ada", attributes={"groups": ["nimbus-admins", "developers"]})
        )
        assert admins.members.filter(pk=ada.pk).exists()
        assert RoleAssignment.objects.filter(role=viewer, user=ada).exists()
        login = AuditEvent.objects.get(action="identity:sso:login")
        assert login.metadata["groups_added"] == ["Admins"] and login.metadata["roles_added"] == ["read_only"]
        assert AuditEvent.objects.filter(action="identity:mapping:apply").count() == 1

        # The IdP no longer says so: both are taken back.
        signin.sign_in(_request(acme), _identity(saml_provider, "s-ada", attributes={"groups": ["sales"]}))
        assert not admins.members.filter(pk=ada.pk).exists()
        assert not RoleAssignment.objects.filter(role=viewer, user=ada).exists()
        assert not MappingGrant.objects.exists()

        # Given by hand: a matching rule does not adopt it, so it is never taken back by the rules.
        access_services.group_member_add(group=admins, user=ada)
        signin.sign_in(_request(acme), _identity(saml_provider, "s-ada", attributes={"groups": ["nimbus-admins"]}))
        signin.sign_in(_request(acme), _identity(saml_provider, "s-ada", attributes={"groups": []}))
        assert admins.members.filter(pk=ada.pk).exists()


def test_the_preview_evaluates_without_granting(acme, saml_provider, mapped):
    with schema_context(acme.schema_name):
        evaluation = mappings.evaluate(
            saml_provider, mappings.normalized_attributes({"groups": ["nimbus-admins"], "email_verified": True})
        )
        assert [g.name for g in evaluation.groups] == ["Admins"] and evaluation.roles == []
        assert len(evaluation.unmatched) == 1
        assert not mapped["admins"].members.exists()


def test_normalized_attributes_are_lists_of_strings():
    assert mappings.normalized_attributes({"a": "x", "b": ["y", 2], "c": True, "d": {"nested": 1}, "e": None}) == {
        "a": ["x"],
        "b": ["y", "2"],
        "c": ["true"],
        "d": [],
        "e": [],
    }


def test_a_mapping_author_cannot_hand_out_what_they_could_not_give_by_hand(acme, saml_provider):
    with schema_context(acme.schema_name):
        owner = Role.objects.get(name="tenant_admin")
        clerk = user_create(email="clerk@acme.test", password=None)
        with pytest.raises(PermissionDenied):
            services.mapping_create(
                actor=clerk, provider=saml_provider, claim="groups", operator="has_value", value="x", role=owner
            )
        with pytest.raises(ValidationError) as refused:
            services.mapping_create(provider=saml_provider, claim="bad claim!", operator="nope", value="")
        assert set(refused.value.message_dict) == {"claim", "operator", "target"}
