"""Assignment rules: which rule routes a new lead, round robin fairness, inactive people, notices."""

from collections import Counter

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from clientela.core.models import Event, Notification
from clientela.identity.tests.factories import TeamFactory, UserFactory
from clientela.sales.leads import (
    assignment_rule_create,
    assignment_rule_delete,
    assignment_rule_update,
    lead_assign_new,
    lead_create,
)
from clientela.sales.models import AssignmentRule
from clientela.sales.tests.factories import WebFormFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sellers():
    """A team of four by id order: Ann, Ben (deactivated), Cat, Dan."""
    team = TeamFactory(name="Sellers")
    people = [
        UserFactory(full_name=name, email=f"{name.lower()}@example.com", teams=[team])
        for name in ("Ann", "Ben", "Cat", "Dan")
    ]
    people[1].is_active = False
    people[1].save()
    return team, people


def test_round_robin_deals_leads_evenly_to_the_active_members(admin_user, sellers, rep):
    team, (ann, _ben, cat, dan) = sellers
    rule = assignment_rule_create(actor=admin_user, name="Everyone", team=team)

    owners = [lead_create(actor=rep, last_name=f"Lead {n}").owner for n in range(9)]

    assert owners == [ann, cat, dan] * 3
    assert Counter(owners) == {ann: 3, cat: 3, dan: 3}
    rule.refresh_from_db()
    assert rule.last_assigned == dan


def test_round_robin_goes_on_after_the_last_one_even_when_they_left(admin_user, sellers, rep):
    team, (ann, _ben, cat, dan) = sellers
    assignment_rule_create(actor=admin_user, name="Everyone", team=team)
    assert lead_create(actor=rep, last_name="One").owner == ann
    assert lead_create(actor=rep, last_name="Two").owner == cat
    cat.is_active = False
    cat.save()

    assert lead_create(actor=rep, last_name="Three").owner == dan
    assert lead_create(actor=rep, last_name="Four").owner == ann


def test_routed_leads_go_to_the_rules_team(admin_user, sellers, rep):
    team, _people = sellers
    assignment_rule_create(actor=admin_user, name="Everyone", team=team)

    lead = lead_create(actor=rep, last_name="One")

    assert lead.team == team
    assigned = Event.objects.get(record_id=lead.pk, kind="lead.assigned")
    assert assigned.data["rule"]["label"] == "Everyone"


def test_rules_are_tried_in_position_order_and_conditions_must_match(
    admin_user, rep, rep_a2, rep_b, team_b
):
    assignment_rule_create(
        actor=admin_user, name="Danes", method="user", user=rep_a2, countries=["DK"], position=2
    )
    assignment_rule_create(
        actor=admin_user, name="Fairs", method="user", user=rep_b, sources=["event"], position=1
    )

    dane = lead_create(actor=rep, last_name="Dane", country="DK")
    dane_at_fair = lead_create(actor=rep, last_name="Fair", country="DK", source="event")
    swede = lead_create(actor=rep, last_name="Swede", country="SE")

    assert (dane.owner, dane_at_fair.owner, swede.owner) == (rep_a2, rep_b, rep)
    assert dane_at_fair.team == team_b


def test_a_rule_for_an_inactive_person_falls_through_to_the_next(admin_user, rep, rep_a2, manager):
    assignment_rule_create(actor=admin_user, name="First", method="user", user=rep_a2)
    assignment_rule_create(actor=admin_user, name="Second", method="user", user=manager)
    rep_a2.is_active = False
    rep_a2.save()

    assert lead_create(actor=rep, last_name="X").owner == manager


def test_inactive_rules_are_skipped(admin_user, rep, rep_a2):
    assignment_rule_create(
        actor=admin_user, name="Off", method="user", user=rep_a2, is_active=False
    )

    assert lead_create(actor=rep, last_name="X").owner == rep


