import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from clientela.core.custom_fields import custom_fields_clean
from clientela.core.models import CustomFieldDefinition, CustomFieldType, Event
from clientela.core.services import custom_field_definition_create


def _definition(key, field_type, **options):
    return CustomFieldDefinition(
        record_type="parties.contact", key=key, label=key.title(), field_type=field_type, **options
    )


def test_values_are_cleaned_into_their_stored_json_forms():
    definitions = [
        _definition("size", CustomFieldType.NUMBER, min_value=0, max_value=100),
        _definition("since", CustomFieldType.DATE),
        _definition("channel", CustomFieldType.CHOICE, choices=["Email", "Phone"]),
        _definition("topics", CustomFieldType.MULTI_CHOICE, choices=["A", "B", "C"]),
        _definition("vip", CustomFieldType.BOOLEAN),
        _definition("site", CustomFieldType.URL),
    ]

    values = custom_fields_clean(
        definitions,
        {
            "size": "42",
            "since": "2026-01-31",
            "channel": "Phone",
            "topics": ["A", "C"],
            "vip": False,
            "site": "https://example.com",
        },
    )

    assert values == {
        "size": 42,
        "since": datetime.date(2026, 1, 31).isoformat(),
        "channel": "Phone",
        "topics": ["A", "C"],
        "vip": False,
        "site": "https://example.com",
    }


def test_every_invalid_value_is_reported_by_its_key():
    definitions = [
        _definition("size", CustomFieldType.NUMBER, max_value=10),
        _definition("channel", CustomFieldType.CHOICE, choices=["Email"]),
        _definition("needed", CustomFieldType.TEXT, is_required=True),
    ]

    with pytest.raises(ValidationError) as error:
        custom_fields_clean(definitions, {"size": "11", "channel": "Fax", "nope": 1})

    assert sorted(error.value.message_dict) == ["channel", "needed", "nope", "size"]
    assert error.value.message_dict["size"] == ["Ensure this value is less than or equal to 10."]


def test_values_merge_over_current_ones_and_empty_values_are_removed():
    definitions = [_definition("a", CustomFieldType.TEXT), _definition("b", CustomFieldType.TEXT)]

    values = custom_fields_clean(
        definitions, {"b": ""}, current={"a": "kept", "b": "gone", "stale": 1}
    )

    assert values == {"a": "kept"}


def test_only_administrators_define_custom_fields(admin_user, manager):
    with pytest.raises(PermissionDenied):
        custom_field_definition_create(
            actor=manager, record_type="parties.contact", key="x", label="X", field_type="text"
        )

    definition = custom_field_definition_create(
        actor=admin_user,
        record_type="parties.contact",
        key="channel",
        label="Channel",
        field_type="choice",
        choices=["Email", " Phone ", ""],
    )

    assert definition.choices == ["Email", "Phone"]
    assert Event.objects.filter(kind="custom_field.created").count() == 1


def test_a_choice_field_needs_choices_and_keys_are_unique(admin_user):
    with pytest.raises(ValidationError) as error:
        custom_field_definition_create(
            actor=admin_user, record_type="parties.contact", key="c", label="C", field_type="choice"
        )
    assert error.value.message_dict == {"choices": ["A choice field needs at least one choice."]}

    custom_field_definition_create(
        actor=admin_user, record_type="parties.contact", key="c", label="C", field_type="text"
    )
    with pytest.raises(ValidationError) as error:
        custom_field_definition_create(
            actor=admin_user, record_type="parties.contact", key="c", label="D", field_type="text"
        )
    assert error.value.message_dict == {
        "key": ["This record type already has a field with this key."]
    }
    assert CustomFieldDefinition.objects.count() == 1
