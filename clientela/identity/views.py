"""Pages for logging in and out, one's own profile, password and API tokens, and managing users and teams."""

from __future__ import annotations

import math
from typing import Any

from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from clientela.core.permissions import Perm, require_perm
from clientela.identity.filters import UserFilterSet
from clientela.identity.forms import (
    LoginForm,
    ProfileForm,
    TeamForm,
    TokenCreateForm,
    UserEditForm,
    UserInviteForm,
    add_service_errors,
)
from clientela.identity.selectors import api_tokens_of, teams_visible_to, users_visible_to
from clientela.identity.services import (
    api_token_create,
    api_token_revoke,
    team_create,
    team_delete,
    team_update,
    user_deactivate,
    user_invite,
    user_login_record,
    user_password_change,
    user_password_reset_request,
    user_reactivate,
    user_update,
)

# Logging in and out -------------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    """Email and password; django-axes counts failures (it needs ``request`` in authenticate)."""

    template_name = "identity/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: LoginForm) -> HttpResponse:
        response = super().form_valid(form)
        user_login_record(user=form.get_user())
        return response


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.info(request, _("You have logged out."))
        return response


login_view = LoginView.as_view()
logout_view = LogoutView.as_view()


def lockout(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """What django-axes answers once an account has failed too often from one address (429)."""
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    context = {"minutes": minutes, "email": get_client_username(request, credentials) or ""}
    response = render(request, "identity/lockout.html", context, status=429)
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


# Forgotten password and invitations ---------------------------------------------------------------


class PasswordResetView(auth_views.PasswordResetView):
    """Asks for an email; the same answer follows whether or not an account has it."""

    form_class = PasswordResetForm
    template_name = "identity/password_reset_form.html"
    success_url = reverse_lazy("identity:password_reset_done")

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "label_suffix": ""}

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        user_password_reset_request(
            email=form.cleaned_data["email"], language=translation.get_language() or ""
        )
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Choose a password from an emailed link: a forgotten password, or an invitation."""

    template_name = "identity/password_reset_confirm.html"
    success_url = reverse_lazy("identity:password_reset_complete")

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "label_suffix": ""}

    def get_user(self, uidb64: str) -> Any:
        user = super().get_user(uidb64)
        # A deactivated account's old links stop working too.
        return user if user is not None and user.is_active else None

    def form_valid(self, form: Any) -> HttpResponse:
        user_password_change(
            actor=self.user, user=self.user, password=form.cleaned_data["new_password1"]
        )
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())


password_reset = PasswordResetView.as_view()
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="identity/password_reset_done.html"
)
password_reset_confirm = PasswordResetConfirmView.as_view()
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="identity/password_reset_complete.html"
)


# One's own profile, password and tokens -----------------------------------------------------------


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                user_update(actor=user, user=user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                # The confirmation already speaks the newly chosen language.
                translation.activate(
                    user.language or translation.get_language_from_request(request)
                )
                messages.success(request, _("Your profile was saved."))
                response = redirect("identity:profile")
                _language_cookie_keep(response, user.language)
                return response
    else:
        form = ProfileForm(
            initial={
                "full_name": user.full_name,
                "language": user.language,
                "time_zone": user.time_zone,
            }
        )
    return render(request, "identity/profile.html", {"form": form})


def _language_cookie_keep(response: HttpResponse, language: str) -> None:
    """Remember the chosen language for the login page too; forget it for "the browser's language"."""
    if not language:
        response.delete_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
        return
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


@sensitive_post_parameters()
@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    """Change one's own password; this session goes on, every other session of the user ends."""
    if request.method == "POST":
        form = PasswordChangeForm(request.user, request.POST, label_suffix="")
        if form.is_valid():
            user = user_password_change(
                actor=request.user, user=request.user, password=form.cleaned_data["new_password1"]
            )
            update_session_auth_hash(request, user)
            messages.success(
                request, _("Your password was changed. Your other sessions have been logged out.")
            )
            return redirect("identity:profile")
    else:
        form = PasswordChangeForm(request.user, label_suffix="")
    return render(request, "identity/password_change.html", {"form": form})


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    tokens = api_tokens_of(request.user)
    return render(request, "identity/token_list.html", {"tokens": tokens})


@never_cache
@login_required
def token_create(request: HttpRequest) -> HttpResponse:
    """The new token's key is part of this POST's answer only: never stored, never in a URL."""
    if request.method == "POST":
        form = TokenCreateForm(request.POST)
        if form.is_valid():
            try:
                issued = api_token_create(
                    actor=request.user, name=form.cleaned_data["name"], expires_at=form.expires_at()
                )
            except ValidationError as error:
                add_service_errors(form, error, {"expires_at": "expires_on"})
            else:
                return render(request, "identity/token_created.html", {"issued": issued})
    else:
        form = TokenCreateForm()
    return render(request, "identity/token_form.html", {"form": form})


@login_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(api_tokens_of(request.user), pk=pk)
    if request.method == "POST":
        api_token_revoke(actor=request.user, token=token)
        messages.success(request, _("The token “%(name)s” was revoked.") % {"name": token.name})
        return redirect("identity:token_list")
    return render(request, "identity/token_revoke.html", {"token": token})


