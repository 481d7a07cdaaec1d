"""Writes of SCIM: users and groups created, replaced (PUT and PATCH alike), deleted; each recorded once.

Who acts: a SCIM request is made by the tenant's IdP with a SCIM token, not by
a person, so the actor is a ``ScimActor`` built from the token: authenticated,
with no user id (``actor_id`` stays empty in audit events, so it can never be
mistaken for a user), shown as ``SCIM token <name>``, and every event's
metadata names the token by its prefix (``scim_token_prefix``; a key ending in "token" is redacted).

How the lower apps are called: accounts' ``user_create`` and the
``user_provisioned_*`` services (no permission check: the caller authenticated
the IdP's credential; they record ``accounts:user:disable|enable|delete`` like
every other path), and access's group services with ``actor=None`` (access
treats ``None`` as the system: no "you do not hold what you hand out" check,
which compares a person's permissions) inside ``bound_actor(actor)``, so the
``access:group:*`` events they record still name the SCIM token as actor.

Events recorded here: ``identity:scim:user:create|update|delete`` and
``identity:scim:group:create|update|delete`` (one per SCIM operation, with the
changes), and the refusals (``outcome`` denied or error, with ``scimType``) by
the views through ``record_refusal``.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from apps.access import services as access_services
from apps.access.models import Group
from apps.accounts import services as account_services
from apps.audit.models import Outcome
from apps.audit.recorder import bound_actor, record

from ..models import ScimGroup, ScimToken, ScimUser
from . import resources
from .errors import ScimError
from .filters import PLACEHOLDER_EMAIL_DOMAIN

VIA = "scim"
MAX_TEXT = {"userName": 254, "externalId": 254, "displayName": 150}


class ScimActor:
    """The principal of a SCIM request: the tenant's SCIM token, never a user (no ``pk``)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_delegated = False
    is_superuser = False
    is_staff = False
    is_tenant_admin = False
    pk = None
    id = None
    email = ""

    def __init__(self, token: ScimToken):
        self.token = token

    @property
    def token_label(self) -> str:
        return f"scim_{self.token.prefix}…"

    def __str__(self) -> str:
        return f"SCIM token {self.token.name}"

    def has_perm(self, *args, **kwargs) -> bool:  # Django's permission API: a SCIM token holds none of them
        return False


def _event(action: str, actor: ScimActor, *, kind: str, resource_id, display: str, changes=None, **metadata):
    record(
        action,
        actor=actor,
        resource_type=f"identity:scim_{kind}",
        resource_id=resource_id,
        resource_display=display,
        changes=changes or {},
        metadata={"scim_token_prefix": actor.token_label, **metadata},
    )


def record_refusal(actor, *, action: str, error: ScimError, resource_id: str = "") -> None:
    """A refused SCIM request: ``denied`` for 401/403, ``error`` otherwise; never the body (it may hold secrets)."""
    record(
        action,
        actor=actor if isinstance(actor, ScimActor) else None,
        resource_type="identity:scim",
        resource_id=resource_id,
        resource_display=str(actor) if isinstance(actor, ScimActor) else "",
        outcome=Outcome.DENIED if error.status in (401, 403) else Outcome.ERROR,
        metadata={
            "status": error.status,
            "scim_type": error.scim_type or "",
            "detail": error.detail[:300],
            **({"scim_token_prefix": actor.token_label} if isinstance(actor, ScimActor) else {}),
        },
    )


def _text(state: dict, key: str, *, required: bool = False) -> str:
    value = state.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ScimError(400, f"'{key}' is required.", "invalidValue")
        return ""
    if not isinstance(value, str):
        raise ScimError(400, f"'{key}' is a string.", "invalidValue")
    value = value.strip()
    if len(value) > MAX_TEXT.get(key, 300):
        raise ScimError(400, f"'{key}' is longer than {MAX_TEXT.get(key, 300)} characters.", "invalidValue")
    return value


def _name_parts(state: dict) -> dict:
    name = state.get("name") or {}
    parts = {}
    for sub, field, limit in (
        ("givenName", "given_name", 150),
        ("familyName", "family_name", 150),
        ("formatted", "formatted_name", 300),
    ):
        value = name.get(sub) or ""
        if not isinstance(value, str) or len(value) > limit:
            raise ScimError(400, f"'name.{sub}' is a string of at most {limit} characters.", "invalidValue")
        parts[field] = value.strip()
    return parts


