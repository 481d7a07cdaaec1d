"""Serializers of the accounts API."""

from rest_framework import serializers

from apps.accounts.models import User


class MeSerializer(serializers.ModelSerializer):
    tenant = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "display_name", "is_tenant_admin", "tenant"]
        ref_name = "AccountsMe"

    def get_tenant(self, user) -> str:
        return self.context["request"].tenant.slug
