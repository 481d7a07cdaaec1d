"""The users pages of a tenant host, for its administrators; and the invitation page, on every host.

The list works the way NetBox's lists do: one URL serves the whole page and,
to HTMX requests, only the table fragment, so paging, sorting and filtering
refresh the table alone while the address bar follows. Every state change is
a POST that goes through the services.
"""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from apps.core.authorization import Resource, permission_required, require
from apps.core.htmx import htmx_partial, vary_on_htmx
from apps.core.tables import configure_table

from . import services
from .backends import BACKEND_PATH
from .filtersets import UserFilterSet
from .permissions import may
from .selectors import user_is_locked, users_for
from .tables import UserTable
from .tokens import invitation_token
from .user_forms import BULK_ACTIONS, UserAddForm, UserEditForm


def _base_url(request) -> str:
    return request.build_absolute_uri("/")


def _form_errors(form, error: ValidationError) -> None:
    """Put a service's errors next to the form's fields (or above the form)."""
    if hasattr(error, "error_dict"):
        for field, field_errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        form.add_error(None, error.messages)


# What each per-user action needs, besides seeing the user at all.
ACTION_PERMISSIONS = {
    "disable": "accounts:user:disable",
    "enable": "accounts:user:disable",
    "unlock": "accounts:user:unlock",
    "reset-password": "accounts:user:reset_password",
    "invite": "accounts:user:create",
}


@require_safe
@permission_required("accounts:user:view", anywhere=True)
def user_list(request):
    filterset = UserFilterSet(request.GET, queryset=users_for(actor=request.user, request=request))
    filterset.is_valid()  # a bad filter is shown as an error and ignored; the valid ones still apply
    table = configure_table(request, UserTable(filterset.qs))
    context = {"table": table, "filter_form": filterset.form, "table_id": "users-table", "actions": BULK_ACTIONS}
    template = "htmx/table.html" if htmx_partial(request) else "accounts/users/list.html"
    return vary_on_htmx(render(request, template, context))


@permission_required("accounts:user:create")
def user_add(request):
    form = UserAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        profile = {"display_name": data["display_name"], "is_tenant_admin": data["is_tenant_admin"]}
        try:
            if data["password"]:
                user = services.user_admin_create(
                    actor=request.user, email=data["email"], password=data["password"], **profile
                )
                note = f"{user.email} was added and can sign in with the password you set."
            else:
                user, created = services.user_invite(
                    actor=request.user, email=data["email"], base_url=_base_url(request), **profile
                )
                note = f"{'An invitation' if created else 'The invitation'} was emailed to {user.email}."
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, note)
            return redirect("users:detail", pk=user.pk)
    return render(request, "accounts/users/add.html", {"form": form}, status=400 if form.errors else 200)


