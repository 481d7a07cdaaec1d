"""The identity pages of a tenant host (/identity/) and the public SAML SP endpoints of each provider.

Built like the access pages: every change is a POST through ``services``,
whose refusals come back as form errors or a message; every page needs its
``identity:provider:*`` permission, and pages of one provider ask again about
that provider (hidden → 404, not allowed → 403 with the reason).
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.access.models import Group, Role
from apps.core.authorization import Resource, can, holds_anywhere, permission_required, require

from . import mappings, selectors, services
from .forms import (
    MappingForm,
    MappingPreviewForm,
    OidcProviderAddForm,
    OidcProviderForm,
    SamlProviderAddForm,
    SamlProviderForm,
    ScimTokenForm,
    SsoOnlyForm,
)
from .models import ClaimMapping, IdentityProvider, ProviderKind, ScimToken
from .saml import sp_metadata_xml

KIND = "identity:provider"


def _refused(form, error: ValidationError | PermissionDenied) -> None:
    if isinstance(error, PermissionDenied):
        form.add_error(None, str(error) or "You may not do that.")
    elif hasattr(error, "error_dict"):
        for field, field_errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        form.add_error(None, error.messages)


def _provider(request, pk: int, action: str) -> IdentityProvider:
    provider = get_object_or_404(IdentityProvider, pk=pk)
    require(request.user, action, Resource.of(KIND, provider), request=request)
    return provider


def sp_urls(request, provider: IdentityProvider) -> dict:
    """The provider's SP entity id (its metadata URL) and ACS URL on this host."""
    metadata = request.build_absolute_uri(reverse("identity:saml-metadata", args=[provider.slug]))
    return {
        "entity_id": metadata,
        "acs_url": request.build_absolute_uri(reverse("identity:saml-acs", args=[provider.slug])),
        "sls_url": request.build_absolute_uri(reverse("identity:saml-sls", args=[provider.slug])),
    }


def _list_page(request, *, scim_form=None, scim_created: str | None = None, status: int = 200):
    may_view_scim = can(request, "identity:scim_token:view")
    may_view_providers = _holds_provider_view(request)
    context = {
        "may_view_providers": may_view_providers,
        "providers": selectors.provider_list(principal=request.user, request=request) if may_view_providers else [],
        "settings_form": SsoOnlyForm(initial={"sso_only": selectors.identity_settings().sso_only}),
        "may_update": can(request, "identity:provider:update"),
        "may_create": can(request, "identity:provider:create"),
        "may_view_scim": may_view_scim,
        "scim_tokens": selectors.scim_token_list(principal=request.user, request=request) if may_view_scim else [],
        "may_create_scim": can(request, "identity:scim_token:create"),
        "may_revoke_scim": can(request, "identity:scim_token:revoke"),
        "scim_form": scim_form or ScimTokenForm(),
        "scim_created": scim_created,
        "now": timezone.now(),
    }
    return render(request, "identity/list.html", context, status=status)


def _may_open_identity(view):
    """The identity page serves two kinds of holder: of provider permissions, or of SCIM-token ones only."""

    @wraps(view)
    def check(request, *args, **kwargs):
        if may_open_identity(request):
            return view(request, *args, **kwargs)
        return permission_required("identity:provider:view", anywhere=True)(view)(request, *args, **kwargs)

    return check


def _holds_provider_view(request) -> bool:
    if not request.user.is_authenticated:
        return False
    return can(request, "identity:provider:view") or holds_anywhere(
        request.user, "identity:provider:view", request=request
    )


def may_open_identity(request) -> bool:
    return _holds_provider_view(request) or can(request, "identity:scim_token:view")


@require_safe
@_may_open_identity
def provider_list(request):
    return _list_page(request)


@never_cache  # the response carrying a new token's plaintext must not be kept by any cache
@require_POST
@permission_required("identity:scim_token:create")
def scim_token_create(request):
    """Create a SCIM token; its plaintext is in this response only, and never again."""
    form = ScimTokenForm(request.POST)
    if form.is_valid():
        try:
            _token, raw = services.scim_token_create(
                actor=request.user, name=form.cleaned_data["name"], expires_in_days=form.cleaned_data["expires_in_days"]
            )
        except ValidationError as error:
            _refused(form, error)
        else:
            return _list_page(request, scim_created=raw)
    return _list_page(request, scim_form=form, status=400)


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("identity:scim_token:revoke")
def scim_token_revoke(request, pk: int):
    token = get_object_or_404(ScimToken, pk=pk)
    require(request.user, "identity:scim_token:revoke", Resource.of("identity:scim_token", token), request=request)
    if request.method == "POST":
        services.scim_token_revoke(actor=request.user, token=token)
        messages.success(request, f"The SCIM token '{token.name}' was revoked.")
        return redirect("identity:provider-list")
    context = {
        "title": f"Revoke {token.name}",
        "question": f"Revoke the SCIM token '{token.name}' ({token})?",
        "note": "Its IdP can no longer provision users or groups from its next request on. This cannot be undone.",
        "confirm_label": "Revoke",
        "action_url": reverse("identity:scim-token-revoke", args=[token.pk]),
        "cancel_url": reverse("identity:provider-list"),
    }
    return render(request, "access/confirm_delete.html", context)


