"""Accounts API endpoints: the signed-in user, JWT issue, refresh and revocation, and the tenant's users."""

from contextlib import contextmanager

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import services
from apps.accounts.audit import record_password_refused_sso_only
from apps.accounts.filtersets import UserApiFilterSet
from apps.accounts.forms import SignInForm
from apps.accounts.models import User
from apps.accounts.sign_in_options import options_for, password_sign_in_allowed
from apps.core.api.permissions import ActionPermission, AuthorizedFilter
from apps.core.api.schema import problem_responses

from .serializers import (
    MeSerializer,
    MeUpdateSerializer,
    NoticeSerializer,
    RefreshTokenSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)

# The sign-in page's own words: neither says whether the email exists.
SIGN_IN_FAILED = SignInForm.error_messages["invalid_login"]


class MeView(APIView):
    """The signed-in user, as seen on this host's tenant."""

    @extend_schema(responses={200: MeSerializer, **problem_responses(401)})
    def get(self, request):
        return Response(MeSerializer(request.user, context={"request": request}).data)

    @extend_schema(request=MeUpdateSerializer, responses={200: MeSerializer, **problem_responses(400, 401, 403)})
    def patch(self, request):
        serializer = MeUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if "display_name" in serializer.validated_data:
            try:
                services.user_update_profile(user=request.user, display_name=serializer.validated_data["display_name"])
            except ValidationError as error:
                raise exceptions.ValidationError(error.message_dict) from None
        return Response(MeSerializer(request.user, context={"request": request}).data)


class TokenView(APIView):
    """Base of the token endpoints: the credential is in the body, so no other authentication applies."""

    authentication_classes = ()
    permission_classes = ()

    def get_authenticate_header(self, request):
        # Their 401s challenge like every other API 401.
        return 'Bearer realm="api"'


class TokenObtainView(TokenView):
    """Email and password of an active account of this tenant in; a JWT pair out. Failures never say why."""

    @extend_schema(
        summary="Sign in: a JWT access and refresh token for an email and password",
        request=TokenObtainSerializer,
        responses={200: TokenPairSerializer, **problem_responses(400, 401)},
        auth=[],
    )
    def post(self, request):
        serializer = TokenObtainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The Django request, as the sign-in page passes it: lockout counting sees both alike.
        user = authenticate(
            request=request._request,
            username=serializer.validated_data["email"],
            password=serializer.validated_data["password"],
        )
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed(SIGN_IN_FAILED, code="sign_in_failed")
        if not password_sign_in_allowed(user, options_for(request._request)):
            record_password_refused_sso_only(request._request, user)
            raise exceptions.AuthenticationFailed(SignInForm.error_messages["sso_only"], code="sso_only")
        try:
            access, refresh = services.jwt_pair_issue(user=user)
        except ValidationError:
            raise exceptions.AuthenticationFailed(SIGN_IN_FAILED, code="sign_in_failed") from None
        return Response({"access": access, "refresh": refresh})


class TokenRefreshView(TokenView):
    """A refresh token in; a new pair out. The refresh token presented is blacklisted: each works once."""

    @extend_schema(
        summary="Exchange a refresh token for a new pair (the one presented stops working)",
        request=RefreshTokenSerializer,
        responses={200: TokenPairSerializer, **problem_responses(400, 401)},
        auth=[],
    )
    def post(self, request):
        serializer = RefreshTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            access, refresh = services.jwt_refresh(raw=serializer.validated_data["refresh"])
        except ValidationError as error:
            raise exceptions.AuthenticationFailed(error.messages[0], code="token_not_valid") from None
        return Response({"access": access, "refresh": refresh})


class TokenRevokeView(TokenView):
    """A refresh token in; it is blacklisted. Access tokens issued from it expire on their own within minutes."""

    @extend_schema(
        summary="Revoke a refresh token (sign a client out)",
        request=RefreshTokenSerializer,
        responses={204: OpenApiResponse(description="Revoked."), **problem_responses(400, 401)},
        auth=[],
    )
    def post(self, request):
        serializer = RefreshTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.jwt_refresh_revoke(raw=serializer.validated_data["refresh"])
        except ValidationError as error:
            raise exceptions.AuthenticationFailed(error.messages[0], code="token_not_valid") from None
        return Response(status=status.HTTP_204_NO_CONTENT)


