"""API errors as RFC 7807 problem details (``application/problem+json``), for the whole API."""

import logging
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from rest_framework import exceptions
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer
from rest_framework.views import exception_handler


class PayloadTooLarge(exceptions.APIException):
    status_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


def _translate(exc, context):
    """Django's request-body refusals, which DRF leaves to Django (an HTML 400), as API exceptions."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return PayloadTooLarge(f"The request body is larger than the {limit:,} bytes the API accepts.")
    if isinstance(exc, SuspiciousOperation):
        # Django logs these on the security logger before answering 400; keep doing so.
        logging.getLogger(f"django.security.{exc.__class__.__name__}").warning(str(exc))
        return exceptions.ParseError(f"The request was refused: {exc}")
    if isinstance(exc, exceptions.UnsupportedMediaType):
        request = context.get("request")
        accepted = ", ".join(parser.media_type for parser in getattr(request, "parsers", ()) or ())
        if accepted:
            exc.detail = ErrorDetail(f"{exc.detail} Send {accepted} (the Content-Type header).", exc.detail.code)
    return exc


def problem_exception_handler(exc, context):
    """DRF's handler, with its body reshaped into a problem document.

    Field errors stay machine-readable under ``errors``; ``detail`` says in one
    sentence what a person should do.
    """
    exc = _translate(exc, context)
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"}:
        detail, errors = str(data["detail"]), None
    else:
        detail, errors = "The request has invalid fields; see errors.", data
    problem = {
        "type": "about:blank",
        "title": HTTPStatus(response.status_code).phrase,
        "status": response.status_code,
        "detail": detail,
    }
    if errors is not None:
        problem["errors"] = errors
    # The specific code when the exception names one (AuthenticationFailed(..., code="token_not_valid")).
    raised = getattr(exc, "detail", None)
    code = (raised.code if isinstance(raised, ErrorDetail) else None) or getattr(exc, "default_code", None)
    if code:
        problem["code"] = code
    response.data = problem
    response.content_type = "application/problem+json"
    request = context.get("request")
    if request is not None:
        # A problem is JSON even for a client that prefers HTML (the browsable API), as its Content-Type says.
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
    return response