@require_POST
@permission_required("identity:provider:update")
def settings_edit(request):
    form = SsoOnlyForm(request.POST)
    form.is_valid()
    try:
        services.settings_update(actor=request.user, sso_only=form.cleaned_data.get("sso_only", False))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Sign-in settings saved.")
    return redirect("identity:provider-list")


def _add(request, *, form_class, create, template_kind: str):
    form = form_class(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            provider = create(form.cleaned_data)
        except (ValidationError, PermissionDenied) as error:
            _refused(form, error)
        else:
            messages.success(request, f"The identity provider '{provider.name}' was added.")
            return redirect("identity:provider-detail", pk=provider.pk)
    context = {"form": form, "kind": template_kind, "multipart": template_kind == "SAML"}
    return render(request, "identity/form.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("identity:provider:create")
def provider_add_oidc(request):
    return _add(
        request,
        form_class=OidcProviderAddForm,
        template_kind="OpenID Connect",
        create=lambda d: services.provider_create_oidc(
            actor=request.user,
            name=d["name"],
            slug=d["slug"],
            issuer=d["issuer"],
            client_id=d["client_id"],
            client_secret=d["client_secret"],
            scopes=d["scopes"],
            enabled=d["enabled"],
            is_default=d["is_default"],
            link_by_email=d["link_by_email"],
        ),
    )


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("identity:provider:create")
def provider_add_saml(request):
    return _add(
        request,
        form_class=SamlProviderAddForm,
        template_kind="SAML",
        create=lambda d: services.provider_create_saml(
            actor=request.user,
            name=d["name"],
            slug=d["slug"],
            metadata_url=d["metadata_url"],
            metadata_xml=d["metadata_xml"],
            enabled=d["enabled"],
            is_default=d["is_default"],
            link_by_email=d["link_by_email"],
        ),
    )


@require_safe
@permission_required("identity:provider:view")
def provider_detail(request, pk: int):
    provider = _provider(request, pk, "identity:provider:view")
    return _detail_page(request, provider)


def _detail_page(
    request, provider: IdentityProvider, *, mapping_form=None, preview_form=None, evaluation=None, status: int = 200
):
    may_update = can(request, "identity:provider:update", Resource.of(KIND, provider))
    context = {
        "provider": provider,
        "sp": sp_urls(request, provider) if provider.kind == ProviderKind.SAML else None,
        "callback_url": request.build_absolute_uri(reverse("identity:oidc-callback")),
        "may_update": may_update,
        "may_delete": can(request, "identity:provider:delete", Resource.of(KIND, provider)),
        "mappings": selectors.mapping_list(provider),
        "mapping_form": mapping_form or (_mapping_form(request) if may_update else None),
        "preview_form": preview_form or MappingPreviewForm(),
        "evaluation": evaluation,
    }
    return render(request, "identity/detail.html", context, status=status)


def _mapping_form(request, data=None) -> MappingForm:
    return MappingForm(data, groups=Group.objects.order_by("name"), roles=Role.objects.order_by("name"))


@require_POST
@permission_required("identity:provider:update")
def mapping_add(request, pk: int):
    provider = _provider(request, pk, "identity:provider:update")
    form = _mapping_form(request, request.POST)
    if form.is_valid():
        kind, _, target_id = form.cleaned_data["target"].partition(":")
        target = {"group": Group.objects.filter(pk=target_id).first()} if kind == "group" else {}
        if kind == "role":
            target = {"role": Role.objects.filter(pk=target_id).first()}
        try:
            services.mapping_create(
                actor=request.user,
                provider=provider,
                claim=form.cleaned_data["claim"],
                operator=form.cleaned_data["operator"],
                value=form.cleaned_data["value"],
                **target,
            )
        except (ValidationError, PermissionDenied) as error:
            _refused(form, error)
        else:
            messages.success(request, "The mapping was added; it applies from each person's next sign-in.")
            return redirect("identity:provider-detail", pk=provider.pk)
    return _detail_page(request, provider, mapping_form=form, status=400)


@require_POST
@permission_required("identity:provider:update")
def mapping_delete(request, pk: int, mapping_pk: int):
    provider = _provider(request, pk, "identity:provider:update")
    mapping = get_object_or_404(ClaimMapping, pk=mapping_pk, provider=provider)
    services.mapping_delete(actor=request.user, mapping=mapping)
    messages.success(request, "The mapping was removed; what it granted goes at each person's next sign-in.")
    return redirect("identity:provider-detail", pk=provider.pk)


@require_POST
@permission_required("identity:provider:view")
def mapping_preview(request, pk: int):
    """What the provider's rules would grant for a sample token (HTMX partial; nothing is changed)."""
    provider = _provider(request, pk, "identity:provider:view")
    form = MappingPreviewForm(request.POST)
    evaluation = None
    if form.is_valid():
        evaluation = mappings.evaluate(provider, mappings.normalized_attributes(form.cleaned_data["sample"]))
    status = 200 if form.is_valid() else 400
    if request.htmx:
        context = {"provider": provider, "preview_form": form, "evaluation": evaluation}
        return render(request, "identity/_mapping_preview.html", context, status=status)
    return _detail_page(request, provider, preview_form=form, evaluation=evaluation, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("identity:provider:update")
def provider_edit(request, pk: int):
    provider = _provider(request, pk, "identity:provider:update")
    is_oidc = provider.kind == ProviderKind.OIDC
    form_class = OidcProviderForm if is_oidc else SamlProviderForm
    initial = {"name": provider.name, "link_by_email": provider.link_by_email}
    if is_oidc:
        initial |= {"issuer": provider.issuer, "client_id": provider.client_id, "scopes": provider.scopes}
    else:
        initial |= {"metadata_url": provider.metadata_url}
    form = form_class(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        changes = {"name": d["name"], "link_by_email": d["link_by_email"]}
        if is_oidc:
            changes |= {"issuer": d["issuer"], "client_id": d["client_id"], "client_secret": d["client_secret"]}
            changes["scopes"] = d["scopes"]
        elif d["metadata_xml"]:
            changes["metadata_xml"] = d["metadata_xml"]
        elif d["metadata_url"] != provider.metadata_url:
            changes["metadata_url"] = d["metadata_url"]
        try:
            services.provider_update(actor=request.user, provider=provider, **changes)
        except (ValidationError, PermissionDenied) as error:
            _refused(form, error)
        else:
            messages.success(request, f"The identity provider '{provider.name}' was saved.")
            return redirect("identity:provider-detail", pk=provider.pk)
    context = {"form": form, "provider": provider, "kind": provider.get_kind_display(), "multipart": not is_oidc}
    return render(request, "identity/form.html", context, status=400 if form.errors else 200)


def _flag(request, pk: int, change, done: str):
    provider = _provider(request, pk, "identity:provider:update")
    try:
        change(provider)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done.format(name=provider.name))
    return redirect("identity:provider-detail", pk=provider.pk)


@require_POST
@permission_required("identity:provider:update")
def provider_enable(request, pk: int):
    return _flag(
        request, pk, lambda p: services.provider_enable(actor=request.user, provider=p), "'{name}' is enabled."
    )


@require_POST
@permission_required("identity:provider:update")
def provider_disable(request, pk: int):
    return _flag(
        request, pk, lambda p: services.provider_disable(actor=request.user, provider=p), "'{name}' is disabled."
    )


@require_POST
@permission_required("identity:provider:update")
def provider_default(request, pk: int):
    return _flag(
        request,
        pk,
        lambda p: services.provider_set_default(actor=request.user, provider=p),
        "'{name}' is the default provider.",
    )


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("identity:provider:delete")
def provider_delete(request, pk: int):
    provider = _provider(request, pk, "identity:provider:delete")
    if request.method == "POST":
        try:
            services.provider_delete(actor=request.user, provider=provider)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("identity:provider-detail", pk=provider.pk)
        messages.success(request, f"The identity provider '{provider.name}' was deleted.")
        return redirect("identity:provider-list")
    context = {
        "title": f"Delete {provider.name}",
        "question": f"Delete the identity provider '{provider.name}'?",
        "note": "People can no longer sign in through it; its SP certificate is destroyed.",
        "action_url": reverse("identity:provider-delete", args=[provider.pk]),
        "cancel_url": reverse("identity:provider-detail", args=[provider.pk]),
    }
    return render(request, "access/confirm_delete.html", context)


# --- Public SAML SP endpoints (the IdP and its admins read them without signing in) ----------------------------


def _saml_provider(slug: str) -> IdentityProvider:
    # Public by design: the SP metadata holds only public facts (entity id, ACS URL, certificate). A disabled
    # provider keeps publishing, so re-enabling it needs no change at the IdP.
    return get_object_or_404(IdentityProvider, slug=slug, kind=ProviderKind.SAML)


@require_safe
def saml_metadata(request, slug: str):
    provider = _saml_provider(slug)
    urls = sp_urls(request, provider)
    body = sp_metadata_xml(
        entity_id=urls["entity_id"],
        acs_url=urls["acs_url"],
        certificate_pem=provider.sp_certificate,
        sls_url=urls["sls_url"],
    )
    response = HttpResponse(body, content_type="application/samlmetadata+xml")
    response["Content-Disposition"] = f'inline; filename="nimbus-{provider.slug}-metadata.xml"'
    return response


# --- Sign-in through a provider (public: the person is not signed in yet) --------------------------------------


@never_cache
@require_safe
def sso_start(request, slug: str):
    """The sign-in page's button: hand the person to the provider's protocol, remembering where they were going."""
    provider = selectors.enabled_provider(slug)
    if provider is None:
        raise Http404("No enabled identity provider has that name here.")
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        next_url = ""
    if provider.kind == ProviderKind.OIDC:
        from . import oidc_flow

        return oidc_flow.start(request, provider, next_url=next_url)
    from . import saml_flow

    return saml_flow.start(request, provider, next_url=next_url)