@contextmanager
def service_errors():
    """Turn a service's ValidationError into a 400 problem: field errors under ``errors``, a refusal as ``detail``."""
    try:
        yield
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            errors = error.message_dict
            if set(errors) != {"__all__"}:
                raise exceptions.ValidationError(
                    {
                        "non_field_errors" if field == "__all__" else field: messages
                        for field, messages in errors.items()
                    }
                ) from None
        raise exceptions.ValidationError({"detail": " ".join(error.messages)}) from None


def _validated(serializer_class, request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema_view(
    list=extend_schema(summary="List this tenant's users", description="Search with `q`, filter, sort, page."),
    retrieve=extend_schema(summary="One user"),
)
class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """This tenant's users, for its administrators.

    There is no DELETE: people leave by being disabled, so that what they did keeps
    pointing at an account in the audit history.
    """

    serializer_class = UserSerializer
    permission_classes = [ActionPermission]
    filter_backends = [AuthorizedFilter, DjangoFilterBackend]
    filterset_class = UserApiFilterSet
    lookup_value_regex = "[0-9]+"
    access_kind = "accounts:user"
    action_permissions = {
        "list": "accounts:user:view",
        "retrieve": "accounts:user:view",
        "create": "accounts:user:create",
        "partial_update": "accounts:user:update",
        "disable": "accounts:user:disable",
        "enable": "accounts:user:disable",
        "reset_password": "accounts:user:reset_password",
        "unlock": "accounts:user:unlock",
        "invite": "accounts:user:create",
    }

    def get_queryset(self):
        return User.objects.all()

    @extend_schema(
        summary="Create a user, with a password or an invitation",
        request=UserCreateSerializer,
        responses={
            201: UserSerializer,
            200: OpenApiResponse(
                UserSerializer,
                description="The email belongs to someone invited who never "
                "signed in: their invitation was sent again.",
            ),
        },
    )
    def create(self, request):
        data = _validated(UserCreateSerializer, request)
        profile = {"display_name": data["display_name"], "is_tenant_admin": data["is_tenant_admin"]}
        created = True
        with service_errors():
            if "password" in data:
                user = services.user_admin_create(
                    actor=request.user, email=data["email"], password=data["password"], **profile
                )
            elif data.get("invite", True):
                user, created = services.user_invite(
                    actor=request.user, email=data["email"], base_url=request.build_absolute_uri("/"), **profile
                )
            else:
                user = services.user_admin_create(actor=request.user, email=data["email"], password=None, **profile)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(summary="Change a user's email, name or administrator flag", request=UserUpdateSerializer)
    def partial_update(self, request, pk=None):
        user = self.get_object()
        data = _validated(UserUpdateSerializer, request, partial=True)
        with service_errors():
            services.user_admin_update(actor=request.user, user=user, **data)
        return Response(UserSerializer(user).data)

    @extend_schema(summary="Disable a user and end their sessions", request=None, responses=UserSerializer)
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        user = self.get_object()
        with service_errors():
            services.user_disable(actor=request.user, user=user)
        return Response(UserSerializer(user).data)

    @extend_schema(summary="Enable a disabled user", request=None, responses=UserSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        user = self.get_object()
        with service_errors():
            services.user_enable(actor=request.user, user=user)
        return Response(UserSerializer(user).data)

    @extend_schema(
        summary="Email the user a link to set a new password", request=None, responses={202: NoticeSerializer}
    )
    @action(detail=True, methods=["post"], url_path="reset-password")
    def reset_password(self, request, pk=None):
        user = self.get_object()
        with service_errors():
            services.user_send_password_reset(actor=request.user, user=user, base_url=request.build_absolute_uri("/"))
        return Response({"detail": f"A password-reset link was emailed to {user.email}."}, status=202)

    @extend_schema(
        summary="Lift the lockout of an account after failed sign-ins", request=None, responses=UserSerializer
    )
    @action(detail=True, methods=["post"])
    def unlock(self, request, pk=None):
        user = self.get_object()
        with service_errors():
            services.user_admin_unlock(actor=request.user, user=user)
        return Response(UserSerializer(user).data)

    @extend_schema(
        summary="Email the invitation again (someone who never signed in)",
        request=None,
        responses={202: NoticeSerializer},
    )
    @action(detail=True, methods=["post"])
    def invite(self, request, pk=None):
        user = self.get_object()
        with service_errors():
            services.user_invitation_send(actor=request.user, user=user, base_url=request.build_absolute_uri("/"))
        return Response({"detail": f"An invitation was emailed to {user.email}."}, status=202)
