"""Fixtures for the SAML tests: the samlify IdP (tests/peers/saml-idp.cjs) on loopback, and a browser to drive it.

The IdP is an independent implementation (Node, samlify), started once per
test session with a fresh signing key pair and stopped by its pid. The
"browser" is the Django test client for Nimbus's host plus ``requests`` for
the IdP, so every SAML message crosses real HTTP on the IdP side and Nimbus's
real views on ours. Import the fixtures into a test module with
``from apps.identity.tests.saml_peer import *``.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django_tenants.utils import schema_context

from apps.identity.saml import generate_sp_key_pair

__all__ = ["SamlBrowser", "saml_idp", "saml_idp_process", "saml_provider_in"]

PEERS = Path(__file__).resolve().parents[3] / "tests" / "peers"
FORM_FIELD = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')
FORM_ACTION = re.compile(r'<form method="post" action="([^"]*)"')


@pytest.fixture(scope="session")
def saml_idp_process(tmp_path_factory):
    """The running IdP's base URL (session-wide; its signing key pair is made for this run)."""
    node = shutil.which("node")
    if node is None or not (PEERS / "node_modules" / "samlify").is_dir():
        subprocess.run(["bash", str(PEERS.parents[1] / "scripts" / "ensure_test_peers.sh")], check=True)
        node = shutil.which("node")
    directory = tmp_path_factory.mktemp("saml-idp")
    key, certificate = generate_sp_key_pair("samlify test IdP")
    (directory / "idp.key").write_text(key)
    (directory / "idp.crt").write_text(certificate)
    environment = {
        **os.environ,
        "PORT": "0",
        "IDP_KEY": str(directory / "idp.key"),
        "IDP_CERT": str(directory / "idp.crt"),
    }
    process = subprocess.Popen(
        [node, str(PEERS / "saml-idp.cjs")],
        cwd=PEERS,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = process.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"the SAML IdP did not start: {line}{process.stdout.read() if process.poll() else ''}")
        yield line.split()[1]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class Idp:
    base: str

    def mode(self, **switches) -> None:
        """Switches for the next answers: audience, destination, expired, unsigned, tampered, encrypt, status, user."""
        requests.post(f"{self.base}/_mode", json=switches, timeout=10).raise_for_status()

    def register_sp(self, metadata_xml: bytes) -> None:
        requests.post(f"{self.base}/_sp", data=metadata_xml, timeout=10).raise_for_status()

    def logout_request_url(self, *, name_id: str, session_index: str = "") -> str:
        """An IdP-initiated LogoutRequest to the registered SP, as the redirect URL the IdP would send."""
        answer = requests.post(
            f"{self.base}/_logout", json={"name_id": name_id, "session_index": session_index}, timeout=10
        )
        answer.raise_for_status()
        return answer.json()["url"]

    def last(self) -> dict:
        return requests.get(f"{self.base}/_last", timeout=10).json()


@pytest.fixture
def saml_idp(saml_idp_process, settings):
    settings.NIMBUS_OUTBOUND_ALLOW = ["127.0.0.1"]  # the guarded fetcher reads the IdP metadata from loopback
    idp = Idp(saml_idp_process)
    idp.mode()
    yield idp
    idp.mode()


@pytest.fixture
def saml_provider_in(saml_idp):
    """``saml_provider_in(tenant, slug=…, link_by_email=…)``: a tenant's SAML provider, from the IdP's metadata."""
    from apps.identity import services

    def make(tenant, *, slug: str = "corp", link_by_email: bool = True):
        with schema_context(tenant.schema_name):
            return services.provider_create_saml(
                name=slug.title(), slug=slug, metadata_url=f"{saml_idp.base}/metadata", link_by_email=link_by_email
            )

    return make


@dataclass
class IdpAnswer:
    """What the IdP's auto-submitting form would post to Nimbus."""

    action: str
    fields: dict[str, str]

    @property
    def path(self) -> str:
        return urlsplit(self.action).path


class SamlBrowser:
    """A person's browser: the Django test client on the tenant host, ``requests`` towards the IdP."""

    def __init__(self, client, idp: Idp, slug: str):
        self.client = client
        self.idp = idp
        self.slug = slug

    def register(self) -> None:
        """Give the IdP this tenant's SP metadata (what an administrator would upload at the IdP)."""
        metadata = self.client.get(f"/identity/saml/{self.slug}/metadata/")
        assert metadata.status_code == 200
        self.idp.register_sp(metadata.content)

    def start(self, next_url: str = "") -> str:
        """Press the sign-in button: the URL of the IdP (with the signed AuthnRequest) Nimbus redirects to."""
        response = self.client.get(f"/identity/sso/{self.slug}/", {"next": next_url} if next_url else {})
        assert response.status_code == 302, response.content[:500]
        return response["Location"]

    def at_idp(self, url: str) -> IdpAnswer:
        answer = requests.get(url, timeout=30)
        assert answer.status_code == 200, answer.text
        action = html.unescape(FORM_ACTION.search(answer.text).group(1))
        fields = {name: html.unescape(value) for name, value in FORM_FIELD.findall(answer.text)}
        return IdpAnswer(action=action, fields=fields)

    def post(self, answer: IdpAnswer, *, path: str | None = None, client=None):
        return (client or self.client).post(path or answer.path, answer.fields)

    def sign_in(self, next_url: str = ""):
        """The whole SP-initiated flow; returns (Nimbus's answer to the POST, what the IdP posted)."""
        answer = self.at_idp(self.start(next_url))
        return self.post(answer), answer
