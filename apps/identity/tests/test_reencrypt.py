"""Key rotation end to end: secrets written under an old key open under the new key alone after reencrypt_secrets."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django_tenants.utils import schema_context

from apps.core.crypto import generate_key
from apps.identity import services
from apps.identity.models import IdentityProvider

from .conftest import idp_metadata

pytestmark = pytest.mark.django_db

OLD, NEW = generate_key(), generate_key()


def test_every_tenants_secrets_move_to_the_first_key(acme, globex, capsys):
    with override_settings(NIMBUS_ENCRYPTION_KEYS=[OLD]):
        for tenant in (acme, globex):
            with schema_context(tenant.schema_name):
                services.provider_create_saml(name="Corp", slug="corp", metadata_xml=idp_metadata())
                key = IdentityProvider.objects.get(slug="corp").sp_private_key
                assert key.startswith("-----BEGIN")

    with override_settings(NIMBUS_ENCRYPTION_KEYS=[NEW, OLD]):
        call_command("reencrypt_secrets", "--dry-run")
        assert "2 secret(s)" in capsys.readouterr().out
        call_command("reencrypt_secrets")
        out = capsys.readouterr().out
        assert f"{acme.schema_name}: 1 secret(s) re-encrypted" in out and "2 secret(s)" in out

    with override_settings(NIMBUS_ENCRYPTION_KEYS=[NEW]):  # the old key is gone: everything still opens
        for tenant in (acme, globex):
            with schema_context(tenant.schema_name):
                assert IdentityProvider.objects.get(slug="corp").sp_private_key.startswith("-----BEGIN")


def test_a_secret_no_key_opens_stops_the_command_and_changes_nothing_in_that_schema(acme):
    with override_settings(NIMBUS_ENCRYPTION_KEYS=[OLD]), schema_context(acme.schema_name):
        services.provider_create_saml(name="Corp", slug="corp", metadata_xml=idp_metadata())
    with override_settings(NIMBUS_ENCRYPTION_KEYS=[NEW]), pytest.raises(CommandError, match="cannot be rotated"):
        call_command("reencrypt_secrets")
    with override_settings(NIMBUS_ENCRYPTION_KEYS=[OLD]), schema_context(acme.schema_name):
        assert IdentityProvider.objects.get(slug="corp").sp_private_key.startswith("-----BEGIN")
