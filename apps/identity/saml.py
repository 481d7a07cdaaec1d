"""SAML pieces of the configuration: reading an IdP's metadata safely, Nimbus's SP key pair, the SP metadata XML.

Metadata is parsed with defusedxml with DTDs forbidden: SAML metadata never
needs one, and refusing it closes external entities (XXE) and entity
expansion bombs at once.
"""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass
from xml.etree.ElementTree import Element, SubElement, register_namespace, tostring

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from django.core.exceptions import ValidationError

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
BINDINGS = {
    "redirect": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
    "post": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
}
MAX_METADATA_BYTES = 1_000_000
SP_CERTIFICATE_DAYS = 3650

# Readable prefixes in the SP metadata Nimbus writes (ElementTree would say ns0, ns1).
register_namespace("md", MD)
register_namespace("ds", DS)


@dataclass(frozen=True)
class IdpMetadata:
    entity_id: str
    sso_url: str
    signing_certificate: str  # PEM
    slo_url: str = ""  # its SingleLogoutService (HTTP-Redirect), when it offers single logout


def _refuse(message: str) -> ValidationError:
    return ValidationError({"metadata": f"The IdP metadata {message}"})


def parse_idp_metadata(xml: str | bytes) -> IdpMetadata:
    """The IdP's entity id, single sign-on URL and signing certificate, or a ValidationError saying what is wrong."""
    raw = xml.encode() if isinstance(xml, str) else xml
    if len(raw) > MAX_METADATA_BYTES:
        raise _refuse(f"is larger than {MAX_METADATA_BYTES} bytes.")
    try:
        root = fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise _refuse("contains a DOCTYPE or entity declaration; metadata never needs one, so it is refused.") from None
    except ParseError as error:
        raise _refuse(f"is not well-formed XML ({error}).") from None
    if root.tag == f"{{{MD}}}EntitiesDescriptor":
        candidates = [
            e for e in root.iter(f"{{{MD}}}EntityDescriptor") if e.find(f"{{{MD}}}IDPSSODescriptor") is not None
        ]
        if len(candidates) != 1:
            raise _refuse(f"describes {len(candidates)} identity providers; give the metadata of exactly one.")
        root = candidates[0]
    if root.tag != f"{{{MD}}}EntityDescriptor":
        raise _refuse("is not a SAML 2.0 EntityDescriptor.")
    entity_id = (root.get("entityID") or "").strip()
    if not entity_id:
        raise _refuse("has no entityID.")
    idp = root.find(f"{{{MD}}}IDPSSODescriptor")
    if idp is None:
        raise _refuse("has no IDPSSODescriptor: it describes something other than an identity provider.")
    services = {
        s.get("Binding"): (s.get("Location") or "").strip() for s in idp.findall(f"{{{MD}}}SingleSignOnService")
    }
    sso_url = services.get(BINDINGS["redirect"]) or services.get(BINDINGS["post"])
    if not sso_url or not sso_url.startswith(("https://", "http://")):
        raise _refuse("names no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding.")
    slo_url = ""
    for service in idp.findall(f"{{{MD}}}SingleLogoutService"):
        location = (service.get("Location") or "").strip()
        if service.get("Binding") == BINDINGS["redirect"] and location.startswith(("https://", "http://")):
            slo_url = location
            break
    certificate = None
    for key in idp.findall(f"{{{MD}}}KeyDescriptor"):
        if key.get("use") in (None, "", "signing"):
            certificate = key.find(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate")
            if certificate is not None:
                break
    if certificate is None or not (certificate.text or "").strip():
        raise _refuse('has no signing certificate (KeyDescriptor use="signing" with an X509Certificate).')
    try:
        der = base64.b64decode("".join(certificate.text.split()), validate=True)
        pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode()
    except ValueError:
        raise _refuse("has a signing certificate that is not a valid X.509 certificate.") from None
    return IdpMetadata(entity_id=entity_id, sso_url=sso_url, signing_certificate=pem, slo_url=slo_url)


def generate_sp_key_pair(common_name: str) -> tuple[str, str]:
    """A new RSA-2048 private key and a self-signed certificate for it (PEM strings): Nimbus's SP credentials."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SP_CERTIFICATE_DAYS))
        .sign(key, hashes.SHA256())
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return private_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


def certificate_body(pem: str) -> str:
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


def sp_metadata_xml(*, entity_id: str, acs_url: str, certificate_pem: str, sls_url: str = "") -> bytes:
    """Nimbus's SP metadata for one provider: entity id, ACS (HTTP-POST), SLS (HTTP-Redirect), its certificate.

    One certificate is published for both uses: IdPs sign-check Nimbus's
    requests with it and encrypt assertions to it.
    """
    root = Element(f"{{{MD}}}EntityDescriptor", {"entityID": entity_id})
    sp = SubElement(
        root,
        f"{{{MD}}}SPSSODescriptor",
        {
            "AuthnRequestsSigned": "true",
            "WantAssertionsSigned": "true",
            "protocolSupportEnumeration": "urn:oasis:names:tc:SAML:2.0:protocol",
        },
    )
    for use in ("signing", "encryption"):
        descriptor = SubElement(sp, f"{{{MD}}}KeyDescriptor", {"use": use})
        data = SubElement(SubElement(descriptor, f"{{{DS}}}KeyInfo"), f"{{{DS}}}X509Data")
        SubElement(data, f"{{{DS}}}X509Certificate").text = certificate_body(certificate_pem)
    if sls_url:
        SubElement(sp, f"{{{MD}}}SingleLogoutService", {"Binding": BINDINGS["redirect"], "Location": sls_url})
    SubElement(sp, f"{{{MD}}}NameIDFormat").text = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
    SubElement(
        sp,
        f"{{{MD}}}AssertionConsumerService",
        {"Binding": BINDINGS["post"], "Location": acs_url, "index": "0", "isDefault": "true"},
    )
    return tostring(root, encoding="utf-8", xml_declaration=True)
