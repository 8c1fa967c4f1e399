"""Two people editing one record: the second save is told what changed meanwhile and loses nothing."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import formats, timezone

from clientela.core.models import Event
from clientela.parties.models import Contact
from clientela.parties.services import (
    contact_create,
    contact_update,
    contacts_bulk_update,
    organization_create,
    organization_update,
)
from clientela.parties.tests.form_data import form_data

pytestmark = pytest.mark.django_db


def _seen_event(page):
    """The hidden field the edit page carries: the newest event when it was opened."""
    match = re.search(
        r'<input type="hidden" name="seen_event" value="(\d+)">', page.content.decode()
    )
    assert match, "the edit page carries no seen_event"
    return match.group(1)


def _edit_page(client, url):
    page = client.get(url)
    return page, {"seen_event": _seen_event(page)}


def _at(actor):
    """The time of ``actor``'s latest event, as the conflict message writes it."""
    moment = Event.objects.filter(actor=actor).latest("id").occurred_at
    return formats.time_format(timezone.localtime(moment), "TIME_FORMAT")


def _conflict_lines(response):
    """The conflict box's headlines and change lines, as text."""
    html = response.content.decode()
    box = re.search(r'data-testid="conflict-changes">(.*?)</div>', html, re.S)
    assert box, "no list of changes on the page"
    return [
        re.sub(r"\s+", " ", text).strip()
        for text in re.findall(r"<(?:p|li)[^>]*>(.*?)</(?:p|li)>", box.group(1), re.S)
    ]


def test_the_edit_page_remembers_the_newest_event(client, rep):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz", tags=["VIP"])
    client.force_login(rep)

    page = client.get(reverse("parties:contact_edit", args=[contact.pk]))

    newest = Event.objects.filter(record_id=contact.pk).latest("id")
    assert _seen_event(page) == str(newest.pk)


def test_the_conflict_lists_the_colleagues_changes_and_keeps_what_was_typed(client, rep, rep_a2):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz", job_title="Buyer")
    client.force_login(rep)
    url = reverse("parties:contact_edit", args=[contact.pk])
    page, seen = _edit_page(client, url)
    contact_update(
        actor=rep_a2,
        contact=contact,
        job_title="Head of purchasing",
        phones=["+45 32 12 34 56"],
        lifecycle_stage="customer",
        tags=["VIP"],
    )
    before = Event.objects.count()

    response = client.post(url, {**form_data(page, job_title="CEO", city="Aarhus"), **seen})

    assert response.status_code == 200
    assert _conflict_lines(response) == [
        f"Rep2 changed this contact at {_at(rep_a2)} while you were editing:",
        "Job title: “Buyer” → “Head of purchasing”",
        "Lifecycle stage: “Lead” → “Customer”",
        "Phone numbers: (empty) → “+45 32 12 34 56”",
        "Tags added: VIP",
    ]
    html = response.content.decode()
    assert 'name="job_title" value="CEO"' in html
    assert 'name="city" value="Aarhus"' in html
    assert f'<a href="{url}">Reload the latest version</a>' in html
    assert (
        '<button type="submit" name="overwrite_version" value="2" class="secondary" '
        'data-testid="save-anyway">Save mine anyway</button>'
    ) in html
    contact.refresh_from_db()
    assert (contact.job_title, contact.city, contact.version) == ("Head of purchasing", "", 2)
    assert Event.objects.count() == before


def test_changes_by_several_colleagues_are_told_apart(client, rep, rep_a2, manager):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")
    client.force_login(rep)
    url = reverse("parties:contact_edit", args=[contact.pk])
    page, seen = _edit_page(client, url)
    contact_update(actor=rep_a2, contact=contact, job_title="Buyer")
    contacts_bulk_update(
        actor=manager, contacts=Contact.objects.filter(pk=contact.pk), owner=rep_a2
    )

    response = client.post(url, {**form_data(page, job_title="CEO"), **seen})

    assert _conflict_lines(response) == [
        f"Rep2 changed this contact at {_at(rep_a2)} while you were editing:",
        "Job title: (empty) → “Buyer”",
        f"Manager changed this contact at {_at(manager)} while you were editing:",
        "Owner: “Rep” → “Rep2”",
    ]


def test_saving_again_without_choosing_is_still_a_conflict(client, rep, rep_a2):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")
    client.force_login(rep)
    url = reverse("parties:contact_edit", args=[contact.pk])
    page, seen = _edit_page(client, url)
    contact_update(actor=rep_a2, contact=contact, job_title="Buyer")
    conflict = client.post(url, {**form_data(page, job_title="CEO"), **seen})

    # The conflict page posts its own fields again, as the browser would after a second "Save".
    response = client.post(url, {**form_data(conflict), "seen_event": _seen_event(conflict)})

    assert 'data-testid="conflict"' in response.content.decode()
    assert _conflict_lines(response)[1] == "Job title: (empty) → “Buyer”"
    contact.refresh_from_db()
    assert (contact.job_title, contact.version) == ("Buyer", 2)


