"""OpenAPI helpers shared by every app's API: the problem document that every error response is."""

from http import HTTPStatus

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemSerializer(serializers.Serializer):
    """An RFC 7807 problem document, as ``apps.core.api.exceptions`` writes it."""

    type = serializers.CharField(help_text='Always "about:blank": the status says what kind of problem it is.')
    title = serializers.CharField(help_text="The status's phrase, e.g. Unauthorized.")
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="What went wrong and what to do about it, in one sentence.")
    code = serializers.CharField(required=False, help_text="Machine-readable reason, e.g. token_not_valid.")
    errors = serializers.DictField(
        required=False, help_text="Validation errors: a list of messages for each field that was refused."
    )

    class Meta:
        ref_name = "Problem"


def problem_responses(*statuses: int) -> dict:
    """``extend_schema(responses=…)`` entries for the given error statuses, each a problem document."""
    return {
        (status, PROBLEM_MEDIA_TYPE): OpenApiResponse(ProblemSerializer, description=HTTPStatus(status).phrase)
        for status in statuses
    }
