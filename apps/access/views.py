"""The access-control pages of a tenant host (/access/): roles, groups, assignments, policies, object grants,
a user's effective permissions and the decision simulator.

Built like the users pages: one URL serves a list's whole page and, to HTMX,
its table fragment; every change is a POST that goes through ``services``,
whose refusals (``ValidationError``, ``PermissionDenied``) come back as form
errors or a message. Every view needs the ``access:*`` permission that fits,
decided by the engine on the whole tenant (visitors are sent to sign in);
views of one object ask again about that object, so a tenant policy that
hides it makes it a 404 and one that forbids the change a 403 with the reason.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.core.authorization import Resource, can, context_for, permission_required, require
from apps.core.htmx import htmx_partial, vary_on_htmx
from apps.core.tables import configure_table

from . import engine, registry, selectors, services
from .filtersets import GroupFilterSet, PolicyFilterSet, RoleAssignmentFilterSet, RoleFilterSet
from .forms import (
    AssignmentForm,
    GroupForm,
    GroupMemberForm,
    GroupNestForm,
    ObjectGrantForm,
    PolicyForm,
    RoleForm,
    SimulatorForm,
    permission_groups,
)
from .models import Group, Policy, Role, RoleAssignment
from .tables import (
    EffectivePermissionTable,
    GroupTable,
    ObjectGrantTable,
    PolicyTable,
    RoleAssignmentTable,
    RoleTable,
    scope_text,
)

# The sections of /access/, in menu order: (menu key, label, URL name, the permission that shows it).
SECTIONS = [
    ("access.roles", "Roles", "access:role-list", "access:role:view"),
    ("access.groups", "Groups", "access:group-list", "access:group:view"),
    ("access.assignments", "Assignments", "access:assignment-list", "access:assignment:view"),
    ("access.policies", "Policies", "access:policy-list", "access:policy:view"),
    ("access.grants", "Object grants", "access:grant-list", "access:grant:view"),
    ("access.simulator", "Simulator", "access:simulator", "access:decision:simulate"),
]


def may_open_access(request) -> bool:
    """Whether the request's user may see at least one section (the "Access" menu entry)."""
    return any(can(request, action) for _key, _label, _url, action in SECTIONS)


# --- Helpers ------------------------------------------------------------------------------------


def _refused(form, error: ValidationError | PermissionDenied) -> None:
    """Put a service's refusal next to the form's fields (or above the form)."""
    if isinstance(error, PermissionDenied):
        form.add_error(None, str(error) or "You may not do that.")
    elif hasattr(error, "error_dict"):
        for field, field_errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        form.add_error(None, error.messages)


def _saved(request, form, save, message):
    """For a valid POST: run ``save(cleaned_data)`` (a service call) and say ``message(result)``; return the result.

    A refusal goes onto the form and the answer is ``None``, as it is for a GET or an invalid form.
    """
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        result = save(form.cleaned_data)
    except (ValidationError, PermissionDenied) as error:
        _refused(form, error)
        return None
    messages.success(request, message(result))
    return result


def _said(error: ValidationError | PermissionDenied) -> str:
    """A service's refusal as one sentence, for a message."""
    if isinstance(error, PermissionDenied):
        return str(error) or "You may not do that."
    return " ".join(error.messages)


def _object(request, queryset, pk, kind: str, action: str):
    """The object, if it is a row of this schema and the user may ``action`` it (404 or 403 otherwise)."""
    obj = get_object_or_404(queryset, pk=pk)
    require(request.user, action, Resource.of(kind, obj), request=request)
    return obj


def _status(form_or_forms) -> int:
    forms = form_or_forms if isinstance(form_or_forms, list | tuple) else [form_or_forms]
    return 400 if any(form is not None and form.errors for form in forms) else 200


def _list(request, template: str, *, table, filterset=None, table_id: str, **extra):
    """A list page: the whole page, or to HTMX only the table fragment; the same URL either way."""
    context = {"table": table, "filter_form": filterset.form if filterset else None, "table_id": table_id, **extra}
    return vary_on_htmx(render(request, "htmx/table.html" if htmx_partial(request) else template, context))


