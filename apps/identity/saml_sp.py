"""pysaml2 made per tenant: a ``Saml2Client`` for one ``IdentityProvider`` of the current schema, on this host.

Nothing comes from global settings. The configuration is built from the
provider's row: the IdP metadata Nimbus fetched (through the guarded fetcher)
or was given is passed *inline*, so pysaml2 never fetches anything itself; the
SP entity id, ACS and SLS are this host's URLs of the provider. Building an
``SPConfig`` parses the metadata and costs milliseconds, so configurations are
cached per (schema, provider id, ``updated_at``, host): saving the provider
gives it a new one.

pysaml2 wants the SP key and certificate as *file paths*. They are written,
decrypted, to a private runtime directory (mode 0700, files 0600, named by the
digest of their content, removed at exit), never into the project tree; the
database keeps only the encrypted key.

Signing, verifying and decrypting are done by python-xmlsec (``saml_xmlsec``),
not by the ``xmlsec1`` program, which this machine does not have.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass

from django.db import connection
from django.urls import reverse
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from . import saml_xmlsec
from .models import IdentityProvider

# Clocks of an IdP and Nimbus may differ a little; a minute of tolerance, no more.
ACCEPTED_TIME_DIFF_SECONDS = 60
SIGNING_ALGORITHM = SIG_RSA_SHA256
DIGEST_ALGORITHM = DIGEST_SHA256
_CACHE_LIMIT = 256

_lock = threading.Lock()
_configs: dict[tuple, SPConfig] = {}
_runtime_dir: str | None = None


@dataclass(frozen=True)
class SpUrls:
    """Nimbus's SAML endpoints of one provider on one host (what its IdP is given)."""

    entity_id: str  # the SP metadata URL doubles as the entity id
    acs_url: str
    sls_url: str


def sp_urls(request, provider: IdentityProvider) -> SpUrls:
    absolute = request.build_absolute_uri
    return SpUrls(
        entity_id=absolute(reverse("identity:saml-metadata", args=[provider.slug])),
        acs_url=absolute(reverse("identity:saml-acs", args=[provider.slug])),
        sls_url=absolute(reverse("identity:saml-sls", args=[provider.slug])),
    )


def _private_dir() -> str:
    global _runtime_dir
    if _runtime_dir is None or not os.path.isdir(_runtime_dir):
        _runtime_dir = tempfile.mkdtemp(prefix="nimbus-saml-")  # mkdtemp makes it 0700
        atexit.register(shutil.rmtree, _runtime_dir, True)
    return _runtime_dir


def _private_file(content: str, suffix: str) -> str:
    """A 0600 file holding ``content`` in the private runtime directory (written once per distinct content)."""
    digest = hashlib.sha256(content.encode()).hexdigest()
    path = os.path.join(_private_dir(), f"{digest}{suffix}")
    if not os.path.exists(path):
        descriptor, temporary = tempfile.mkstemp(dir=_private_dir(), suffix=".tmp")  # mkstemp makes it 0600
        with os.fdopen(descriptor, "w") as handle:
            handle.write(content)
        os.replace(temporary, path)
    return path


def _config_dict(provider: IdentityProvider, urls: SpUrls) -> dict:
    key_file = _private_file(provider.sp_private_key, ".key")
    cert_file = _private_file(provider.sp_certificate, ".crt")
    return {
        "entityid": urls.entity_id,
        "crypto_backend": saml_xmlsec.BACKEND_NAME,
        "key_file": key_file,
        "cert_file": cert_file,
        # One key pair per provider signs and decrypts; the SP metadata publishes it for both uses.
        "encryption_keypairs": [{"key_file": key_file, "cert_file": cert_file}],
        "metadata": {"inline": [provider.metadata_xml]},
        "accepted_time_diff": ACCEPTED_TIME_DIFF_SECONDS,
        "allow_unknown_attributes": True,
        "only_use_keys_in_metadata": True,
        "service": {
            "sp": {
                "endpoints": {
                    "assertion_consumer_service": [(urls.acs_url, BINDING_HTTP_POST)],
                    "single_logout_service": [(urls.sls_url, BINDING_HTTP_REDIRECT)],
                },
                "authn_requests_signed": True,
                "logout_requests_signed": True,
                "logout_responses_signed": True,
                "want_assertions_signed": True,
                "want_response_signed": False,
                "want_assertions_or_response_signed": False,
                # InResponseTo is checked by saml_flow against this browser's own outstanding requests (pysaml2
                # would only compare with a dict we give it); an IdP-initiated response has none and is refused.
                "allow_unsolicited": True,
                "signing_algorithm": SIGNING_ALGORITHM,
                "digest_algorithm": DIGEST_ALGORITHM,
                "name_id_format_allow_create": False,
            }
        },
    }


def sp_config(request, provider: IdentityProvider) -> SPConfig:
    """The provider's pysaml2 configuration on this host, built once per version of the provider."""
    saml_xmlsec.enable()
    urls = sp_urls(request, provider)
    key = (connection.schema_name, provider.pk, provider.updated_at, urls.entity_id)
    with _lock:
        config = _configs.get(key)
    # A temp cleaner may have removed the key files under a long-running process: then write them again.
    if config is not None and os.path.exists(config.key_file):
        return config
    config = SPConfig()
    config.load(_config_dict(provider, urls))
    with _lock:
        if len(_configs) >= _CACHE_LIMIT:
            _configs.clear()  # older versions of providers pile up otherwise; rebuilding is cheap
        _configs[key] = config
    return config


def client(request, provider: IdentityProvider) -> Saml2Client:
    return Saml2Client(config=sp_config(request, provider))
