"""Structured JSON logs carry the request id and the tenant schema."""

import io
import json
import logging
import logging.config

import pytest
from django.conf import settings
from django_guid import set_guid
from django_tenants.utils import schema_context

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log():
    from nimbus.settings.logging import LOGGING

    stream = io.StringIO()
    # The same configuration, with its console handler writing JSON into a buffer.
    console = {**LOGGING["handlers"]["console"], "formatter": "json", "stream": stream}
    config = {**LOGGING, "handlers": {"console": console}, "root": {"handlers": ["console"], "level": "INFO"}}
    logging.config.dictConfig(config)
    yield stream
    logging.config.dictConfig(settings.LOGGING)


def test_log_line_is_json_with_request_id_and_tenant_schema(json_log, acme):
    set_guid("0123456789abcdef0123456789abcdef")
    with schema_context(acme.schema_name):
        logging.getLogger("nimbus.test").info("something happened", extra={"detail": 42})
    set_guid(None)
    record = json.loads(json_log.getvalue().strip().splitlines()[-1])
    assert record["message"] == "something happened"
    assert record["request_id"] == "0123456789abcdef0123456789abcdef"
    assert record["tenant_schema"] == "t_acme"
    assert record["level"] == "INFO"
    assert record["detail"] == 42
