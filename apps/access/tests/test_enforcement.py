"""Enforcement through ``apps.core.authorization``: require (404 or 403), view guards, the tag, background work."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone
from django.views import View

from apps.access import services
from apps.core import authorization
from apps.core.authorization import (
    NO_DECIDER,
    PermissionRequiredMixin,
    Resource,
    context_for,
    permission_required,
    require,
    require_actor,
)

pytestmark = pytest.mark.django_db

VIEW, UPDATE = "accounts:user:view", "accounts:user:update"


@pytest.fixture
def reader(admin, make_user, role):
    """May see users (the system role 'read_only'), nothing more."""
    user = make_user("reader@acme.test")
    services.role_assign(actor=admin, role=role("read_only"), user=user)
    return user


@pytest.fixture
def nobody(in_acme, make_user):
    return make_user("nobody@acme.test")


@pytest.fixture
def target(in_acme, make_user):
    return make_user("target@acme.test")


def get(user, path: str = "/users/", **extra):
    request = RequestFactory().get(path, **extra)
    request.user = user
    return request


# --- require ------------------------------------------------------------------------------------


def test_require_hides_objects_the_principal_may_not_read(nobody, target):
    on_target = Resource("accounts:user", str(target.pk))
    with pytest.raises(Http404):
        require(nobody, UPDATE, on_target)
    with pytest.raises(Http404):
        require(nobody, VIEW, on_target)  # the read action itself
    with pytest.raises(PermissionDenied, match="You do not hold the permission 'accounts:user:update'"):
        require(nobody, UPDATE)  # the tenant is no secret
    # A kind without a read permission never says whether the object exists.
    with pytest.raises(Http404):
        require(nobody, "accounts:subtenant:open", Resource("accounts:subtenant", "3"))


def test_require_says_why_to_principals_who_may_read(admin, reader, target):
    on_target = Resource("accounts:user", str(target.pk))
    assert require(reader, VIEW, on_target).allowed
    with pytest.raises(PermissionDenied) as refused:
        require(reader, UPDATE, on_target)
    assert str(refused.value) == (
        "You do not hold the permission 'accounts:user:update' (change users' email, name and administrator flag)."
    )
    services.policy_save(
        actor=admin,
        name="freeze",
        description="No changes during the audit.",
        text=f'forbid(principal, action == Nimbus::Action::"{UPDATE}", resource);',
    )
    with pytest.raises(PermissionDenied, match=r"^Forbidden by Tenant policy 'freeze': No changes during the audit\.$"):
        require(admin, UPDATE, on_target)
    assert require(admin, "accounts:user:disable", on_target).reasons == ("builtin/tenant-admin",)


def test_require_with_a_request_uses_its_context_and_remembers_answers(admin, reader):
    services.policy_save(
        actor=admin,
        name="office",
        text='forbid(principal, action, resource) when { context has ip && !context.ip.isInRange(ip("10.0.0.0/8")) };',
    )
    inside, outside = get(reader, REMOTE_ADDR="10.0.0.5"), get(reader, REMOTE_ADDR="203.0.113.9")
    assert require(reader, VIEW, request=inside)
    with pytest.raises(PermissionDenied, match="Tenant policy 'office'"):
        require(reader, VIEW, request=outside)
    assert list(inside._authz_decisions) == [(reader.pk, VIEW, None)]


# --- Views ------------------------------------------------------------------------------------------


@permission_required(VIEW)
def user_list(request):
    return HttpResponse("the users")


class UserList(PermissionRequiredMixin, View):
    permission_required = VIEW

    def get(self, request):
        return HttpResponse("the users")


@pytest.mark.parametrize("view", [user_list, UserList.as_view()], ids=["decorator", "mixin"])
def test_view_guards_sign_in_visitors_refuse_the_unentitled_and_serve_the_rest(view, reader, nobody):
    visitor = view(get(AnonymousUser(), "/users/?page=2"))
    assert visitor.status_code == 302 and "/users/%3Fpage%3D2" in visitor["Location"]
    with pytest.raises(PermissionDenied, match="You do not hold the permission 'accounts:user:view'"):
        view(get(nobody))
    served = view(get(reader))
    assert (served.status_code, served.content) == (200, b"the users")


# --- The template tag ------------------------------------------------------------------------------


def render(source: str, **context) -> str:
    return Template("{% load authz %}" + source).render(Context(context))


def test_the_can_tag_shows_controls_only_to_those_allowed(admin, reader, nobody, target):
    tenant_wide = '{% can "accounts:user:view" as ok %}{{ ok|yesno:"shown,hidden" }}'
    assert render(tenant_wide, request=get(reader)) == "shown"
    assert render(tenant_wide, request=get(nobody)) == "hidden"
    assert render(tenant_wide, request=get(AnonymousUser())) == "hidden"
    assert render(tenant_wide) == "hidden"  # no request in the context

    on_object = '{% can "accounts:user:update" "accounts:user" obj as ok %}{{ ok|yesno:"shown,hidden" }}'
    assert render(on_object, request=get(reader), obj=target) == "hidden"
    services.object_grant_add(actor=admin, permission=UPDATE, kind="accounts:user", object_id=target.pk, user=reader)
    assert render(on_object, request=get(reader), obj=target) == "shown"
    assert render(on_object, request=get(reader), obj=admin) == "hidden"


# --- Background work --------------------------------------------------------------------------------


def test_require_actor_checks_again_in_the_current_schema(admin, reader, make_user, role):
    assert require_actor(reader.pk, VIEW) == reader
    with pytest.raises(PermissionDenied, match="You do not hold the permission 'accounts:user:update'"):
        require_actor(reader.pk, UPDATE)
    with pytest.raises(PermissionDenied, match="no longer exists or is disabled"):
        require_actor(999_999_999, VIEW)
    with pytest.raises(PermissionDenied, match="no longer exists or is disabled"):
        require_actor(None, VIEW)
    gone = make_user("gone@acme.test")
    services.role_assign(actor=admin, role=role("tenant_admin"), user=gone)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    with pytest.raises(PermissionDenied, match="no longer exists or is disabled"):
        require_actor(gone.pk, VIEW)


def test_require_actor_tells_policies_where_the_work_runs(admin, reader):
    services.policy_save(
        actor=admin,
        name="no-robots",
        text=f'forbid(principal, action == Nimbus::Action::"{VIEW}", resource) when {{ context.source == "task" }};',
    )
    with pytest.raises(PermissionDenied, match="Tenant policy 'no-robots'"):
        require_actor(reader.pk, VIEW)
    assert require_actor(reader.pk, VIEW, source="workflow") == reader


# --- No engine loaded ------------------------------------------------------------------------------


def test_without_a_decider_every_answer_is_no(reader, target):
    previous = authorization.decider()
    assert previous is not None
    authorization.register(None)
    try:
        assert authorization.authorize(reader, VIEW) == NO_DECIDER
        assert not authorization.authorize(reader, VIEW, request=get(reader))
        assert authorization.can(get(reader), VIEW) is False
        with pytest.raises(PermissionDenied, match="Access control is not available"):
            require(reader, VIEW)
        with pytest.raises(Http404):  # whether the object exists cannot be told either
            require(reader, UPDATE, Resource("accounts:user", str(target.pk)))
        with pytest.raises(PermissionDenied):
            require_actor(reader.pk, VIEW)
        with pytest.raises(PermissionDenied):
            user_list(get(reader))
    finally:
        authorization.register(previous)
    assert authorization.decider() is previous
    assert authorization.authorize(reader, VIEW)


# --- Context --------------------------------------------------------------------------------------


def test_context_for_a_request_carries_time_address_and_source():
    factory = RequestFactory()
    now = timezone.make_aware(datetime(2026, 3, 2, 14, 30))
    page = context_for(factory.get("/users/", REMOTE_ADDR="10.1.2.3"), now=now)
    assert page == {"now": now, "ip": "10.1.2.3", "source": "web"}
    assert context_for(factory.get("/api/v1/users/"))["source"] == "api"
    assert context_for(factory.get("/users/"), source="websocket")["source"] == "websocket"
    no_address = factory.get("/users/")
    del no_address.META["REMOTE_ADDR"]
    assert "ip" not in context_for(no_address)
    background = context_for()
    assert background["source"] == "task" and "ip" not in background
    assert abs((background["now"] - timezone.now()).total_seconds()) < 60
    assert context_for(source="workflow")["source"] == "workflow"
