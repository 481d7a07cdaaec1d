"""``manage.py list_permissions [--json]``: every permission the installed apps declare."""

import json

from django.core.management.base import BaseCommand

from apps.access.registry import all_permissions


class Command(BaseCommand):
    help = "List every registered permission (app:resource:action), its tier and label."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print a JSON list instead of a table.")

    def handle(self, *args, **options):
        permissions = all_permissions()
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