def test_a_rule_for_one_web_form_only_routes_its_leads(admin_user, rep, rep_a2):
    form = WebFormFactory(default_owner=rep)
    assignment_rule_create(actor=admin_user, name="Form", method="user", user=rep_a2, web_form=form)

    typed = lead_create(actor=rep, last_name="Typed")
    submitted = lead_create(actor=None, web_form=form, last_name="Sent", email="s@example.com")

    assert (typed.owner, submitted.owner) == (rep, rep_a2)


def test_the_assignee_is_notified_after_the_commit_in_their_language(
    admin_user, rep, rep_a2, django_capture_on_commit_callbacks
):
    rep_a2.language = "da"
    rep_a2.save()
    assignment_rule_create(actor=admin_user, name="All", method="user", user=rep_a2)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        lead = lead_create(actor=rep, first_name="Ana", last_name="Ruiz", company_name="Acme")
    assert Notification.objects.count() == 0
    for callback in callbacks:
        callback()

    notification = Notification.objects.get()
    assert notification.user == rep_a2
    assert notification.kind == "lead.assigned"
    assert notification.url == reverse("sales:lead_detail", args=[lead.pk])
    assert "Ana Ruiz" in notification.title
    assert notification.body == "Acme"


def test_nobody_is_notified_of_their_own_lead(rep, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        lead_create(actor=rep, last_name="Mine")

    assert Notification.objects.count() == 0


def test_lead_assign_new_routes_an_existing_lead_again(admin_user, manager, rep, rep_a2):
    lead = lead_create(actor=rep, last_name="X")
    assignment_rule_create(actor=admin_user, name="All", method="user", user=rep_a2)

    lead = lead_assign_new(actor=manager, lead=lead)

    assert lead.owner == rep_a2
    assert lead.version == 2


def test_rule_services_need_the_configure_permission(manager, team_a):
    with pytest.raises(PermissionDenied):
        assignment_rule_create(actor=manager, name="Nope", team=team_a)

    assert AssignmentRule.objects.count() == 0


def test_rule_validation(admin_user, rep):
    with pytest.raises(ValidationError) as round_robin:
        assignment_rule_create(actor=admin_user, name="No team")
    with pytest.raises(ValidationError) as unknown:
        assignment_rule_create(
            actor=admin_user,
            name="Bad",
            method="user",
            user=rep,
            sources=["carrier pigeon"],
            countries=["XX"],
        )

    assert round_robin.value.message_dict == {"team": ["Choose the team whose members take turns."]}
    assert unknown.value.message_dict == {
        "sources": ["Unknown sources: carrier pigeon."],
        "countries": ["Unknown countries: XX."],
    }
    assert AssignmentRule.objects.count() == 0


def test_rules_get_the_next_position_and_can_change_and_go(admin_user, rep, team_a):
    first = assignment_rule_create(actor=admin_user, name="First", team=team_a)
    second = assignment_rule_create(actor=admin_user, name="Second", method="user", user=rep)

    updated = assignment_rule_update(actor=admin_user, rule=second, countries=["dk"], position=0)
    assignment_rule_delete(actor=admin_user, rule=first)

    assert (first.position, second.position) == (1, 2)
    assert (updated.countries, updated.position) == (["DK"], 0)
    assert list(AssignmentRule.objects.values_list("name", flat=True)) == ["Second"]
    assert Event.objects.filter(kind="assignment_rule.changed").count() == 1


def test_rule_pages_are_for_administrators(client, admin_user, manager, team_a):
    client.force_login(manager)
    assert client.get(reverse("sales:rule_list")).status_code == 403

    client.force_login(admin_user)
    created = client.post(
        reverse("sales:rule_create"),
        {"name": "Team A", "method": "round_robin", "team": team_a.pk, "is_active": "on"},
    )
    listing = client.get(reverse("sales:rule_list"))

    assert created.status_code == 302
    assert listing.status_code == 200
    assert "In turn in Team A" in listing.content.decode()
    assert AssignmentRule.objects.get().team == team_a