# Administration: users ----------------------------------------------------------------------------


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.USERS_MANAGE)
    filterset = UserFilterSet(request.GET or None, queryset=users_visible_to(request.user))
    page = Paginator(filterset.qs, settings.CLIENTELA_LIST_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    sort = filterset.form.cleaned_data.get("sort") if filterset.is_bound else ""
    context = {"filterset": filterset, "page": page, "sort": sort or "name", "nav": "users"}
    return render(request, "identity/user_list.html", context)


@login_required
def user_invite_view(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.USERS_MANAGE)
    if request.method == "POST":
        form = UserInviteForm(request.POST, actor=request.user)
        if form.is_valid():
            try:
                invited = user_invite(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request,
                    _(
                        "%(name)s was invited: an email with a link to choose a password is on its way to %(email)s."
                    )
                    % {"name": invited.full_name, "email": invited.email},
                )
                return redirect("identity:user_list")
    else:
        form = UserInviteForm(actor=request.user)
    return render(request, "identity/user_invite.html", {"form": form, "nav": "users"})


@login_required
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request.user, Perm.USERS_MANAGE)
    user = get_object_or_404(users_visible_to(request.user), pk=pk)
    if request.method == "POST":
        form = UserEditForm(request.POST, actor=request.user)
        if form.is_valid():
            try:
                user_update(actor=request.user, user=user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("%(name)s was saved.") % {"name": user.full_name})
                return redirect("identity:user_list")
    else:
        form = UserEditForm(
            actor=request.user,
            initial={
                "full_name": user.full_name,
                "role": user.role,
                "teams": list(user.teams.all()),
            },
        )
    context = {"form": form, "subject": user, "nav": "users"}
    return render(request, "identity/user_edit.html", context)


@login_required
def user_deactivate_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _user_status_change(request, pk, activate=False)


@login_required
def user_reactivate_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _user_status_change(request, pk, activate=True)


def _user_status_change(request: HttpRequest, pk: int, *, activate: bool) -> HttpResponse:
    """GET asks for confirmation, POST does it."""
    require_perm(request.user, Perm.USERS_MANAGE)
    user = get_object_or_404(users_visible_to(request.user), pk=pk)
    errors: list[str] = []
    if request.method == "POST":
        try:
            if activate:
                user_reactivate(actor=request.user, user=user)
            else:
                user_deactivate(actor=request.user, user=user)
        except ValidationError as error:
            errors = error.messages
        else:
            if activate:
                message = _("%(name)s can log in again.")
            else:
                message = _(
                    "%(name)s was deactivated: their sessions and API tokens stopped working."
                )
            messages.success(request, message % {"name": user.full_name})
            return redirect("identity:user_list")
    context = {"subject": user, "activate": activate, "errors": errors, "nav": "users"}
    return render(
        request, "identity/user_status_confirm.html", context, status=400 if errors else 200
    )


# Administration: teams ----------------------------------------------------------------------------


@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.TEAMS_MANAGE)
    return render(
        request,
        "identity/team_list.html",
        {"teams": teams_visible_to(request.user), "nav": "teams"},
    )


@login_required
def team_create_view(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.TEAMS_MANAGE)
    if request.method == "POST":
        form = TeamForm(request.POST, actor=request.user)
        if form.is_valid():
            try:
                team = team_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("The team %(name)s was created.") % {"name": team.name})
                return redirect("identity:team_list")
    else:
        form = TeamForm(actor=request.user)
    return render(request, "identity/team_form.html", {"form": form, "team": None, "nav": "teams"})


@login_required
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request.user, Perm.TEAMS_MANAGE)
    team = get_object_or_404(teams_visible_to(request.user), pk=pk)
    if request.method == "POST":
        form = TeamForm(request.POST, actor=request.user, team=team)
        if form.is_valid():
            try:
                team_update(actor=request.user, team=team, **form.cleaned_data)
            except ValidationError as error:
                team.refresh_from_db()
                add_service_errors(form, error)
            else:
                messages.success(request, _("The team %(name)s was saved.") % {"name": team.name})
                return redirect("identity:team_list")
    else:
        form = TeamForm(
            actor=request.user,
            team=team,
            initial={
                "name": team.name,
                "description": team.description,
                "members": list(team.members.all()),
            },
        )
    return render(request, "identity/team_form.html", {"form": form, "team": team, "nav": "teams"})


@login_required
def team_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST deletes, or explains why the team cannot go yet."""
    require_perm(request.user, Perm.TEAMS_MANAGE)
    team = get_object_or_404(teams_visible_to(request.user), pk=pk)
    errors: list[str] = []
    if request.method == "POST":
        try:
            team_delete(actor=request.user, team=team)
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(request, _("The team %(name)s was deleted.") % {"name": team.name})
            return redirect("identity:team_list")
    context = {"team": team, "errors": errors, "nav": "teams"}
    return render(request, "identity/team_delete.html", context, status=409 if errors else 200)
