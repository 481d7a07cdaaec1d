"""The OpenAPI schema generates cleanly and its documentation page needs no CDN."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_openapi_schema_generates_without_warnings(capsys):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
    captured = capsys.readouterr()
    assert "Warning" not in captured.err


@pytest.mark.parametrize("host", ["localhost", "acme.localhost"])
def test_api_docs_page_serves_swagger_from_this_host(host_client, host, acme):
    response = host_client(host).get("/api/v1/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn." not in page and "jsdelivr" not in page
    assert host_client(host).get("/api/v1/schema/").status_code == 200
