"""Structured logging: one JSON object per line, carrying the request id and tenant schema."""

from ._env import env

NIMBUS_LOG_FORMAT = env.str("NIMBUS_LOG_FORMAT", default="json")
NIMBUS_LOG_LEVEL = env.str("NIMBUS_LOG_LEVEL", default="INFO").upper()

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "django_guid.log_filters.CorrelationId"},
        "tenant": {"()": "apps.core.logging.TenantSchemaFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s %(tenant_schema)s",
            "rename_fields": {
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "correlation_id": "request_id",
            },
        },
        "text": {
            "format": "%(asctime)s %(levelname)-7s [%(tenant_schema)s %(correlation_id)s] %(name)s: %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if NIMBUS_LOG_FORMAT == "json" else "text",
            "filters": ["request_id", "tenant"],
        },
    },
    "root": {"handlers": ["console"], "level": NIMBUS_LOG_LEVEL},
    "loggers": {
        # Replace Django's own console handler (it would print every django.* record a second time).
        "django": {"handlers": ["console"], "level": NIMBUS_LOG_LEVEL, "propagate": False},
        "django.db.backends": {"level": "INFO"},
        "pgserver": {"level": "WARNING"},
        "temporalio": {"level": "WARNING"},
        "django_guid": {"level": "WARNING"},
        # axes logs every sign-in and sign-out at INFO; its warnings (failures, lockouts) are the ones that matter.
        "axes": {"level": "WARNING"},
        # pysaml2 logs each NameID and attribute set at INFO (personal data); Nimbus audits sign-ins itself.
        "saml2": {"level": "WARNING"},
        "xmlschema": {"level": "WARNING"},
    },
}
