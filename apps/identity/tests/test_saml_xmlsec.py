"""The python-xmlsec crypto backend of pysaml2 on its own: sign, verify, decrypt, and what it refuses.

The end-to-end tests (test_saml_signin) cover it against samlify; these pin
each operation down with pysaml2's own messages and python-xmlsec's own
encryption, without any IdP.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import xmlsec
from django.test import RequestFactory
from django_tenants.utils import schema_context
from lxml import etree
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.sigver import RSACrypto, verify_redirect_signature

from apps.identity import saml_sp, saml_xmlsec
from apps.identity.saml import certificate_body, generate_sp_key_pair
from apps.identity.tests.conftest import idp_metadata

pytestmark = pytest.mark.django_db

AUTHN_REQUEST = "urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest"
ASSERTION_XML = (
    '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0" '
    'IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer>https://idp.example.test</saml:Issuer></saml:Assertion>'
)


@pytest.fixture
def sp(acme):
    from apps.identity import services

    with schema_context(acme.schema_name):
        provider = services.provider_create_saml(name="Corp", slug="corp", metadata_xml=idp_metadata())
        request = RequestFactory().get("/", HTTP_HOST="acme.localhost")
        yield provider, request, saml_sp.client(request, provider)


def _pem_file(tmp_path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_text(content)
    return str(path)


def test_the_config_uses_python_xmlsec_and_needs_no_xmlsec1_program(sp):
    _provider, _request, client = sp
    assert isinstance(client.sec.crypto, saml_xmlsec.PythonXmlsecBackend)
    assert isinstance(client.sec.sec_backend, RSACrypto)  # the HTTP-Redirect signer pysaml2 sets up only for xmlsec1
    assert client.config.crypto_backend == saml_xmlsec.BACKEND_NAME


def test_redirect_binding_request_is_signed_rsa_sha256(sp):
    provider, _request, client = sp
    _request_id, info = client.prepare_for_authenticate(
        entityid=provider.idp_entity_id,
        relay_state="r",
        binding=BINDING_HTTP_REDIRECT,
        sigalg=saml_sp.SIGNING_ALGORITHM,
        digest_alg=saml_sp.DIGEST_ALGORITHM,
    )
    query = {k: v[0] for k, v in parse_qs(urlsplit(dict(info["headers"])["Location"]).query).items()}
    assert query["SigAlg"] == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    cert = certificate_body(provider.sp_certificate)
    assert verify_redirect_signature(query, client.sec.sec_backend, cert=cert)
    query["RelayState"] = "changed"
    assert not verify_redirect_signature(query, client.sec.sec_backend, cert=cert)


def test_signed_xml_verifies_and_any_change_does_not(sp, tmp_path):
    provider, _request, client = sp
    request_id, signed = client.create_authn_request(
        provider.idp_sso_url,
        binding=BINDING_HTTP_POST,
        sign=True,
        sign_alg=saml_sp.SIGNING_ALGORITHM,
        digest_alg=saml_sp.DIGEST_ALGORITHM,
    )
    signed = str(signed)
    assert "<ds:SignatureValue>" in signed or "SignatureValue>" in signed
    backend = saml_xmlsec.PythonXmlsecBackend()
    cert_file = _pem_file(tmp_path, "sp.crt", provider.sp_certificate)
    assert backend.validate_signature(signed, cert_file, "pem", AUTHN_REQUEST, request_id)

    assert f'Destination="{provider.idp_sso_url}"' in signed
    tampered = signed.replace(f'Destination="{provider.idp_sso_url}"', 'Destination="https://elsewhere.example/"')
    assert not backend.validate_signature(tampered, cert_file, "pem", AUTHN_REQUEST, request_id)
    _other_key, other_cert = generate_sp_key_pair("someone else")
    other_file = _pem_file(tmp_path, "other.crt", other_cert)
    assert not backend.validate_signature(signed, other_file, "pem", AUTHN_REQUEST, request_id)


def test_duplicate_ids_and_doctypes_are_refused(sp, tmp_path):
    provider, _request, client = sp
    request_id, signed = client.create_authn_request(
        provider.idp_sso_url, binding=BINDING_HTTP_POST, sign=True, sign_alg=saml_sp.SIGNING_ALGORITHM
    )
    backend = saml_xmlsec.PythonXmlsecBackend()
    cert_file = _pem_file(tmp_path, "sp.crt", provider.sp_certificate)
    root = etree.fromstring(str(signed).encode())
    wrapper = etree.Element("Wrapper")
    wrapper.append(root)
    copy = etree.fromstring(str(signed).encode())
    wrapper.append(copy)  # the same ID twice: the shape of a signature-wrapping attack
    assert not backend.validate_signature(etree.tostring(wrapper), cert_file, "pem", AUTHN_REQUEST, request_id)
    doctype = '<!DOCTYPE x [<!ENTITY e "boom">]>' + str(signed).split("?>", 1)[-1]
    assert not backend.validate_signature(doctype, cert_file, "pem", AUTHN_REQUEST, request_id)


def _encrypted_to(certificate_pem: str, tmp_path) -> str:
    """ASSERTION_XML inside an EncryptedAssertion, encrypted as an IdP would (aes256-cbc, key by rsa-oaep)."""
    response = etree.fromstring(
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" '
        f'IssueInstant="2026-01-01T00:00:00Z"><saml:EncryptedAssertion>{ASSERTION_XML}</saml:EncryptedAssertion>'
        "</samlp:Response>"
    )
    container = response[0]
    assertion = container[0]
    template = xmlsec.template.encrypted_data_create(
        container, xmlsec.Transform.AES256, type=xmlsec.EncryptionType.ELEMENT, ns="xenc"
    )
    xmlsec.template.encrypted_data_ensure_cipher_value(template)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(template, ns="dsig")
    encrypted_key = xmlsec.template.add_encrypted_key(key_info, xmlsec.Transform.RSA_OAEP)
    xmlsec.template.encrypted_data_ensure_cipher_value(encrypted_key)
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_file(_pem_file(tmp_path, "enc.crt", certificate_pem), xmlsec.KeyFormat.CERT_PEM))
    context = xmlsec.EncryptionContext(manager)
    context.key = xmlsec.Key.generate(xmlsec.KeyData.AES, 256, xmlsec.KeyDataType.SESSION)
    context.encrypt_xml(template, assertion)
    return etree.tostring(response, encoding="unicode")


def test_encrypted_assertion_decrypts_with_the_sp_key_only(sp, tmp_path):
    provider, _request, _client = sp
    encrypted = _encrypted_to(provider.sp_certificate, tmp_path)
    assert "_a1" not in encrypted and "CipherValue" in encrypted
    backend = saml_xmlsec.PythonXmlsecBackend()

    decrypted = backend.decrypt(encrypted, _pem_file(tmp_path, "sp.key", provider.sp_private_key))
    assert 'ID="_a1"' in decrypted and "https://idp.example.test" in decrypted

    other_key, _other_cert = generate_sp_key_pair("someone else")
    with pytest.raises(saml_xmlsec.sigver.DecryptError):
        backend.decrypt(encrypted, _pem_file(tmp_path, "other.key", other_key))


def test_key_files_are_private(sp):
    import os
    import stat

    _provider, _request, client = sp
    key_file = client.config.key_file
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(key_file)).st_mode) == 0o700


def test_config_is_built_once_per_version_of_the_provider(sp, acme):
    from apps.identity import services

    provider, request, client = sp
    assert saml_sp.sp_config(request, provider) is client.config
    with schema_context(acme.schema_name):
        services.provider_update(provider=provider, name="Corp renamed")
        provider.refresh_from_db()
        assert saml_sp.sp_config(request, provider) is not client.config
    other_host = RequestFactory().get("/", HTTP_HOST="acme.localhost:8443", secure=True)
    with schema_context(acme.schema_name):
        assert saml_sp.sp_config(other_host, provider).entityid.startswith("https://acme.localhost:8443/")
