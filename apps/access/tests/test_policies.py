"""Tenant ABAC policies: Cedar permit and forbid statements, validated before they are saved, weighed in decisions."""

from __future__ import annotations

from datetime import datetime

import cedarpy
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.access import engine, services
from apps.access.cedar_source import MAX_POLICY_CHARS
from apps.access.models import Policy
from apps.core.authorization import Resource

pytestmark = pytest.mark.django_db


def at(hour: int, minute: int = 0) -> datetime:
    """A Monday at ``hour``, in the server's time zone (what policies read ``context.hour`` in)."""
    return timezone.make_aware(datetime(2026, 1, 5, hour, minute))


@pytest.fixture
def operator(admin, make_user, role):
    """Holds the system role 'operator' over acme: every permission up to the user tier."""
    user = make_user("operator@acme.test")
    services.role_assign(actor=admin, role=role("operator"), user=user)
    return user


@pytest.fixture
def contractors(operator):
    group = services.group_create(name="Contractors")
    services.group_member_add(group=group, user=operator)
    return group


def save(admin, name, text, **options):
    return services.policy_save(actor=admin, name=name, text=text, **options)


# --- Weighing policies ---------------------------------------------------------------------------


def test_a_forbid_beats_the_permit_of_a_role_and_of_the_tenant_admin_flag(
    admin, operator, contractors, make_user, role
):
    colleague = make_user()
    services.role_assign(actor=admin, role=role("operator"), user=colleague)
    assert engine.authorize(operator, "accounts:user:view")

    save(
        admin,
        "no-contractors",
        'forbid(principal in Nimbus::Group::"Contractors", action == Nimbus::Action::"accounts:user:view", resource);',
        description="Contractors do not browse the directory.",
    )

    denied = engine.authorize(operator, "accounts:user:view")
    assert not denied and denied.reasons == ("policy/no-contractors",) and denied.errors == ()
    assert engine.explain_denial(operator, "accounts:user:view", denied) == (
        "Forbidden by Tenant policy 'no-contractors': Contractors do not browse the directory."
    )
    assert engine.authorize(colleague, "accounts:user:view")  # not a contractor
    services.group_member_add(group=contractors, user=admin)
    assert not engine.authorize(admin, "accounts:user:view")  # the account flag's permit loses too
    assert engine.authorize(admin, "accounts:user:create")  # another action: untouched


def test_a_forbid_on_every_action_cannot_lock_administrators_out_of_fixing_policies(admin, contractors):
    services.group_member_add(group=contractors, user=admin)
    save(admin, "lockout", 'forbid(principal in Nimbus::Group::"Contractors", action, resource);')
    assert not engine.authorize(admin, "accounts:user:create")
    assert not engine.authorize(admin, "access:role:view")
    assert engine.authorize(admin, "access:policy:view").reasons == ("builtin/tenant-admin",)
    assert engine.authorize(admin, "access:policy:update").reasons == ("builtin/tenant-admin",)


def test_a_time_window_forbids_outside_office_hours(admin, operator):
    save(admin, "office-hours", "forbid(principal, action, resource) when { context.hour < 8 || context.hour >= 18 };")
    assert engine.authorize(operator, "accounts:user:view", None, {"now": at(9)})
    assert engine.authorize(operator, "accounts:user:view", None, {"now": at(17, 59)})
    for hour, minute in ((7, 59), (18, 0), (23, 30), (0, 0)):
        decision = engine.authorize(operator, "accounts:user:view", None, {"now": at(hour, minute)})
        assert not decision and decision.reasons == ("policy/office-hours",), (hour, minute)
    # An ISO 8601 string is read the same way.
    assert not engine.authorize(operator, "accounts:user:view", None, {"now": "2026-01-05T07:00:00+00:00"})
    assert engine.authorize(operator, "accounts:user:view", None, {"now": "2026-01-05T10:00:00+00:00"})


def test_an_ip_range_forbids_requests_from_outside_the_network(admin, operator):
    save(
        admin,
        "office-network",
        'forbid(principal, action, resource) when { context has ip && !context.ip.isInRange(ip("10.0.0.0/8")) };',
    )
    assert engine.authorize(operator, "accounts:user:view", None, {"ip": "10.20.30.40"})
    outside = engine.authorize(operator, "accounts:user:view", None, {"ip": "192.168.1.7"})
    assert not outside and outside.reasons == ("policy/office-network",)
    assert not engine.authorize(operator, "accounts:user:view", None, {"ip": "2001:db8::1"})
    assert engine.authorize(operator, "accounts:user:view", None, {"source": "task"})  # no address: has ip is false
    malformed = engine.authorize(operator, "accounts:user:view", None, {"ip": "10.0.0.300"})
    assert not malformed and "not an IP address" in malformed.errors[0]


