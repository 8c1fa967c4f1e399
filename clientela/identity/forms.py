"""Forms of the identity pages. They parse and validate input; the writes are the services' job."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from datetime import datetime, time
from functools import cache
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, UsernameField
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from clientela.core.permissions import Role
from clientela.identity.models import Team, User
from clientela.identity.selectors import team_choices_for, team_member_candidates


def add_service_errors(
    form: forms.Form, error: ValidationError, field_names: Mapping[str, str] | None = None
) -> None:
    """Show a service's ValidationError on ``form``: under its field when it names one, else on top.

    ``field_names`` maps a service's argument name to the form field that collected it.
    """
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for name, messages in error.message_dict.items():
        field = (field_names or {}).get(name, name)
        form.add_error(field if field in form.fields else None, messages)


def language_choices() -> list[tuple[str, str]]:
    """The interface languages, each named in itself, after "the browser's language" (empty)."""
    return [("", _("Browser's language"))] + [
        (code, get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES
    ]


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class LoginForm(AuthenticationForm):
    """Email and password. The email is compared lower-cased, which is also what login throttling counts."""

    # Named ``username``: django-axes reads that field (AXES_USERNAME_FORM_FIELD).
    username = UsernameField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    error_messages = {
        "invalid_login": _("This email and password do not match an active account."),
        "inactive": _("This account is deactivated."),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()


class ProfileForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=150)
    language = forms.ChoiceField(label=_("Language"), required=False)
    time_zone = forms.ChoiceField(
        label=_("Time zone"), help_text=_("Dates and times are shown in this time zone.")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["language"]).choices = language_choices()
        cast(forms.ChoiceField, self.fields["time_zone"]).choices = time_zone_choices()


class TeamsField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Teams"))
        kwargs.setdefault("required", False)
        super().__init__(queryset=Team.objects.none(), **kwargs)


class UserInviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    full_name = forms.CharField(label=_("Full name"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.REPRESENTATIVE)
    teams = TeamsField()
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        help_text=_("The invitation email is written in this language."),
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        cast(TeamsField, self.fields["teams"]).queryset = team_choices_for(actor)
        cast(forms.ChoiceField, self.fields["language"]).choices = language_choices()


class UserEditForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    teams = TeamsField()

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        cast(TeamsField, self.fields["teams"]).queryset = team_choices_for(actor)


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    members = forms.ModelMultipleChoiceField(
        label=_("Members"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, actor: User, team: Team | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        members = cast(forms.ModelMultipleChoiceField, self.fields["members"])
        members.queryset = team_member_candidates(actor, team)


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What uses the token, for example “Accounting export”."),
    )
    expires_on = forms.DateField(
        label=_("Expires on"),
        required=False,
        help_text=_("Optional. The token stops working at the end of this day, in your time zone."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["expires_on"].widget.attrs["min"] = timezone.localdate().isoformat()

    def expires_at(self) -> datetime | None:
        """The last moment of the chosen day in the current (the user's) time zone."""
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return datetime.combine(day, time.max, tzinfo=timezone.get_current_timezone())
