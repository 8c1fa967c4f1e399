"""The notifications page, marking read, following a notification, and the bell."""

import pytest
from django.test import Client

from clientela.core.models import Notification
from clientela.core.services import notification_send


@pytest.fixture
def rep_client(rep):
    client = Client()
    client.force_login(rep)
    return client


def test_the_page_lists_only_my_notifications(rep_client, rep, rep_a2):
    notification_send(user=rep, kind="task.reminded", title="Reminder: Call Ana")
    notification_send(user=rep_a2, kind="task.reminded", title="Not for me")

    response = rep_client.get("/notifications/")

    content = response.content.decode()
    assert "Reminder: Call Ana" in content
    assert "Not for me" not in content


def test_mark_one_and_then_all_read(rep_client, rep):
    first = notification_send(user=rep, kind="x", title="One")
    notification_send(user=rep, kind="x", title="Two")

    rep_client.post("/notifications/read/", {"id": first.pk})
    assert list(
        Notification.objects.filter(read_at__isnull=True).values_list("title", flat=True)
    ) == ["Two"]
    rep_client.post("/notifications/read/")
    assert Notification.objects.filter(read_at__isnull=True).count() == 0


def test_opening_a_notification_marks_it_read_and_follows_it(rep_client, rep):
    notification = notification_send(user=rep, kind="x", title="One", url="/my-day/")

    response = rep_client.post(f"/notifications/{notification.pk}/open/")

    assert response.status_code == 302
    assert response["Location"] == "/my-day/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_a_notification_never_leads_off_site(rep_client, rep):
    notification = notification_send(user=rep, kind="x", title="One", url="https://evil.example/")

    response = rep_client.post(f"/notifications/{notification.pk}/open/")

    assert response["Location"] == "/notifications/"


def test_someone_elses_notification_is_not_found(rep_client, rep_a2):
    notification = notification_send(user=rep_a2, kind="x", title="Theirs")

    assert rep_client.post(f"/notifications/{notification.pk}/open/").status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_the_bell_counts_unread_notifications_after_the_page(rep_client, rep, rep_a2):
    for index in range(3):
        notification_send(user=rep, kind="x", title=f"N{index}")
    notification_send(user=rep_a2, kind="x", title="Theirs")

    page = rep_client.get("/my-day/").content.decode()
    badge = rep_client.get("/notifications/badge/").content.decode()

    assert 'hx-get="/notifications/badge/" hx-trigger="load"' in page
    assert 'href="/notifications/"' in page
    assert "Notifications: 3 unread" in badge
    assert '<span class="badge" aria-hidden="true">3</span>' in badge
