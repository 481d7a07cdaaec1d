"""Landing pages: the provider's on the base domain; each tenant's dashboard on its own host (signed in)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from .selectors import heartbeat_of, tenant_tree


def _port_suffix(request) -> str:
    port = request.get_port()
    return "" if port in ("80", "443") else f":{port}"


@require_safe
def provider_landing(request):
    # The tenant list is for provider staff only; everyone else sees the sign-in link.
    staff = request.user.is_authenticated and request.user.is_staff
    rows = [row for row in tenant_tree() if not row.tenant.is_provider] if staff else []
    return render(
        request, "tenancy/provider_landing.html", {"rows": rows, "staff": staff, "port": _port_suffix(request)}
    )


@require_safe
@login_required
def tenant_landing(request):
    # Read in tenant context, through row-level security: only this tenant's heartbeat is visible.
    heartbeat = heartbeat_of(request.tenant)
    return render(request, "tenancy/tenant_landing.html", {"tenant": request.tenant, "heartbeat": heartbeat})
