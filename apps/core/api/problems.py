"""Problem documents (RFC 7807) answered outside DRF views: middleware that refuses an API request early."""

from http import HTTPStatus

from django.http import JsonResponse


def problem_response(status: int, detail: str, *, code: str, headers: dict[str, str] | None = None) -> JsonResponse:
    """An ``application/problem+json`` response shaped like the API's own errors."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail, "code": code}
    return JsonResponse(body, status=status, content_type="application/problem+json", headers=headers)


# Machine endpoints: refusals there are problem documents, never redirects to a sign-in page.
API_PATH_PREFIXES = ("/api/", "/graphql/")


def is_api_request(request) -> bool:
    return request.path_info.startswith(API_PATH_PREFIXES)
