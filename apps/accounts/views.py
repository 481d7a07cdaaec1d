"""Sign-in, sign-out, password and security settings pages, served on every host (provider and tenants).

Django's auth views do the work; the tenant comes from the host, and with it
the schema whose users, sessions and reset tokens are used.
"""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms.models import model_to_dict
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.core.authorization import require

from . import services, sign_out
from .forms import AccountPolicyForm, ApiTokenForm, ProfileForm, SignInForm
from .selectors import account_policy, api_tokens_of, sessions_of
from .sign_in_options import options_for
from .tokens import password_reset_token


class SignInView(auth_views.LoginView):
    """The password form and a button per way to sign in that other apps offer (``sign_in_options``).

    When the tenant signs in only through its IdPs the password form is hidden; ``?local=1`` shows it
    again for the break-glass tenant admin (the form itself refuses everyone else).
    """

    template_name = "accounts/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        options = options_for(self.request)
        context["sign_in_buttons"] = options.buttons
        context["sso_only"] = not options.password_sign_in
        context["show_password_form"] = (
            options.password_sign_in or self.request.GET.get("local") == "1" or self.request.method == "POST"
        )
        return context


class SignOutView(auth_views.LogoutView):
    next_page = reverse_lazy("accounts:sign-in")

    def post(self, request, *args, **kwargs):
        # Asked before the session ends: single logout needs what the session knows (the IdP, the NameID).
        elsewhere = sign_out.redirect_for(request)
        response = super().post(request, *args, **kwargs)
        return HttpResponseRedirect(elsewhere) if elsewhere else response


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    token_generator = password_reset_token
    success_url = reverse_lazy("accounts:password-reset-done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    token_generator = password_reset_token
    success_url = reverse_lazy("accounts:password-reset-complete")

    def form_valid(self, form):
        # The new password, the unlock, the sessions ended and the audit event commit together.
        with transaction.atomic():
            response = super().form_valid(form)
            services.user_password_reset_completed(user=form.user)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


@never_cache
@login_required
def api_tokens(request):
    """List the user's API tokens and create one; a new token's secret is shown on this response only."""
    created = None
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _token, created = services.api_token_create(
                user=request.user, name=form.cleaned_data["name"], expires_in_days=form.cleaned_data["expires_in_days"]
            )
            form = ApiTokenForm()
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
    return render(
        request,
        "accounts/api_tokens.html",
        {"form": form, "tokens": api_tokens_of(request.user), "created": created},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def api_token_revoke(request, pk: int):
    token = get_object_or_404(api_tokens_of(request.user), pk=pk)  # someone else's token is a 404
    services.api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Token '{token.name}' revoked.")
    return redirect("accounts:api-tokens")


@never_cache
@login_required
def sessions(request):
    """Where the user is signed in; end one session, every other one, or all of them with every JWT."""
    current = request.session.session_key
    if request.method == "POST":
        if request.POST.get("everywhere"):
            # This session too, and every JWT: back to the sign-in page.
            services.user_sign_out_everywhere(user=request.user)
            logout(request)
            messages.success(request, "Signed out everywhere.")
            return redirect("accounts:sign-in")
        if request.POST.get("all_others"):
            ended = services.user_session_end(user=request.user, keep=current)
        else:
            # By row id: session keys are secrets and never leave the server. Another user's row is a 404.
            pk = request.POST.get("session", "")
            record = get_object_or_404(sessions_of(request.user), pk=int(pk) if pk.isdigit() else 0)
            ended = services.user_session_end(user=request.user, session=record, keep=current)
        messages.success(request, f"Signed out {ended} other session{'s' if ended != 1 else ''}.")
        return redirect("accounts:sessions")
    return render(request, "accounts/sessions.html", {"sessions": sessions_of(request.user), "current": current})


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password-change-done")

    def form_valid(self, form):
        before = self.request.session.session_key
        # The new password, the other sessions ended and the audit event commit together.
        with transaction.atomic():
            response = super().form_valid(form)  # rotates this session's key
            services.user_password_changed(
                user=form.user, old_session_key=before, new_session_key=self.request.session.session_key
            )
        return response


@login_required
def profile(request):
    """The signed-in user's own details."""
    form = ProfileForm(request.POST or None, initial={"display_name": request.user.display_name})
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update_profile(user=request.user, display_name=form.cleaned_data["display_name"])
        except ValidationError as error:
            form.add_error("display_name", error.message_dict.get("display_name", error.messages))
        else:
            messages.success(request, "Profile saved.")
            return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form}, status=400 if form.errors else 200)


@never_cache
@login_required
def security_settings(request):
    """The tenant's password and session rules, for those who manage its users."""
    require(request.user, "accounts:policy:view", request=request)
    if request.method == "POST":
        require(request.user, "accounts:policy:update", request=request)
    current = model_to_dict(account_policy(), fields=services.POLICY_FIELDS)
    form = AccountPolicyForm(request.POST or None, initial=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_policy_update(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Security settings saved.")
            return redirect("accounts:security-settings")
    return render(request, "accounts/security_settings.html", {"form": form}, status=400 if form.errors else 200)
