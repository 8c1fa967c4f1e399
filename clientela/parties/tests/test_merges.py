"""Merging duplicates (every related row moves, values are chosen, nothing is lost), undoing a merge,
and the merge page."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from clientela.core.exceptions import ConflictError
from clientela.core.models import Event
from clientela.core.services import custom_field_definition_create
from clientela.parties.merges import contacts_merge, merge_undo, organizations_merge
from clientela.parties.models import (
    Affiliation,
    Contact,
    ContactEmail,
    ContactPhone,
    DuplicateCandidate,
    Merge,
    Organization,
)
from clientela.parties.services import contact_create, contact_update, organization_create
from clientela.parties.tests.factories import ContactFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

TAGS = Contact.tags.through
ORGANIZATION_TAGS = Organization.tags.through


def _rows(model, **filters):
    """Every row of ``model`` as a dict, in id order: what "restored exactly" compares."""
    return list(model.objects.filter(**filters).order_by("pk").values())


def _tables():
    return {
        "contacts": _rows(Contact),
        "emails": _rows(ContactEmail),
        "phones": _rows(ContactPhone),
        "affiliations": _rows(Affiliation),
        "tags": _rows(TAGS),
        "events": _rows(Event),
        "candidates": _rows(DuplicateCandidate),
    }


def _counts():
    return {
        "emails": ContactEmail.objects.count(),
        "phones": ContactPhone.objects.count(),
        "affiliations": Affiliation.objects.count(),
        "tags": TAGS.objects.count(),
        "events": Event.objects.count(),
        "candidates": DuplicateCandidate.objects.count(),
    }


def _pair(first, second, score=95, reasons=("email",)):
    low, high = sorted([first, second], key=lambda record: record.pk)
    return DuplicateCandidate.objects.create(
        record_type="contacts",
        first_contact=low,
        second_contact=high,
        score=score,
        reasons=list(reasons),
    )


@pytest.fixture
def duplicates(manager, rep):
    """Ana (the survivor) and her duplicate, who share an email, an organization and a tag, and a
    third contact that looks like the duplicate."""
    acme = organization_create(actor=rep, name="Acme")
    beta = organization_create(actor=rep, name="Beta")
    ana = contact_create(
        actor=rep,
        first_name="Ana",
        last_name="Ruiz",
        emails=["ana@acme.example", "shared@acme.example"],
        phones=["+4532123456"],
        organizations=[{"organization": acme, "role": "CTO"}],
        tags=["VIP"],
    )
    duplicate = contact_create(
        actor=rep,
        first_name="Ana",
        last_name="Ruíz",
        job_title="Chief technology officer",
        city="Aarhus",
        country="DK",
        emails=["ana.ruiz@home.example", "SHARED@acme.example"],
        phones=["+4540404040"],
        organizations=[{"organization": beta, "role": "Advisor"}, acme],
        tags=["VIP", "Lead"],
    )
    other = ContactFactory(owner=rep, first_name="Anna", last_name="Ruiz")
    _pair(ana, duplicate)
    _pair(duplicate, other, score=60, reasons=["name_city"])
    return ana, duplicate, other


# -- what moves ----------------------------------------------------------------------------------


def test_a_merge_moves_every_related_row_and_undo_restores_them_exactly(manager, duplicates):
    ana, duplicate, other = duplicates
    contact_type = ContentType.objects.get_for_model(Contact)
    duplicate_events = set(
        Event.objects.filter(record_type=contact_type, record_id=duplicate.pk).values_list(
            "pk", flat=True
        )
    )
    before_tables, before_counts = _tables(), _counts()

    merge = contacts_merge(actor=manager, survivor=ana, others=[duplicate])

    # The same address, organization and tag are not there twice; everything else moved.
    assert _counts() == {
        "emails": before_counts["emails"] - 1,
        "phones": before_counts["phones"],
        "affiliations": before_counts["affiliations"] - 1,
        "tags": before_counts["tags"] - 1,
        "events": before_counts["events"] + 1,
        "candidates": before_counts["candidates"] - 1,
    }
    assert not Contact.objects.filter(pk=duplicate.pk).exists()
    assert list(ana.emails.values_list("email", "is_primary")) == [
        ("ana@acme.example", True),
        ("shared@acme.example", False),
        ("ana.ruiz@home.example", False),
    ]
    assert list(ana.phones.values_list("number", "is_primary")) == [
        ("+4532123456", True),
        ("+4540404040", False),
    ]
    assert sorted(ana.affiliations.values_list("organization__name", "role", "is_primary")) == [
        ("Acme", "CTO", True),
        ("Beta", "Advisor", False),
    ]
    assert sorted(ana.tags.values_list("name", flat=True)) == ["Lead", "VIP"]
    assert duplicate_events <= set(
        Event.objects.filter(record_type=contact_type, record_id=ana.pk).values_list(
            "pk", flat=True
        )
    )
    assert list(
        DuplicateCandidate.objects.values_list("first_contact", "second_contact", "score")
    ) == [(ana.pk, other.pk, 60)]
    ana.refresh_from_db()
    assert ana.search_text == (
        "ana ruiz ana@acme.example shared@acme.example ana.ruiz@home.example 4532123456 "
        "4540404040 acme beta"
    )
    assert (ana.version, ana.primary_email, ana.primary_phone) == (
        2,
        "ana@acme.example",
        "+4532123456",
    )

    merge_undo(actor=manager, merge=merge)

    after = _tables()
    # Exactly as before, the same ids and values, apart from the survivor's version and time of
    # change, and the two events of the merge and its undoing.
    survivor_before = next(row for row in before_tables["contacts"] if row["id"] == ana.pk)
    survivor_after = next(row for row in after["contacts"] if row["id"] == ana.pk)
    assert survivor_after["version"] == 3
    for row in (survivor_before, survivor_after):
        del row["version"], row["updated_at"]
    assert after["contacts"] == before_tables["contacts"]
    for name in ("emails", "phones", "affiliations", "tags", "candidates"):
        assert after[name] == before_tables[name], name
    assert after["events"][: len(before_tables["events"])] == before_tables["events"]
    assert [(row["kind"], row["record_id"]) for row in after["events"][-2:]] == [
        ("contact.merged", ana.pk),
        ("contact.merge_undone", ana.pk),
    ]
    merge.refresh_from_db()
    assert merge.undone_by == manager
    assert merge.undone_at is not None


def test_merging_three_contacts(manager, rep):
    first = contact_create(actor=rep, first_name="Bo", last_name="Berg", emails=["bo@a.example"])
    second = contact_create(actor=rep, first_name="Bo", last_name="Berg", emails=["bo@b.example"])
    third = contact_create(
        actor=rep, first_name="Bo", last_name="Berg", emails=["bo@c.example", "bo@a.example"]
    )
    before = _tables()

    merge = contacts_merge(actor=manager, survivor=second, others=[first, third])

    assert list(Contact.objects.values_list("pk", flat=True)) == [second.pk]
    assert list(second.emails.values_list("email", flat=True)) == [
        "bo@b.example",
        "bo@a.example",
        "bo@c.example",
    ]
    assert (merge.survivor_id, merge.merged_ids) == (second.pk, [first.pk, third.pk])

    merge_undo(actor=manager, merge=merge)

    after = _tables()
    assert [row["id"] for row in after["contacts"]] == [first.pk, second.pk, third.pk]
    assert after["emails"] == before["emails"]
    assert [row["first_name"] for row in after["contacts"]] == ["Bo", "Bo", "Bo"]


def test_the_survivor_keeps_the_values_chosen_from_any_record(manager, admin_user, rep, rep_a2):
    custom_field_definition_create(
        actor=admin_user,
        record_type="parties.contact",
        key="budget",
        label="Budget",
        field_type="number",
    )
    ana = contact_create(
        actor=rep,
        first_name="Ana",
        last_name="Ruiz",
        job_title="Engineer",
        emails=["ana@acme.example"],
        custom_fields={"budget": 10},
    )
    duplicate = contact_create(
        actor=rep_a2,
        first_name="Ana María",
        last_name="Ruiz",
        job_title="CTO",
        country="ES",
        emails=["ana@home.example"],
    )

    contacts_merge(
        actor=manager,
        survivor=ana,
        others=[duplicate],
        values={
            "first_name": duplicate.pk,
            "job_title": duplicate.pk,
            "primary_email": duplicate.pk,
            "owner": duplicate.pk,
        },
    )

    ana.refresh_from_db()
    assert (ana.first_name, ana.last_name, ana.job_title, ana.country) == (
        "Ana María",
        "Ruiz",
        "CTO",
        "ES",
    )
    assert (ana.owner, ana.custom_fields, ana.primary_email) == (
        rep_a2,
        {"budget": 10},
        "ana@home.example",
    )
    assert list(ana.emails.values_list("email", "is_primary")) == [
        ("ana@home.example", True),
        ("ana@acme.example", False),
    ]
    event = Event.objects.filter(kind="contact.merged").get()
    assert event.record_id == ana.pk
    assert event.actor == manager
    assert event.data["merged"] == [{"id": duplicate.pk, "label": "Ana María Ruiz"}]
    assert event.data["values"] == {
        "first_name": duplicate.pk,
        "job_title": duplicate.pk,
        "primary_email": duplicate.pk,
        "country": duplicate.pk,
        "owner": duplicate.pk,
    }
    assert event.data["changes"]["job_title"] == {"old": "Engineer", "new": "CTO"}


def test_unknown_fields_and_values_from_outside_the_merge_are_refused(manager, duplicates):
    ana, duplicate, other = duplicates
    before = _tables()

    with pytest.raises(ValidationError) as error:
        contacts_merge(
            actor=manager,
            survivor=ana,
            others=[duplicate],
            values={"nickname": duplicate.pk, "job_title": other.pk},
        )

    assert error.value.message_dict == {
        "values": [
            "There is no field “nickname” to choose.",
            "Choose the value of “job_title” from one of the records being merged.",
        ]
    }
    assert _tables() == before


@pytest.mark.parametrize(
    ("others", "message"),
    [
        ("none", "Choose at least one record to merge into the survivor."),
        ("self", "A record cannot be merged into itself."),
        ("twice", "Each record can be merged only once."),
    ],
)
def test_the_records_to_merge_are_checked(manager, duplicates, others, message):
    ana, duplicate, _other = duplicates
    chosen = {"none": [], "self": [ana], "twice": [duplicate, duplicate]}[others]

    with pytest.raises(ValidationError) as error:
        contacts_merge(actor=manager, survivor=ana, others=chosen)

    assert error.value.message_dict == {"merged": [message]}


# -- who may merge, and what --------------------------------------------------------------------


def test_merging_a_record_one_may_not_see_answers_not_found_and_changes_nothing(
    manager, rep, rep_b
):
    ana = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")
    hidden = contact_create(actor=rep_b, first_name="Ana", last_name="Ruiz")
    before = _tables()

    with pytest.raises(Contact.DoesNotExist):
        contacts_merge(actor=manager, survivor=ana, others=[hidden])
    with pytest.raises(Contact.DoesNotExist):
        contacts_merge(actor=manager, survivor=hidden, others=[ana])

    assert _tables() == before


def test_a_representative_may_not_merge_or_undo(manager, rep, duplicates):
    ana, duplicate, _other = duplicates
    before = _tables()

    with pytest.raises(PermissionDenied):
        contacts_merge(actor=rep, survivor=ana, others=[duplicate])
    assert _tables() == before
    merge = contacts_merge(actor=manager, survivor=ana, others=[duplicate])
    after_merge = _tables()
    with pytest.raises(PermissionDenied):
        merge_undo(actor=rep, merge=merge)
    assert _tables() == after_merge


def test_a_record_changed_meanwhile_stops_the_merge(manager, rep, duplicates):
    ana, duplicate, _other = duplicates
    contact_update(actor=rep, contact=duplicate, job_title="CEO")
    before = _tables()

    with pytest.raises(ConflictError) as error:
        contacts_merge(
            actor=manager,
            survivor=ana,
            others=[duplicate],
            expected_versions={ana.pk: 1, duplicate.pk: 1},
        )

    assert error.value.current_version == 2
    assert _tables() == before
    contacts_merge(
        actor=manager, survivor=ana, others=[duplicate], expected_versions={duplicate.pk: 2}
    )


# -- undo ----------------------------------------------------------------------------------------


def test_a_merge_is_undone_only_once(manager, duplicates):
    ana, duplicate, _other = duplicates
    merge = contacts_merge(actor=manager, survivor=ana, others=[duplicate])
    merge_undo(actor=manager, merge=merge)
    before = _tables()

    with pytest.raises(ValidationError) as error:
        merge_undo(actor=manager, merge=merge)

    assert error.value.messages == ["This merge was undone already."]
    assert _tables() == before


def test_undo_leaves_what_was_added_to_the_survivor_since_and_values_changed_since(
    manager, rep, duplicates
):
    ana, duplicate, _other = duplicates
    merge = contacts_merge(
        actor=manager, survivor=ana, others=[duplicate], values={"city": duplicate.pk}
    )
    ana.refresh_from_db()
    new_phone = ContactPhone.objects.create(contact=ana, number="+4550505050")
    contact_update(actor=rep, contact=ana, job_title="Founder")

    merge_undo(actor=manager, merge=merge)

    ana.refresh_from_db()
    restored = Contact.objects.get(pk=duplicate.pk)
    # Founder was set after the merge (it stays); the city came from the merge (it goes back).
    assert (ana.job_title, ana.city, restored.job_title, restored.city) == (
        "Founder",
        "",
        "Chief technology officer",
        "Aarhus",
    )
    assert new_phone.pk in set(ana.phones.values_list("pk", flat=True))
    assert list(restored.phones.values_list("number", flat=True)) == ["+4540404040"]


def test_undo_brings_back_rows_replaced_on_the_survivor_since(manager, rep, duplicates):
    ana, duplicate, _other = duplicates
    before_emails = _rows(ContactEmail, contact=duplicate)
    merge = contacts_merge(actor=manager, survivor=ana, others=[duplicate])
    # Saving the survivor's form replaces all its email rows (new ids).
    contact_update(actor=rep, contact=ana, emails=["ana@acme.example", "ana.ruiz@home.example"])

    merge_undo(actor=manager, merge=merge)

    assert _rows(ContactEmail, contact=duplicate) == before_emails
    assert list(ana.emails.values_list("email", flat=True)) == [
        "ana@acme.example",
        "ana.ruiz@home.example",
    ]


def test_undo_is_refused_when_the_survivor_is_gone(manager, duplicates):
    ana, duplicate, _other = duplicates
    merge = contacts_merge(actor=manager, survivor=ana, others=[duplicate])
    Contact.objects.filter(pk=ana.pk).delete()

    with pytest.raises(ValidationError) as error:
        merge_undo(actor=manager, merge=merge)

    assert error.value.messages == [
        "The record these were merged into no longer exists: the merge cannot be undone."
    ]
    assert not Contact.objects.filter(pk=duplicate.pk).exists()


def test_undo_of_a_merge_into_a_record_one_may_not_see_answers_not_found(manager, rep_b, team_b):
    from clientela.identity.tests.factories import UserFactory

    other_manager = UserFactory(role="manager", teams=[team_b])
    one = contact_create(actor=rep_b, first_name="Bo", last_name="Berg")
    two = contact_create(actor=rep_b, first_name="Bo", last_name="Berg")
    merge = contacts_merge(actor=other_manager, survivor=one, others=[two])

    with pytest.raises(Merge.DoesNotExist):
        merge_undo(actor=manager, merge=merge)

    assert Merge.objects.get().undone_at is None


# -- organizations -------------------------------------------------------------------------------


def test_merging_organizations_moves_their_people_and_tags_and_undo_restores_them(manager, rep):
    acme = organization_create(actor=rep, name="Acme", website="https://acme.example", tags=["Key"])
    acme_inc = organization_create(
        actor=rep, name="Acme Inc", industry="software", tags=["Key", "Partner"]
    )
    ana = contact_create(actor=rep, first_name="Ana", last_name="Ruiz", organizations=[acme_inc])
    bo = contact_create(
        actor=rep, first_name="Bo", last_name="Berg", organizations=[acme, acme_inc]
    )
    before_affiliations = _rows(Affiliation)
    before_tags = _rows(ORGANIZATION_TAGS)
    before_contacts = _rows(Contact)

    merge = organizations_merge(
        actor=manager, survivor=acme, others=[acme_inc], values={"industry": acme_inc.pk}
    )

    acme.refresh_from_db()
    assert (acme.name, acme.industry, acme.domain, acme.version) == (
        "Acme",
        "software",
        "acme.example",
        2,
    )
    assert sorted(acme.affiliations.values_list("contact__first_name", flat=True)) == [
        "Ana",
        "Bo",
    ]
    assert Affiliation.objects.count() == len(before_affiliations) - 1
    assert sorted(acme.tags.values_list("name", flat=True)) == ["Key", "Partner"]
    ana.refresh_from_db()
    assert ana.search_text == "ana ruiz acme"
    assert Event.objects.filter(kind="organization.merged", record_id=acme.pk).count() == 1

    merge_undo(actor=manager, merge=merge)

    assert _rows(Affiliation) == before_affiliations
    assert _rows(ORGANIZATION_TAGS) == before_tags
    assert _rows(Contact) == before_contacts
    assert Organization.objects.get(pk=acme_inc.pk).name == "Acme Inc"
    assert bo.affiliations.count() == 2


# -- the merge page ------------------------------------------------------------------------------


def _merge_url(*records, model="contact"):
    ids = ",".join(str(record.pk) for record in records)
    return f"{reverse(f'parties:{model}_merge')}?ids={ids}"


def test_the_merge_page_shows_a_column_per_record_and_a_choice_where_they_differ(
    client, manager, duplicates
):
    ana, duplicate, _other = duplicates
    client.force_login(manager)

    response = client.get(_merge_url(ana, duplicate))

    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["survivor"] == duplicate  # the most complete one
    assert f'name="survivor" value="{duplicate.pk}" checked' in html
    assert f'name="field_job_title" value="{duplicate.pk}" checked' in html
    assert f'name="field_last_name" value="{duplicate.pk}" checked' in html
    assert 'name="field_first_name"' not in html  # the same in both: nothing to choose
    assert "ana.ruiz@home.example" in html
    assert "Merge 1 record into Ana Ruíz." in html
    assert (
        "Moving to it: 2 email addresses, 1 phone number, 1 organization, 1 tag, "
        "2 timeline events." in html
    )


def test_merging_from_the_page_keeps_the_choices_and_offers_undo_on_the_survivor(
    client, manager, duplicates
):
    ana, duplicate, _other = duplicates
    client.force_login(manager)

    response = client.post(
        _merge_url(ana, duplicate).split("?")[0],
        {
            "ids": f"{ana.pk},{duplicate.pk}",
            "survivor": ana.pk,
            "field_job_title": duplicate.pk,
            "field_last_name": ana.pk,
            f"version_{ana.pk}": 1,
            f"version_{duplicate.pk}": 1,
            "confirm": "1",
        },
    )

    merge = Merge.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/contacts/{ana.pk}/?merged={merge.pk}"
    ana.refresh_from_db()
    assert (ana.last_name, ana.job_title) == ("Ruiz", "Chief technology officer")
    page = client.get(response["Location"]).content.decode()
    assert "Ana Ruíz was merged into this record." in page
    assert f'action="/merges/{merge.pk}/undo/"' in page
    assert "Merged with duplicates" in page

    undone = client.post(reverse("parties:merge_undo", args=[merge.pk]), follow=True)

    assert undone.redirect_chain == [(f"/contacts/{ana.pk}/", 302)]
    assert Contact.objects.filter(pk=duplicate.pk).exists()
    html = undone.content.decode()
    assert "The merge was undone: Ana Ruíz is a separate record again." in html
    assert "Merge undone" in html
    assert "was merged into this record" not in client.get(response["Location"]).content.decode()


def test_the_merge_page_asks_for_the_confirmation(client, manager, duplicates):
    ana, duplicate, _other = duplicates
    client.force_login(manager)

    response = client.post(
        reverse("parties:contact_merge"), {"ids": f"{ana.pk},{duplicate.pk}", "survivor": ana.pk}
    )

    assert response.status_code == 200
    assert "Tick the box to confirm the merge." in response.content.decode()
    assert Merge.objects.count() == 0


def test_the_merge_page_tells_when_a_record_changed_meanwhile(client, manager, rep, duplicates):
    ana, duplicate, _other = duplicates
    contact_update(actor=rep, contact=duplicate, job_title="CEO")
    client.force_login(manager)

    response = client.post(
        reverse("parties:contact_merge"),
        {
            "ids": f"{ana.pk},{duplicate.pk}",
            "survivor": ana.pk,
            f"version_{duplicate.pk}": 1,
            "confirm": "1",
        },
    )

    assert response.status_code == 200
    assert 'data-testid="merge-conflict"' in response.content.decode()
    assert f'name="version_{duplicate.pk}" value="2"' in response.content.decode()
    assert Merge.objects.count() == 0


def test_the_merge_page_answers_htmx_with_the_form_for_another_survivor(
    client, manager, duplicates
):
    ana, duplicate, _other = duplicates
    client.force_login(manager)

    response = client.get(
        reverse("parties:contact_merge"),
        {"ids": f"{ana.pk},{duplicate.pk}", "survivor": ana.pk},
        headers={"HX-Request": "true", "HX-Target": "merge-form"},
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<form method="post" id="merge-form"')
    assert f'name="field_job_title" value="{duplicate.pk}" checked' in html
    assert f'name="field_last_name" value="{ana.pk}" checked' in html


def test_the_merge_page_of_organizations(client, admin_user, rep):
    acme = OrganizationFactory(owner=rep, name="Acme", city="Aarhus")
    acme_inc = OrganizationFactory(owner=rep, name="Acme Inc", phone="+4532123456")
    client.force_login(admin_user)

    response = client.get(_merge_url(acme, acme_inc, model="organization"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "+45 32 12 34 56" in html
    assert f'name="field_name" value="{acme.pk}"' in html


def test_the_merge_page_needs_the_permission_and_visible_records(client, manager, rep, rep_b):
    ana = ContactFactory(owner=rep)
    duplicate = ContactFactory(owner=rep)
    hidden = ContactFactory(owner=rep_b)

    client.force_login(rep)
    assert client.get(_merge_url(ana, duplicate)).status_code == 403
    client.force_login(manager)
    assert client.get(_merge_url(ana, hidden)).status_code == 404
    response = client.get(_merge_url(ana))
    assert response.status_code == 302
    assert response["Location"] == "/duplicates/?type=contacts"


def test_the_undo_page_confirms_first(client, manager, duplicates):
    ana, duplicate, _other = duplicates
    merge = contacts_merge(actor=manager, survivor=ana, others=[duplicate])
    client.force_login(manager)

    page = client.get(reverse("parties:merge_undo", args=[merge.pk])).content.decode()

    assert "Ana Ruíz comes back as it was" in page
    assert Merge.objects.get().undone_at is None
    client.post(reverse("parties:merge_undo", args=[merge.pk]))
    again = client.post(reverse("parties:merge_undo", args=[merge.pk]), follow=True)
    assert "This merge was undone already." in again.content.decode()
