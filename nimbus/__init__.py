"""Nimbus project package: settings, URL confs, ASGI/WSGI, Celery and Temporal entry points."""
