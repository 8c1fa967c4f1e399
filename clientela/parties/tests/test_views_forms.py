from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from clientela.core.models import Event, Tag
from clientela.parties.forms import ContactForm
from clientela.parties.models import Affiliation, Contact, ContactEmail, ContactPhone, Organization
from clientela.parties.services import (
    contact_create,
    contact_update,
    organization_create,
    organization_update,
)
from clientela.parties.tests.factories import (
    AffiliationFactory,
    ContactFactory,
    OrganizationFactory,
)
from clientela.parties.tests.form_data import form_data

CONTACT_NEW = reverse("parties:contact_create")
ORGANIZATION_NEW = reverse("parties:organization_create")


def _counts():
    return {
        "contacts": Contact.objects.count(),
        "emails": ContactEmail.objects.count(),
        "phones": ContactPhone.objects.count(),
        "affiliations": Affiliation.objects.count(),
        "organizations": Organization.objects.count(),
        "events": Event.objects.count(),
        "tags": Tag.objects.count(),
    }


# -- creating contacts -------------------------------------------------------------------------


def test_contact_create_stores_a_phone_typed_in_a_local_format(client, rep, team_a):
    acme = organization_create(actor=rep, name="Acme")
    client.force_login(rep)
    page = client.get(CONTACT_NEW)

    response = client.post(
        CONTACT_NEW,
        form_data(
            page,
            first_name="Ana",
            last_name="Ruiz",
            emails__0__email="ana@acme.example",
            phones__0__number="(415) 555-0100",
            organizations__0__organization=str(acme.pk),
            organizations__0__role="CTO",
            tags="VIP, Partner program",
        ),
    )

    contact = Contact.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/contacts/{contact.pk}/"
    assert contact.primary_phone == "+14155550100"
    assert list(contact.phones.values_list("number", "kind", "is_primary")) == [
        ("+14155550100", "mobile", True)
    ]
    assert contact.primary_email == "ana@acme.example"
    assert list(contact.affiliations.values_list("organization__name", "role")) == [("Acme", "CTO")]
    assert sorted(contact.tags.values_list("name", flat=True)) == ["Partner program", "VIP"]
    assert (contact.owner, contact.team) == (rep, team_a)
    followed = client.get(response["Location"])
    assert "The contact Ana Ruiz was created." in followed.content.decode()
    assert "+1 415-555-0100" in followed.content.decode()


@pytest.mark.parametrize(
    ("changes", "where", "message"),
    [
        ({"emails__0__email": "not-an-email"}, "emails-0-email", "Enter a valid email address."),
        (
            {"phones__0__number": "12"},
            "phones-0-number",
            "“12” is not a valid phone number for US. Include the country code, such as +45.",
        ),
        ({"first_name": "", "last_name": ""}, "last_name", "Enter a first or a last name."),
        (
            {"country": "XX"},
            "country",
            "Select a valid choice. XX is not one of the available choices.",
        ),
    ],
    ids=["bad email", "bad phone", "missing name", "unknown country"],
)
def test_contact_create_with_bad_input_shows_the_error_at_the_field_and_writes_nothing(
    client, rep, changes, where, message
):
    client.force_login(rep)
    page = client.get(CONTACT_NEW)
    before = _counts()
    data = form_data(
        page, **{"first_name": "Ana", "last_name": "Ruiz", "tags": "New tag", **changes}
    )

    response = client.post(CONTACT_NEW, data)

    assert response.status_code == 200
    assert _counts() == before
    group = response.context["group"]
    errors = {
        **{name: list(messages) for name, messages in group.form.errors.items()},
        **{
            f"{formset.prefix}-{index}-{name}": list(messages)
            for formset in (group.emails, group.phones, group.organizations)
            for index, form_errors in enumerate(formset.errors)
            for name, messages in form_errors.items()
        },
    }
    assert errors == {where: [message]}
    assert "Nothing was saved. Please correct the errors below." in response.content.decode()


