"""The vocabulary every app uses to declare its permissions, collected by ``apps.access.registry``.

It lives in ``core`` so that an app declares its permissions without
depending on ``access``, which sits above it. An app lists them in its own
``permissions.py`` as ``PERMISSIONS = [Permission(...), ...]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

# app:resource:action, each part a lower-case identifier (``cmdb:ci:update``).
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$")


class Tier(Enum):
    """Who a permission is meant for, from the least to the most trusted; roles never grant above their author's."""

    READ_ONLY = ("read_only", 1, "Read-only")
    USER = ("user", 2, "User")
    TENANT_ADMIN = ("tenant_admin", 3, "Tenant admin")
    PROVIDER = ("provider", 4, "Provider")

    def __init__(self, key: str, rank: int, label: str):
        self.key, self.rank, self.label = key, rank, label

    def __lt__(self, other: Tier) -> bool:
        return self.rank < other.rank

    def __le__(self, other: Tier) -> bool:
        return self.rank <= other.rank


@dataclass(frozen=True)
class Permission:
    """One permission an app declares: ``name`` is ``app:resource:action``, ``label`` says it to a person."""

    name: str
    label: str
    tier: Tier
    description: str = ""

    @property
    def app(self) -> str:
        return self.name.split(":", 1)[0]

    @property
    def resource(self) -> str:
        return self.name.split(":")[1]

    @property
    def action(self) -> str:
        return self.name.rsplit(":", 1)[1]


@dataclass(frozen=True)
class ResourceKind:
    """A kind of thing permissions are about (``accounts:user``), and the model its objects are rows of.

    Declared next to ``PERMISSIONS`` as ``RESOURCE_KINDS``. With a model,
    objects of the kind can be granted to one user or group (object grants)
    and lists of them can be filtered by what a principal may see.
    """

    name: str  # "app:resource"
    label: str
    model: str = ""  # "app_label.ModelName"


@dataclass(frozen=True)
class ScopeType:
    """A kind of subtree role assignments can be limited to (a CMDB compartment), declared as ``SCOPE_TYPES``.

    ``model`` holds the scope nodes; an assignment naming an id that is not a
    row of it is refused.
    """

    name: str  # "app:scope", e.g. "cmdb:compartment"
    label: str
    model: str
