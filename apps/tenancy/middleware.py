"""Host-based tenant routing for HTTP (django-tenants) and for websockets (our own).

A request's Host picks its tenant and so its schema and URL conf. Hosts that
route nowhere get a friendly 404 page, a suspended tenant a 403 page, an
archived one a 410 page; none of these touches the tenant's schema. HTTP and
websockets read the Host header with the same function.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from importlib import import_module
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django.db import connection
from django.http import HttpRequest
from django.http.request import split_domain_port, validate_host
from django.template.response import TemplateResponse
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import remove_www, schema_context

from .models import TenantStatus
from .realtime import release_connections
from .selectors import tenant_for_host

STATUS_PAGES = {
    TenantStatus.SUSPENDED: (403, "tenancy/suspended.html"),
    TenantStatus.ARCHIVED: (410, "tenancy/archived.html"),
}


def hostname_from_host_header(host: str) -> str | None:
    """The host name a Host header names, lower-cased, or None when it is malformed or not allowed."""
    domain, _port = split_domain_port(host.strip().lower())
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    return remove_www(domain)


class TenantMiddleware(TenantMainMiddleware):
    """django-tenants' main middleware with Nimbus's answers for unknown and unavailable tenants."""

    def process_request(self, request):
        connection.set_schema_to_public()
        request.tenant = None
        raw_host = request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", "")
        hostname = hostname_from_host_header(raw_host)
        tenant = tenant_for_host(hostname) if hostname else None
        if tenant is None:
            return self.unknown_host(request, hostname or raw_host)
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

    django-tenants has no ASGI support. A socket is accepted only when its Host
    names an active tenant and its Origin is that same host (every tenant host
    is an allowed host, so the usual allowed-hosts origin check would let one
    tenant's page open another tenant's socket). Consumers get
    ``scope["tenant"]``, ``scope["schema_name"]`` and ``scope["user"]`` (from the
    session cookie, read in the tenant's schema; anonymous without one), and
    must open the schema in each database call
    (``apps.tenancy.realtime.tenant_database_sync_to_async``).
    """

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers") or [])
        hostname = hostname_from_host_header(headers.get(b"host", b"").decode("latin-1"))
        origin = urlsplit(headers.get(b"origin", b"").decode("latin-1")).hostname
        tenant = await self._resolve(hostname) if hostname and origin and remove_www(origin) == hostname else None
        if tenant is None or tenant.effective_status() != TenantStatus.ACTIVE:
            await self._reject(receive, send)
            return
        cookies = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
        session_key = cookies[settings.SESSION_COOKIE_NAME].value if settings.SESSION_COOKIE_NAME in cookies else ""
        user = await self._user(tenant.schema_name, session_key)
        scope = dict(scope, tenant=tenant, schema_name=tenant.schema_name, user=user)
        return await self.inner(scope, receive, send)

    @staticmethod
    @database_sync_to_async
    def _resolve(hostname: str):
        try:
            return tenant_for_host(hostname)
        finally:
            release_connections()

    @staticmethod
    @database_sync_to_async
    def _user(schema_name: str, session_key: str):
        """The session's user, looked up in the tenant's own schema (sessions and users are per tenant)."""
        try:
            with schema_context(schema_name):
                request = HttpRequest()
                request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key or None)
                # Django's own check: the user exists, is active, and the session's password hash still matches.
                return get_user(request)
        finally:
            release_connections()

    @staticmethod
    async def _reject(receive, send) -> None:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close", "code": 4404})
