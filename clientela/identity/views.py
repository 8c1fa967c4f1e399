"""Pages for logging in and out, one's own profile, password and API tokens, and managing users and teams."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

login_view = auth_views.LoginView.as_view(template_name="identity/login.html", redirect_authenticated_user=True)
logout_view = auth_views.LogoutView.as_view()
password_reset = auth_views.PasswordResetView.as_view()
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view()


def lockout(request: HttpRequest, credentials: dict | None = None, *args: object, **kwargs: object) -> HttpResponse:
    return HttpResponse("Locked", status=429)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return HttpResponse("TODO")


password_change = profile
token_list = profile
user_list = profile
team_list = profile
