"""Phone numbers: typed in any common format, stored in E.164, shown in the international format."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def phone_to_e164(raw: str, region: str | None = None) -> str:
    """``raw`` ("(415) 555-0100", "0045 32 12 34 56", "+91 98765 43210") as E.164, or ValidationError.

    Numbers without a country code are read in ``region`` (a record's country), else the installation's
    default region.
    """
    raw = (raw or "").strip()
    if not raw:
        return ""
    region = (region or settings.CLIENTELA_DEFAULT_PHONE_REGION or "US").upper()
    candidates = [raw]
    # "00" is the international prefix almost everywhere but North America: accept it from anywhere.
    if raw.startswith("00"):
        candidates.append(f"+{raw[2:]}")
    number = None
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            number = parsed
            break
        number = number or parsed
    if number is None:
        raise ValidationError(
            _("“%(value)s” is not a phone number."), code="invalid_phone", params={"value": raw}
        )
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _(
                "“%(value)s” is not a valid phone number for %(region)s. Include the country code, such as +45."
            ),
            code="invalid_phone",
            params={"value": raw, "region": region},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=4096)
def phone_display(e164: str) -> str:
    """An E.164 number in the international format people read ("+45 32 12 34 56")."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_digits(text: str) -> str:
    """Only the digits of ``text``: what a phone search compares."""
    return "".join(character for character in text if character.isdigit())
