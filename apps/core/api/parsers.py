"""Request-body parsing of the API: JSON only, and a 400 that says what is wrong with a body that is not JSON."""

import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

NOT_JSON = "The request body is not valid JSON"


def _refuse_constant(name: str):
    raise ValueError(name)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with messages a client can act on and no 500 for pathological input.

    Refused with a 400: bytes that are not text in the declared charset,
    syntax errors (with line and column), NaN and Infinity (not JSON numbers),
    and nesting deep enough to exhaust Python's recursion limit.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
        except (LookupError, UnicodeDecodeError):
            raise ParseError(f"{NOT_JSON}: it is not {encoding} text.") from None
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError as error:
            raise ParseError(f"{NOT_JSON}: {error.msg} at line {error.lineno}, column {error.colno}.") from None
        except ValueError as error:
            raise ParseError(f"{NOT_JSON}: {error} is not a JSON number.") from None
        except RecursionError:
            raise ParseError(f"{NOT_JSON}: it is nested too deeply.") from None