def _filtered(request, filterset_class, queryset):
    filterset = filterset_class(request.GET, queryset=queryset, request=request)
    filterset.is_valid()  # a bad filter is shown as an error and ignored; the valid ones still apply
    return filterset


def _confirm(request, *, title: str, question: str, action_url: str, cancel_url: str, note: str = ""):
    context = {"title": title, "question": question, "action_url": action_url, "cancel_url": cancel_url, "note": note}
    return render(request, "access/confirm_delete.html", context)


@require_safe
@login_required
def index(request):
    """``/access/``: the first section the user may see."""
    for _key, _label, url_name, action in SECTIONS:
        if can(request, action):
            return redirect(url_name)
    raise PermissionDenied("You may not see any of the access-control pages.")


# --- Roles --------------------------------------------------------------------------------------


@require_safe
@permission_required("access:role:view")
def role_list(request):
    queryset = Role.objects.annotate(assignment_count=Count("assignments"))
    filterset = _filtered(request, RoleFilterSet, queryset)
    table = configure_table(request, RoleTable(filterset.qs))
    return _list(request, "access/roles/list.html", table=table, filterset=filterset, table_id="roles-table")


@require_safe
@permission_required("access:role:view")
def role_detail(request, pk: int):
    role = _object(request, Role.objects.all(), pk, "access:role", "access:role:view")
    granted = set(role.permissions)
    by_app = permission_groups(ceiling=selectors.tier_of(role), checked=granted)
    groups = [(app, [p for p in items if p["checked"]]) for app, items in by_app]
    context = {
        "role": role,
        "tier": selectors.tier_of(role),
        "groups": [(app, items) for app, items in groups if items],
        "unregistered": sorted(name for name in granted if not registry.exists(name)),
        "assignment_count": role.assignments.count(),
    }
    return render(request, "access/roles/detail.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("access:role:create")
def role_add(request):
    form = RoleForm(request.POST or None, ceiling=selectors.principal_tier(request.user))
    role = _saved(
        request,
        form,
        lambda data: services.role_create(
            actor=request.user,
            name=data["name"],
            label=data["label"],
            permissions=data["permissions"],
            description=data["description"],
        ),
        lambda role: f"The role '{role.name}' was created.",
    )
    if role is not None:
        return redirect("access:role-detail", pk=role.pk)
    return render(request, "access/roles/form.html", {"form": form}, status=_status(form))


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("access:role:update")
def role_edit(request, pk: int):
    role = _object(request, Role.objects.all(), pk, "access:role", "access:role:update")
    if role.is_system:
        messages.error(request, "System roles cannot be changed: they follow the permission registry.")
        return redirect("access:role-detail", pk=role.pk)
    initial = {"label": role.label, "description": role.description, "permissions": role.permissions}
    form = RoleForm(request.POST or None, initial=initial, ceiling=selectors.principal_tier(request.user), editing=True)
    saved = _saved(
        request,
        form,
        lambda data: services.role_update(
            actor=request.user,
            role=role,
            label=data["label"],
            permissions=data["permissions"],
            description=data["description"],
        ),
        lambda saved: f"The role '{saved.name}' was saved.",
    )
    if saved is not None:
        return redirect("access:role-detail", pk=role.pk)
    return render(request, "access/roles/form.html", {"form": form, "role": role}, status=_status(form))


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("access:role:delete")
def role_delete(request, pk: int):
    role = _object(request, Role.objects.all(), pk, "access:role", "access:role:delete")
    if role.is_system:
        messages.error(request, "System roles cannot be deleted.")
        return redirect("access:role-detail", pk=role.pk)
    if request.method != "POST":
        return _confirm(
            request,
            title="Delete role",
            question=f"Delete the role '{role.name}'?",
            note="A role that is still assigned cannot be deleted; remove its assignments first.",
            action_url=reverse("access:role-delete", args=[role.pk]),
            cancel_url=reverse("access:role-detail", args=[role.pk]),
        )
    try:
        services.role_delete(role=role, actor=request.user)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, _said(error))
        return redirect("access:role-detail", pk=role.pk)
    messages.success(request, f"The role '{role.name}' was deleted.")
    return redirect("access:role-list")


