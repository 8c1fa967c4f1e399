import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from clientela.core.exceptions import ConflictError
from clientela.core.models import Event
from clientela.core.selectors import events_of
from clientela.parties.models import Contact
from clientela.parties.services import contact_create, contact_update


def test_contact_create_stores_phone_in_e164_and_records_the_event(rep, team_a):
    contact = contact_create(
        actor=rep,
        first_name="José",
        last_name="Núñez",
        emails=["jose@Example.COM"],
        phones=["(415) 555-0100"],
        tags=["VIP"],
    )

    assert contact.primary_phone == "+14155550100"
    assert contact.primary_email == "jose@example.com"
    assert (contact.owner, contact.team) == (rep, team_a)
    assert [event.kind for event in events_of(contact)] == ["contact.tagged", "contact.created"]


def test_contact_create_rejects_bad_input_and_writes_nothing(rep):
    with pytest.raises(ValidationError) as error:
        contact_create(
            actor=rep, first_name="", last_name="", emails=["nope"], phones=["12"], country="XX"
        )

    assert set(error.value.message_dict) == {"last_name", "emails", "phones", "country"}
    assert Contact.objects.count() == 0
    assert Event.objects.count() == 0


def test_contact_update_records_old_and_new_values(rep):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")

    contact_update(actor=rep, contact=contact, job_title="CTO", expected_version=1)

    changed = events_of(contact).filter(kind="contact.changed").get()
    assert changed.data["changes"] == {"job_title": {"old": "", "new": "CTO"}}
    assert changed.actor == rep
    contact.refresh_from_db()
    assert contact.version == 2


def test_contact_update_with_a_stale_version_is_a_conflict(rep):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")
    contact_update(actor=rep, contact=contact, job_title="CTO")

    with pytest.raises(ConflictError):
        contact_update(actor=rep, contact=contact, job_title="CEO", expected_version=1)

    contact.refresh_from_db()
    assert contact.job_title == "CTO"


def test_representative_cannot_give_a_contact_to_another_team(rep, rep_b):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")

    with pytest.raises(PermissionDenied):
        contact_update(actor=rep, contact=contact, owner=rep_b)

    contact.refresh_from_db()
    assert contact.owner == rep


def test_analyst_cannot_create(analyst):
    with pytest.raises(PermissionDenied):
        contact_create(actor=analyst, first_name="Ana")
    assert Contact.objects.count() == 0


def test_updating_organizations_keeps_links_the_editor_cannot_see(rep, rep_b):
    from clientela.parties.models import Affiliation
    from clientela.parties.tests.factories import OrganizationFactory

    hidden = OrganizationFactory(name="Hidden A/S", owner=rep_b)
    visible = OrganizationFactory(name="Visible ApS", owner=rep)
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")
    Affiliation.objects.create(contact=contact, organization=hidden, is_primary=True)

    contact_update(
        actor=rep, contact=contact, organizations=[{"organization": visible, "role": "CFO"}]
    )

    links = {(a.organization.name, a.role, a.is_primary) for a in contact.affiliations.all()}
    assert links == {("Hidden A/S", "", True), ("Visible ApS", "CFO", False)}
    changed = events_of(contact).get(kind="contact.changed")
    assert changed.data["changes"]["organizations"] == {
        "old": [],
        "new": [{"id": visible.pk, "label": "Visible ApS", "role": "CFO"}],
    }
