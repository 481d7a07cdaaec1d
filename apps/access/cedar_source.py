"""Checking a tenant's Cedar policy text, with a line and column for every problem.

cedarpy reports parse and validation errors as messages only (the source
spans Cedar has are dropped), so the position is recovered here:

* a parse error: Cedar's parser reads left to right, so every prefix of the
  text up to the bad token fails only with "unexpected end of input"; a
  bisection over token boundaries finds the first prefix that fails
  otherwise, and its last token is where the parser gave up;
* a validation error names ``policyN`` (the N-th statement) and usually a
  backticked name; the position is that name inside that statement, or the
  statement's start.

The message itself is Cedar's, unchanged, next to the position.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import cedarpy

MAX_POLICY_CHARS = 20_000
# Said once per resource type the statement could apply to: one mention is enough.
_PER_ENTITY_TYPE = re.compile(r" on entity type `[A-Za-z:]+`$")
# Far deeper than any policy a person writes, far shallower than what exhausts a stack. Cedar's parser recurses
# once per bracket and overflows the native stack, killing the process (no exception), from about 700 nested
# brackets; Python's JSON decoder recurses once per level of the parsed form (RecursionError from about 500
# chained `||`). Both are refused before either runs.
MAX_BRACKET_DEPTH = 50
MAX_TREE_DEPTH = 200
# Cedar's parser also recurses once per `&&` / `||` in a chain, and cannot be asked to stop: a statement may
# join at most this many conditions (far more than a person writes), counted before anything is parsed.
MAX_OPERATORS = 256
MAX_CANDIDATES = 16
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_PER_ACTION = re.compile(r' (?:in context )?for [A-Za-z:]*Action::"[^"]*"')

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+) | (?P<comment>//[^\n]*) |
    (?P<str>"(?:[^"\\]|\\.)*"?) |
    (?P<tok>::|==|!=|<=|>=|&&|\|\||[A-Za-z_][A-Za-z0-9_]*|\d+|\?[a-z]+|.)
    """,
    re.X | re.S,
)


@dataclass(frozen=True)
class Problem:
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.column}: " if self.line else ""
        return f"{where}{self.message}"

    def as_dict(self) -> dict:
        return {"message": self.message, "line": self.line, "column": self.column}


def _parse_error(text: str) -> str | None:
    try:
        cedarpy.PolicySet.from_str(text)
    except ValueError as error:
        return str(error)
    return None


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _tokens(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _TOKEN.finditer(text) if m.lastgroup in ("str", "tok")]


