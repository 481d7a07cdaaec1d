"""Identity API (/api/v1/identity/): identity providers and SCIM tokens; decided by the engine, written by services."""

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.access.api.views import service_refusals
from apps.core.api.permissions import ActionPermission, AuthorizedFilter
from apps.core.api.schema import problem_responses
from apps.identity import mappings as mapping_rules
from apps.identity import selectors, services
from apps.identity.models import ClaimMapping, IdentityProvider, ProviderKind, ScimToken

from .serializers import (
    ClaimMappingCreateSerializer,
    ClaimMappingSerializer,
    IdentityProviderCreateSerializer,
    IdentityProviderSerializer,
    IdentityProviderUpdateSerializer,
    MappingPreviewRequestSerializer,
    MappingPreviewSerializer,
    ScimTokenCreatedSerializer,
    ScimTokenCreateSerializer,
    ScimTokenSerializer,
)

OBJECT_ERRORS = problem_responses(400, 401, 403, 404)


@extend_schema_view(
    list=extend_schema(
        summary="List identity providers",
        responses={200: IdentityProviderSerializer(many=True), **problem_responses(401, 403)},
    ),
    retrieve=extend_schema(
        summary="One identity provider", responses={200: IdentityProviderSerializer, **OBJECT_ERRORS}
    ),
)
class IdentityProviderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The tenant's OIDC and SAML identity providers. Secrets are accepted, stored encrypted, never returned."""

    access_kind = "identity:provider"
    action_permissions = {
        "list": "identity:provider:view",
        "retrieve": "identity:provider:view",
        "create": "identity:provider:create",
        "partial_update": "identity:provider:update",
        "enable": "identity:provider:update",
        "disable": "identity:provider:update",
        "make_default": "identity:provider:update",
        "destroy": "identity:provider:delete",
        "mappings": "identity:provider:view",
        "mapping_create": "identity:provider:update",
        "mapping_delete": "identity:provider:update",
        "mapping_preview": "identity:provider:view",
    }
    permission_classes = [ActionPermission]
    filter_backends = [AuthorizedFilter]
    serializer_class = IdentityProviderSerializer
    lookup_value_regex = "[0-9]+"
    queryset = IdentityProvider.objects.order_by("name")

    def _answer(self, provider, code=status.HTTP_200_OK):
        provider = IdentityProvider.objects.get(pk=provider.pk)
        return Response(IdentityProviderSerializer(provider, context={"request": self.request}).data, status=code)

    @extend_schema(
        summary="Add an identity provider",
        description="OIDC: discovery is fetched and its issuer must match. SAML: the IdP metadata (URL or XML) is read "
        "and Nimbus generates the SP key pair and certificate.",
        request=IdentityProviderCreateSerializer,
        responses={201: IdentityProviderSerializer, **problem_responses(400, 401, 403)},
    )
    def create(self, request):
        serializer = IdentityProviderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        kind = data.pop("kind")
        with service_refusals():
            if kind == ProviderKind.OIDC:
                for field in ("metadata_url", "metadata_xml"):
                    data.pop(field)
                provider = services.provider_create_oidc(actor=request.user, **data)
            else:
                for field in ("issuer", "client_id", "client_secret", "scopes"):
                    data.pop(field)
                provider = services.provider_create_saml(actor=request.user, **data)
        return self._answer(provider, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change an identity provider",
        description="The slug and kind never change. An empty or absent client_secret keeps the stored one.",
        request=IdentityProviderUpdateSerializer,
        responses={200: IdentityProviderSerializer, **OBJECT_ERRORS},
    )
    def partial_update(self, request, pk=None):
        provider = self.get_object()
        serializer = IdentityProviderUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with service_refusals():
            services.provider_update(actor=request.user, provider=provider, **serializer.validated_data)
        return self._answer(provider)

    @extend_schema(
        summary="Enable an identity provider",
        request=None,
        responses={200: IdentityProviderSerializer, **OBJECT_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        with service_refusals():
            provider = services.provider_enable(actor=request.user, provider=self.get_object())
        return self._answer(provider)

    @extend_schema(
        summary="Disable an identity provider",
        description="A default provider stops being the default.",
        request=None,
        responses={200: IdentityProviderSerializer, **OBJECT_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        with service_refusals():
            provider = services.provider_disable(actor=request.user, provider=self.get_object())
        return self._answer(provider)

    @extend_schema(
        summary="Make an identity provider the default",
        request=None,
        responses={200: IdentityProviderSerializer, **OBJECT_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="default")
    def make_default(self, request, pk=None):
        with service_refusals():
            provider = services.provider_set_default(actor=request.user, provider=self.get_object())
        return self._answer(provider)

    @extend_schema(
        summary="Delete an identity provider", responses={204: OpenApiResponse(description="Deleted."), **OBJECT_ERRORS}
    )
    def destroy(self, request, pk=None):
        provider = self.get_object()
        with service_refusals(), transaction.atomic():
            services.provider_delete(actor=request.user, provider=provider)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="List a provider's claim mappings",
        responses={200: ClaimMappingSerializer(many=True), **OBJECT_ERRORS},
    )
    @action(detail=True, methods=["get"])
    def mappings(self, request, pk=None):
        provider = self.get_object()
        return Response(ClaimMappingSerializer(selectors.mapping_list(provider), many=True).data)

    @extend_schema(
        summary="Add a claim mapping",
        description="Grants one group or one role when the claim matches, at every sign-in through the provider. "
        "Refused if the author could not grant it by hand.",
        request=ClaimMappingCreateSerializer,
        responses={201: ClaimMappingSerializer, **OBJECT_ERRORS},
    )
    @mappings.mapping.post
    def mapping_create(self, request, pk=None):
        provider = self.get_object()
        serializer = ClaimMappingCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_refusals():
            mapping = services.mapping_create(actor=request.user, provider=provider, **serializer.validated_data)
        return Response(ClaimMappingSerializer(mapping).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Remove a claim mapping",
        description="What it granted is taken back at each person's next sign-in through the provider.",
        request=None,
        responses={204: OpenApiResponse(description="Removed."), **OBJECT_ERRORS},
    )
    @action(detail=True, methods=["delete"], url_path=r"mappings/(?P<mapping_pk>[0-9]+)")
    def mapping_delete(self, request, pk=None, mapping_pk=None):
        provider = self.get_object()
        mapping = get_object_or_404(ClaimMapping, pk=mapping_pk, provider=provider)
        with service_refusals():
            services.mapping_delete(actor=request.user, mapping=mapping)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Preview what a sample token's claims would grant",
        description="Evaluates the provider's rules on the claims given; nothing is changed.",
        request=MappingPreviewRequestSerializer,
        responses={200: MappingPreviewSerializer, **OBJECT_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="mappings/preview")
    def mapping_preview(self, request, pk=None):
        provider = self.get_object()
        serializer = MappingPreviewRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        evaluation = mapping_rules.evaluate(
            provider, mapping_rules.normalized_attributes(serializer.validated_data["claims"])
        )
        return Response(
            {
                "groups": [{"id": g.pk, "name": g.name} for g in evaluation.groups],
                "roles": [{"id": r.pk, "name": r.name} for r in evaluation.roles],
                "matched": [m.pk for m in evaluation.matched],
            }
        )


@extend_schema_view(
    list=extend_schema(
        summary="List SCIM tokens",
        responses={200: ScimTokenSerializer(many=True), **problem_responses(401, 403)},
    ),
    retrieve=extend_schema(summary="One SCIM token", responses={200: ScimTokenSerializer, **OBJECT_ERRORS}),
)
class ScimTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The tenant's SCIM bearer tokens. A token's plaintext is in its create response only; lists show its prefix."""

    access_kind = "identity:scim_token"
    action_permissions = {
        "list": "identity:scim_token:view",
        "retrieve": "identity:scim_token:view",
        "create": "identity:scim_token:create",
        "revoke": "identity:scim_token:revoke",
    }
    permission_classes = [ActionPermission]
    filter_backends = [AuthorizedFilter]
    serializer_class = ScimTokenSerializer
    lookup_value_regex = "[0-9]+"
    queryset = ScimToken.objects.select_related("created_by").order_by("-created_at")

    @extend_schema(
        summary="Create a SCIM token",
        description="The response carries the token once; Nimbus keeps only its digest and never shows it again.",
        request=ScimTokenCreateSerializer,
        responses={201: ScimTokenCreatedSerializer, **problem_responses(400, 401, 403)},
    )
    def create(self, request):
        serializer = ScimTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_refusals():
            token, raw = services.scim_token_create(actor=request.user, **serializer.validated_data)
        token.token = raw
        response = Response(ScimTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"  # the only copy of the token must not be kept by a cache
        return response

    @extend_schema(
        summary="Revoke a SCIM token",
        description="Takes effect at once; revoking a revoked token changes nothing.",
        request=None,
        responses={200: ScimTokenSerializer, **OBJECT_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        with service_refusals():
            token = services.scim_token_revoke(actor=request.user, token=self.get_object())
        return Response(ScimTokenSerializer(token).data)