# --- Groups -------------------------------------------------------------------------------------


@require_safe
@permission_required("access:group:view")
def group_list(request):
    queryset = Group.objects.annotate(
        member_count=Count("members", distinct=True), child_count=Count("child_links", distinct=True)
    )
    filterset = _filtered(request, GroupFilterSet, queryset)
    table = configure_table(request, GroupTable(filterset.qs))
    return _list(request, "access/groups/list.html", table=table, filterset=filterset, table_id="groups-table")


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("access:group:create")
def group_add(request):
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            group = services.group_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _refused(form, error)
        else:
            messages.success(request, f"The group '{group.name}' was created.")
            return redirect("access:group-detail", pk=group.pk)
    return render(request, "access/groups/add.html", {"form": form}, status=_status(form))


def _group_page(request, group: Group, *, edit_form=None, member_form=None, nest_form=None):
    """The group's page, with any form that came back with errors in place of its empty twin."""
    editable = can(request, "access:group:update")
    context = {
        "group": group,
        "members": group.members.order_by("email"),
        "children": Group.objects.filter(parent_links__parent=group).order_by("name"),
        "parents": Group.objects.filter(child_links__child=group).order_by("name"),
        "effective_members": selectors.group_effective_members(group),
        "assignments": group.role_assignments.select_related("role").order_by("role__name", "scope_type", "scope_id"),
        "editable": editable,
    }
    if editable:
        context["edit_form"] = edit_form or GroupForm(initial={"name": group.name, "description": group.description})
        context["member_form"] = member_form or GroupMemberForm(group=group, actor=request.user)
        context["nest_form"] = nest_form or GroupNestForm(group=group)
    status = _status([edit_form, member_form, nest_form])
    return render(request, "access/groups/detail.html", context, status=status)


@require_safe
@permission_required("access:group:view")
def group_detail(request, pk: int):
    group = _object(request, Group.objects.all(), pk, "access:group", "access:group:view")
    return _group_page(request, group)


@require_POST
@permission_required("access:group:update")
def group_edit(request, pk: int):
    group = _object(request, Group.objects.all(), pk, "access:group", "access:group:update")
    form = GroupForm(request.POST)
    if form.is_valid():
        try:
            group = services.group_update(actor=request.user, group=group, **form.cleaned_data)
        except ValidationError as error:
            _refused(form, error)
        else:
            messages.success(request, f"The group '{group.name}' was saved.")
            return redirect("access:group-detail", pk=group.pk)
    return _group_page(request, group, edit_form=form)


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("access:group:delete")
def group_delete(request, pk: int):
    group = _object(request, Group.objects.all(), pk, "access:group", "access:group:delete")
    if request.method != "POST":
        return _confirm(
            request,
            title="Delete group",
            question=f"Delete the group '{group.name}'?",
            note="Its memberships, nestings, role assignments and object grants go with it.",
            action_url=reverse("access:group-delete", args=[group.pk]),
            cancel_url=reverse("access:group-detail", args=[group.pk]),
        )
    try:
        services.group_delete(actor=request.user, group=group)
    except ValidationError as error:
        messages.error(request, _said(error))
        return redirect("access:group-detail", pk=group.pk)
    messages.success(request, f"The group '{group.name}' was deleted.")
    return redirect("access:group-list")


@require_POST
@permission_required("access:group:update")
def group_member_add(request, pk: int):
    group = _object(request, Group.objects.all(), pk, "access:group", "access:group:update")
    form = GroupMemberForm(request.POST, group=group, actor=request.user)
    if form.is_valid():
        user = form.cleaned_data["user"]
        try:
            services.group_member_add(actor=request.user, group=group, user=user)
        except ValidationError as error:
            _refused(form, error)
        else:
            messages.success(request, f"{user.email} is now a member of '{group.name}'.")
            return redirect("access:group-detail", pk=group.pk)
    return _group_page(request, group, member_form=form)


