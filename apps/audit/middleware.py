"""``AuditRequestMiddleware``: one ``http:request`` event per state-changing or refused HTTP request.

Recorded: every request whose method is not GET, HEAD or OPTIONS, and every
request answered 401 or 403 whatever its method. The outcome follows the
status: ``success`` below 400, ``denied`` for 401 and 403, ``error`` for 500
and above or an exception; other 4xx (a form with errors, a 404) are
``error`` too, since the action did not happen. The metadata holds the
method, the path (never the query string; path parts captured as a secret,
such as a one-time link's token, are redacted), the status and the latency in
milliseconds. Bodies are never read.

The event is written after the response, on its own: not in the view's
transaction, because there is none left to join (each view commits or rolls
back its own work before it returns), and because a request that failed and
rolled back must still leave its ``error`` or ``denied`` event. It is
written as a transaction of its own (one INSERT in autocommit; a savepoint
when a caller's transaction is open), so a failed write cannot poison
anything else; a failure is logged
and the response is returned unchanged.

Placed after the tenant middleware (the event goes to the request's schema)
and outside the session and authentication middleware: ``request.user`` is
read only after the view ran, so the user an API authenticator set is seen,
and a successful GET costs no query at all.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext

from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import schema_context

from .models import Outcome
from .recorder import bound_request, record
from .redaction import REDACTED, names_a_secret

logger = logging.getLogger(__name__)

ACTION = "http:request"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DENIED_STATUSES = frozenset({401, 403})
SKIPPED_PATHS = frozenset({"/healthz", "/readyz", "/favicon.ico"})


def outcome_for(status: int | None) -> str:
    if status is None or status >= 500:
        return Outcome.ERROR
    if status in DENIED_STATUSES:
        return Outcome.DENIED
    if status < 400:
        return Outcome.SUCCESS
    return Outcome.ERROR


def _skipped(path: str) -> bool:
    if path in SKIPPED_PATHS:
        return True
    prefixes = [getattr(settings, "STATIC_URL", None), getattr(settings, "MEDIA_URL", None)]
    return any(prefix and prefix.startswith("/") and prefix != "/" and path.startswith(prefix) for prefix in prefixes)


def recorded_path(request) -> str:
    """The request's path without its query string, with secret URL parts (a ``token``) redacted."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    if match is not None:
        for name, value in (match.kwargs or {}).items():
            if isinstance(value, str) and value and names_a_secret(str(name)):
                path = path.replace(value, REDACTED)
    return path[:1000]


class AuditRequestMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        method = request.method or ""
        if _skipped(request.path) or getattr(request, "tenant", None) is None:
            return self.get_response(request)
        schema_name = connection.schema_name
        started = time.monotonic()
        try:
            with bound_request(request):
                response = self.get_response(request)
        except Exception:
            self._record(request, method, None, started, schema_name)
            raise
        status = response.status_code
        if method not in SAFE_METHODS or status in DENIED_STATUSES:
            self._record(request, method, status, started, schema_name)
        return response

    @staticmethod
    def _record(request, method: str, status: int | None, started: float, schema_name: str) -> None:
        metadata = {
            "method": method,
            "path": recorded_path(request),
            "status": status if status is not None else 500,
            "latency_ms": round((time.monotonic() - started) * 1000, 1),
        }
        try:
            # The view may have left another schema set; switching costs a query, so only when it must.
            switch = schema_context(schema_name) if connection.schema_name != schema_name else nullcontext()
            # Outside a transaction the INSERT commits on its own (no BEGIN and COMMIT round trips); inside one
            # (tests, a caller's atomic block) a savepoint keeps a failed write from spoiling it.
            guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
            with switch, guard:
                record(ACTION, request=request, outcome=outcome_for(status), metadata=metadata)
        except Exception:  # auditing must never turn an answer into a 500: log it instead
            logger.exception(
                "Could not record the audit event of a request",
                extra={"schema": schema_name, "method": method, "status": status},
            )