def _email_for(state: dict, user_name: str) -> str:
    email = resources.chosen_email(state)
    if email is not None:
        email = email.strip().lower()
        if not resources.is_email(email) or email.endswith(PLACEHOLDER_EMAIL_DOMAIN):
            raise ScimError(400, f"'{email}' is not a valid email address.", "invalidValue")
        return email
    if resources.is_email(user_name):
        return user_name.lower()
    return f"{uuid.uuid4().hex}{PLACEHOLDER_EMAIL_DOMAIN}"


def _user_name_taken(user_name: str, exclude_pk=None) -> bool:
    return ScimUser.objects.filter(user_name__iexact=user_name).exclude(pk=exclude_pk).exists()


def _validation_to_scim(error: ValidationError) -> ScimError:
    messages = error.messages
    text = " ".join(messages)
    if "already exists" in text:
        return ScimError(409, f"{text} (Nimbus keeps one account per email address.)", "uniqueness")
    return ScimError(400, text or "Invalid value.", "invalidValue")


def scim_user_create(*, actor: ScimActor, state: dict) -> ScimUser:
    user_name = _text(state, "userName", required=True)
    external_id = _text(state, "externalId")
    display_name = _text(state, "displayName")
    parts = _name_parts(state)
    active = state.get("active")
    active = True if active is None else bool(active)
    if _user_name_taken(user_name):
        raise ScimError(409, f"A user with the userName '{user_name}' exists already.", "uniqueness")
    email = _email_for(state, user_name)
    try:
        with transaction.atomic():
            user = account_services.user_create(email=email, password=None, display_name=display_name)
            scim_user = ScimUser.objects.create(
                scim_id=uuid.uuid4(), user=user, user_name=user_name, external_id=external_id, **parts
            )
            if not active:
                account_services.user_provisioned_update(actor=actor, user=user, is_active=False, via=VIA)
            _event(
                "identity:scim:user:create",
                actor,
                kind="user",
                resource_id=scim_user.scim_id,
                display=user_name,
                changes={
                    "userName": [None, user_name],
                    "email": [None, resources.published_email(email)],
                    "active": [None, active],
                },
                user_id=user.pk,
            )
    except ValidationError as error:
        raise _validation_to_scim(error) from None
    except IntegrityError:
        raise ScimError(
            409, f"A user with the userName '{user_name}' or its email exists already.", "uniqueness"
        ) from None
    return scim_user


def scim_user_replace(*, actor: ScimActor, scim_user: ScimUser, state: dict, how: str) -> ScimUser:
    """Make the user what ``state`` says (PUT: the whole resource; PATCH: the state after its operations)."""
    user = scim_user.user
    user_name = _text(state, "userName", required=True)
    if _user_name_taken(user_name, exclude_pk=scim_user.pk):
        raise ScimError(409, f"A user with the userName '{user_name}' exists already.", "uniqueness")
    fields = {"user_name": user_name, "external_id": _text(state, "externalId"), **_name_parts(state)}
    display_name = _text(state, "displayName")
    active = state.get("active")
    active = user.is_active if active is None and how == "patch" else (True if active is None else bool(active))
    email = resources.chosen_email(state)
    if email is None:
        current = resources.published_email(user.email)
        # No email given: keep the one derived from the userName, else a placeholder (never a stale address).
        email = (
            user.email
            if current is None and user.email.endswith(PLACEHOLDER_EMAIL_DOMAIN)
            else _email_for(state, user_name)
        )
    else:
        email = _email_for(state, user_name)
    changes = {
        field: [getattr(scim_user, field), value]
        for field, value in fields.items()
        if getattr(scim_user, field) != value
    }
    try:
        with transaction.atomic():
            account_changes = account_services.user_provisioned_update(
                actor=actor, user=user, email=email, display_name=display_name, is_active=active, via=VIA
            )
            if changes:
                for field, (_old, new) in changes.items():
                    setattr(scim_user, field, new)
                scim_user.save()
            elif account_changes:
                scim_user.save(update_fields=["updated_at"])
            changes.update(account_changes)
            if "email" in changes:
                changes["email"] = [resources.published_email(v) if v else v for v in changes["email"]]
            if changes:
                _event(
                    "identity:scim:user:update",
                    actor,
                    kind="user",
                    resource_id=scim_user.scim_id,
                    display=scim_user.user_name,
                    changes=changes,
                    operation=how,
                    user_id=user.pk,
                )
    except ValidationError as error:
        raise _validation_to_scim(error) from None
    except IntegrityError:
        raise ScimError(
            409, f"A user with the userName '{user_name}' or its email exists already.", "uniqueness"
        ) from None
    return scim_user