@require_POST
@permission_required("access:group:update")
def group_member_remove(request, pk: int, user_pk: int):
    group = _object(request, Group.objects.all(), pk, "access:group", "access:group:update")
    user = get_object_or_404(group.members.all(), pk=user_pk)
    services.group_member_remove(actor=request.user, group=group, user=user)
    messages.success(request, f"{user.email} is no longer a direct member of '{group.name}'.")
    return redirect("access:group-detail", pk=group.pk)


@require_POST
@permission_required("access:group:update")
def group_child_add(request, pk: int):
    group = _object(request, Group.objects.all(), pk, "access:group", "access:group:update")
    form = GroupNestForm(request.POST, group=group)
    if form.is_valid():
        child = form.cleaned_data["child"]
        try:
            services.group_nest(actor=request.user, parent=group, child=child)
        except ValidationError as error:
            form.add_error("child", error.messages)
        else:
            messages.success(request, f"'{child.name}' is now inside '{group.name}'.")
            return redirect("access:group-detail", pk=group.pk)
    return _group_page(request, group, nest_form=form)


@require_POST
@permission_required("access:group:update")
def group_child_remove(request, pk: int, child_pk: int):
    group = _object(request, Group.objects.all(), pk, "access:group", "access:group:update")
    child = get_object_or_404(Group.objects.filter(parent_links__parent=group), pk=child_pk)
    services.group_unnest(actor=request.user, parent=group, child=child)
    messages.success(request, f"'{child.name}' is no longer inside '{group.name}'.")
    # Taken out from the child's page (its "inside" list) or the parent's: back where the button was.
    back = child if request.POST.get("back") == "child" else group
    return redirect("access:group-detail", pk=back.pk)


# --- Role assignments ----------------------------------------------------------------------------


@require_safe
@permission_required("access:assignment:view")
def assignment_list(request):
    queryset = RoleAssignment.objects.select_related("role", "user", "group")
    filterset = _filtered(request, RoleAssignmentFilterSet, queryset)
    table = configure_table(request, RoleAssignmentTable(filterset.qs.order_by("role__name", "pk")))
    return _list(
        request, "access/assignments/list.html", table=table, filterset=filterset, table_id="assignments-table"
    )


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("access:assignment:create")
def assignment_add(request):
    initial = {key: request.GET[key] for key in ("role", "user", "group") if request.GET.get(key, "").isdigit()}
    form = AssignmentForm(
        request.POST or None, initial={"scope_type": RoleAssignment.SCOPE_TENANT, **initial}, actor=request.user
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            assignment = services.role_assign(
                actor=request.user,
                role=data["role"],
                user=data["user"],
                group=data["group"],
                scope_type=data["scope_type"],
                scope_id=data["scope_id"].strip(),
            )
        except (ValidationError, PermissionDenied) as error:
            _refused(form, error)
        else:
            who = assignment.user.email if assignment.user_id else f"the group '{assignment.group.name}'"
            where = scope_text(assignment.scope_type, assignment.scope_id)
            messages.success(request, f"The role '{assignment.role.name}' was given to {who} over {where}.")
            return redirect("access:assignment-list")
    return render(request, "access/assignments/add.html", {"form": form}, status=_status(form))


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("access:assignment:delete")
def assignment_delete(request, pk: int):
    queryset = RoleAssignment.objects.select_related("role", "user", "group")
    assignment = _object(request, queryset, pk, "access:assignment", "access:assignment:delete")
    who = assignment.user.email if assignment.user_id else f"the group '{assignment.group.name}'"
    where = scope_text(assignment.scope_type, assignment.scope_id)
    if request.method != "POST":
        return _confirm(
            request,
            title="Remove assignment",
            question=f"Take the role '{assignment.role.name}' away from {who} ({where})?",
            action_url=reverse("access:assignment-delete", args=[assignment.pk]),
            cancel_url=reverse("access:assignment-list"),
        )
    try:
        services.role_unassign(actor=request.user, assignment=assignment)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, _said(error))
    else:
        messages.success(request, f"The role '{assignment.role.name}' was taken away from {who} ({where}).")
    return redirect("access:assignment-list")


