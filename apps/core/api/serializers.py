"""Serializer building blocks shared by every app's API."""

from rest_framework import serializers


class StrictFieldsMixin:
    """Refuse unknown fields instead of ignoring them, so a typo never silently drops data.

    Read-only fields count as unknown in input: sending ``id`` or ``created_at``
    is an error a client should hear about.
    """

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError({name: ["This field is not accepted here."] for name in unknown})
        return super().to_internal_value(data)


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    pass
