"""The outbound fetch guard against a real HTTP server on loopback: refused by default, allowed when listed."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings

from apps.core import outbound


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        port = self.server.server_address[1]
        if self.path == "/big":
            body = b"x" * 5000
        elif self.path == "/to-ip":
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{port}/ok")
            self.end_headers()
            return
        elif self.path == "/missing":
            self.send_response(404)
            self.end_headers()
            return
        else:
            body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_loopback_is_refused_by_default(server):
    with override_settings(NIMBUS_OUTBOUND_ALLOW=[]):
        with pytest.raises(outbound.OutboundRefused, match="private or reserved"):
            outbound.fetch(f"http://127.0.0.1:{server}/ok")
        with pytest.raises(outbound.OutboundRefused, match="private or reserved"):
            outbound.fetch(f"http://localhost:{server}/ok")  # a name is judged by what it resolves to


@pytest.mark.parametrize("entry", ["127.0.0.1", "127.0.0.0/8"])
def test_an_allow_listed_address_or_network_is_fetched(server, entry):
    with override_settings(NIMBUS_OUTBOUND_ALLOW=[entry]):
        fetched = outbound.fetch(f"http://127.0.0.1:{server}/ok")
    assert fetched.status == 200 and fetched.content == b'{"ok": true}'
    assert fetched.content_type == "application/json"


def test_a_redirect_to_a_refused_address_is_refused(server):
    # "localhost" is allowed by name; the redirect goes to 127.0.0.1, a name that is not listed.
    with override_settings(NIMBUS_OUTBOUND_ALLOW=["localhost"]):
        assert outbound.fetch(f"http://localhost:{server}/ok").status == 200
        with pytest.raises(outbound.OutboundRefused, match=r"127\.0\.0\.1"):
            outbound.fetch(f"http://localhost:{server}/to-ip")


def test_size_limit_status_and_scheme(server):
    with override_settings(NIMBUS_OUTBOUND_ALLOW=["127.0.0.1"]):
        with pytest.raises(outbound.OutboundRefused, match="more than 1000 bytes"):
            outbound.fetch(f"http://127.0.0.1:{server}/big", max_bytes=1000)
        with pytest.raises(outbound.OutboundRefused, match="HTTP 404"):
            outbound.fetch(f"http://127.0.0.1:{server}/missing")
        with pytest.raises(outbound.OutboundRefused, match="not an http"):
            outbound.fetch("file:///etc/passwd")
        with pytest.raises(outbound.OutboundRefused, match="user name or password"):
            outbound.fetch(f"http://u:p@127.0.0.1:{server}/ok")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("10.1.2.3", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("fe80::1", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("::ffff:127.0.0.1", False),
        ("100.64.0.1", False),
        ("93.184.215.14", True),
        ("2606:4700:4700::1111", True),
    ],
)
def test_what_counts_as_public(address, public):
    import ipaddress

    assert outbound.is_public(ipaddress.ip_address(address)) is public
