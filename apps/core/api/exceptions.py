"""API errors as RFC 7807 problem details (``application/problem+json``), for the whole API."""

from http import HTTPStatus

from rest_framework.views import exception_handler


def problem_exception_handler(exc, context):
    """DRF's handler, with its body reshaped into a problem document.

    Field errors stay machine-readable under ``errors``; ``detail`` says in one
    sentence what a person should do.
    """
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
    code = getattr(exc, "default_code", None)
    if code:
        problem["code"] = code
    response.data = problem
    response.content_type = "application/problem+json"
    return response
