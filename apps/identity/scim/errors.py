"""The SCIM error envelope (RFC 7644 §3.12): every refusal of the SCIM endpoints is one of these, never HTML."""

from __future__ import annotations

import json

from django.http import HttpResponse

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
CONTENT_TYPE = "application/scim+json"


class ScimError(Exception):
    """A refusal: HTTP ``status``, optional ``scim_type`` (invalidFilter, invalidPath, uniqueness, …) and a detail."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type

    def body(self) -> dict:
        body = {"schemas": [ERROR_SCHEMA], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


def bad_request(detail: str, scim_type: str = "invalidValue") -> ScimError:
    return ScimError(400, detail, scim_type)


def not_found(what: str = "Resource") -> ScimError:
    return ScimError(404, f"{what} not found.")


def error_response(error: ScimError) -> HttpResponse:
    response = HttpResponse(json.dumps(error.body()), status=error.status, content_type=CONTENT_TYPE)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="SCIM"'
    return response


def json_response(data: dict, status: int = 200, etag: str | None = None, location: str | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(data), status=status, content_type=CONTENT_TYPE)
    if etag:
        response["ETag"] = etag
    if location:
        response["Location"] = location
    return response
