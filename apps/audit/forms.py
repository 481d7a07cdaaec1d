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