def scim_user_delete(*, actor: ScimActor, scim_user: ScimUser) -> None:
    with transaction.atomic():
        _event(
            "identity:scim:user:delete",
            actor,
            kind="user",
            resource_id=scim_user.scim_id,
            display=scim_user.user_name,
            user_id=scim_user.user_id,
        )
        try:
            account_services.user_provisioned_delete(actor=actor, user=scim_user.user, via=VIA)
        except ValidationError as error:
            raise _validation_to_scim(error) from None


def _member_users(state: dict) -> list:
    from apps.accounts.models import User

    values = [m.get("value") for m in (state.get("members") or [])]
    ids = []
    for value in values:
        try:
            ids.append(uuid.UUID(str(value)))
        except ValueError:
            raise ScimError(400, f"'{value}' is not the id of a user here.", "invalidValue") from None
    found = {row.scim.scim_id: row for row in User.objects.filter(scim__scim_id__in=ids).select_related("scim")}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise ScimError(400, f"No user here has the id {', '.join(missing[:5])}.", "invalidValue")
    return list({found[i].pk: found[i] for i in ids}.values())


def _group_name(state: dict) -> str:
    return _text(state, "displayName", required=True)


def scim_group_create(*, actor: ScimActor, state: dict) -> ScimGroup:
    name = _group_name(state)
    external_id = _text(state, "externalId")
    members = _member_users(state)
    if Group.objects.filter(name__iexact=name).exists():
        raise ScimError(409, f"A group named '{name}' exists already.", "uniqueness")
    try:
        with transaction.atomic(), bound_actor(actor):
            group = access_services.group_create(name=name, actor=None)
            scim_group = ScimGroup.objects.create(scim_id=uuid.uuid4(), group=group, external_id=external_id)
            for user in members:
                access_services.group_member_add(group=group, user=user, actor=None)
            _event(
                "identity:scim:group:create",
                actor,
                kind="group",
                resource_id=scim_group.scim_id,
                display=name,
                changes={"displayName": [None, name], "members_added": [u.email for u in members][:100]},
            )
    except ValidationError as error:
        raise _validation_to_scim(error) from None
    except (PermissionDenied, IntegrityError):
        raise ScimError(409, f"A group named '{name}' exists already.", "uniqueness") from None
    return scim_group


def scim_group_replace(*, actor: ScimActor, scim_group: ScimGroup, state: dict, how: str) -> ScimGroup:
    group = scim_group.group
    name = _group_name(state)
    external_id = _text(state, "externalId")
    wanted = {u.pk: u for u in _member_users(state)}
    current = {u.pk: u for u in group.members.filter(scim__isnull=False)}
    added = [u for pk, u in wanted.items() if pk not in current]
    removed = [u for pk, u in current.items() if pk not in wanted]
    changes: dict = {}
    if name != group.name:
        if Group.objects.filter(name__iexact=name).exclude(pk=group.pk).exists():
            raise ScimError(409, f"A group named '{name}' exists already.", "uniqueness")
        changes["displayName"] = [group.name, name]
    if external_id != scim_group.external_id:
        changes["externalId"] = [scim_group.external_id, external_id]
    try:
        with transaction.atomic(), bound_actor(actor):
            if "displayName" in changes:
                access_services.group_update(group=group, name=name, actor=None)
            for user in added:
                access_services.group_member_add(group=group, user=user, actor=None)
            for user in removed:
                access_services.group_member_remove(group=group, user=user, actor=None)
            if added:
                changes["members_added"] = [u.email for u in added][:100]
            if removed:
                changes["members_removed"] = [u.email for u in removed][:100]
            scim_group.external_id = external_id
            scim_group.save()
            if changes:
                _event(
                    "identity:scim:group:update",
                    actor,
                    kind="group",
                    resource_id=scim_group.scim_id,
                    display=name,
                    changes=changes,
                    operation=how,
                )
    except ValidationError as error:
        raise _validation_to_scim(error) from None
    return scim_group


def scim_group_delete(*, actor: ScimActor, scim_group: ScimGroup) -> None:
    with transaction.atomic(), bound_actor(actor):
        _event(
            "identity:scim:group:delete",
            actor,
            kind="group",
            resource_id=scim_group.scim_id,
            display=scim_group.group.name,
        )
        try:
            access_services.group_delete(group=scim_group.group, actor=None)
        except (ValidationError, PermissionDenied) as error:
            raise ScimError(409, " ".join(getattr(error, "messages", [str(error)]))) from None
