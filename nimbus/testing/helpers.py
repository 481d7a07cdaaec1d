"""Helpers shared by tests that work beside the app server: committed database work and HTTP to ``*.localhost``."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx2
from django.db import connections


def committed(function):
    """Run ``function`` on a thread of its own, whose database work commits (the app server sees committed rows).

    The thread's connection is closed when it ends, so none is left open while the test database is dropped.
    """

    def in_thread():
        try:
            return function()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(in_thread).result(timeout=120)


class LoopbackTransport(httpx2.HTTPTransport):
    """Connects to 127.0.0.1 whatever the URL's host: Python's resolver does not resolve ``*.localhost``.

    The Host header keeps the tenant's host name, which is what routes the request to its tenant.
    """

    def handle_request(self, request):
        request.url = request.url.copy_with(host="127.0.0.1")
        return super().handle_request(request)


def loopback_http(base_url: str, **kwargs) -> httpx2.Client:
    """An httpx2 client for the app server, which closes every connection after one request: none is reused."""
    transport = LoopbackTransport(limits=httpx2.Limits(max_keepalive_connections=0))
    return httpx2.Client(base_url=base_url, transport=transport, **kwargs)