# --- Policies -----------------------------------------------------------------------------------


def _live_validation(form) -> None:
    """As the person types, the text goes to the validate endpoint, which answers with the problems found."""
    form.fields["text"].widget.attrs.update(
        {
            "hx-post": reverse("access:policy-validate"),
            "hx-trigger": "keyup changed delay:500ms",
            "hx-target": "#policy-validation",
            "hx-swap": "innerHTML",
            "aria-describedby": "policy-validation",
        }
    )


@require_safe
@permission_required("access:policy:view")
def policy_list(request):
    queryset = Policy.objects.select_related("updated_by")
    filterset = _filtered(request, PolicyFilterSet, queryset)
    table = configure_table(request, PolicyTable(filterset.qs))
    return _list(request, "access/policies/list.html", table=table, filterset=filterset, table_id="policies-table")


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("access:policy:update")
def policy_add(request):
    form = PolicyForm(request.POST or None)
    _live_validation(form)
    policy = _saved(
        request,
        form,
        lambda data: services.policy_save(actor=request.user, **data),
        lambda policy: f"The policy '{policy.name}' was saved.",
    )
    if policy is not None:
        return redirect("access:policy-detail", pk=policy.pk)
    return render(request, "access/policies/editor.html", {"form": form}, status=_status(form))


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("access:policy:view")
def policy_detail(request, pk: int):
    """The editor of one policy; read-only to those who may only see policies."""
    policy = _object(request, Policy.objects.all(), pk, "access:policy", "access:policy:view")
    if request.method == "POST":
        require(request.user, "access:policy:update", Resource.of("access:policy", policy), request=request)
    initial = {"description": policy.description, "text": policy.text, "enabled": policy.enabled}
    form = PolicyForm(request.POST or None, initial=initial, editing=True)
    editable = can(request, "access:policy:update")
    if editable:
        _live_validation(form)
    else:
        for field in form.fields.values():
            field.disabled = True
    saved = _saved(
        request,
        form,
        lambda data: services.policy_save(actor=request.user, name=policy.name, policy=policy, **data),
        lambda saved: f"The policy '{saved.name}' was saved.",
    )
    if saved is not None:
        return redirect("access:policy-detail", pk=saved.pk)
    context = {"form": form, "policy": policy, "editable": editable}
    return render(request, "access/policies/editor.html", context, status=_status(form))


@require_POST
@permission_required("access:policy:update")
def policy_validate(request):
    """The live check of the editor (an HTMX fragment): "valid", or each problem with its line and column."""
    text = request.POST.get("text", "")
    statements, problems = services.policy_check(text)
    context = {"checked": True, "statements": statements, "problems": problems}
    return vary_on_htmx(render(request, "access/policies/_validation.html", context))


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("access:policy:update")
def policy_delete(request, pk: int):
    policy = _object(request, Policy.objects.all(), pk, "access:policy", "access:policy:update")
    if request.method != "POST":
        return _confirm(
            request,
            title="Delete policy",
            question=f"Delete the policy '{policy.name}'?",
            note="What it permitted is no longer permitted, and what it forbade is no longer forbidden.",
            action_url=reverse("access:policy-delete", args=[policy.pk]),
            cancel_url=reverse("access:policy-detail", args=[policy.pk]),
        )
    services.policy_delete(actor=request.user, policy=policy)
    messages.success(request, f"The policy '{policy.name}' was deleted.")
    return redirect("access:policy-list")


# --- Effective permissions and the simulator ------------------------------------------------------