def statements(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each top-level statement, each ending at its ``;``."""
    spans, start = [], 0
    for match in _TOKEN.finditer(text):
        if match.lastgroup == "tok" and match.group() == ";":
            spans.append((start, match.end()))
            start = match.end()
    return spans


def _unexpected_at(prefix: str, complaint: str) -> bool:
    """Whether the last token of ``prefix`` is one the parser cannot accept there (ended or not, the text fails so)."""
    return any(complaint in (_parse_error(candidate) or "") for candidate in (prefix, prefix + ";"))


def _parse_problem(text: str, message: str) -> Problem:
    tokens = _tokens(text)
    if not tokens:
        return Problem(message, 1, 1)

    def viable(index: int) -> bool:
        error = _parse_error(text[: tokens[index][1]])
        return error is None or "unexpected end of input" in error

    if viable(len(tokens) - 1):
        offset = len(text.rstrip())  # only the end is wrong: a missing ';' or '}'
    else:
        low, high = 0, len(tokens) - 1
        while low < high:
            middle = (low + high) // 2
            if viable(middle):
                low = middle + 1
            else:
                high = middle
        # Cedar's parser recovers at some tokens ('}', ')') and then reports only the end of input, so a prefix
        # ending just after the bad token can still look unfinished and the search above may stop late. When
        # Cedar names the token, the first occurrence of it that is unexpected where it stands is the place.
        unexpected = re.match(r"unexpected token `(.+)`$", message)
        if unexpected:
            named_token = unexpected.group(1)
            # At most MAX_CANDIDATES parses: each costs a parse of up to the whole text.
            candidates = [i for i in range(low + 1) if text[slice(*tokens[i])] == named_token][:MAX_CANDIDATES]
            low = next(
                (i for i in candidates if _unexpected_at(text[: tokens[i][1]], f"unexpected token `{named_token}`")),
                low,
            )
        offset = tokens[low][0]
    # Errors found once a whole statement is read ("invalid policy effect: permitt") name the word: point at it.
    named = re.search(r":\s*`?([A-Za-z_]\w*)`?\s*$", message)
    if named:
        start = max((end for _, end in statements(text) if end <= offset), default=0)
        hit = re.search(rf"\b{re.escape(named.group(1))}\b", text[start : offset + 1])
        if hit:
            offset = start + hit.start()
    line, column = _line_col(text, offset)
    return Problem(message, line, column)


def _validation_problem(text: str, spans: list[tuple[int, int]], policy_id: str, message: str) -> Problem:
    match = re.fullmatch(r"policy(\d+)", policy_id or "")
    if not match or int(match.group(1)) >= len(spans):
        return Problem(message)
    start, end = spans[int(match.group(1))]
    start += len(text[start:end]) - len(text[start:end].lstrip())
    offset = start
    for name in re.findall(r"`([^`]+)`", message):
        if name.startswith("policy"):
            continue
        for candidate in (name, name.split("::")[-1].strip('"')):
            hit = re.compile(rf"(?<![\w\"]){re.escape(candidate)}(?![\w\"])").search(text, start, end)
            if hit is None and not candidate[:1].isalnum():
                hit = re.compile(re.escape(candidate)).search(text, start, end)
            if hit is not None:
                offset = hit.start()
                break
        else:
            continue
        break
    line, column = _line_col(text, offset)
    statement = int(match.group(1)) + 1
    return Problem(re.sub(r"^for policy `policy\d+`, ", f"statement {statement}: ", message), line, column)


def locate(text: str, needle: str) -> Problem | None:
    """Where ``needle`` first occurs, for our own checks (an unknown group name)."""
    offset = text.find(needle)
    if offset < 0:
        return None
    line, column = _line_col(text, offset)
    return Problem("", line, column)


def _too_deep_bracket(text: str) -> int | None:
    """The offset of the first bracket nested deeper than ``MAX_BRACKET_DEPTH``, if any (strings and comments aside)."""
    depth = 0
    for match in _TOKEN.finditer(text):
        bracket = match.group()
        if match.lastgroup != "tok":
            continue
        if bracket in "([{":
            depth += 1
            if depth > MAX_BRACKET_DEPTH:
                return match.start()
        elif bracket in ")]}":
            depth = max(depth - 1, 0)
    return None


def _json_depth(json_text: str) -> int:
    """How deeply a JSON document nests, counted without decoding it (decoding is what would overflow)."""
    depth = deepest = 0
    for char in re.sub(r"[^\[\]{}]", "", _JSON_STRING.sub("", json_text)):
        depth += 1 if char in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _too_deep_tree(text: str) -> Problem | None:
    if _json_depth(cedarpy.policies_to_json_str(text)) <= MAX_TREE_DEPTH:
        return None
    spans = statements(text) or [(0, len(text))]
    start = next(
        (start for start, end in spans if _json_depth(cedarpy.policies_to_json_str(text[start:end])) > MAX_TREE_DEPTH),
        spans[0][0],
    )
    start += len(text[start:]) - len(text[start:].lstrip())
    message = "This statement's condition is too deeply nested for the engine; split it into several statements."
    return Problem(message, *_line_col(text, start))


def check(text: str, schema: cedarpy.Schema) -> tuple[list[dict], list[Problem]]:
    """Parse and validate ``text``: (its statements in Cedar's JSON form, in order; the problems found)."""
    if not text.strip():
        return [], [Problem("Write at least one permit or forbid statement.", 1, 1)]
    if len(text) > MAX_POLICY_CHARS:
        return [], [Problem(f"A policy is at most {MAX_POLICY_CHARS} characters long.")]
    deep = _too_deep_bracket(text)
    if deep is not None:
        message = f"Brackets nest more than {MAX_BRACKET_DEPTH} levels deep here; simplify the condition."
        return [], [Problem(message, *_line_col(text, deep))]
    operators = [m for m in _TOKEN.finditer(text) if m.lastgroup == "tok" and m.group() in ("&&", "||")]
    if len(operators) > MAX_OPERATORS:
        message = f"A policy joins at most {MAX_OPERATORS} conditions with && and ||; split it into several."
        return [], [Problem(message, *_line_col(text, operators[MAX_OPERATORS].start()))]
    message = _parse_error(text)
    if message is not None:
        return [], [_parse_problem(text, message)]
    too_deep = _too_deep_tree(text)
    if too_deep is not None:
        return [], [too_deep]
    parsed = json.loads(cedarpy.policies_to_json_str(text))
    if parsed.get("templates"):
        spans = statements(text)
        where = _line_col(text, spans[0][0] if spans else 0)
        return [], [Problem("Templates (?principal, ?resource) are not supported; name the entities.", *where)]
    result = cedarpy.validate_policies(text, schema)
    if not result:
        spans = statements(text)
        problems: list[Problem] = []
        for error in result.errors:
            # Cedar repeats a schema error once per action the statement could apply to: say it once.
            message = _PER_ENTITY_TYPE.sub("", _PER_ACTION.sub("", error.error))
            optional = re.search(r"optional attribute `(\w+)`", message)
            if optional:
                message += f" (it is not always present: test it first, `context has {optional.group(1)} && …`)"
            tag = re.search(r"access to tag `\"(.+?)\"`", message)
            if tag:
                message += f' (test it first: `resource.hasTag("{tag.group(1)}") && …`)'

            problem = _validation_problem(text, spans, error.policy_id, message)
            if problem not in problems:
                problems.append(problem)
        return [], problems
    ordered = sorted(parsed["staticPolicies"].items(), key=lambda item: int(item[0].removeprefix("policy")))
    return [statement for _, statement in ordered], []


def entity_references(statement: dict) -> list[dict]:
    """Every ``{"type": …, "id": …}`` an EST statement names, in its scope and its conditions."""
    found: list[dict] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if set(node) >= {"type", "id"} and isinstance(node.get("id"), str):
                found.append({"type": node["type"], "id": node["id"]})
            if "__entity" in node and isinstance(node["__entity"], dict):
                found.append(node["__entity"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(statement)
    return found
