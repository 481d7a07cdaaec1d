"""Accounts API endpoints: the signed-in user, and JWT issue, refresh and revocation."""

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import services
from apps.accounts.forms import SignInForm
from apps.core.api.schema import problem_responses

from .serializers import (
    MeSerializer,
    MeUpdateSerializer,
    RefreshTokenSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
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
