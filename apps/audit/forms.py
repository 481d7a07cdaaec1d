"""Forms of the audit pages. They only read and shape input; every rule is the services' (``redaction_rule_save``)."""

from django import forms

from .models import RedactionRule

MONOSPACE = {"class": "font-monospace", "spellcheck": "false", "autocomplete": "off"}


class RedactionRuleForm(forms.Form):
    kind = forms.ChoiceField(
        choices=RedactionRule.Kind.choices,
        help_text="Field name: redact the whole value under matching keys. Value pattern: replace matching text.",
    )
    pattern = forms.CharField(
        max_length=500,
        widget=forms.TextInput(attrs=MONOSPACE),
        help_text="A regular expression. Patterns that can run away on some input are refused.",
    )
    description = forms.CharField(max_length=300, required=False)


class RetentionForm(forms.Form):
    """The bounds are ``archives.retention_update``'s; its refusals are put back next to these fields."""

    days_hot = forms.IntegerField(
        label="Days in the table",
        help_text="How long sealed events stay in the table before they are archived (1 to 3650).",
    )
    days_archived = forms.IntegerField(
        label="Days archived",
        help_text="How long an archive is kept after it was written (0 to 3650; 0 keeps archives forever).",
    )


class SavedQueryForm(forms.Form):
    """Name and sharing of the explorer's current filters; the filters themselves are checked by
    ``services.saved_query_create``, exactly as the API checks them."""

    name = forms.CharField(max_length=100, label="Name")
    shared = forms.BooleanField(required=False, label="Share with the tenant")