@permission_required("accounts:user:view", anywhere=True)
def user_detail(request, pk: int):
    user = get_object_or_404(users_for(actor=request.user, request=request), pk=pk)
    initial = {"email": user.email, "display_name": user.display_name, "is_tenant_admin": user.is_tenant_admin}
    form = UserEditForm(request.POST or None, initial=initial)
    if request.method == "POST":
        require(request.user, "accounts:user:update", Resource.of("accounts:user", user), request=request)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_admin_update(actor=request.user, user=user, **form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
            user.refresh_from_db()
        else:
            messages.success(request, f"{user.email} was saved.")
            # Someone who just gave up their own administrator flag may no longer see this page.
            still_sees = may(request.user, "accounts:user:view")
            return redirect("users:detail", pk=user.pk) if still_sees else redirect("/")
    context = {"subject": user, "form": form, "is_self": user.pk == request.user.pk, "locked": user_is_locked(user)}
    return render(request, "accounts/users/detail.html", context, status=400 if form.errors else 200)


def _run(request, user, action: str) -> str:
    """Apply one action to one user; return what happened, in words. Raises the service's ValidationError."""
    if action == "disable":
        services.user_disable(actor=request.user, user=user)
        return f"{user.email} was disabled and signed out everywhere."
    if action == "enable":
        services.user_enable(actor=request.user, user=user)
        return f"{user.email} was enabled."
    if action == "unlock":
        services.user_admin_unlock(actor=request.user, user=user)
        return f"{user.email} was unlocked: failed sign-ins are forgotten."
    if action == "reset-password":
        services.user_send_password_reset(actor=request.user, user=user, base_url=_base_url(request))
        return f"A password-reset link was emailed to {user.email}."
    services.user_invitation_send(actor=request.user, user=user, base_url=_base_url(request))
    return f"An invitation was emailed to {user.email}."


@require_POST
@permission_required("accounts:user:view", anywhere=True)
def user_action(request, pk: int, action: str):
    user = get_object_or_404(users_for(actor=request.user, request=request), pk=pk)
    require(request.user, ACTION_PERMISSIONS[action], Resource.of("accounts:user", user), request=request)
    try:
        messages.success(request, _run(request, user, action))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("users:detail", pk=user.pk)


@require_POST
@permission_required("accounts:user:view", anywhere=True)
def user_bulk(request):
    """Apply an action to the selected users: first a confirmation page, then the action and a report."""
    action = request.POST.get("action", "")
    if action not in BULK_ACTIONS:
        return HttpResponseBadRequest("Unknown action.")
    # Back to the list as it was (filters, sort, page); re-encoded, so nothing but a query string gets through.
    back = QueryDict(request.POST.get("return_query", "").removeprefix("?")).urlencode()
    back = f"?{back}" if back else ""
    back_url = reverse("users:list") + back
    ids = {int(pk) for pk in request.POST.getlist("pk") if pk.isdigit()}
    users = list(
        users_for(actor=request.user, request=request).filter(pk__in=ids)
    )  # another tenant's ids are simply not here
    if not users:
        messages.warning(request, "Select at least one user first.")
        return redirect(back_url)
    if request.POST.get("confirm") != "yes":
        context = {"users": users, "action": action, "label": BULK_ACTIONS[action], "return_query": back}
        return render(request, "accounts/users/bulk_confirm.html", context)
    done, refused = 0, []
    for user in users:
        try:
            require(request.user, ACTION_PERMISSIONS[action], Resource.of("accounts:user", user), request=request)
            _run(request, user, action)
            done += 1
        except ValidationError as error:
            refused.append(f"{user.email} ({' '.join(error.messages)})")
        except PermissionDenied as denied:
            refused.append(f"{user.email} ({denied})")
    verb = {"disable": "Disabled", "enable": "Enabled", "reset-password": "Sent a password reset to"}[action]
    summary = f"{verb} {done} user{'s' if done != 1 else ''}."
    if refused:
        summary += f" Refused {len(refused)}: " + "; ".join(refused)
    (messages.warning if refused else messages.success)(request, summary)
    return redirect(back_url)


class InvitationView(auth_views.PasswordResetConfirmView):
    """``/invitation/<uidb64>/<token>/``: an invited person chooses a password and is signed in.

    Django's reset-confirm view does the work (the token moves from the URL into
    the session before the form shows); the token is an invitation token, which
    a reset token is not, and a bad, expired or used link is a 400 page.
    """

    template_name = "accounts/invitation.html"
    token_generator = invitation_token
    post_reset_login = True
    # Named, because sign-in backends may be several (lockout adds one) and auth.login then needs to know.
    post_reset_login_backend = BACKEND_PATH
    success_url = "/"

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        if user is None or not user.is_active or user.is_delegated:
            return None
        return user

    def form_valid(self, form):
        # The first password, the sign-in and the audit event commit together.
        with transaction.atomic():
            response = super().form_valid(form)
            services.user_invitation_accepted(user=form.user)
        messages.success(self.request, "Welcome! Your password is set and you are signed in.")
        return response

    def render_to_response(self, context, **response_kwargs):
        if not self.validlink:
            response_kwargs["status"] = 400
        elif self.request.method == "POST":
            response_kwargs["status"] = 400  # the form came back with errors
        return super().render_to_response(context, **response_kwargs)