def test_contact_create_shows_every_error_at_once(client, rep):
    client.force_login(rep)
    page = client.get(CONTACT_NEW)

    response = client.post(
        CONTACT_NEW,
        form_data(
            page,
            first_name="",
            last_name="",
            country="XX",
            emails__0__email="nope",
            phones__0__number="abc",
        ),
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert Contact.objects.count() == 0
    for message in (
        "Enter a valid email address.",
        "“abc” is not a phone number.",
        "Enter a first or a last name.",
        "Select a valid choice. XX is not one of the available choices.",
    ):
        assert message in html


def test_contact_form_puts_service_errors_on_the_fields_they_name(rep):
    form = ContactForm({"first_name": "Ana", "lifecycle_stage": "lead"}, actor=rep, definitions=[])
    assert form.is_valid()

    others = form.add_service_errors(
        ValidationError(
            {
                "job_title": ["Too long."],
                "emails": ["“x” is not a valid email address."],
                "phones": ["Bad phone."],
                "custom_fields.gone": ["There is no custom field with the key “gone”."],
                "owner": ["Not yours."],
            }
        )
    )

    assert others == {"emails": ["“x” is not a valid email address."], "phones": ["Bad phone."]}
    assert form.errors == {
        "job_title": ["Too long."],
        "__all__": ["There is no custom field with the key “gone”.", "Not yours."],
    }


def test_contact_form_shows_owner_and_team_only_to_roles_that_may_assign(
    client, rep, manager, rep_a2, rep_b
):
    client.force_login(rep)
    rep_form = client.get(CONTACT_NEW).context["form"]
    client.force_login(manager)
    manager_form = client.get(CONTACT_NEW).context["form"]

    assert "owner" not in rep_form.fields
    assert "team" not in rep_form.fields
    assert [str(user) for user in manager_form.fields["owner"].queryset] == [
        "Manager",
        "Rep",
        "Rep2",
    ]
    assert [str(team) for team in manager_form.fields["team"].queryset] == ["Team A"]


def test_manager_gives_a_contact_to_a_team_mate(client, manager, rep):
    contact = contact_create(actor=manager, first_name="Ana", last_name="Ruiz")
    client.force_login(manager)
    url = reverse("parties:contact_edit", args=[contact.pk])

    response = client.post(url, form_data(client.get(url), owner=str(rep.pk)))

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.owner == rep
    assert Event.objects.filter(kind="contact.owner_changed").count() == 1


def test_representative_cannot_slip_an_owner_into_the_form(client, rep, rep_a2):
    client.force_login(rep)
    page = client.get(CONTACT_NEW)

    client.post(CONTACT_NEW, form_data(page, first_name="Ana", owner=str(rep_a2.pk)))

    assert Contact.objects.get().owner == rep


# -- editing contacts --------------------------------------------------------------------------


def test_contact_edit_changes_only_what_was_changed(client, rep):
    acme = organization_create(actor=rep, name="Acme")
    contact = contact_create(
        actor=rep,
        first_name="Ana",
        last_name="Ruiz",
        emails=["ana@acme.example"],
        phones=["+4532123456"],
        organizations=[{"organization": acme, "role": "CTO"}],
        tags=["VIP"],
    )
    client.force_login(rep)
    url = reverse("parties:contact_edit", args=[contact.pk])

    response = client.post(url, form_data(client.get(url), job_title="Founder"))

    assert response.status_code == 302
    changed = Event.objects.get(kind="contact.changed")
    assert changed.data["changes"] == {"job_title": {"old": "", "new": "Founder"}}
    assert Event.objects.filter(kind__in=["contact.tagged", "contact.untagged"]).count() == 1
    contact.refresh_from_db()
    assert contact.version == 2
    assert contact.primary_phone == "+4532123456"


def test_contact_edit_removes_a_row_marked_for_deletion(client, rep):
    contact = contact_create(
        actor=rep, first_name="Ana", last_name="Ruiz", emails=["a@example.com", "b@example.com"]
    )
    client.force_login(rep)
    url = reverse("parties:contact_edit", args=[contact.pk])

    client.post(url, form_data(client.get(url), emails__0__DELETE="on"))

    assert list(contact.emails.values_list("email", "is_primary")) == [("b@example.com", True)]
    contact.refresh_from_db()
    assert contact.primary_email == "b@example.com"


def test_contact_edit_with_a_stale_version_shows_the_conflict_and_changes_nothing(
    client, rep, rep_a2
):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz", job_title="Engineer")
    client.force_login(rep)
    url = reverse("parties:contact_edit", args=[contact.pk])
    page = client.get(url)
    contact_update(actor=rep_a2, contact=contact, job_title="Architect")

    response = client.post(url, form_data(page, job_title="CEO"))

    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "This record was changed by someone else meanwhile, so your changes were not saved. "
        f'What you typed is still below. <a href="{url}">Reload the latest version</a>'
    ) in html
    assert 'name="job_title" value="CEO"' in html
    contact.refresh_from_db()
    assert (contact.job_title, contact.version) == ("Architect", 2)
    assert Event.objects.filter(kind="contact.changed").count() == 1


def test_contact_edit_without_a_version_is_refused(client, rep):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")
    client.force_login(rep)
    url = reverse("parties:contact_edit", args=[contact.pk])

    response = client.post(url, form_data(client.get(url), job_title="CEO", version=None))

    assert response.status_code == 200
    assert response.context["form"].errors == {"version": ["This field is required."]}
    contact.refresh_from_db()
    assert contact.job_title == ""