def test_save_mine_anyway_overwrites_with_what_was_typed(client, rep, rep_a2):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")
    client.force_login(rep)
    url = reverse("parties:contact_edit", args=[contact.pk])
    page, seen = _edit_page(client, url)
    contact_update(actor=rep_a2, contact=contact, job_title="Buyer", city="Oslo")
    conflict = client.post(url, {**form_data(page, job_title="CEO"), **seen})

    response = client.post(
        url,
        {**form_data(conflict), "seen_event": _seen_event(conflict), "overwrite_version": "2"},
    )

    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.job_title, contact.city, contact.version) == ("CEO", "", 3)
    changed = Event.objects.filter(record_id=contact.pk, kind="contact.changed").latest("id")
    assert changed.actor == rep
    assert changed.data["changes"] == {
        "job_title": {"old": "Buyer", "new": "CEO"},
        "city": {"old": "Oslo", "new": ""},
    }


def test_save_mine_anyway_after_yet_another_change_is_a_conflict_again(client, rep, rep_a2):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")
    client.force_login(rep)
    url = reverse("parties:contact_edit", args=[contact.pk])
    page, seen = _edit_page(client, url)
    contact_update(actor=rep_a2, contact=contact, job_title="Buyer")
    conflict = client.post(url, {**form_data(page, job_title="CEO"), **seen})
    contact_update(actor=rep_a2, contact=contact, city="Oslo")

    response = client.post(
        url,
        {**form_data(conflict), "seen_event": _seen_event(conflict), "overwrite_version": "2"},
    )

    assert response.status_code == 200
    assert _conflict_lines(response) == [
        f"Rep2 changed this contact at {_at(rep_a2)} while you were editing:",
        "Job title: (empty) → “Buyer”",
        "City: (empty) → “Oslo”",
    ]
    assert 'name="overwrite_version" value="3"' in response.content.decode()
    contact.refresh_from_db()
    assert (contact.job_title, contact.city, contact.version) == ("Buyer", "Oslo", 3)


def test_reload_shows_the_latest_values(client, rep, rep_a2):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")
    client.force_login(rep)
    url = reverse("parties:contact_edit", args=[contact.pk])
    page, seen = _edit_page(client, url)
    contact_update(actor=rep_a2, contact=contact, job_title="Buyer")
    client.post(url, {**form_data(page, job_title="CEO"), **seen})

    reloaded = client.get(url)

    html = reloaded.content.decode()
    assert 'name="job_title" value="Buyer"' in html
    assert '<input type="hidden" name="version" value="2"' in html
    assert 'data-testid="conflict"' not in html
    response = client.post(
        url, {**form_data(reloaded, city="Aarhus"), "seen_event": _seen_event(reloaded)}
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.job_title, contact.city, contact.version) == ("Buyer", "Aarhus", 3)


def test_a_form_without_seen_event_still_gets_the_conflict(client, rep, rep_a2):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")
    client.force_login(rep)
    url = reverse("parties:contact_edit", args=[contact.pk])
    page = client.get(url)
    contact_update(actor=rep_a2, contact=contact, job_title="Buyer")

    response = client.post(url, form_data(page, job_title="CEO"))

    html = response.content.decode()
    assert "This record was changed by someone else meanwhile" in html
    assert 'data-testid="conflict-changes"' not in html
    assert 'name="overwrite_version" value="2"' in html


def test_the_organization_conflict_lists_the_changes(client, rep, rep_a2):
    organization = organization_create(actor=rep, name="Acme")
    client.force_login(rep)
    url = reverse("parties:organization_edit", args=[organization.pk])
    page, seen = _edit_page(client, url)
    organization_update(actor=rep_a2, organization=organization, name="Acme Inc", tags=["Key"])

    response = client.post(url, {**form_data(page, name="Acme Ltd"), **seen})

    assert _conflict_lines(response) == [
        f"Rep2 changed this organization at {_at(rep_a2)} while you were editing:",
        "Name: “Acme” → “Acme Inc”",
        "Tags added: Key",
    ]
    assert 'name="name" value="Acme Ltd"' in response.content.decode()
    overwritten = client.post(
        url, {**form_data(response), "seen_event": seen["seen_event"], "overwrite_version": "2"}
    )
    assert overwritten.status_code == 302
    organization.refresh_from_db()
    assert (organization.name, organization.version) == ("Acme Ltd", 3)
    assert [tag.name for tag in organization.tags.all()] == []


def test_a_change_on_another_day_shows_the_date(client, rep, rep_a2):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")
    client.force_login(rep)
    url = reverse("parties:contact_edit", args=[contact.pk])
    page, seen = _edit_page(client, url)
    contact_update(actor=rep_a2, contact=contact, job_title="Buyer")
    yesterday = timezone.now() - datetime.timedelta(days=1)
    Event.objects.filter(record_id=contact.pk, kind="contact.changed").update(occurred_at=yesterday)

    response = client.post(url, {**form_data(page, job_title="CEO"), **seen})

    when = formats.date_format(timezone.localtime(yesterday), "SHORT_DATETIME_FORMAT")
    assert (
        _conflict_lines(response)[0]
        == f"Rep2 changed this contact at {when} while you were editing:"
    )
