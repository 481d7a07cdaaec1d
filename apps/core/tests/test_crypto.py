"""Encryption at rest: round trip, key rotation, a wrong key refused, the development key derived from SECRET_KEY."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import override_settings

from apps.core import crypto

OLD, NEW = crypto.generate_key(), crypto.generate_key()


def test_round_trip_and_every_token_differs():
    with override_settings(NIMBUS_ENCRYPTION_KEYS=[NEW]):
        first, second = crypto.encrypt("s3cret"), crypto.encrypt("s3cret")
        assert "s3cret" not in first and first != second
        assert crypto.decrypt(first) == crypto.decrypt(second) == "s3cret"


def test_rotation_old_tokens_open_and_rotate_to_the_first_key():
    with override_settings(NIMBUS_ENCRYPTION_KEYS=[OLD]):
        token = crypto.encrypt("client-secret")
    with override_settings(NIMBUS_ENCRYPTION_KEYS=[NEW, OLD]):
        assert crypto.decrypt(token) == "client-secret"
        rotated = crypto.rotate(token)
    with override_settings(NIMBUS_ENCRYPTION_KEYS=[NEW]):
        assert crypto.decrypt(rotated) == "client-secret"
        with pytest.raises(crypto.DecryptionError, match="NIMBUS_ENCRYPTION_KEYS"):
            crypto.decrypt(token)


def test_a_wrong_key_or_an_altered_token_is_refused():
    with override_settings(NIMBUS_ENCRYPTION_KEYS=[OLD]):
        token = crypto.encrypt("x")
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))
    with override_settings(NIMBUS_ENCRYPTION_KEYS=[NEW]), pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token)


def test_a_malformed_key_is_a_configuration_error_naming_its_position():
    with (
        override_settings(NIMBUS_ENCRYPTION_KEYS=[NEW, "not-a-key"]),
        pytest.raises(ImproperlyConfigured, match="key 2"),
    ):
        crypto.encrypt("x")


def test_unset_keys_derive_one_from_secret_key():
    with override_settings(NIMBUS_ENCRYPTION_KEYS=[], SECRET_KEY="a" * 50):
        token = crypto.encrypt("dev")
        assert crypto.decrypt(token) == "dev"
    with override_settings(NIMBUS_ENCRYPTION_KEYS=[crypto.derived_key("a" * 50).decode()]):
        assert crypto.decrypt(token) == "dev"  # the documented derivation, usable as an explicit key
    with override_settings(NIMBUS_ENCRYPTION_KEYS=[], SECRET_KEY="b" * 50), pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token)


@pytest.mark.django_db
def test_the_field_stores_ciphertext_and_reads_plain_text():
    field = crypto.EncryptedTextField()
    stored = field.get_prep_value("hunter2")
    assert "hunter2" not in stored
    assert field.from_db_value(stored, None, connection) == "hunter2"
    assert field.get_prep_value("") == "" and field.from_db_value("", None, connection) == ""
