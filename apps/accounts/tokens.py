"""Password-reset and invitation tokens bound to the tenant that issued them.

User ids repeat across tenant schemas (user 1 exists in every tenant), so a
reset link must not be replayable on another tenant's host: the schema name
is part of what the token signs.
"""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.db import connection
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int


class TenantPasswordResetTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "nimbus.accounts.TenantPasswordResetTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        return f"{connection.schema_name}:{super()._make_hash_value(user, timestamp)}"


password_reset_token = TenantPasswordResetTokenGenerator()


class TenantInvitationTokenGenerator(TenantPasswordResetTokenGenerator):
    """Invitation links: tenant-bound like reset links, with a salt of their own and a life of days, not an hour.

    A reset token never passes as an invitation token (or the reverse), because
    the salt differs. The link works once: accepting it sets a password, and the
    password hash is part of what the token signs.
    """

    key_salt = "nimbus.accounts.TenantInvitationTokenGenerator"

    def check_token(self, user, token):
        # The parent measures age against PASSWORD_RESET_TIMEOUT; invitations live NIMBUS_INVITATION_DAYS.
        if not (user and token):
            return False
        timestamp, separator, _signature = token.partition("-")
        if not separator:
            return False
        try:
            issued = base36_to_int(timestamp)
        except ValueError:
            return False
        if self._num_seconds(self._now()) - issued > settings.NIMBUS_INVITATION_DAYS * 24 * 3600:
            return False
        return any(
            constant_time_compare(self._make_token_with_timestamp(user, issued, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        )


invitation_token = TenantInvitationTokenGenerator()
