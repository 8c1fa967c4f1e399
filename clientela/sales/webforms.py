"""Web forms: their configuration (administrators), and the public submissions that become leads.

A submission is checked like every other form (``leads.lead_validate``), guarded by a honeypot field
and a per-address limit counted from stored submissions (so it holds across processes), and kept as
the record of consent: the exact text shown, the time, the address and the page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext as _

from clientela.core.events import changes, event_record, snapshot
from clientela.core.exceptions import ConflictError
from clientela.core.permissions import Perm, has_perm, require_perm
from clientela.parties.choices import ContactSource
from clientela.sales.choices import WebFormField
from clientela.sales.events import LeadEvent, WebFormEvent
from clientela.sales.leads import lead_create, lead_validate
from clientela.sales.models import Lead, WebForm, WebFormSubmission

# The hidden field that people never see and bots fill in.
HONEYPOT_FIELD = "website"
CONSENT_FIELD = "consent"
PAGE_FIELD = "page"
WEBFORM_FIELDS = (
    "name",
    "slug",
    "is_active",
    "fields",
    "title",
    "intro",
    "submit_label",
    "consent_text",
    "thank_you_message",
    "redirect_url",
    "source",
    "default_owner",
    "team",
    "pipeline",
)
# The most characters a visitor may send in each field (the lead's own limits).
FIELD_MAX_LENGTHS = {
    WebFormField.FIRST_NAME: 100,
    WebFormField.LAST_NAME: 100,
    WebFormField.EMAIL: 254,
    WebFormField.PHONE: 40,
    WebFormField.COMPANY_NAME: 200,
    WebFormField.JOB_TITLE: 150,
    WebFormField.COUNTRY: 2,
    WebFormField.MESSAGE: 5000,
}


class RateLimitedError(Exception):
    """Too many submissions of one form from one address in the window (429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(_("Too many submissions from your address. Please try again later."))
        self.retry_after = retry_after


def rate_limit() -> tuple[int, int]:
    """(submissions, minutes) from CLIENTELA_WEBFORM_RATE_LIMIT ("5/10": 5 per 10 minutes)."""
    raw = str(getattr(settings, "CLIENTELA_WEBFORM_RATE_LIMIT", "5/10"))
    count, _slash, minutes = raw.partition("/")
    try:
        return max(1, int(count)), max(1, int(minutes or "10"))
    except ValueError:
        return 5, 10


# -- reads -----------------------------------------------------------------------------------------


def webforms_visible_to(actor: Any) -> QuerySet[WebForm]:
    """Every web form, with its submission count, for those who configure sales; none for others."""
    if not has_perm(actor, Perm.SALES_CONFIGURE):
        return WebForm.objects.none()
    return WebForm.objects.select_related("default_owner", "team", "pipeline").annotate(
        submission_count=Count("submissions")
    )


def webform_get(actor: Any, pk: Any) -> WebForm:
    return get_object_or_404(webforms_visible_to(actor), pk=pk)


def webform_public_get(slug: str) -> WebForm:
    """The active form at ``slug`` for the public page, or Http404 (inactive forms do not exist)."""
    return get_object_or_404(WebForm.objects.filter(is_active=True), slug=slug)


def webform_submissions(actor: Any, web_form: WebForm) -> QuerySet[WebFormSubmission]:
    """A form's submissions, newest first, with their leads; for those who configure sales."""
    if not has_perm(actor, Perm.SALES_CONFIGURE):
        return WebFormSubmission.objects.none()
    return WebFormSubmission.objects.filter(web_form=web_form).select_related("lead")


def webform_field_specs(web_form: WebForm) -> list[dict[str, Any]]:
    """The form's fields in display order: {"field", "label", "required"}."""
    labels = dict(WebFormField.choices)
    return [
        {"field": item["field"], "label": labels[item["field"]], "required": item["required"]}
        for item in web_form.fields or []
        if item.get("field") in labels
    ]


def webform_public_url(web_form: WebForm) -> str:
    """The absolute address of the form's hosted page, which is also where submissions go."""
    base = str(settings.CLIENTELA_BASE_URL).rstrip("/")
    return base + reverse("sales:public_form", args=[web_form.slug])


_SNIPPET_TYPES = {
    WebFormField.EMAIL: ' type="email" autocomplete="email"',
    WebFormField.PHONE: ' type="tel" autocomplete="tel"',
    WebFormField.COUNTRY: ' type="text" maxlength="2" placeholder="US"',
}


def webform_snippet(web_form: WebForm) -> str:
    """The HTML to paste into a website: a plain form posting to the hosted address, with the
    honeypot hidden by attributes (no inline style, so it suits strict Content Security Policies)."""
    lines: list[Any] = [
        format_html(
            '<form action="{}" method="post" accept-charset="utf-8" class="clientela-form">',
            webform_public_url(web_form),
        )
    ]
    for spec in webform_field_specs(web_form):
        name = spec["field"]
        required = " required" if spec["required"] else ""
        field_id = f"clientela-{web_form.slug}-{name}"
        lines.append(format_html('  <p><label for="{}">{}</label>', field_id, spec["label"]))
        if name == WebFormField.MESSAGE:
            control = format_html(
                '  <textarea id="{}" name="{}" rows="4"{}></textarea></p>',
                field_id,
                name,
                mark_safe(required),  # noqa: S308 - a constant
            )
        else:
            control = format_html(
                '  <input id="{}" name="{}"{}{}></p>',
                field_id,
                name,
                mark_safe(_SNIPPET_TYPES.get(name, ' type="text"')),  # noqa: S308 - constants
                mark_safe(required),  # noqa: S308 - a constant
            )
        lines.append(control)
    if web_form.consent_text:
        lines.append(
            format_html(
                '  <p><label><input type="checkbox" name="{}" value="1" required> {}</label></p>',
                CONSENT_FIELD,
                web_form.consent_text,
            )
        )
    lines.append(
        format_html(
            '  <input name="{}" type="text" value="" hidden tabindex="-1" autocomplete="off" '
            'aria-hidden="true">',
            HONEYPOT_FIELD,
        )
    )
    lines.append(
        format_html('  <button type="submit">{}</button>', web_form.submit_label or _("Send"))
    )
    lines.append("</form>")
    return "\n".join(str(line) for line in lines)


# -- configuration ----------------------------------------------------------------------------------


def webform_fields_clean(value: Any) -> list[dict[str, Any]]:
    """A form's field list ([{"field": "email", "required": true}, ...]) checked, or ValidationError."""
    if not isinstance(value, list | tuple):
        raise ValidationError({"fields": _("List the fields the form asks for.")})
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in value:
        entry = {"field": item, "required": False} if isinstance(item, str) else item
        if not isinstance(entry, Mapping) or entry.get("field") not in WebFormField.values:
            raise ValidationError(
                {
                    "fields": _("Unknown field: %(field)s. Choose among: %(fields)s.")
                    % {
                        "field": entry.get("field") if isinstance(entry, Mapping) else entry,
                        "fields": ", ".join(WebFormField.values),
                    }
                }
            )
        name = str(entry["field"])
        if name in seen:
            raise ValidationError({"fields": _("Each field may appear only once.")})
        seen.add(name)
        cleaned.append({"field": name, "required": bool(entry.get("required", False))})
    if not cleaned:
        raise ValidationError({"fields": _("A form asks for at least one field.")})
    if not seen & {WebFormField.EMAIL, WebFormField.PHONE}:
        raise ValidationError(
            {"fields": _("A form asks for an email address or a phone number, to reply to.")}
        )
    return cleaned


def _webform_validate(web_form: WebForm, errors: dict[str, list[str]]) -> None:
    web_form.name = (web_form.name or "").strip()
    if not web_form.name:
        errors.setdefault("name", []).append(_("A form needs a name."))
    web_form.slug = slugify(web_form.slug or web_form.name)[:60]
    if not web_form.slug:
        errors.setdefault("slug", []).append(_("Choose an address of letters, digits and dashes."))
    elif WebForm.objects.filter(slug=web_form.slug).exclude(pk=web_form.pk).exists():
        errors.setdefault("slug", []).append(_("Another form already has this address."))
    try:
        web_form.fields = webform_fields_clean(web_form.fields)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    web_form.redirect_url = (web_form.redirect_url or "").strip()
    if web_form.redirect_url:
        scheme = urlsplit(web_form.redirect_url).scheme.lower()
        try:
            URLValidator(schemes=["http", "https"])(web_form.redirect_url)
        except ValidationError:
            scheme = ""
        if scheme not in ("http", "https"):
            errors.setdefault("redirect_url", []).append(
                _("Enter a web address starting with https:// or http://.")
            )
    if web_form.source not in ContactSource.values:
        errors.setdefault("source", []).append(_("Choose a source from the list."))
    if web_form.default_owner_id is None:
        errors.setdefault("default_owner", []).append(
            _("Choose who gets the leads that no rule routes.")
        )
    elif not web_form.default_owner.is_active:
        errors.setdefault("default_owner", []).append(_("This person is deactivated."))
    if web_form.pipeline is not None and not web_form.pipeline.is_active:
        errors.setdefault("pipeline", []).append(_("This pipeline takes no new deals."))
    for name in ("consent_text", "thank_you_message", "intro", "title", "submit_label"):
        setattr(web_form, name, (getattr(web_form, name) or "").strip())
    try:
        web_form.full_clean(
            exclude=["fields", "slug", "default_owner", "redirect_url"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, []).extend(messages)


def _webform_set(
    web_form: WebForm, values: Mapping[str, Any], errors: dict[str, list[str]]
) -> None:
    for name, value in values.items():
        if name not in WEBFORM_FIELDS:
            errors.setdefault(name, []).append(_("This field cannot be set."))
            continue
        setattr(web_form, name, value)


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def webform_create(*, actor: Any, **values: Any) -> WebForm:
    """Create a web form. Its address (``slug``) comes from its name unless given."""
    require_perm(actor, Perm.SALES_CONFIGURE)
    web_form = WebForm()
    errors: dict[str, list[str]] = {}
    _webform_set(web_form, values, errors)
    if "default_owner" not in values:
        web_form.default_owner = actor
    _webform_validate(web_form, errors)
    _raise_if(errors)
    web_form.save()
    event_record(actor=actor, record=web_form, kind=WebFormEvent.CREATED)
    return web_form


@transaction.atomic
def webform_update(
    *, actor: Any, web_form: WebForm, expected_version: int | None = None, **values: Any
) -> WebForm:
    """Change a web form; only the given settings change."""
    require_perm(actor, Perm.SALES_CONFIGURE)
    web_form = WebForm.objects.select_for_update().get(pk=web_form.pk)
    if expected_version is not None and expected_version != web_form.version:
        raise ConflictError(current_version=web_form.version)
    before = snapshot(web_form, WEBFORM_FIELDS)
    errors: dict[str, list[str]] = {}
    _webform_set(web_form, values, errors)
    _webform_validate(web_form, errors)
    _raise_if(errors)
    diff = changes(before, snapshot(web_form, WEBFORM_FIELDS))
    if diff:
        web_form.version += 1
        web_form.updated_at = timezone.now()
        web_form.save()
        event_record(
            actor=actor, record=web_form, kind=WebFormEvent.CHANGED, data={"changes": diff}
        )
    return web_form


@transaction.atomic
def webform_delete(*, actor: Any, web_form: WebForm, expected_version: int | None = None) -> None:
    """Delete a form and its submissions; its leads stay. Deactivate it instead to keep the
    consent records."""
    require_perm(actor, Perm.SALES_CONFIGURE)
    web_form = WebForm.objects.select_for_update().get(pk=web_form.pk)
    if expected_version is not None and expected_version != web_form.version:
        raise ConflictError(current_version=web_form.version)
    event_record(actor=actor, record=web_form, kind=WebFormEvent.DELETED)
    web_form.delete()


# -- public submissions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmissionResult:
    """What a submission came to: the lead and its consent record, or nothing (a bot was fooled)."""

    lead: Lead | None
    submission: WebFormSubmission | None

    @property
    def is_spam(self) -> bool:
        return self.submission is None


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "on", "yes", "y")


def webform_submission_clean(web_form: WebForm, data: Mapping[str, Any]) -> dict[str, Any]:
    """The values of a submission for the form's fields, checked like the lead form checks them
    (required, email, phone, country, lengths); ValidationError with every field's messages."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for spec in webform_field_specs(web_form):
        name = spec["field"]
        raw = data.get(name, "")
        value = raw if isinstance(raw, str) else ("" if raw is None else str(raw))
        value = value.strip()
        if not value:
            if spec["required"]:
                errors.setdefault(name, []).append(_("This field is required."))
            continue
        if len(value) > FIELD_MAX_LENGTHS[name]:
            errors.setdefault(name, []).append(
                _("At most %(count)s characters.") % {"count": FIELD_MAX_LENGTHS[name]}
            )
            continue
        values[name] = value
    if web_form.consent_text and not _truthy(data.get(CONSENT_FIELD)):
        errors.setdefault(CONSENT_FIELD, []).append(_("Please give your consent to send the form."))
    # The lead's own checks: the same messages as the lead form and the API.
    probe = Lead(**dict(values.items()))
    probe.country = probe.country.upper()
    probe.email = probe.email.lower()
    lead_errors: dict[str, list[str]] = {}
    lead_validate(probe, lead_errors)
    for name, messages in lead_errors.items():
        if name in values or name in errors:
            errors.setdefault(name, []).extend(messages)
        elif name == "last_name":
            errors.setdefault("__all__", []).extend(messages)
    if errors:
        raise ValidationError(errors)
    values.update(
        {name: getattr(probe, name) for name in ("email", "phone", "country") if name in values}
    )
    return values


def webform_rate_check(*, web_form: WebForm, ip_address: str | None, now: Any = None) -> None:
    """RateLimitedError when ``ip_address`` sent the form CLIENTELA_WEBFORM_RATE_LIMIT times already
    within the window."""
    if not ip_address:
        return
    now = now or timezone.now()
    limit, minutes = rate_limit()
    since = now - timedelta(minutes=minutes)
    recent = list(
        WebFormSubmission.objects.filter(
            web_form=web_form, ip_address=ip_address, submitted_at__gt=since
        )
        .order_by("submitted_at")
        .values_list("submitted_at", flat=True)[:limit]
    )
    if len(recent) >= limit:
        retry_after = math.ceil((recent[0] + timedelta(minutes=minutes) - now).total_seconds())
        raise RateLimitedError(retry_after=max(1, retry_after))


@transaction.atomic
def webform_submit(
    *,
    web_form: WebForm,
    data: Mapping[str, Any],
    ip_address: str | None = None,
    user_agent: str = "",
    page_url: str = "",
    now: Any = None,
) -> SubmissionResult:
    """A visitor's submission: checked, turned into a lead routed by the assignment rules, and kept
    with the consent given. A filled honeypot answers as if all went well but stores nothing.

    Raises Http404-worthy WebForm.DoesNotExist for an inactive form, RateLimitedError past the
    limit, and ValidationError for invalid input.
    """
    now = now or timezone.now()
    # Locked, so that concurrent submissions of one form are counted one after the other.
    web_form = (
        WebForm.objects.select_for_update(of=("self",))
        .select_related("default_owner", "team")
        .get(pk=web_form.pk, is_active=True)
    )
    if str(data.get(HONEYPOT_FIELD) or "").strip():
        return SubmissionResult(lead=None, submission=None)
    webform_rate_check(web_form=web_form, ip_address=ip_address, now=now)
    values = webform_submission_clean(web_form, data)
    consent_given = bool(web_form.consent_text) and _truthy(data.get(CONSENT_FIELD))
    page = str(data.get(PAGE_FIELD) or "").strip() or page_url
    lead = lead_create(actor=None, web_form=web_form, source=web_form.source, now=now, **values)
    submission = WebFormSubmission.objects.create(
        web_form=web_form,
        lead=lead,
        submitted_at=now,
        ip_address=ip_address or None,
        user_agent=(user_agent or "")[:300],
        page_url=page[:500],
        data=values,
        consent_given=consent_given,
        consent_text=web_form.consent_text if consent_given else "",
    )
    event_record(
        actor=None,
        record=lead,
        kind=LeadEvent.SUBMITTED,
        data={
            "web_form": {"id": web_form.pk, "label": web_form.name},
            "submission": submission.pk,
            "consent_given": consent_given,
        },
    )
    return SubmissionResult(lead=lead, submission=submission)
