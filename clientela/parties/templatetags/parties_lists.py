"""The rows of the contact list, built in Python.

A row has up to fourteen cells and a page up to 200 rows; through the template engine that cost
20-25 ms of a 50-row page (each ``{% if "email" in shown %}`` and ``{% url %}`` per cell), as much as
everything else on the page together. Here a row is a few string joins. The markup is the one the
template had: tests and the bulk-selection script rely on it.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from typing import Any

from django import template
from django.template.defaultfilters import date as date_filter
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from clientela.core.locale import country_name
from clientela.core.phones import phone_display

register = template.Library()

_PK = 918273645  # stands for the primary key in a reversed URL


@lru_cache(maxsize=64)
def _url_pattern(name: str, script_prefix: str) -> tuple[str, str]:
    before, _sep, after = reverse(name, args=[_PK]).partition(str(_PK))
    return before, after


def detail_url(name: str, pk: int) -> str:
    """``reverse(name, args=[pk])`` for a URL whose only argument is a primary key, without
    resolving the pattern each time."""
    before, after = _url_pattern(name, get_script_prefix())
    return f"{before}{int(pk)}{after}"


def _contact_cells(contact: Any, shown: Collection[str]) -> list[str]:
    cells = []
    if "email" in shown:
        email = escape(contact.primary_email)
        cells.append(f'<td><a href="mailto:{email}">{email}</a></td>' if email else "<td></td>")
    if "phone" in shown:
        cells.append(f'<td class="nowrap">{escape(phone_display(contact.primary_phone))}</td>')
    if "organization" in shown:
        links = ", ".join(
            f'<a href="{detail_url("parties:organization_detail", affiliation.organization_id)}">'
            f"{escape(affiliation.organization.name)}</a>"
            for affiliation in contact.affiliations.all()
        )
        cells.append(f"<td>{links}</td>")
    if "job_title" in shown:
        cells.append(f"<td>{escape(contact.job_title)}</td>")
    if "stage" in shown:
        cells.append(f"<td>{escape(contact.get_lifecycle_stage_display())}</td>")
    if "tags" in shown:
        tags = "".join(f'<span class="tag">{escape(tag.name)}</span>' for tag in contact.tags.all())
        cells.append(f"<td>{tags}</td>")
    if "owner" in shown:
        cells.append(f"<td>{escape(contact.owner)}</td>")
    if "team" in shown:
        cells.append(f"<td>{escape(contact.team or '')}</td>")
    if "city" in shown:
        cells.append(f"<td>{escape(contact.city)}</td>")
    if "country" in shown:
        cells.append(f"<td>{escape(country_name(contact.country))}</td>")
    if "created" in shown:
        created = timezone.localtime(contact.created_at)
        cells.append(
            f'<td class="nowrap"><time datetime="{date_filter(created, "c")}">'
            f"{escape(date_filter(created, 'SHORT_DATE_FORMAT'))}</time></td>"
        )
    return cells


@register.simple_tag
def contact_row(contact: Any, shown: Collection[str], can_change: bool, form_id: str) -> SafeString:
    """A ``<tr>`` of the contact list: a checkbox for bulk changes (for those who may change), the
    name linking to the contact, then the ``shown`` columns in their fixed order."""
    name = escape(contact.full_name)
    select = ""
    if can_change:
        label = escape(_("Select %(name)s") % {"name": contact})
        select = (
            f'<td class="select-column"><input type="checkbox" name="ids" value="{int(contact.pk)}" '
            f'form="{escape(form_id)}" data-bulk-row aria-label="{label}"></td>'
        )
    link = detail_url("parties:contact_detail", contact.pk)
    cells = "".join(_contact_cells(contact, shown))
    return mark_safe(  # noqa: S308 - every value is escaped above
        f'<tr data-testid="contact-row">{select}'
        f'<td class="nowrap"><a href="{link}">{name}</a></td>{cells}</tr>'
    )
