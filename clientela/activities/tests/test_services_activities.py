"""Activity services: validation per kind, sanitized notes, visible records only, lead response time."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from clientela.activities.models import Activity
from clientela.activities.services import activity_delete, activity_log, activity_update
from clientela.activities.tests.factories import ActivityFactory
from clientela.core.models import Event
from clientela.parties.tests.factories import ContactFactory, OrganizationFactory
from clientela.sales.tests.factories import DealFactory, LeadFactory

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


def test_log_a_call_on_a_contact_and_a_deal(rep):
    contact = ContactFactory(owner=rep)
    deal = DealFactory(owner=rep)

    activity = activity_log(
        actor=rep,
        kind="call",
        subject="Intro call",
        direction="outbound",
        duration_seconds=300,
        call_outcome="connected",
        occurred_at=NOW - dt.timedelta(hours=1),
        contacts=[contact],
        deals=[deal.pk],
        now=NOW,
    )

    activity.refresh_from_db()
    assert (activity.kind, activity.subject, activity.direction) == (
        "call",
        "Intro call",
        "outbound",
    )
    assert (activity.duration_seconds, activity.call_outcome) == (300, "connected")
    assert activity.owner == rep
    assert activity.team == rep.teams.get()
    assert list(activity.contacts.all()) == [contact]
    assert list(activity.deals.all()) == [deal]
    assert list(contact.activities.all()) == [activity]
    event = Event.objects.get(kind="activity.logged")
    assert event.record_id == activity.pk
    assert event.data == {
        "label": "Intro call",
        "kind": "call",
        "contacts": [contact.pk],
        "deals": [deal.pk],
    }


def test_a_call_needs_direction_duration_and_outcome(rep):
    with pytest.raises(ValidationError) as error:
        activity_log(actor=rep, kind="call", subject="x", now=NOW)

    assert set(error.value.message_dict) == {"direction", "duration_seconds", "call_outcome"}
    assert Activity.objects.count() == 0


def test_a_meeting_ends_after_it_starts(rep):
    with pytest.raises(ValidationError) as error:
        activity_log(
            actor=rep, kind="meeting", occurred_at=NOW, ends_at=NOW - dt.timedelta(minutes=1)
        )

    assert error.value.message_dict == {"ends_at": ["A meeting ends after it starts."]}
    assert Activity.objects.count() == 0


def test_a_meeting_with_attendees_keeps_its_place(rep, rep_a2):
    activity = activity_log(
        actor=rep,
        kind="meeting",
        subject="Demo",
        occurred_at=NOW,
        ends_at=NOW + dt.timedelta(hours=1),
        location="Office",
        attendees=[rep_a2],
        direction="inbound",  # not a meeting's: cleared
    )

    assert activity.location == "Office"
    assert activity.direction == ""
    assert list(activity.attendees.all()) == [rep_a2]


def test_an_email_needs_a_direction(rep):
    with pytest.raises(ValidationError) as error:
        activity_log(actor=rep, kind="email", subject="Offer")

    assert error.value.message_dict == {"direction": ["Say whether it was inbound or outbound."]}


def test_a_note_keeps_only_simple_rich_text(rep):
    activity = activity_log(
        actor=rep,
        kind="note",
        body='<p onclick="x()">Hi <strong>there</strong><script>alert(1)</script> '
        '<a href="https://example.com" target="_blank">link</a> <img src=x onerror=y>'
        '<a href="javascript:alert(1)">bad</a></p>',
    )

    assert activity.body == (
        '<p>Hi <strong>there</strong> <a href="https://example.com" rel="noopener noreferrer">'
        'link</a> <a rel="noopener noreferrer">bad</a></p>'
    )


def test_a_note_needs_text(rep):
    with pytest.raises(ValidationError) as error:
        activity_log(actor=rep, kind="note", body="<script>only code</script>")

    assert error.value.message_dict == {"body": ["A note needs some text."]}
    assert Activity.objects.count() == 0


def test_an_unknown_kind_is_refused(rep):
    with pytest.raises(ValidationError) as error:
        activity_log(actor=rep, kind="fax", body="x")

    assert list(error.value.message_dict) == ["kind"]


def test_records_the_actor_cannot_see_are_refused(rep, rep_b):
    theirs = ContactFactory(owner=rep_b)
    mine = OrganizationFactory(owner=rep)

    with pytest.raises(ValidationError) as error:
        activity_log(actor=rep, kind="note", body="x", contacts=[theirs], organizations=[mine])

    assert error.value.message_dict == {"contacts": ["Choose records you can see."]}
    assert Activity.objects.count() == 0
    assert Event.objects.count() == 0


def test_a_role_without_activities_add_cannot_log(analyst):
    with pytest.raises(PermissionDenied):
        activity_log(actor=analyst, kind="note", body="x")

    assert Activity.objects.count() == 0


def test_the_first_activity_on_a_lead_sets_its_response_time(rep):
    lead = LeadFactory(owner=rep)

    activity_log(actor=rep, kind="note", body="first", leads=[lead], occurred_at=NOW, now=NOW)
    activity_log(
        actor=rep,
        kind="note",
        body="later",
        leads=[lead],
        occurred_at=NOW + dt.timedelta(hours=2),
        now=NOW + dt.timedelta(hours=2),
    )

    lead.refresh_from_db()
    assert lead.first_activity_at == NOW


def test_an_earlier_activity_logged_afterwards_moves_the_first_activity_back(rep):
    lead = LeadFactory(owner=rep)
    activity_log(actor=rep, kind="note", body="b", leads=[lead], occurred_at=NOW, now=NOW)

    activity_log(
        actor=rep,
        kind="note",
        body="a",
        leads=[lead],
        occurred_at=NOW - dt.timedelta(hours=1),
        now=NOW + dt.timedelta(hours=1),
    )

    lead.refresh_from_db()
    assert lead.first_activity_at == NOW - dt.timedelta(hours=1)


def test_a_future_meeting_counts_from_when_it_was_logged(rep):
    lead = LeadFactory(owner=rep)

    activity_log(
        actor=rep,
        kind="meeting",
        leads=[lead],
        occurred_at=NOW + dt.timedelta(days=2),
        ends_at=NOW + dt.timedelta(days=2, hours=1),
        now=NOW,
    )

    lead.refresh_from_db()
    assert lead.first_activity_at == NOW


def test_the_author_changes_an_activity(rep):
    activity = activity_log(actor=rep, kind="note", body="old", subject="S")

    activity = activity_update(
        actor=rep, activity=activity, body="<em>new</em>", expected_version=1
    )

    activity.refresh_from_db()
    assert (activity.body, activity.version) == ("<em>new</em>", 2)
    event = Event.objects.get(kind="activity.changed")
    assert event.data["changes"] == {"body": {"old": "old", "new": "<em>new</em>"}}


def test_a_colleague_cannot_change_someone_elses_activity(rep, rep_a2):
    activity = activity_log(actor=rep, kind="note", body="mine")

    with pytest.raises(PermissionDenied):
        activity_update(actor=rep_a2, activity=activity, body="theirs")

    activity.refresh_from_db()
    assert (activity.body, activity.version) == ("mine", 1)
    assert not Event.objects.filter(kind="activity.changed").exists()


def test_a_manager_changes_and_deletes_a_team_members_activity(rep, manager):
    activity = activity_log(actor=rep, kind="note", body="mine")

    activity_update(actor=manager, activity=activity, subject="Checked")
    activity_delete(actor=manager, activity=activity)

    assert Activity.objects.count() == 0
    assert list(
        Event.objects.filter(record_id=activity.pk).order_by("id").values_list("kind", flat=True)
    ) == ["activity.logged", "activity.changed", "activity.deleted"]


def test_someone_who_cannot_see_an_activity_gets_not_found(rep, rep_b):
    activity = ActivityFactory(owner=rep, body="x")

    with pytest.raises(Activity.DoesNotExist):
        activity_delete(actor=rep_b, activity=activity)

    assert Activity.objects.count() == 1