def test_resource_tags_forbid_changing_production_objects(admin, make_user):
    target = make_user()
    save(
        admin,
        "prod-frozen",
        'forbid(principal, action == Nimbus::Action::"accounts:user:update", resource) '
        'when { resource.hasTag("environment") && resource.getTag("environment") == "prod" };',
    )

    def update(**tags):
        return engine.authorize(admin, "accounts:user:update", Resource("accounts:user", str(target.pk), tags=tags))

    frozen = update(environment="prod")
    assert not frozen and frozen.reasons == ("policy/prod-frozen",)
    assert update(environment="dev").reasons == ("builtin/tenant-admin",)
    assert update()
    assert update(owner="prod")  # another tag with the same value
    viewing = Resource("accounts:user", str(target.pk), tags={"environment": "prod"})
    assert engine.authorize(admin, "accounts:user:view", viewing)  # another action


def test_a_permit_policy_grants_what_no_role_grants(admin, make_user):
    night = make_user()
    others = make_user()
    shift = services.group_create(name="Night shift")
    services.group_member_add(group=shift, user=night)
    assert not engine.authorize(night, "accounts:user:unlock")

    save(
        admin,
        "night-unlock",
        'permit(principal in Nimbus::Group::"Night shift", action == Nimbus::Action::"accounts:user:unlock", resource) '
        'when { resource.hasTag("team") && resource.getTag("team") == "support" };',
    )

    def unlock(user, **tags):
        return engine.authorize(user, "accounts:user:unlock", Resource("accounts:user", "1", tags=tags))

    allowed = unlock(night, team="support")
    assert allowed and allowed.reasons == ("policy/night-unlock",)
    assert not unlock(night, team="sales")
    assert not unlock(others, team="support")
    assert not engine.authorize(night, "accounts:user:create")
    by_user = save(
        admin,
        "one-person",
        f'permit(principal == Nimbus::User::"{others.pk}", action == Nimbus::Action::"accounts:user:view", resource);',
    )
    assert engine.authorize(others, "accounts:user:view").reasons == (f"policy/{by_user.name}",)


def test_a_tenant_permit_never_reaches_provider_tier_actions_but_its_forbids_reach_everything(admin, make_user):
    anyone = make_user()
    save(admin, "everyone-everything", "permit(principal, action, resource);")
    assert engine.authorize(anyone, "accounts:user:create")  # up to the tenant-admin tier: the admin's choice
    assert not engine.authorize(anyone, "tenancy:tenant:delete")  # above it: as a role could not
    assert not engine.authorize(anyone, "tenancy:tenant:open")
    save(admin, "nothing-at-night", "forbid(principal, action, resource) when { context.hour >= 22 };")
    assert not engine.authorize(admin, "accounts:user:create", None, {"now": at(23)})


def test_disabled_policies_are_ignored_until_enabled(admin, operator):
    policy = save(admin, "weekend", "forbid(principal, action, resource);", enabled=False)
    assert engine.authorize(operator, "accounts:user:view")
    services.policy_save(actor=admin, name="ignored", text=policy.text, enabled=True, policy=policy)
    assert not engine.authorize(operator, "accounts:user:view")
    assert Policy.objects.get().name == "weekend"  # replacing keeps the name


# --- Statement ids and explanations ----------------------------------------------------------------


def test_statement_ids_are_the_policy_name_or_name_and_position(admin, operator):
    single = save(admin, "Only One", 'permit(principal, action == Nimbus::Action::"accounts:user:view", resource);')
    several = save(
        admin,
        "two-rules",
        'permit(principal, action == Nimbus::Action::"accounts:user:unlock", resource);\n'
        'forbid(principal, action == Nimbus::Action::"accounts:user:view", resource)\n'
        '  when { context.source == "task" };',
    )
    assert (single.name, list(single.compiled)) == ("only-one", ["policy/only-one"])
    assert list(several.compiled) == ["policy/two-rules/1", "policy/two-rules/2"]
    assert several.compiled["policy/two-rules/2"]["effect"] == "forbid"
    assert engine.authorize(operator, "accounts:user:unlock").reasons == ("policy/two-rules/1",)
    assert engine.authorize(operator, "accounts:user:view", None, {"source": "task"}).reasons == ("policy/two-rules/2",)
    assert engine.authorize(operator, "accounts:user:view").reasons == tuple(
        sorted([f"assignment/{operator.role_assignments.get().pk}", "policy/only-one"])
    )


