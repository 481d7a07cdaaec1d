"""Forms of the sign-in, password, account and security settings pages."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from .audit import record_password_refused_sso_only
from .models import AccountPolicy
from .services import POLICY_FIELDS
from .sign_in_options import options_for, password_sign_in_allowed


class SignInForm(AuthenticationForm):
    """Email and password. Its one error never says whether the email exists."""

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an active account here.",
        "sso_only": "This organisation signs in through its identity provider: use the button below.",
    }

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not password_sign_in_allowed(user, options_for(self.request)):
            record_password_refused_sso_only(self.request, user)
            raise forms.ValidationError(self.error_messages["sso_only"], code="sso_only")


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. 'CI pipeline'.")
    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        coerce=int,
        empty_value=None,
        choices=[(7, "in 7 days"), (30, "in 30 days"), (90, "in 90 days"), (365, "in a year"), ("", "never")],
        initial=90,
        required=False,
    )


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label="Name",
        max_length=150,
        required=False,
        help_text="How Nimbus shows you to others; leave empty to use your email.",
    )


class AccountPolicyForm(forms.Form):
    """The policy's fields with the model's bounds; the service saves them (and checks them again)."""

    LABELS = {
        "min_password_length": "Minimum password length",
        "password_history_count": "Earlier passwords refused",
        "password_max_age_days": "Password expires after (days)",
        "session_idle_minutes": "Sign out after inactivity (minutes)",
        "session_absolute_hours": "Maximum session length (hours)",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(forms.fields_for_model(AccountPolicy, fields=POLICY_FIELDS, labels=self.LABELS))
