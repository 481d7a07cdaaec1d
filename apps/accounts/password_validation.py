"""Password validators that follow the current schema's account policy (AUTH_PASSWORD_VALIDATORS).

Django builds each validator once per process, so they keep no tenant state:
every call reads the policy of the schema the request is in. Django calls
``password_changed`` after a user with a new password is saved (the history
and the change time are recorded there), and not when a hash is merely
upgraded on sign-in.
"""

from __future__ import annotations

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils import timezone

from .models import PasswordHistory, User
from .selectors import account_policy


class PolicyMinimumLengthValidator:
    """At least the policy's ``min_password_length`` characters."""

    def validate(self, password: str, user=None) -> None:
        minimum = account_policy().min_password_length
        if len(password) < minimum:
            raise ValidationError(
                f"This password is too short. It must contain at least {minimum} characters.",
                code="password_too_short",
                params={"min_length": minimum},
            )

    def get_help_text(self) -> str:
        return f"Your password must contain at least {account_policy().min_password_length} characters."


class PasswordHistoryValidator:
    """Not one of the user's last ``password_history_count`` passwords (the current one included)."""

    def validate(self, password: str, user=None) -> None:
        count = account_policy().password_history_count
        if not count or user is None or user.pk is None:
            return
        earlier = [user.password] if user.has_usable_password() else []
        earlier += list(PasswordHistory.objects.filter(user_id=user.pk).values_list("password", flat=True)[:count])
        if any(check_password(password, encoded) for encoded in earlier):
            raise ValidationError(
                f"You have used this password recently. Choose one that is not among your last {count}.",
                code="password_reused",
                params={"count": count},
            )

    def get_help_text(self) -> str:
        count = account_policy().password_history_count
        if not count:
            return "Earlier passwords may be used again."
        return f"Your password cannot be one of your last {count} passwords."

    def password_changed(self, password: str, user=None) -> None:
        if user is None or user.pk is None:
            return
        now = timezone.now()
        User.objects.filter(pk=user.pk).update(password_changed_at=now)
        user.password_changed_at = now
        count = account_policy().password_history_count
        if count and user.has_usable_password():
            PasswordHistory.objects.create(user_id=user.pk, password=user.password)
        keep = PasswordHistory.objects.filter(user_id=user.pk).values_list("pk", flat=True)[:count]
        PasswordHistory.objects.filter(user_id=user.pk).exclude(pk__in=list(keep)).delete()
