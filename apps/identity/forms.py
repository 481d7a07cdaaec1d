"""Forms of the identity pages; they only shape input, the services decide (and refuse with field errors)."""

from django import forms

from .models import DEFAULT_SCOPES, MappingOperator

KEEP_HINT = "Stored encrypted; never shown again. Leave empty to keep the current secret."


class _ProviderBase(forms.Form):
    name = forms.CharField(max_length=100, help_text="Shown on the sign-in button.")
    link_by_email = forms.BooleanField(
        required=False,
        label="Link to existing users by verified email",
        help_text="Off by default: a sign-in then resolves only to users already linked to this provider.",
    )


class _NewProviderMixin(forms.Form):
    slug = forms.SlugField(max_length=50, help_text="Part of this provider's URLs; it cannot change later.")
    enabled = forms.BooleanField(required=False, initial=True)
    is_default = forms.BooleanField(required=False, label="Default provider")


class OidcProviderForm(_ProviderBase):
    issuer = forms.URLField(
        max_length=500,
        assume_scheme="https",
        help_text="Discovery is read from <issuer>/.well-known/openid-configuration.",
    )
    client_id = forms.CharField(max_length=255)
    client_secret = forms.CharField(
        required=False, strip=False, widget=forms.PasswordInput(render_value=False), help_text=KEEP_HINT
    )
    scopes = forms.CharField(max_length=255, initial=DEFAULT_SCOPES, required=False)


class OidcProviderAddForm(_NewProviderMixin, OidcProviderForm):
    field_order = ["name", "slug", "issuer", "client_id", "client_secret", "scopes", "enabled", "is_default"]


class SamlProviderForm(_ProviderBase):
    metadata_url = forms.URLField(max_length=500, required=False, label="IdP metadata URL", assume_scheme="https")
    metadata_file = forms.FileField(required=False, label="or upload the IdP metadata XML")

    def clean(self):
        data = super().clean()
        upload = data.get("metadata_file")
        data["metadata_xml"] = upload.read(1_000_001).decode("utf-8", errors="replace") if upload else ""
        return data


class SamlProviderAddForm(_NewProviderMixin, SamlProviderForm):
    field_order = ["name", "slug", "metadata_url", "metadata_file", "enabled", "is_default"]


class SsoOnlyForm(forms.Form):
    sso_only = forms.BooleanField(required=False, label="SSO only (hide the password form; tenant admins keep it)")


class ScimTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Which IdP uses it, e.g. “Okta provisioning”.")
    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        label="Expires after (days)",
        help_text="Leave empty for a token that never expires.",
    )


class MappingForm(forms.Form):
    """One claim rule; the target is "group:<id>" or "role:<id>" from the tenant's groups and roles."""

    claim = forms.CharField(max_length=200, help_text="OIDC claim or SAML attribute name, e.g. groups.")
    operator = forms.ChoiceField(choices=MappingOperator.choices, initial=MappingOperator.HAS_VALUE)
    value = forms.CharField(
        max_length=500, required=False, help_text="E.g. nimbus-admins (not needed for 'is present')."
    )
    target = forms.ChoiceField(label="Grant")

    def __init__(self, *args, groups=(), roles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [
            ("Groups", [(f"group:{group.pk}", group.name) for group in groups]),
            ("Roles (over the whole tenant)", [(f"role:{role.pk}", str(role)) for role in roles]),
        ]


class MappingPreviewForm(forms.Form):
    sample = forms.CharField(
        label="Sample claims (JSON object)",
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false", "class": "font-monospace"}),
        max_length=20_000,
        initial='{"email": "ada@example.com", "groups": ["nimbus-admins"]}',
    )

    def clean_sample(self):
        import json

        try:
            value = json.loads(self.cleaned_data["sample"])
        except json.JSONDecodeError as error:
            raise forms.ValidationError(f"Not JSON: {error.msg} (line {error.lineno}, column {error.colno}).") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("Give a JSON object of claim names to values, as an ID token carries them.")
        return value
