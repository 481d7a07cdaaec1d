"""Host-based tenant routing for HTTP (django-tenants) and for websockets (our own).

A request's Host picks its tenant and so its schema and URL conf. Hosts that
route nowhere get a friendly 404 page, a suspended tenant a 403 page, an
archived one a 410 page; none of these touches the tenant's schema.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.core.exceptions import DisallowedHost
from django.db import close_old_connections, connection
from django.template.response import TemplateResponse
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import remove_www

from .models import TenantStatus
from .selectors import tenant_for_host

STATUS_PAGES = {
    TenantStatus.SUSPENDED: (403, "tenancy/suspended.html"),
    TenantStatus.ARCHIVED: (410, "tenancy/archived.html"),
}


def hostname_of(host_header: str) -> str:
    return remove_www(host_header.split(":")[0].strip().lower())


class TenantMiddleware(TenantMainMiddleware):
    """django-tenants' main middleware with Nimbus's answers for unknown and unavailable tenants."""

    def process_request(self, request):
        connection.set_schema_to_public()
        request.tenant = None
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return self.unknown_host(request, request.META.get("HTTP_HOST", ""))
        tenant = tenant_for_host(hostname)
        if tenant is None:
            return self.unknown_host(request, hostname)
        status = tenant.effective_status()
        if status in STATUS_PAGES:
            code, template = STATUS_PAGES[status]
            return TemplateResponse(request, template, {"unavailable_tenant": tenant}, status=code).render()
        tenant.domain_url = hostname
        request.tenant = tenant
        connection.set_tenant(tenant)
        self.setup_url_routing(request)
        return None

    @staticmethod
    def unknown_host(request, hostname: str):
        return TemplateResponse(request, "tenancy/unknown_host.html", {"hostname": hostname[:255]}, status=404).render()


class TenantWebsocketMiddleware:
    """ASGI middleware: resolve the tenant from a websocket's Host header into ``scope``.

    django-tenants has no ASGI support. Consumers get ``scope["tenant"]`` and
    ``scope["schema_name"]`` and must open ``schema_context`` inside each
    database call (see ``apps.tenancy.asgi.tenant_database_sync_to_async``).
    A connection to an unknown or unavailable tenant is closed before the
    consumer sees it.
    """

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers") or [])
        hostname = hostname_of(headers.get(b"host", b"").decode("latin-1"))
        tenant = await self._resolve(hostname) if hostname else None
        if tenant is None or tenant.effective_status() != TenantStatus.ACTIVE:
            await self._reject(receive, send)
            return
        scope = dict(scope, tenant=tenant, schema_name=tenant.schema_name)
        return await self.inner(scope, receive, send)

    @staticmethod
    @database_sync_to_async
    def _resolve(hostname: str):
        close_old_connections()
        connection.set_schema_to_public()
        return tenant_for_host(hostname)

    @staticmethod
    async def _reject(receive, send) -> None:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close", "code": 4404})
