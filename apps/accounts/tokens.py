"""Password-reset tokens bound to the tenant that issued them.

User ids repeat across tenant schemas (user 1 exists in every tenant), so a
reset link must not be replayable on another tenant's host: the schema name
is part of what the token signs.
"""

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.db import connection


class TenantPasswordResetTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "nimbus.accounts.TenantPasswordResetTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        return f"{connection.schema_name}:{super()._make_hash_value(user, timestamp)}"


password_reset_token = TenantPasswordResetTokenGenerator()
