"""Built-in redaction, applied to everything an audit event stores before it is written.

Values under keys that name secrets (passwords, tokens, keys, authorization
headers…) become ``"[redacted]"`` whatever they hold; card numbers inside any
string are masked. Tenant rules (field names and regular expressions) come
with the audit issue's configuration pages.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"
SECRET_KEY_NAMES = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|api[_-]?key|private[_-]?key|^key$|_key$|authorization|cookie|session|"
    r"credential|signature|otp|pin$)",
    re.IGNORECASE,
)
# 13 to 19 digits, optionally grouped by spaces or dashes: what a payment card number looks like.
CARD_NUMBER = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
MAX_DEPTH = 20


def _mask_cards(text: str) -> str:
    def mask(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group())
        return REDACTED if _luhn_valid(digits) else match.group()

    return CARD_NUMBER.sub(mask, text)


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def redact(value, *, depth: int = 0):
    """A copy of ``value`` (JSON-like) with secret-named keys and card numbers redacted."""
    if depth > MAX_DEPTH:
        return REDACTED  # deeper than any real record: keep nothing rather than something unchecked
    if isinstance(value, dict):
        return {
            str(key): (REDACTED if SECRET_KEY_NAMES.search(str(key)) else redact(item, depth=depth + 1))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item, depth=depth + 1) for item in value]
    if isinstance(value, str):
        return _mask_cards(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return _mask_cards(str(value))