@require_safe
@permission_required("access:decision:simulate")
def user_permissions(request, pk: int):
    """Every registered permission for one user: the engine's answer now, why, and the scopes held through roles."""
    subject = get_object_or_404(get_user_model(), pk=pk)
    held = selectors.effective_permissions(subject)
    context = context_for(request)
    explained: dict[str, dict] = {}
    rows = []
    for permission in registry.all_permissions():
        decision = engine.authorize(subject, permission.name, None, context)
        for reason in decision.reasons:
            if reason not in explained:
                explained[reason] = engine.explain(reason)
        rows.append(
            {
                "name": permission.name,
                "label": permission.label,
                "tier": permission.tier.label,
                "allowed": decision.allowed,
                "reasons": [explained[reason] for reason in decision.reasons],
                "errors": list(decision.errors),
                "scopes": sorted(held.get(permission.name, ())),
            }
        )
    table = configure_table(request, EffectivePermissionTable(rows), per_page=100)
    extra = {
        "subject": subject,
        "groups": Group.objects.filter(pk__in=selectors.user_group_ids(subject)).order_by("name"),
        "allowed_count": sum(1 for row in rows if row["allowed"]),
    }
    return _list(request, "access/users/permissions.html", table=table, table_id="permissions-table", **extra)


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("access:decision:simulate")
def simulator(request):
    """Ask the engine what someone may do, when and from where; HTMX swaps in the form and the answer."""
    initial = {key: request.GET[key] for key in ("user", "action") if request.GET.get(key)}
    form = SimulatorForm(request.POST or None, initial=initial)
    result = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        resource = None
        if data["resource_kind"] or data["tags"]:
            resource = Resource(kind=data["resource_kind"] or None, id=data["resource_id"], tags=data["tags"])
        try:
            result = engine.simulate(data["user"], data["action"], resource, form.context())
        except engine.ContextError as error:
            form.add_error(None, str(error))
        except ValueError as error:
            form.add_error("resource_kind", str(error))
        else:
            result["subject"] = data["user"]
    context = {"form": form, "result": result}
    if htmx_partial(request):
        # htmx swaps only successful answers in: errors come back as 200 too, next to their fields.
        return vary_on_htmx(render(request, "access/simulator/_panel.html", context))
    return vary_on_htmx(render(request, "access/simulator/page.html", context, status=_status(form)))


# --- Object grants --------------------------------------------------------------------------------


def _grants_page(request, form=None):
    """The grants list with the add form; ``form`` is one that came back with errors."""
    kind = request.GET.get("kind", "")
    rows = selectors.object_grants(kind=kind if registry.resource_kind(kind) else None)
    table = configure_table(request, ObjectGrantTable(rows))
    extra = {
        "form": form or (ObjectGrantForm(actor=request.user) if can(request, "access:grant:create") else None),
        "kinds": [k for k in registry.resource_kinds() if k.model],
        "kind": kind,
    }
    if form is not None:
        context = {"table": table, "table_id": "grants-table", **extra}
        return render(request, "access/grants/list.html", context, status=400)
    return _list(request, "access/grants/list.html", table=table, table_id="grants-table", **extra)


@require_safe
@permission_required("access:grant:view")
def grant_list(request):
    return _grants_page(request)


def _grant_call(service, request, form) -> None:
    data = form.cleaned_data
    service(
        actor=request.user,
        permission=data["permission"],
        kind=data["kind"],
        object_id=data["object_id"].strip(),
        user=data["user"],
        group=data["group"],
    )


@require_POST
@permission_required("access:grant:create")
def grant_add(request):
    form = ObjectGrantForm(request.POST, actor=request.user)
    if form.is_valid():
        try:
            _grant_call(services.object_grant_add, request, form)
        except (ValidationError, PermissionDenied) as error:
            _refused(form, error)
        else:
            messages.success(request, f"'{form.cleaned_data['permission']}' was granted.")
            return redirect("access:grant-list")
    return _grants_page(request, form)


@require_POST
@permission_required("access:grant:delete")
def grant_remove(request):
    form = ObjectGrantForm(request.POST, actor=request.user)
    if not form.is_valid():
        problems = [message for errors in form.errors.values() for message in errors]
        messages.error(request, "That grant could not be withdrawn: " + " ".join(problems))
        return redirect("access:grant-list")
    try:
        _grant_call(services.object_grant_remove, request, form)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, _said(error))
    else:
        messages.success(request, f"'{form.cleaned_data['permission']}' was withdrawn.")
    return redirect("access:grant-list")