# -- organizations -----------------------------------------------------------------------------


def test_organization_create_stores_phone_revenue_and_currency(client, rep):
    client.force_login(rep)
    page = client.get(ORGANIZATION_NEW)

    response = client.post(
        ORGANIZATION_NEW,
        form_data(
            page,
            name="Acme",
            website="acme.example",
            phone="32 12 34 56",
            country="DK",
            annual_revenue="1234567.50",
            currency="DKK",
            industry="software",
        ),
    )

    organization = Organization.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/organizations/{organization.pk}/"
    assert (organization.phone, organization.domain, organization.website) == (
        "+4532123456",
        "acme.example",
        "https://acme.example",
    )
    assert (organization.annual_revenue, organization.currency) == (Decimal("1234567.50"), "DKK")


def test_organization_create_maps_service_errors_to_fields_and_writes_nothing(client, rep):
    client.force_login(rep)
    page = client.get(ORGANIZATION_NEW)
    before = _counts()

    response = client.post(ORGANIZATION_NEW, form_data(page, name="Acme", phone="12"))

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "phone": ["“12” is not a valid phone number for US. Include the country code, such as +45."]
    }
    assert _counts() == before


def test_organization_create_refuses_a_negative_revenue_and_an_unknown_currency(client, rep):
    client.force_login(rep)
    page = client.get(ORGANIZATION_NEW)

    response = client.post(
        ORGANIZATION_NEW, form_data(page, name="Acme", annual_revenue="-1", currency="XYZ")
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "annual_revenue": ["Ensure this value is greater than or equal to 0."],
        "currency": ["Select a valid choice. XYZ is not one of the available choices."],
    }
    assert Organization.objects.count() == 0


def test_organization_edit_with_a_stale_version_shows_the_conflict_and_changes_nothing(
    client, rep, rep_a2
):
    organization = organization_create(actor=rep, name="Acme")
    client.force_login(rep)
    url = reverse("parties:organization_edit", args=[organization.pk])
    page = client.get(url)
    organization_update(actor=rep_a2, organization=organization, name="Acme Inc")

    response = client.post(url, form_data(page, name="Acme Ltd"))

    assert response.status_code == 200
    assert "This record was changed by someone else meanwhile" in response.content.decode()
    assert 'name="name" value="Acme Ltd"' in response.content.decode()
    organization.refresh_from_db()
    assert (organization.name, organization.version) == ("Acme Inc", 2)


# -- deleting ----------------------------------------------------------------------------------


def test_organization_delete_asks_first_and_says_how_many_contacts_lose_the_affiliation(
    client, manager
):
    organization = OrganizationFactory(name="Acme", owner=manager)
    for _number in range(3):
        AffiliationFactory(contact=ContactFactory(owner=manager), organization=organization)
    client.force_login(manager)
    url = reverse("parties:organization_delete", args=[organization.pk])

    page = client.get(url)
    response = client.post(url)

    assert "<h1>Delete Acme?</h1>" in page.content.decode()
    assert (
        "This cannot be undone.\n    3 contacts will lose this affiliation."
        in page.content.decode()
    )
    assert Organization.objects.filter(pk=organization.pk).exists() is False
    assert response.status_code == 302
    assert response["Location"] == "/organizations/"
    assert "The organization Acme was deleted." in client.get("/organizations/").content.decode()
    assert Contact.objects.count() == 3
    assert Affiliation.objects.count() == 0


def test_contact_delete_removes_the_contact_and_records_it(client, manager):
    contact = ContactFactory(first_name="Ana", last_name="Ruiz", owner=manager)
    client.force_login(manager)

    response = client.post(reverse("parties:contact_delete", args=[contact.pk]))

    assert response.status_code == 302
    assert response["Location"] == "/contacts/"
    assert Contact.objects.count() == 0
    assert list(Event.objects.values_list("kind", "data__label")) == [
        ("contact.deleted", "Ana Ruiz")
    ]


def test_contact_edit_keeps_affiliations_with_organizations_the_editor_cannot_see(
    client, rep, rep_b
):
    contact = ContactFactory(first_name="Ana", last_name="Ruiz", owner=rep)
    AffiliationFactory(contact=contact, organization=OrganizationFactory(name="Visible", owner=rep))
    AffiliationFactory(
        contact=contact, organization=OrganizationFactory(name="Hidden", owner=rep_b)
    )
    client.force_login(rep)
    url = reverse("parties:contact_edit", args=[contact.pk])

    response = client.post(url, form_data(client.get(url), job_title="CTO"))

    assert response.status_code == 302
    assert sorted(contact.affiliations.values_list("organization__name", flat=True)) == [
        "Hidden",
        "Visible",
    ]
