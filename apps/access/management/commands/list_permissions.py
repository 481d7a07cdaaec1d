"""``manage.py list_permissions [--json | --roles]``: the declared permissions, or which system roles grant them."""

import json

from django.core.management.base import BaseCommand

from apps.access.registry import all_permissions
from apps.access.system_roles import SYSTEM_ROLES


class Command(BaseCommand):
    help = "List every registered permission (app:resource:action), its tier and label."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print a JSON list instead of a table.")
        parser.add_argument(
            "--roles", action="store_true", help="Print a Markdown table of which system role grants which permission."
        )

    def handle(self, *args, **options):
        permissions = all_permissions()
        if options["roles"]:
            self.stdout.write(roles_table(permissions))
            return
        if options["json"]:
            rows = [
                {"name": p.name, "tier": p.tier.key, "label": p.label, "description": p.description}
                for p in permissions
            ]
            self.stdout.write(json.dumps(rows, indent=2))
            return
        width = max((len(p.name) for p in permissions), default=4)
        for permission in permissions:
            self.stdout.write(f"{permission.name:<{width}}  {permission.tier.label:<12}  {permission.label}")
        self.stdout.write(f"{len(permissions)} permission(s).")


def roles_table(permissions) -> str:
    """The system roles' grants as a Markdown table (docs/access.md carries its output)."""
    names = [role.name for role in SYSTEM_ROLES]
    lines = [
        "| permission | tier | " + " | ".join(names) + " |",
        "| --- | --- | " + " | ".join("---" for _ in names) + " |",
    ]
    for permission in permissions:
        marks = " | ".join("✓" if role.grants(permission) else "" for role in SYSTEM_ROLES)
        lines.append(f"| `{permission.name}` | {permission.tier.label} | {marks} |")
    return "\n".join(lines)
