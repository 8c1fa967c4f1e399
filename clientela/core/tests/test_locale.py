from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clientela.core.locale import country_name, money
from clientela.core.phones import phone_display, phone_to_e164


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "DKK1,234,567.50"),
        ("es", "1.234.567,50\xa0DKK"),
        ("da", "1.234.567,50\xa0kr."),
        ("hi", "DKK12,34,567.50"),
    ],
)
def test_money_is_written_the_way_each_locale_writes_it(language, expected):
    assert money(Decimal("1234567.50"), "DKK", language) == expected


def test_country_names_follow_the_language():
    assert [country_name("DK", lang) for lang in ("en", "es", "da", "hi")] == [
        "Denmark",
        "Dinamarca",
        "Danmark",
        "डेनमार्क",
    ]


@pytest.mark.parametrize(
    ("typed", "region", "stored"),
    [
        ("(415) 555-0100", "US", "+14155550100"),
        ("415.555.0100", "US", "+14155550100"),
        ("32 12 34 56", "DK", "+4532123456"),
        ("0045 32 12 34 56", "US", "+4532123456"),
        ("+91 98765 43210", None, "+919876543210"),
        ("612 34 56 78", "ES", "+34612345678"),
    ],
)
def test_phone_numbers_in_any_common_format_are_stored_in_e164(typed, region, stored):
    assert phone_to_e164(typed, region) == stored


def test_invalid_phone_numbers_are_refused():
    with pytest.raises(ValidationError):
        phone_to_e164("555", "US")


def test_phone_numbers_are_shown_in_the_international_format():
    assert phone_display("+14155550100") == "+1 415-555-0100"


def test_language_codes_are_named_in_the_readers_language():
    from clientela.core.locale import language_name

    assert language_name("nb", "en") == "Norwegian Bokmål"
    assert language_name("da", "en") == "Danish"
    assert language_name("es", "da") == "spansk"
    assert language_name("xx-nonsense", "en") == "xx-nonsense"
