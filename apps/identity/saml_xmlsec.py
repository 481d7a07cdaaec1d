"""pysaml2's XML signature and encryption work done in-process by python-xmlsec, so no ``xmlsec1`` program is needed.

Why this exists: pysaml2 shells out to the ``xmlsec1`` program by default
(``crypto_backend="xmlsec1"``); without it even ``SPConfig.load`` fails
(``SigverError: Cannot find ['xmlsec1']``). Its other choice,
``"XMLSecurity"``, expects pyXMLSecurity, a different package. python-xmlsec
(the ``xmlsec`` wheel, pinned with the ``lxml`` whose libxml2 it matches)
carries libxmlsec inside, and measured ~7x faster than the program, which
spawns several processes per response (docs/design/identity-research.md §2.2).

How: ``enable()`` (called once, from ``saml_flow``) rebinds pysaml2's
``security_context`` in the modules that imported it by name. The wrapper
builds pysaml2's context as for ``crypto_backend="XMLSecurity"``, then puts
``PythonXmlsecBackend`` in as its crypto, and gives it the RSA signer pysaml2
only sets up for the program (without it the HTTP-Redirect binding cannot
sign an AuthnRequest or LogoutRequest). Nothing else in pysaml2 changes: it
still checks a signature's shape (one reference, pointing at the signed
element's ID, allowed transforms) before asking the backend to verify it.

Only what an SP needs is implemented: sign (filling the signature template
pysaml2 put in), verify (the ``ds:Signature`` that is a direct child of the
element with the given ID, with the certificate pysaml2 passes, which comes
from the IdP metadata) and decrypt (the first ``xenc:EncryptedData``).
Encrypting is an IdP's job and is refused.
"""

from __future__ import annotations

import logging
import threading

import xmlsec
from lxml import etree
from saml2 import entity, mdstore, metadata, response, sigver

logger = logging.getLogger(__name__)

DS_SIGNATURE = f"{{{xmlsec.constants.DSigNs}}}Signature"
XENC_ENCRYPTED_DATA = f"{{{xmlsec.constants.EncNs}}}EncryptedData"
BACKEND_NAME = "XMLSecurity"  # the value of pysaml2's crypto_backend that selects this backend once enabled

_enabled = False
_lock = threading.Lock()
_original_security_context = sigver.security_context


class XmlsecRefused(sigver.SigverError):
    """The document could not be signed, verified or decrypted (the message says why, never with key material)."""


def _parse(document: str | bytes) -> etree._Element:
    """Parse without DTDs, entities or network: a SAML message needs none, and each is an attack surface."""
    if isinstance(document, str):
        document = document.encode("utf-8")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(document, parser)
    except etree.XMLSyntaxError as error:
        raise XmlsecRefused(f"not well-formed XML: {error}") from None
    if root.getroottree().docinfo.doctype:
        raise XmlsecRefused("a DOCTYPE is not allowed in a SAML message")
    return root


def _tag(node_name: str) -> str:
    """pysaml2 names nodes 'namespace:LocalName' (the namespace itself contains colons)."""
    namespace, _, local = node_name.rpartition(":")
    return f"{{{namespace}}}{local}" if namespace else local


def _node_with_id(root: etree._Element, node_name: str, node_id: str | None) -> etree._Element:
    """The one element named ``node_name`` with ``ID=node_id`` (the first such element without an id)."""
    tag = _tag(node_name)
    candidates = [e for e in root.iter(tag) if node_id is None or e.get("ID") == node_id]
    if not candidates:
        raise XmlsecRefused(f"no {node_name} element with ID {node_id!r}")
    if node_id is not None and len(candidates) > 1:
        # Two elements with one ID is the shape of a signature-wrapping attack.
        raise XmlsecRefused(f"the ID {node_id!r} appears more than once")
    return candidates[0]


def _register_ids(root: etree._Element) -> None:
    # xmlsec resolves Reference URI="#..." only through attributes registered as IDs.
    xmlsec.tree.add_ids(root, ["ID"])


class PythonXmlsecBackend(sigver.CryptoBackend):
    """pysaml2's ``CryptoBackend`` on python-xmlsec: sign, verify, decrypt in this process."""

    @property
    def version(self) -> str:
        return ".".join(str(part) for part in xmlsec.get_libxmlsec_version())

    def sign_statement(self, statement, node_name, key_file, node_id):
        root = _parse(str(statement) if not isinstance(statement, (str, bytes)) else statement)
        _register_ids(root)
        node = _node_with_id(root, node_name, node_id)
        signature = node.find(DS_SIGNATURE)
        if signature is None:
            raise XmlsecRefused(f"{node_name} has no signature template to fill")
        context = xmlsec.SignatureContext()
        try:
            context.key = xmlsec.Key.from_file(key_file, xmlsec.KeyFormat.PEM)
            context.sign(signature)
        except xmlsec.Error as error:
            raise sigver.SignatureError(f"signing failed: {error}") from None
        return etree.tostring(root, encoding="unicode")

    def validate_signature(self, signedtext, cert_file, cert_type, node_name, node_id):
        if cert_type != "pem":
            raise sigver.Unsupported("only PEM certificates are supported")
        try:
            root = _parse(signedtext)
            _register_ids(root)
            node = _node_with_id(root, node_name, node_id)
        except XmlsecRefused as refused:
            logger.info("SAML signature refused before verifying: %s", refused)
            return False
        signature = node.find(DS_SIGNATURE)
        if signature is None:
            return False
        context = xmlsec.SignatureContext()
        try:
            context.key = xmlsec.Key.from_file(cert_file, xmlsec.KeyFormat.CERT_PEM)
            context.verify(signature)
        except xmlsec.Error as error:
            logger.info("SAML signature did not verify: %s", error)
            return False
        return True

    def decrypt(self, enctext, key_file):
        root = _parse(enctext)
        encrypted = next(root.iter(XENC_ENCRYPTED_DATA), None)
        if encrypted is None:
            raise sigver.DecryptError("nothing encrypted in the document")
        manager = xmlsec.KeysManager()
        try:
            manager.add_key(xmlsec.Key.from_file(key_file, xmlsec.KeyFormat.PEM))
            xmlsec.EncryptionContext(manager).decrypt(encrypted)
        except xmlsec.Error as error:
            raise sigver.DecryptError(f"decryption failed: {error}") from None
        return etree.tostring(root, encoding="unicode")

    def encrypt(self, text, recv_key, template, key_type):
        raise sigver.Unsupported("a service provider does not encrypt")

    def encrypt_assertion(self, statement, enc_key, template, key_type, node_xpath):
        raise sigver.Unsupported("a service provider does not encrypt")


def security_context(conf):
    """pysaml2's security context, with python-xmlsec as crypto when ``conf.crypto_backend`` selects it."""
    if conf is None or getattr(conf, "crypto_backend", None) != BACKEND_NAME:
        return _original_security_context(conf)
    context = _original_security_context(conf)
    context.crypto = PythonXmlsecBackend()
    key_file = conf.getattr("key_file", "")
    if key_file:
        # What pysaml2 does only for the program: the signer of the HTTP-Redirect binding's query string.
        context.sec_backend = sigver.RSACrypto(sigver.import_rsa_key_from_file(key_file))
    return context


def enable() -> None:
    """Put ``security_context`` above into every pysaml2 module that imported the original by name (once)."""
    global _enabled
    with _lock:
        if _enabled:
            return
        for module in (sigver, entity, mdstore, metadata, response):
            module.security_context = security_context
        _enabled = True
