"""What the sign-in page offers besides the password form, supplied by apps above accounts.

Accounts owns the sign-in page but must not import the apps that add ways to
sign in (identity's SSO buttons, its "SSO only" setting). Those apps register a
function here, from their AppConfig.ready; the page asks every registered
function and shows the union.

"SSO only" hides the password form and refuses password sign-in for everyone
but tenant admins: a break-glass path for when the IdP is down or misconfigured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.http import HttpRequest


@dataclass(frozen=True)
class SignInButton:
    label: str
    url: str
    is_default: bool = False


@dataclass(frozen=True)
class SignInOptions:
    buttons: tuple[SignInButton, ...] = field(default_factory=tuple)
    # False when the tenant signs in only through its IdPs (password sign-in kept for tenant admins).
    password_sign_in: bool = True


OptionsSource = Callable[[HttpRequest], SignInOptions]
_sources: list[OptionsSource] = []


def register(source: OptionsSource) -> None:
    """Add a source of sign-in options (idempotent: an app's ready() may run twice in tests)."""
    if source not in _sources:
        _sources.append(source)


def options_for(request: HttpRequest) -> SignInOptions:
    """Every source's buttons, default ones first; password sign-in only if no source turns it off."""
    buttons: list[SignInButton] = []
    password = True
    for source in _sources:
        options = source(request)
        buttons.extend(options.buttons)
        password = password and options.password_sign_in
    buttons.sort(key=lambda button: not button.is_default)
    return SignInOptions(buttons=tuple(buttons), password_sign_in=password)


def password_sign_in_allowed(user, options: SignInOptions) -> bool:
    """Whether ``user`` may sign in with a password under ``options`` (tenant admins always may: break-glass)."""
    return options.password_sign_in or bool(getattr(user, "is_tenant_admin", False))
