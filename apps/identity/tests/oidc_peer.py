"""Fixtures for the OIDC sign-in tests: a real OpenID Provider (npm oidc-provider) and a browser at it.

``oidc_op`` runs ``tests/peers/oidc-op.mjs`` once per test session on a free
loopback port (``oidc_op_other`` is a second instance with its own signing
key, for signature tests); both are killed by pid at the end. The OP's client
``nimbus`` accepts the callback URLs of the test tenants' hosts, as the Django
test client sends them (``http://acme.localhost/identity/oidc/callback/``).

``browser_at_op(authorize_url, login)`` plays the person's browser at the OP
with ``requests``: it fills the development login form (any password) and the
consent form, and returns the callback URL the OP redirects to, which the
test then requests on the tenant host with the Django test client.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from django_tenants.utils import schema_context

ROOT = Path(__file__).resolve().parents[3]
PEERS = ROOT / "tests" / "peers"
TENANT_HOSTS = ("acme.localhost", "globex.localhost")
CALLBACK_PATH = "/identity/oidc/callback/"
CLIENT_ID, CLIENT_SECRET = "nimbus", "nimbus-secret"
# The people the OP knows (any other login gets <login>@example.test, verified).
ACCOUNTS = {
    "alice": {
        "email": "alice@oidc.test",
        "email_verified": True,
        "name": "Alice",
        "groups": ["nimbus-admins", "dev"],
    },
    "unverified": {"email": "unverified@oidc.test", "email_verified": False},
    "stranger": {"email": "stranger@oidc.test", "email_verified": True},
    "disabled": {"email": "disabled@oidc.test", "email_verified": True},
}


@dataclass
class OpenIdProvider:
    issuer: str
    process: subprocess.Popen

    @property
    def port(self) -> int:
        return urlsplit(self.issuer).port


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_op(
    kid: str = "nimbus-test", hosts: tuple[str, ...] = TENANT_HOSTS, accounts: dict | None = None
) -> OpenIdProvider:
    subprocess.run(["bash", str(ROOT / "scripts" / "ensure_test_peers.sh")], check=True)
    port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "PORT": str(port),
        "KID": kid,
        "REDIRECT_URIS": ",".join(f"http://{host}{CALLBACK_PATH}" for host in hosts),
        "ACCOUNTS": json.dumps({**ACCOUNTS, **(accounts or {})}),
    }
    process = subprocess.Popen(
        ["node", "oidc-op.mjs"], cwd=PEERS, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    ready = threading.Event()
    lines: list[str] = []

    def read():
        for line in process.stdout:
            lines.append(line)
            if line.startswith("READY "):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(30):
        process.kill()
        raise RuntimeError(f"oidc-provider did not start: {''.join(lines)[-500:]}")
    return OpenIdProvider(issuer=f"http://127.0.0.1:{port}", process=process)


def _stop(op: OpenIdProvider) -> None:
    op.process.terminate()
    try:
        op.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        op.process.kill()
        op.process.wait(timeout=10)


@pytest.fixture(scope="session")
def oidc_op():
    op = _start_op()
    yield op
    _stop(op)


@pytest.fixture(scope="session")
def oidc_op_other():
    """A second OP: same key id, a different key (its tokens do not verify with ``oidc_op``'s JWKS)."""
    op = _start_op()
    yield op
    _stop(op)


@pytest.fixture
def loopback_allowed(settings):
    settings.NIMBUS_OUTBOUND_ALLOW = ["127.0.0.1"]


@pytest.fixture
def oidc_provider(oidc_op, loopback_allowed):
    """``oidc_provider(tenant, slug=…, **options)``: an OIDC provider of that tenant pointing at ``oidc_op``."""
    from apps.identity import services

    def make(tenant, *, slug="op", op=None, **options):
        with schema_context(tenant.schema_name):
            return services.provider_create_oidc(
                name=f"OP {slug}",
                slug=slug,
                issuer=(op or oidc_op).issuer,
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                scopes="openid email profile groups",
                **options,
            )

    return make


_FORM = re.compile(r"<form[^>]*action=\"([^\"]+)\"[^>]*>(.*?)</form>", re.S)
_HIDDEN = re.compile(r"<input[^>]*type=\"hidden\"[^>]*name=\"([^\"]+)\"[^>]*value=\"([^\"]*)\"")


def browser_at_op(authorize_url: str, login: str, hosts: tuple[str, ...] = TENANT_HOSTS) -> str:
    """Follow the authorization request at the OP as a browser would; return the callback URL it sends us to."""
    browser = requests.Session()
    browser.trust_env = False
    response = browser.get(authorize_url, allow_redirects=False, timeout=10)
    for _ in range(12):
        if response.is_redirect:
            target = urljoin(response.url, response.headers["Location"])
            if urlsplit(target).hostname in hosts:
                return target
            response = browser.get(target, allow_redirects=False, timeout=10)
            continue
        form = _FORM.search(response.text)
        if response.status_code != 200 or form is None:
            raise AssertionError(f"the OP answered {response.status_code}: {response.text[:500]}")
        action, body = form.groups()
        fields = {name: unescape(value) for name, value in _HIDDEN.findall(body)}
        if fields.get("prompt") == "login":
            fields |= {"login": login, "password": "any"}
        response = browser.post(unescape(action), data=fields, allow_redirects=False, timeout=10)
    raise AssertionError("the OP never redirected back")


def relative(url: str) -> str:
    """The path and query of an absolute URL (what the Django test client requests on its host)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path
