"""Form rendering helpers: Bootstrap classes and error state on Django's own widgets."""

from django import template

register = template.Library()


@register.filter
def bootstrap(bound_field):
    """Render a bound field's widget with Bootstrap's classes (and ``is-invalid`` when it has errors)."""
    widget = bound_field.field.widget
    input_type = getattr(widget, "input_type", None)
    css = (
        "form-check-input"
        if input_type in ("checkbox", "radio")
        else "form-select"
        if input_type == "select"
        else "form-control"
    )
    if bound_field.errors:
        css += " is-invalid"
    existing = widget.attrs.get("class", "")
    return bound_field.as_widget(attrs={"class": f"{existing} {css}".strip()})
