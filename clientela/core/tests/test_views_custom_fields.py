from django.urls import reverse

from clientela.core.models import CustomFieldDefinition, Event
from clientela.core.services import custom_field_definition_create
from clientela.parties.models import Contact
from clientela.parties.tests.form_data import form_data

LIST = reverse("core:custom_field_list")
NEW = reverse("core:custom_field_create")


def _definition_data(**changes):
    data = {
        "record_type": "parties.contact",
        "key": "tier",
        "label": "Tier",
        "field_type": "choice",
        "choices": "Gold\r\n Silver \r\n\r\nBronze",
        "position": "0",
        "help_text": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_custom_field_list_shows_definitions_per_record_type(client, admin_user):
    custom_field_definition_create(
        actor=admin_user,
        record_type="parties.organization",
        key="segment",
        label="Segment",
        field_type="text",
    )
    client.force_login(admin_user)

    response = client.get(LIST)

    html = response.content.decode()
    assert response.status_code == 200
    assert [group["record_type"] for group in response.context["groups"]] == [
        "parties.organization",
        "parties.contact",
        "sales.deal",
        "sales.lead",
    ]
    assert "<td><code>segment</code></td>" in html
    assert 'href="/settings/custom-fields/new/?record_type=parties.contact"' in html


def test_administrator_creates_a_choice_field_and_it_appears_on_the_contact_form(
    client, admin_user
):
    client.force_login(admin_user)

    response = client.post(NEW, _definition_data())

    assert response.status_code == 302
    assert response["Location"] == LIST
    definition = CustomFieldDefinition.objects.get()
    assert (definition.record_type, definition.key, definition.label, definition.field_type) == (
        "parties.contact",
        "tier",
        "Tier",
        "choice",
    )
    assert definition.choices == ["Gold", "Silver", "Bronze"]
    assert Event.objects.filter(kind="custom_field.created").count() == 1
    form_html = client.get(reverse("parties:contact_create")).content.decode()
    assert '<label for="id_cf_tier">Tier</label>' in form_html
    assert (
        '<option value="" selected>—</option>\n\n  <option value="Gold">Gold</option>\n\n'
        '  <option value="Silver">Silver</option>\n\n  <option value="Bronze">Bronze</option>'
    ) in form_html


def test_contact_form_requires_a_required_custom_field_and_saves_it_when_given(
    client, admin_user, rep
):
    custom_field_definition_create(
        actor=admin_user,
        record_type="parties.contact",
        key="tier",
        label="Tier",
        field_type="choice",
        choices=["Gold", "Silver"],
        is_required=True,
    )
    client.force_login(rep)
    url = reverse("parties:contact_create")
    page = client.get(url)

    missing = client.post(url, form_data(page, first_name="Ana"))
    given = client.post(url, form_data(page, first_name="Ana", cf_tier="Gold"))

    assert missing.status_code == 200
    assert missing.context["form"].errors == {"cf_tier": ["This field is required."]}
    assert given.status_code == 302
    assert Contact.objects.get().custom_fields == {"tier": "Gold"}


def test_custom_field_create_shows_service_errors_at_their_fields(client, admin_user):
    custom_field_definition_create(
        actor=admin_user, record_type="parties.contact", key="tier", label="Tier", field_type="text"
    )
    client.force_login(admin_user)

    no_choices = client.post(NEW, _definition_data(key="level", choices=""))
    taken_key = client.post(NEW, _definition_data(field_type="text", choices=""))

    assert no_choices.status_code == 200
    assert no_choices.context["form"].errors == {
        "choices": ["A choice field needs at least one choice."]
    }
    assert taken_key.context["form"].errors == {
        "key": ["This record type already has a field with this key."]
    }
    assert CustomFieldDefinition.objects.count() == 1


def test_custom_field_edit_changes_label_and_choices_but_not_key_or_type(client, admin_user):
    definition = custom_field_definition_create(
        actor=admin_user,
        record_type="parties.contact",
        key="tier",
        label="Tier",
        field_type="choice",
        choices=["Gold"],
    )
    client.force_login(admin_user)
    url = reverse("core:custom_field_edit", args=[definition.pk])
    page = client.get(url)

    response = client.post(
        url,
        form_data(
            page, label="Customer tier", choices="Gold\nPlatinum", key="hacked", field_type="text"
        ),
    )

    assert response.status_code == 302
    definition.refresh_from_db()
    assert (definition.label, definition.choices, definition.key, definition.field_type) == (
        "Customer tier",
        ["Gold", "Platinum"],
        "tier",
        "choice",
    )
    assert "tier" in page.content.decode()


def test_custom_field_delete_asks_first_then_deletes(client, admin_user):
    definition = custom_field_definition_create(
        actor=admin_user, record_type="parties.contact", key="tier", label="Tier", field_type="text"
    )
    client.force_login(admin_user)
    url = reverse("core:custom_field_delete", args=[definition.pk])

    page = client.get(url)
    response = client.post(url)

    assert "Delete the custom field Tier?" in page.content.decode()
    assert response.status_code == 302
    assert CustomFieldDefinition.objects.count() == 0


def test_custom_field_pages_are_forbidden_without_the_permission(client, admin_user, manager):
    definition = custom_field_definition_create(
        actor=admin_user, record_type="parties.contact", key="tier", label="Tier", field_type="text"
    )
    client.force_login(manager)

    statuses = [
        client.get(LIST).status_code,
        client.post(NEW, _definition_data(key="other")).status_code,
        client.post(
            reverse("core:custom_field_edit", args=[definition.pk]), {"label": "X"}
        ).status_code,
        client.post(reverse("core:custom_field_delete", args=[definition.pk])).status_code,
    ]

    assert statuses == [403, 403, 403, 403]
    definition.refresh_from_db()
    assert (CustomFieldDefinition.objects.count(), definition.label) == (1, "Tier")
