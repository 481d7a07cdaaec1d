"""Forms of the users pages (tenant administrators)."""

from django import forms


class UserAddForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    display_name = forms.CharField(label="Name", max_length=150, required=False)
    is_tenant_admin = forms.BooleanField(
        label="Tenant administrator", required=False, help_text="May manage this tenant's users."
    )
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to email an invitation, with which they choose their own password.",
    )


class UserEditForm(forms.Form):
    email = forms.EmailField(max_length=254)
    display_name = forms.CharField(label="Name", max_length=150, required=False)
    is_tenant_admin = forms.BooleanField(
        label="Tenant administrator", required=False, help_text="May manage this tenant's users."
    )


# What the users page can do to several selected users at once.
BULK_ACTIONS = {"disable": "Disable", "enable": "Enable", "reset-password": "Send a password reset to"}
