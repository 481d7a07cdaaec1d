"""Pages of delegated access: open a sub-tenant from its parent, and redeem a delegated-access link.

The provider's "Open tenant" lives in the tenant admin (``apps.tenancy.admin``)
and ends at the same redemption page.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.core.authorization import require
from apps.core.errors import describe_validation_error
from apps.tenancy.selectors import sub_tenants_of

from . import delegation
from .backends import BACKEND_PATH
from .permissions import may

# The cap the session-timeout middleware applies on top of the tenant's own limits.
SESSION_CAP_KEY = "accounts.max_age_seconds"


def may_open_sub_tenants(request) -> bool:
    user = request.user
    return (
        user.is_authenticated
        and not user.is_delegated
        and may(user, "accounts:subtenant:open", request=request)
        and not request.tenant.is_provider
        and sub_tenants_of(request.tenant).exists()
    )


@never_cache
@login_required
def sub_tenants(request):
    """A tenant administrator's list of their tenant's sub-tenants, each with an "Open" button."""
    if request.tenant.is_provider:
        raise Http404
    if request.user.is_delegated:
        raise PermissionDenied("Delegated accounts cannot open other tenants.")
    require(request.user, "accounts:subtenant:open", request=request)
    return render(request, "accounts/sub_tenants.html", {"sub_tenants": sub_tenants_of(request.tenant)})


@login_required
@require_POST
def sub_tenant_open(request, slug: str):
    if request.tenant.is_provider:
        raise Http404
    if request.user.is_delegated:
        raise PermissionDenied("Delegated accounts cannot open other tenants.")
    require(request.user, "accounts:subtenant:open", request=request)
    target = get_object_or_404(sub_tenants_of(request.tenant), slug=slug)  # not a child of ours: 404
    return redirect_into(request, target, on_refusal=lambda reason: messages.error(request, reason))


def redirect_into(request, target, *, on_refusal, back_to: str = "accounts:sub-tenants"):
    """Send the signed-in user of this host into ``target`` with a fresh delegated-access link, or back with why not.

    Shared by the sub-tenants page and the provider admin's "Open tenant".
    """
    try:
        url = delegation.delegation_link_create(
            home_user=request.user,
            home_tenant=request.tenant,
            target=target,
            scheme=request.scheme,
            port=request.get_port(),
        )
    except ValidationError as error:
        on_refusal(describe_validation_error(error))
        return redirect(back_to)
    return HttpResponseRedirect(url)


@never_cache
def delegate(request, token: str):
    """Redeem a delegated-access link on the target host: confirm (GET), then sign in as the delegate (POST).

    The confirmation step keeps link previews and prefetchers from spending the
    one-time link, and makes the person see whose account they will act as.
    """
    if request.tenant.is_provider:
        raise Http404
    try:
        ticket = delegation.ticket_read(token)
    except ValidationError as error:
        return render(request, "accounts/delegate.html", {"error": describe_validation_error(error)}, status=400)
    if request.method != "POST":
        return render(request, "accounts/delegate.html", {"ticket": ticket})
    try:
        delegate_user = delegation.delegation_redeem(token=token, tenant=request.tenant)
    except ValidationError as error:
        return render(request, "accounts/delegate.html", {"error": describe_validation_error(error)}, status=400)
    login(request, delegate_user, backend=BACKEND_PATH)
    # An absolute end: activity never extends a delegated session past an hour.
    request.session.set_expiry(timezone.now() + timedelta(seconds=delegation.DELEGATED_SESSION_SECONDS))
    request.session[SESSION_CAP_KEY] = delegation.DELEGATED_SESSION_SECONDS
    messages.warning(request, f"You are working in {request.tenant.name} as a delegate of {delegate_user.home_email}.")
    return redirect("/")
