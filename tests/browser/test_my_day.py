"""My day in a real browser: add a task with the quick add, see it, mark it done."""

import pytest
from playwright.sync_api import expect

from clientela.activities.models import Task


@pytest.fixture
def browser_db(transactional_db):
    """The live server runs in another thread: its data must be committed, not in a test transaction."""


@pytest.mark.usefixtures("browser_db")
def test_create_a_task_and_see_it_in_my_day(page, login, rep):
    import datetime as dt

    from django.utils import timezone

    tomorrow = timezone.localdate() + dt.timedelta(days=1)  # the user's zone is UTC
    login(rep)
    page.goto("/my-day/")

    page.get_by_placeholder("A new task").fill("Call Ana about the offer")
    page.get_by_label("Due", exact=True).fill(f"{tomorrow:%Y-%m-%d}T09:30")
    page.get_by_role("button", name="Add task").click()

    expect(page.get_by_test_id("upcoming")).to_contain_text("Call Ana about the offer")
    expect(page.get_by_placeholder("A new task")).to_have_value("")
    task = Task.objects.get()
    assert (task.title, task.owner) == ("Call Ana about the offer", rep)
    assert task.due_at == dt.datetime.combine(tomorrow, dt.time(9, 30), tzinfo=dt.UTC)


@pytest.mark.usefixtures("browser_db")
def test_a_task_due_today_shows_under_today_and_can_be_marked_done(page, login, rep):
    from django.utils import timezone

    Task.objects.create(
        title="Send the contract", owner=rep, team=rep.teams.first(), due_at=timezone.now()
    )
    login(rep)
    page.goto("/my-day/")

    today = page.get_by_test_id("today")
    expect(today).to_contain_text("Send the contract")
    today.get_by_role("button", name="Mark “Send the contract” done").click()

    expect(page.get_by_test_id("today")).not_to_contain_text("Send the contract")
    assert Task.objects.get().status == "done"


@pytest.mark.usefixtures("browser_db")
def test_log_a_call_on_a_contact_page(page, login, rep):
    from clientela.activities.models import Activity
    from clientela.parties.tests.factories import ContactFactory

    contact = ContactFactory(owner=rep, first_name="Ana", last_name="Ruiz")
    login(rep)
    page.goto(f"/contacts/{contact.pk}/")

    page.get_by_test_id("kind-call").click()
    expect(page.get_by_label("Duration (minutes)")).to_be_visible()  # the call's fields came
    page.get_by_label("Subject").fill("Intro call")
    page.get_by_label("Outbound").check()
    page.get_by_label("Duration (minutes)").fill("12")
    page.get_by_label("Outcome").select_option("connected")
    page.get_by_role("button", name="Log activity").click()

    expect(page.get_by_test_id("activities")).to_contain_text("Intro call")
    expect(page.get_by_test_id("activities")).to_contain_text("12:00")
    activity = Activity.objects.get()
    assert (activity.kind, activity.duration_seconds) == ("call", 720)
    assert list(activity.contacts.all()) == [contact]
