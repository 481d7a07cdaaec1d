"""Guarded outbound HTTP: fetch a URL a tenant typed (IdP discovery, SAML metadata) without reaching inside.

A tenant admin chooses these URLs, so an unguarded fetch would let them probe
the platform's own network (metadata services, databases, admin ports). The
guard checks the address each connection actually reached, after DNS
resolution, so a name that resolves (or re-resolves) to an internal address is
refused, and so is every hop of a redirect. Refused: private, loopback,
link-local, multicast, reserved and other non-public addresses, unless the
host name or the address's network is in ``NIMBUS_OUTBOUND_ALLOW`` (tests and
on-premises IdPs). Answers are cut at a size limit, connections at a timeout,
and proxies from the environment are not used (they would hide the address).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

DEFAULT_MAX_BYTES = 1_000_000
DEFAULT_TIMEOUT = 5.0
MAX_REDIRECTS = 3


class OutboundRefused(Exception):
    """The URL may not be fetched, or its answer was not acceptable; the message says why, for whoever typed it."""


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int
    content_type: str
    content: bytes


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str]
    networks: tuple

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address) -> bool:
        return any(address.version == net.version and address in net for net in self.networks)


def allow_list() -> AllowList:
    """``NIMBUS_OUTBOUND_ALLOW`` parsed: each entry is a CIDR network, an address, or a host name."""
    entries = getattr(settings, "NIMBUS_OUTBOUND_ALLOW", None) or ()
    if isinstance(entries, str):
        entries = entries.split(",")
    hosts, networks = set(), []
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            hosts.add(entry.lower().rstrip("."))
    return AllowList(frozenset(hosts), tuple(networks))


def is_public(address) -> bool:
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast and not address.is_reserved


def host_allowed(host: str) -> bool:
    """Whether ``host`` is named by the allow-list (by name, or as an address inside a listed network)."""
    allowed = allow_list()
    if allowed.allows_host(host):
        return True
    try:
        return allowed.allows_address(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return False


def check_address(host: str, address: str) -> None:
    """Refuse a connection to ``host`` that reached ``address`` unless that address is public or allow-listed."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    allowed = allow_list()
    if is_public(ip) or allowed.allows_host(host) or allowed.allows_address(ip):
        return
    raise OutboundRefused(
        f"{host} resolves to {ip}, a private or reserved address; Nimbus fetches only from public addresses "
        "(an operator can allow this host or network with NIMBUS_OUTBOUND_ALLOW)."
    )


def check_host(host: str, port: int) -> None:
    """Refuse before connecting when any address ``host`` resolves to is refused (no probing of closed ports)."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise OutboundRefused(f"{host} does not resolve to an address.") from None
    for *_rest, sockaddr in infos:
        check_address(host, sockaddr[0])


class _GuardedConnectionMixin:
    def _new_conn(self):
        check_host(self.host, self.port)
        # Checked again on the socket itself: the name may resolve differently the second time (DNS rebinding).
        sock = super()._new_conn()
        try:
            check_address(self.host, sock.getpeername()[0])
        except Exception:
            sock.close()
            raise
        return sock


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the environment
    session.max_redirects = MAX_REDIRECTS
    adapter = _GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _checked_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused(f"'{url}' is not an http(s) URL with a host.")
    if parts.username or parts.password:
        raise OutboundRefused("URLs with a user name or password in them are not fetched.")
    return url


def fetch(
    url: str, *, max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = DEFAULT_TIMEOUT, accept: str = "*/*"
) -> Fetched:
    """GET ``url`` through the guard; any answer but 200, an oversized body, or a network failure is refused."""
    fetched = send("GET", url, max_bytes=max_bytes, timeout=timeout, headers={"Accept": accept})
    if fetched.status != 200:
        raise OutboundRefused(f"{fetched.url} answered HTTP {fetched.status}, not 200.")
    return fetched


def send(
    method: str,
    url: str,
    *,
    data: dict | None = None,
    headers: dict | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = DEFAULT_TIMEOUT,
) -> Fetched:
    """One request through the guard, whatever the status (the caller reads error bodies, e.g. OAuth errors).

    Refused: an oversized body or a network failure. Only GET follows redirects
    (a POST carrying a client secret is never re-sent elsewhere).
    """
    _checked_url(url)
    with _session() as session:
        try:
            with session.request(
                method,
                url,
                data=data,
                headers=headers or {},
                timeout=timeout,
                stream=True,
                allow_redirects=method.upper() == "GET",
            ) as response:
                _checked_url(response.url)
                body = bytearray()
                for chunk in response.iter_content(65536):
                    body += chunk
                    if len(body) > max_bytes:
                        raise OutboundRefused(f"{response.url} sent more than {max_bytes} bytes; that is too large.")
                return Fetched(
                    response.url, response.status_code, response.headers.get("Content-Type", ""), bytes(body)
                )
        except OutboundRefused:
            raise
        except requests.TooManyRedirects:
            raise OutboundRefused(f"{url} redirected more than {MAX_REDIRECTS} times.") from None
        except requests.RequestException as error:
            refused = _refusal_in(error)
            if refused is not None:
                raise refused from None
            raise OutboundRefused(f"{url} could not be fetched: {type(error).__name__}.") from None


def _refusal_in(error: BaseException) -> OutboundRefused | None:
    """The guard's refusal, if it is what made requests fail (urllib3 wraps it in its own errors)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OutboundRefused):
            return error
        for arg in getattr(error, "args", ()):
            if isinstance(arg, BaseException):
                found = _refusal_in(arg)
                if found is not None:
                    return found
        reason = getattr(error, "reason", None)
        if isinstance(reason, BaseException):
            found = _refusal_in(reason)
            if found is not None:
                return found
        error = error.__cause__ or error.__context__
    return None
