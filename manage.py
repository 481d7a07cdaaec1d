#!/usr/bin/env python
"""Django's command-line utility for Nimbus.

With the development settings, services whose URL is unset are started (or
reused, when ``make run`` already runs them) from the embedded defaults, so
``python manage.py shell`` works on a fresh machine too.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nimbus.settings.dev")
    services = None
    if os.environ["DJANGO_SETTINGS_MODULE"].endswith(".dev"):
        from nimbus.embedded import EmbeddedServices, default_data_dir

        services = EmbeddedServices(default_data_dir())
        os.environ.update(services.start())
    try:
        from django.core.exceptions import ImproperlyConfigured
        from django.core.management import execute_from_command_line

        try:
            execute_from_command_line(sys.argv)
        except ImproperlyConfigured as exc:
            sys.stderr.write(f"Configuration error: {exc}\n")
            sys.exit(2)
    finally:
        if services is not None:
            services.stop()


if __name__ == "__main__":
    main()