def test_explain_and_simulate_say_what_decided(admin, operator, contractors):
    save(
        admin,
        "no-contractors",
        'forbid(principal in Nimbus::Group::"Contractors", action == Nimbus::Action::"accounts:user:view", resource);',
        description="Contractors do not browse the directory.",
    )
    assignment = operator.role_assignments.get()

    assert engine.explain(f"assignment/{assignment.pk}") == {
        "id": f"assignment/{assignment.pk}",
        "kind": "assignment",
        "effect": "permit",
        "text": "Role 'operator' given to user operator@acme.test over the whole tenant.",
        "assignment": assignment.pk,
    }
    policy = engine.explain("policy/no-contractors")
    assert (policy["kind"], policy["effect"], policy["policy"]) == ("policy", "forbid", "no-contractors")
    assert policy["text"] == "Tenant policy 'no-contractors': Contractors do not browse the directory."
    assert engine.explain("builtin/tenant-admin")["kind"] == "builtin"
    assert engine.explain("object-grant") == {
        "id": "object-grant",
        "kind": "grant",
        "effect": "permit",
        "text": "A grant on this very object.",
    }
    assert engine.explain("assignment/0")["text"] == "A role assignment since removed."

    answer = engine.simulate(operator, "accounts:user:view", None, {"now": at(10), "ip": "10.1.1.1"})
    assert (answer["allowed"], answer["decision"]) == (False, "deny")
    assert [(r["id"], r["kind"], r["effect"]) for r in answer["reasons"]] == [
        ("policy/no-contractors", "policy", "forbid")
    ]
    assert answer["message"].startswith("Forbidden by Tenant policy 'no-contractors'")
    assert answer["context"] == {
        "now": "2026-01-05T10:00:00Z",
        "hour": 10,
        "minute_of_day": 600,
        "weekday": 1,
        "source": "simulator",
        "ip": "10.1.1.1",
    }
    on_an_object = engine.simulate(operator, "accounts:user:view", Resource("accounts:user", "3"))
    assert on_an_object["decision"] == "deny"  # the forbid applies to objects as well
    services.group_member_remove(group=contractors, user=operator)
    allowed = engine.simulate(operator, "accounts:user:view")
    assert allowed["message"] == "Allowed." and [r["kind"] for r in allowed["reasons"]] == ["assignment"]

    with pytest.raises(ValueError, match="Unknown permission"):
        engine.simulate(operator, "accounts:user:fly")
    with pytest.raises(ValueError, match="does not apply"):
        engine.simulate(operator, "accounts:user:view", Resource("access:role", "1"))
    with pytest.raises(ValueError, match="Unknown context keys: weather"):
        engine.simulate(operator, "accounts:user:view", None, {"weather": "rain"})


# --- Failing closed ---------------------------------------------------------------------------------


def test_a_forbid_whose_condition_errs_still_denies(admin, operator):
    # Long overflow at run time: the validator accepts it, Cedar skips the statement and reports the error.
    save(admin, "broken", "forbid(principal, action, resource) when { 9223372036854775807 + context.weekday > 0 };")

    decision = engine.authorize(operator, "accounts:user:view")

    assert not decision and decision.errors, "a forbid that errs must not let the request through"
    # What Cedar alone answers for the same request: allowed, the broken forbid skipped. The engine must not follow.
    groups = engine.user_group_names(operator)
    request, entities = engine._request(
        operator, "accounts:user:view", Resource(), engine.cedar_context(None), groups, set()
    )
    raw = cedarpy.is_authorized(request, engine.reference_policy_set("accounts:user:view"), entities, engine.schema())
    assert raw.allowed and raw.diagnostics.errors
    assert "could not be decided safely" in engine.explain_denial(operator, "accounts:user:view", decision)


def test_a_context_the_engine_cannot_read_denies_with_errors(operator):
    for context in ({"weather": "rain"}, {"now": "yesterday"}, {"source": "carrier-pigeon"}, {"mfa": "yes"}):
        decision = engine.authorize(operator, "accounts:user:view", None, context)
        assert not decision and decision.errors, context
    assert engine.authorize(operator, "accounts:user:view", None, {"mfa": True, "source": "api"})


# --- Refusals ------------------------------------------------------------------------------------


