"""Redaction, applied to everything an audit event stores before it is written.

Built in: values under keys that name secrets (passwords, tokens, keys,
authorization headers…) become ``"[redacted]"`` whatever they hold; card
numbers inside any string are masked. A tenant adds its own rules
(``RedactionRule``): key-name patterns and value patterns. Tenant patterns
run on the ``regex`` package with a time limit: a pattern is refused when it
can take too long on some input (``check_pattern``), and if one still runs
out of time on a real value, that value is redacted whole (never stored
unchecked).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import regex

REDACTED = "[redacted]"
# A key names a secret when its last word (after _ - . or a space; digits dropped) ends with one of these, or
# it is one of the header names: "password", "new_password1", "client_secret", "accessToken", "api_key",
# "csrfmiddlewaretoken" do; "min_password_length" or "session_idle_minutes" (settings about secrets) do not.
SECRET_WORDS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "key",
    "credential",
    "credentials",
    "signature",
    "otp",
    "pin",
    "sessionid",
)
SECRET_KEY_NAMES_EXACT = {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
_WORD_BREAK = re.compile(r"[_\-.\s]+")


def names_a_secret(key: str) -> bool:
    lowered = key.strip().lower()
    if lowered in SECRET_KEY_NAMES_EXACT:
        return True
    last = _WORD_BREAK.split(lowered)[-1].rstrip("0123456789")
    return any(last.endswith(word) for word in SECRET_WORDS)


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


# Tenant patterns: how long one match may take, and the inputs a new pattern is tried on before it is saved.
MATCH_SECONDS = 0.05
MAX_PATTERN = 500
_PROBES = [
    "a" * 5000 + "!",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!",
    "ab" * 2500,
    "1" * 5000 + "x",
    " " * 5000 + "x",
    "x@y." * 1000,
    "-_-" * 1500,
]


@dataclass(frozen=True)
class TenantRules:
    fields: tuple = ()  # compiled key-name patterns
    values: tuple = ()  # compiled value patterns


NO_RULES = TenantRules()


def check_pattern(pattern: str) -> list[str]:
    """Why ``pattern`` cannot be a redaction rule (empty when it can)."""
    if not pattern or len(pattern) > MAX_PATTERN:
        return [f"Give a pattern of 1 to {MAX_PATTERN} characters."]
    try:
        compiled = regex.compile(pattern)
    except regex.error as error:
        return [f"Not a valid regular expression: {error}."]
    if compiled.fullmatch("") is not None:
        return ["The pattern matches empty text, so it would redact everything."]
    for probe in _PROBES:
        try:
            compiled.search(probe, timeout=MATCH_SECONDS)
        except TimeoutError:
            return [
                "The pattern takes too long on some inputs (catastrophic backtracking): "
                "avoid nested repetition such as (a+)+ or alternatives that overlap such as (a|aa)+."
            ]
    return []


def compile_rules(rows) -> TenantRules:
    """``(kind, pattern)`` pairs (patterns already checked) as compiled rules."""
    fields, values = [], []
    for kind, pattern in rows:
        (fields if kind == "field" else values).append(regex.compile(pattern))
    return TenantRules(tuple(fields), tuple(values))


def _secret_key(key: str, rules: TenantRules) -> bool:
    if names_a_secret(key):
        return True
    for pattern in rules.fields:
        try:
            if pattern.search(key, timeout=MATCH_SECONDS):
                return True
        except TimeoutError:
            return True  # could not tell: treat as secret
    return False


def _mask_text(text: str, rules: TenantRules) -> str:
    text = _mask_cards(text)
    for pattern in rules.values:
        try:
            text = pattern.sub(REDACTED, text, timeout=MATCH_SECONDS)
        except TimeoutError:
            return REDACTED
    return text


def redact(value, *, rules: TenantRules = NO_RULES, depth: int = 0):
    """A copy of ``value`` (JSON-like) with secret keys, card numbers and the tenant's patterns redacted."""
    if depth > MAX_DEPTH:
        return REDACTED  # deeper than any real record: keep nothing rather than something unchecked
    if isinstance(value, dict):
        return {
            str(key): (REDACTED if _secret_key(str(key), rules) else redact(item, rules=rules, depth=depth + 1))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item, rules=rules, depth=depth + 1) for item in value]
    if isinstance(value, str):
        return _mask_text(value, rules)
    if value is None or isinstance(value, bool | int | float):
        return value
    return _mask_text(str(value), rules)
