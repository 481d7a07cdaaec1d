"""Template context: the current tenant and the provider's base domain."""

from django.conf import settings


def tenant(request):
    current = getattr(request, "tenant", None)
    return {
        "current_tenant": current,
        "is_provider_host": bool(current and current.is_provider),
        "nimbus_base_domain": settings.NIMBUS_BASE_DOMAIN,
    }
