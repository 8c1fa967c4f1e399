"""Template filters for what every page shows: money, phone numbers, countries, events, custom fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from clientela.core.custom_fields import custom_field_display
from clientela.core.events import event_kind_label
from clientela.core.locale import country_name, language_name, money
from clientela.core.phones import phone_display

register = template.Library()


@register.filter(name="money")
def money_filter(amount: Decimal | None, currency: str) -> str:
    return money(amount, currency)


@register.filter(name="phone")
def phone_filter(e164: str) -> str:
    return phone_display(e164)


@register.filter(name="country")
def country_filter(code: str) -> str:
    return country_name(code)


@register.filter(name="language_name")
def language_name_filter(code: str) -> str:
    return language_name(code)


@register.filter
def event_label(kind: str) -> str:
    return event_kind_label(kind)


@register.filter
def custom_value(record: Any, definition: Any) -> str:
    return custom_field_display(definition, (record.custom_fields or {}).get(definition.key))


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key) if isinstance(mapping, dict) else None
