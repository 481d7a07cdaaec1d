"""Shared by the identity tests: a real HTTP server on loopback serving a discovery document and IdP metadata.

The outbound guard refuses loopback unless allow-listed, so ``peer`` also
allows 127.0.0.1 for the test (``NIMBUS_OUTBOUND_ALLOW``).
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django_tenants.utils import schema_context
from scim2_client.engines.wsgi import WSGISCIMClient

from apps.audit.tests.conftest import empty_streams  # noqa: F401 (shared fixture: count events from empty)
from apps.identity.saml import generate_sp_key_pair
from apps.identity.services import scim_token_create


def idp_metadata(entity_id: str = "https://idp.example.test/saml", sso: str = "https://idp.example.test/sso") -> str:
    """SAML IdP metadata with a real (freshly made) signing certificate."""
    _key, pem = generate_sp_key_pair("test idp")
    body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    md, ds = "urn:oasis:names:tc:SAML:2.0:metadata", "http://www.w3.org/2000/09/xmldsig#"
    redirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
    return f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="{md}" xmlns:ds="{ds}" entityID="{entity_id}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>
      <ds:X509Certificate>{body}</ds:X509Certificate>
    </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="{redirect}" Location="{sso}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"""


class Peer:
    """What the server answers: ``documents[path] = (content_type, body)``; ``base`` is its URL."""

    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"
        self.documents: dict[str, tuple[str, bytes]] = {}

    def discovery(self, issuer: str, *, path: str = "/op", claimed_issuer: str | None = None) -> str:
        document = {
            "issuer": claimed_issuer or issuer,
            "authorization_endpoint": f"{self.base}/op/auth",
            "token_endpoint": f"{self.base}/op/token",
            "jwks_uri": f"{self.base}/op/jwks",
            "userinfo_endpoint": f"{self.base}/op/me",
        }
        self.documents[f"{path}/.well-known/openid-configuration"] = ("application/json", json.dumps(document).encode())
        return issuer


@pytest.fixture(scope="session")
def _peer_server():
    documents: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            found = documents.get(self.path)
            if found is None:
                self.send_response(404)
                self.end_headers()
                return
            content_type, body = found
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1], documents
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def peer(_peer_server, settings):
    port, documents = _peer_server
    documents.clear()
    settings.NIMBUS_OUTBOUND_ALLOW = ["127.0.0.1"]
    p = Peer(port)
    p.documents = documents
    return p


@pytest.fixture
def admin(signed_in_client, acme):
    return signed_in_client(acme, email="boss@identity.test", is_tenant_admin=True)


@pytest.fixture
def plain(signed_in_client, acme):
    return signed_in_client(acme, email="plain@identity.test")


@pytest.fixture
def oidc_in(peer):
    """``oidc_in(tenant, slug=…)``: an OIDC provider created in that tenant against the peer's discovery."""
    from apps.identity import services

    def make(tenant, *, slug="okta", secret="top-secret-value-123"):
        with schema_context(tenant.schema_name):
            issuer = peer.discovery(f"{peer.base}/{slug}", path=f"/{slug}")
            return services.provider_create_oidc(
                name=slug.title(), slug=slug, issuer=issuer, client_id="nimbus", client_secret=secret
            )

    return make


# --- SCIM: an in-process scim2-client (its WSGI engine on Django's handler) and a token maker ----------


@pytest.fixture
def scim_wsgi_app():
    """Django's WSGI handler, run in the test's thread and transaction.

    Django closes "old" connections when a request starts and finishes; in a
    test that would close the connection holding the test's transaction, so
    (as Django's test client does) that receiver is off while a request runs.
    """
    handler = WSGIHandler()

    def app(environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            result = handler(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                result.close()  # sends request_finished
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)

    return app


@pytest.fixture
def scim_token_for():
    """``scim_token_for(tenant)``: the raw text of a new SCIM token of that tenant."""

    def make(tenant, name: str = "Okta provisioning") -> str:
        with schema_context(tenant.schema_name):
            _token, raw = scim_token_create(name=name)
        return raw

    return make


@pytest.fixture
def scim_client_for(scim_wsgi_app, scim_token_for):
    """``scim_client_for(tenant, token=None, discover=True)``: a scim2-client on that tenant's /scim/v2/."""

    def make(tenant, token: str | None = None, *, discover: bool = True, **options) -> WSGISCIMClient:
        token = token or scim_token_for(tenant)
        client = WSGISCIMClient(
            scim_wsgi_app,
            base_url=f"http://{tenant.slug}.localhost/scim/v2",
            headers={"Authorization": f"Bearer {token}"},
            **options,
        )
        if discover:
            client.discover()
        client.token = token
        return client

    return make
