"""Locale-aware names and money, through Babel (CLDR data): countries and currencies in every language."""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from babel import Locale
from babel.numbers import format_currency
from django.utils import translation

# Babel locales for the interface languages: the region decides digit grouping (hi_IN: 12,34,567.00).
_BABEL_LOCALES = {"en": "en_US", "es": "es_ES", "da": "da_DK", "hi": "hi_IN"}
# CLDR regions that are not countries a record can be in.
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"}


def babel_locale(language: str | None = None) -> str:
    language = (language or translation.get_language() or "en").split("-")[0]
    return _BABEL_LOCALES.get(language, "en_US")


@cache
def _countries(locale: str) -> tuple[tuple[str, str], ...]:
    territories = Locale.parse(locale).territories
    pairs = [
        (code, name)
        for code, name in territories.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    ]
    return tuple(sorted(pairs, key=lambda pair: pair[1].casefold()))


def country_choices(language: str | None = None) -> list[tuple[str, str]]:
    """(code, name) for every country, named and sorted in the current language."""
    return list(_countries(babel_locale(language)))


def country_codes() -> frozenset[str]:
    return frozenset(code for code, _name in _countries("en_US"))


def language_name(code: str, language: str | None = None) -> str:
    """A language code ("nb", "pt-BR") named in the reader's language ("Norwegian Bokmål")."""
    if not code:
        return ""
    names = Locale.parse(babel_locale(language)).languages
    return names.get(code.replace("-", "_")) or names.get(code.split("-")[0].lower()) or code


@cache
def _country_names(locale: str) -> dict[str, str]:
    return dict(_countries(locale))


def country_name(code: str, language: str | None = None) -> str:
    if not code:
        return ""
    return _country_names(babel_locale(language)).get(code.upper(), code)


@cache
def _currencies(locale: str) -> tuple[tuple[str, str], ...]:
    names = Locale.parse(locale).currencies
    return tuple(sorted(names.items()))


def currency_codes() -> frozenset[str]:
    return frozenset(code for code, _name in _currencies("en_US"))


def currency_choices(language: str | None = None) -> list[tuple[str, str]]:
    return [(code, f"{code} · {name}") for code, name in _currencies(babel_locale(language))]


def money(amount: Decimal | int | float | None, currency: str, language: str | None = None) -> str:
    """``amount`` in ``currency`` as the reader's locale writes it: "$1,234.50", "1.234,50 kr."."""
    if amount is None:
        return ""
    return format_currency(Decimal(str(amount)), currency, locale=babel_locale(language))
