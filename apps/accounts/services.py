"""Writes to user accounts. (The full accounts capability arrives with its own issue.)"""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from .models import User


def user_create(
    *,
    email: str,
    password: str | None,
    display_name: str = "",
    is_staff: bool = False,
    is_superuser: bool = False,
    is_tenant_admin: bool = False,
) -> User:
    """Create a user in the current schema; a None password makes an account that cannot sign in with one."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid email address."}) from None
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "A user with this email already exists here."})
    user = User(
        email=email,
        display_name=display_name.strip(),
        is_staff=is_staff,
        is_superuser=is_superuser,
        is_tenant_admin=is_tenant_admin,
    )
    if password is None:
        user.set_unusable_password()
    else:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
        user.set_password(password)
    with transaction.atomic():
        user.save()
    return user


def seed_first_admin(*, tenant, options: dict) -> None:
    """Provisioning seeder: the tenant's first administrator, when ``admin_email`` is given.

    Without ``admin_password`` the account has no usable password; its owner
    sets one through the password-reset page.
    """
    email = options.get("admin_email")
    if email:
        user_create(
            email=email,
            password=options.get("admin_password"),
            display_name=options.get("admin_name", ""),
            is_tenant_admin=True,
        )