REFUSED = [
    pytest.param(
        "permit(principal, action, resource)\nwhen { context.hour < };",
        ["line 2, column 23: unexpected token `}`"],
        id="syntax-error",
    ),
    pytest.param(
        "permit(principal, action, resource);\nforbid(principal, action resource);",
        ["line 2, column 26: unexpected token `resource`"],
        id="syntax-error-second-statement",
    ),
    pytest.param(
        "permitt(principal, action, resource);",
        ["line 1, column 1: invalid policy effect: permitt"],
        id="misspelt-effect",
    ),
    pytest.param(
        'permit(principal, action, resource)\n  when { principal.department == "x" };',
        ["line 2, column 20: statement 1: attribute `department` on entity type `Nimbus::User` not found"],
        id="unknown-attribute",
    ),
    pytest.param(
        'forbid(principal, action == Nimbus::Action::"accounts:user:fly", resource);',
        ['line 1, column 29: statement 1: unrecognized action `Nimbus::Action::"accounts:user:fly"`'],
        id="unknown-action",
    ),
    pytest.param(
        'permit(principal, action, resource);\nforbid(principal in Nimbus::Group::"Nobody", action, resource);',
        ["line 2, column 36: There is no group named 'Nobody'."],
        id="unknown-group",
    ),
    pytest.param(
        "permit(principal == ?principal, action, resource);",
        ["line 1, column 1: Templates (?principal, ?resource) are not supported; name the entities."],
        id="template",
    ),
    pytest.param(
        'forbid(principal,\n  action == Nimbus::Action::"access:policy:update", resource);',
        ["line 2, column 30: Tenant policies do not apply to 'access:policy:update'"],
        id="break-glass-action",
    ),
    pytest.param(
        'forbid(principal, action in [Nimbus::Action::"accounts:user:view", Nimbus::Action::"access:policy:view"], '
        "resource);",
        ["line 1, column 85: Tenant policies do not apply to 'access:policy:view'"],
        id="break-glass-in-a-list",
    ),
    pytest.param(
        'forbid(principal, action, resource) when { !context.ip.isInRange(ip("10.0.0.0/8")) };',
        ["line 1, column 53: statement 1: unable to guarantee safety of access to optional attribute `ip`"],
        id="optional-attribute-untested",
    ),
    pytest.param("", ["line 1, column 1: Write at least one permit or forbid statement."], id="empty"),
    pytest.param("  \n\t ", ["line 1, column 1: Write at least one permit or forbid statement."], id="blank"),
    pytest.param(
        "permit(principal, action, resource);" + " " * MAX_POLICY_CHARS,
        [f"A policy is at most {MAX_POLICY_CHARS} characters long."],
        id="too-long",
    ),
]


@pytest.mark.parametrize(("text", "expected"), REFUSED)
def test_invalid_policies_are_refused_with_line_and_column_and_nothing_is_saved(admin, text, expected):
    with pytest.raises(ValidationError) as refused:
        save(admin, "candidate", text)
    problems = refused.value.message_dict["text"]
    for wanted in expected:
        assert any(problem.startswith(wanted) for problem in problems), problems
    assert not Policy.objects.exists()


def test_a_refused_change_leaves_the_saved_policy_as_it_was(admin, operator):
    policy = save(admin, "guard", 'forbid(principal, action == Nimbus::Action::"accounts:user:view", resource);')
    before = (policy.text, policy.compiled, policy.enabled)
    with pytest.raises(ValidationError):
        services.policy_save(actor=admin, name="guard", text="forbid(principal, action, resource", policy=policy)
    with pytest.raises(ValidationError, match="already exists"):
        save(admin, "Guard", "permit(principal, action, resource);")
    policy.refresh_from_db()
    assert (policy.text, policy.compiled, policy.enabled) == before
    assert Policy.objects.count() == 1
    assert not engine.authorize(operator, "accounts:user:view")


def test_groups_named_by_a_policy_cannot_be_renamed_or_deleted(admin, contractors):
    save(admin, "no-contractors", 'forbid(principal in Nimbus::Group::"Contractors", action, resource);')
    with pytest.raises(ValidationError, match=r"Policies name this group \(no-contractors\)"):
        services.group_update(group=contractors, name="Freelancers")
    with pytest.raises(ValidationError, match=r"Policies name the group 'Contractors' \(no-contractors\)"):
        services.group_delete(group=contractors)
    contractors.refresh_from_db()
    assert contractors.name == "Contractors"
    services.group_update(group=contractors, description="Still allowed")  # only the name is pinned

    services.policy_delete(policy=Policy.objects.get(name="no-contractors"))
    services.group_update(group=contractors, name="Freelancers")
    services.group_delete(group=contractors)
