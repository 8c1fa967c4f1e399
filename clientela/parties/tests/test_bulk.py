"""Bulk changes: the services, the list pages' bulk bar and confirmation, the bulk-update endpoints."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from clientela.core.models import Event, Tag
from clientela.core.selectors import events_of
from clientela.identity.tests.factories import TeamFactory, UserFactory
from clientela.parties.models import Contact, Organization
from clientela.parties.services import (
    contact_update,
    contacts_bulk_update,
    organizations_bulk_update,
)
from clientela.parties.tests.factories import (
    AffiliationFactory,
    ContactFactory,
    OrganizationFactory,
)

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
CONTACT_BULK = reverse("parties:contact_bulk")
ORGANIZATION_BULK = reverse("parties:organization_bulk")
CONTACT_BULK_API = "/api/v1/contacts/bulk-update/"
ORGANIZATION_BULK_API = "/api/v1/organizations/bulk-update/"


def _state(model=Contact):
    """Every record's owner, team, stage (contacts), version and tags, and the number of events."""
    fields = ["pk", "owner_id", "team_id", "version", "updated_at"]
    if model is Contact:
        fields.append("lifecycle_stage")
    records = {
        row["pk"]: {**row, "tags": set()} for row in model.objects.values(*fields).order_by("pk")
    }
    for record in model.objects.prefetch_related("tags"):
        records[record.pk]["tags"] = {tag.name for tag in record.tags.all()}
    return {"records": records, "events": Event.objects.count(), "tags": Tag.objects.count()}


def _events(record):
    """(kind, data) of a record's events, oldest first."""
    return [(event.kind, event.data) for event in events_of(record).order_by("id")]


def _ref(instance):
    return {"id": instance.pk, "label": str(instance)}


# -- the services ------------------------------------------------------------------------------


def test_contacts_bulk_update_gives_visible_contacts_a_new_owner_with_one_event_each(
    manager, rep, rep_a2, rep_b
):
    first = ContactFactory(owner=rep, first_name="Ana", last_name="Ruiz")
    second = ContactFactory(owner=rep, first_name="Bo", last_name="Berg")
    already = ContactFactory(owner=rep_a2, first_name="Cy", last_name="Cruz")
    hidden = ContactFactory(owner=rep_b, first_name="Di", last_name="Dahl")
    untouched = ContactFactory(owner=rep, first_name="Ed", last_name="Eng")
    before = _state()

    # The caller passes a forged id (another team's contact); the service scopes it away.
    changed = contacts_bulk_update(
        actor=manager,
        contacts=Contact.objects.filter(pk__in=[first.pk, second.pk, already.pk, hidden.pk]),
        owner=rep_a2,
    )

    assert changed == 2
    after = _state()
    for contact in (first, second):
        assert after["records"][contact.pk]["owner_id"] == rep_a2.pk
        assert after["records"][contact.pk]["team_id"] == before["records"][contact.pk]["team_id"]
        assert after["records"][contact.pk]["version"] == 2
        assert (
            after["records"][contact.pk]["updated_at"] > before["records"][contact.pk]["updated_at"]
        )
        event = events_of(contact).get()
        assert (event.kind, event.actor, event.data) == (
            "contact.owner_changed",
            manager,
            {
                "label": str(contact),
                "changes": {"owner": {"old": _ref(rep), "new": _ref(rep_a2)}},
            },
        )
    for contact in (already, hidden, untouched):
        assert after["records"][contact.pk] == before["records"][contact.pk]
        assert not events_of(contact).exists()
    assert after["events"] == before["events"] + 2


def test_a_bulk_change_records_the_same_events_as_one_edit(manager, rep, rep_a2, team_a):
    vip = Tag.objects.create(name="VIP")
    old = Tag.objects.create(name="Old")
    edited = ContactFactory(owner=rep, first_name="Ana", last_name="Ruiz")
    bulked = ContactFactory(owner=rep, first_name="Bo", last_name="Berg")
    for contact in (edited, bulked):
        contact.tags.set([old])

    contact_update(
        actor=manager,
        contact=edited,
        owner=rep_a2,
        lifecycle_stage="customer",
        tags=["VIP", "Fair"],
    )
    changed = contacts_bulk_update(
        actor=manager,
        contacts=Contact.objects.filter(pk=bulked.pk),
        owner=rep_a2,
        lifecycle_stage="customer",
        tags_add=["vip", "Fair"],
        tags_remove=["Old"],
    )

    assert changed == 1

    def without_label(events):
        return [(kind, {k: v for k, v in data.items() if k != "label"}) for kind, data in events]

    assert without_label(_events(bulked)) == without_label(_events(edited))
    assert _events(bulked) == [
        (
            "contact.changed",
            {
                "label": "Bo Berg",
                "changes": {"lifecycle_stage": {"old": "lead", "new": "customer"}},
            },
        ),
        (
            "contact.owner_changed",
            {"label": "Bo Berg", "changes": {"owner": {"old": _ref(rep), "new": _ref(rep_a2)}}},
        ),
        ("contact.tagged", {"label": "Bo Berg", "tags": ["Fair", "VIP"]}),
        ("contact.untagged", {"label": "Bo Berg", "tags": ["Old"]}),
    ]
    bulked.refresh_from_db()
    assert (bulked.version, bulked.owner, bulked.team, bulked.lifecycle_stage) == (
        2,
        rep_a2,
        team_a,
        "customer",
    )
    assert {tag.name for tag in bulked.tags.all()} == {"VIP", "Fair"}
    assert Tag.objects.filter(name__iexact="vip").get() == vip


def test_records_that_already_have_the_values_are_neither_changed_nor_counted(rep):
    vip = Tag.objects.create(name="VIP")
    tagged = ContactFactory(owner=rep, lifecycle_stage="customer")
    tagged.tags.add(vip)
    lead = ContactFactory(owner=rep, lifecycle_stage="lead")
    before = _state()

    changed = contacts_bulk_update(
        actor=rep,
        contacts=Contact.objects.all(),
        lifecycle_stage="customer",
        tags_add=["VIP"],
    )

    assert changed == 1
    after = _state()
    assert after["records"][tagged.pk] == before["records"][tagged.pk]
    assert (after["records"][lead.pk]["version"], after["records"][lead.pk]["tags"]) == (
        2,
        {"VIP"},
    )
    assert [kind for kind, _data in _events(lead)] == ["contact.changed", "contact.tagged"]
    assert after["events"] == before["events"] + 2


def test_removing_tags_touches_only_the_records_that_carry_them(rep):
    vip, fair = Tag.objects.create(name="VIP"), Tag.objects.create(name="Fair")
    both = ContactFactory(owner=rep)
    both.tags.set([vip, fair])
    only_fair = ContactFactory(owner=rep)
    only_fair.tags.set([fair])
    neither = ContactFactory(owner=rep)

    changed = contacts_bulk_update(
        actor=rep, contacts=Contact.objects.all(), tags_remove=["vip", "Unknown"]
    )

    assert changed == 1
    assert {tag.name for tag in both.tags.all()} == {"Fair"}
    assert {tag.name for tag in only_fair.tags.all()} == {"Fair"}
    assert _events(both) == [("contact.untagged", {"label": str(both), "tags": ["VIP"]})]
    assert _events(only_fair) == _events(neither) == []
    assert Tag.objects.count() == 2


def test_adding_a_new_tag_creates_it_once(rep):
    contacts = [ContactFactory(owner=rep) for _number in range(3)]

    changed = contacts_bulk_update(
        actor=rep, contacts=Contact.objects.all(), tags_add=["Fair 2026"]
    )

    assert changed == 3
    tag = Tag.objects.get()
    assert tag.name == "Fair 2026"
    assert [list(contact.tags.all()) for contact in contacts] == [[tag]] * 3
    assert Event.objects.filter(kind="tag.created").count() == 1


def test_an_administrator_moves_contacts_to_another_team(admin_user, rep, team_a, team_b):
    contact = ContactFactory(owner=rep)

    changed = contacts_bulk_update(actor=admin_user, contacts=Contact.objects.all(), team=team_b)

    assert changed == 1
    contact.refresh_from_db()
    assert (contact.owner, contact.team, contact.version) == (rep, team_b, 2)
    assert _events(contact) == [
        (
            "contact.owner_changed",
            {
                "label": str(contact),
                "changes": {"team": {"old": _ref(team_a), "new": _ref(team_b)}},
            },
        )
    ]


def test_a_representative_may_not_give_contacts_to_someone_else(rep, rep_a2):
    ContactFactory(owner=rep)
    ContactFactory(owner=rep)
    before = _state()

    with pytest.raises(PermissionDenied) as error:
        contacts_bulk_update(actor=rep, contacts=Contact.objects.all(), owner=rep_a2)

    assert str(error.value) == "Your role does not allow giving records to Rep2."
    assert _state() == before


def test_a_representative_may_take_visible_contacts_for_themselves(rep, rep_a2):
    shared = ContactFactory(owner=rep_a2, is_shared_with_team=True)
    private = ContactFactory(owner=rep_a2, is_shared_with_team=False)

    changed = contacts_bulk_update(actor=rep, contacts=Contact.objects.all(), owner=rep)

    assert changed == 1
    shared.refresh_from_db()
    private.refresh_from_db()
    assert (shared.owner, private.owner) == (rep, rep_a2)


def test_a_representative_may_not_move_contacts_to_a_team_they_are_not_in(rep, team_b):
    ContactFactory(owner=rep)
    before = _state()

    with pytest.raises(PermissionDenied) as error:
        contacts_bulk_update(actor=rep, contacts=Contact.objects.all(), team=team_b)

    assert str(error.value) == "Your role does not allow giving records to the team Team B."
    assert _state() == before


def test_a_role_that_may_not_change_contacts_changes_nothing(analyst, rep):
    ContactFactory(owner=rep)
    before = _state()

    with pytest.raises(PermissionDenied):
        contacts_bulk_update(actor=analyst, contacts=Contact.objects.all(), lifecycle_stage="other")

    assert _state() == before


def test_a_deactivated_user_cannot_be_given_contacts(manager, rep):
    ContactFactory(owner=manager)
    rep.is_active = False
    rep.save()
    before = _state()

    with pytest.raises(PermissionDenied) as error:
        contacts_bulk_update(actor=manager, contacts=Contact.objects.all(), owner=rep)

    assert str(error.value) == "Rep is deactivated and cannot own records."
    assert _state() == before


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        (
            {"lifecycle_stage": "boss"},
            {"lifecycle_stage": ["Choose a lifecycle stage from the list."]},
        ),
        (
            {"tags_add": ["VIP", " "], "tags_remove": ["x" * 61]},
            {
                "tags_add": ["A tag needs a name."],
                "tags_remove": ["A tag name has at most 60 characters."],
            },
        ),
        (
            {"tags_add": ["VIP", "Fair"], "tags_remove": ["vip"]},
            {"tags_remove": ["A tag cannot be added and removed at once: VIP."]},
        ),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(rep, changes, errors):
    ContactFactory(owner=rep)
    before = _state()

    with pytest.raises(ValidationError) as error:
        contacts_bulk_update(actor=rep, contacts=Contact.objects.all(), **changes)

    assert error.value.message_dict == errors
    assert _state() == before


def test_a_change_of_nothing_is_refused(rep):
    ContactFactory(owner=rep)

    with pytest.raises(ValidationError) as error:
        contacts_bulk_update(actor=rep, contacts=Contact.objects.all(), tags_add=[])

    assert error.value.messages == ["Choose what to change."]


def test_more_records_than_the_limit_are_refused(rep, settings):
    settings.CLIENTELA_BULK_MAX = 2
    for _number in range(3):
        ContactFactory(owner=rep)
    before = _state()

    with pytest.raises(ValidationError) as error:
        contacts_bulk_update(actor=rep, contacts=Contact.objects.all(), lifecycle_stage="customer")

    assert error.value.messages == [
        "One bulk change touches at most 2 records, and these are more. "
        "Narrow them down with the filters."
    ]
    assert _state() == before


def test_the_limit_counts_only_the_records_the_actor_can_see(rep, rep_b, settings):
    settings.CLIENTELA_BULK_MAX = 2
    ContactFactory(owner=rep)
    ContactFactory(owner=rep)
    ContactFactory(owner=rep_b)

    assert (
        contacts_bulk_update(actor=rep, contacts=Contact.objects.all(), lifecycle_stage="customer")
        == 2
    )


def test_a_dry_run_counts_what_would_change_and_writes_nothing(manager, rep, rep_a2):
    ContactFactory(owner=rep)
    ContactFactory(owner=rep)
    ContactFactory(owner=rep_a2)
    before = _state()

    changed = contacts_bulk_update(
        actor=manager, contacts=Contact.objects.all(), owner=rep_a2, tags_add=["New"], dry_run=True
    )

    assert changed == 3
    assert _state() == before


def test_a_dry_run_checks_the_permissions_too(rep, rep_a2):
    ContactFactory(owner=rep)

    with pytest.raises(PermissionDenied):
        contacts_bulk_update(actor=rep, contacts=Contact.objects.all(), owner=rep_a2, dry_run=True)


@pytest.mark.parametrize("size", [5, 50])
def test_the_bulk_service_runs_the_same_number_of_queries_for_any_number_of_records(
    manager, rep, rep_a2, size, django_assert_num_queries
):
    old = Tag.objects.create(name="Old")
    Tag.objects.create(name="VIP")
    for _number in range(size):
        ContactFactory(owner=rep).tags.add(old)
    contacts = Contact.objects.all()
    ContentType.objects.get_for_model(Contact)  # cached for the rest of the process, as in a server

    # savepoint, existing tags, locked rows, tag links, assignable owners, update, tag links
    # inserted, tag links deleted, old owners, events, release
    with django_assert_num_queries(11):
        changed = contacts_bulk_update(
            actor=manager,
            contacts=contacts,
            owner=rep_a2,
            lifecycle_stage="customer",
            tags_add=["VIP"],
            tags_remove=["Old"],
        )

    assert changed == size
    assert Event.objects.filter(kind="contact.owner_changed").count() == size
    assert Event.objects.filter(kind="contact.changed").count() == size
    assert Event.objects.filter(kind="contact.tagged").count() == size
    assert Event.objects.filter(kind="contact.untagged").count() == size


def test_organizations_bulk_update_changes_owner_and_tags(manager, rep, rep_a2, rep_b):
    acme = OrganizationFactory(owner=rep, name="Acme")
    globex = OrganizationFactory(owner=rep_a2, name="Globex")
    hidden = OrganizationFactory(owner=rep_b, name="Hidden")
    before = _state(Organization)

    changed = organizations_bulk_update(
        actor=manager, organizations=Organization.objects.all(), owner=rep_a2, tags_add=["Key"]
    )

    assert changed == 2
    assert _events(acme) == [
        (
            "organization.owner_changed",
            {"label": "Acme", "changes": {"owner": {"old": _ref(rep), "new": _ref(rep_a2)}}},
        ),
        ("organization.tagged", {"label": "Acme", "tags": ["Key"]}),
    ]
    assert _events(globex) == [("organization.tagged", {"label": "Globex", "tags": ["Key"]})]
    after = _state(Organization)
    assert after["records"][hidden.pk] == before["records"][hidden.pk]
    assert [after["records"][record.pk]["version"] for record in (acme, globex)] == [2, 2]


# -- pages -------------------------------------------------------------------------------------


def test_the_contact_list_has_a_checkbox_per_row_and_the_bulk_bar(client, rep):
    contact = ContactFactory(owner=rep)
    client.force_login(rep)

    html = client.get(reverse("parties:contact_list")).content.decode()

    assert f'<input type="checkbox" name="ids" value="{contact.pk}" form="contacts-bulk"' in html
    assert 'id="contacts-bulk"' in html
    assert '<option value="lifecycle_stage">Change the lifecycle stage</option>' in html


def test_the_bulk_bar_offers_every_matching_record_when_the_list_has_more_pages(client, rep):
    for _number in range(26):
        ContactFactory(owner=rep, lifecycle_stage="customer")
    client.force_login(rep)

    html = client.get(
        reverse("parties:contact_list"), {"lifecycle_stage": "customer", "per_page": "25"}
    ).content.decode()

    assert "Select all 26 contacts matching the filters" in html
    assert (
        '<input type="hidden" name="query" value="lifecycle_stage=customer&amp;per_page=25">'
        in html
    )


def test_roles_that_cannot_change_records_get_no_bulk_bar(client, analyst, rep):
    ContactFactory(owner=rep)
    client.force_login(analyst)

    html = client.get(reverse("parties:contact_list")).content.decode()

    assert 'name="ids"' not in html
    assert "bulk-bar" not in html


def test_the_organization_list_offers_no_lifecycle_stage(client, rep):
    OrganizationFactory(owner=rep)
    client.force_login(rep)

    html = client.get(reverse("parties:organization_list")).content.decode()

    assert 'form="organizations-bulk"' in html
    assert "lifecycle_stage" not in html


def test_the_confirmation_says_how_many_contacts_will_change(client, manager, rep, rep_a2, rep_b):
    changing = [ContactFactory(owner=rep) for _number in range(3)]
    already = ContactFactory(owner=rep_a2)
    hidden = ContactFactory(owner=rep_b)
    client.force_login(manager)
    before = _state()

    response = client.post(
        CONTACT_BULK,
        {
            "ids": [*(contact.pk for contact in changing), already.pk, hidden.pk],
            "action": "owner",
            "owner": rep_a2.pk,
            "next": "/contacts/?q=x",
        },
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert (
        '<p class="bulk-question" data-testid="bulk-question">Change the owner of 3 contacts to Rep2?</p>'
        in html
    )
    assert "1 of the selected records already has this and stays as it is." in html
    assert html.count('<input type="hidden" name="ids"') == 5
    assert f'<input type="hidden" name="owner" value="{rep_a2.pk}">' in html
    assert _state() == before


def test_confirming_applies_the_change_and_goes_back_to_the_list(client, manager, rep, rep_a2):
    changing = [ContactFactory(owner=rep) for _number in range(3)]
    client.force_login(manager)

    response = client.post(
        CONTACT_BULK,
        {
            "ids": [contact.pk for contact in changing],
            "action": "owner",
            "owner": rep_a2.pk,
            "next": "/contacts/?lifecycle_stage=lead",
            "confirm": "1",
        },
        follow=True,
    )

    assert response.redirect_chain == [("/contacts/?lifecycle_stage=lead", 302)]
    assert [str(message) for message in response.context["messages"]] == ["3 contacts changed."]
    assert set(Contact.objects.values_list("owner_id", flat=True)) == {rep_a2.pk}
    assert Event.objects.filter(kind="contact.owner_changed").count() == 3


def test_a_foreign_next_address_is_not_followed(client, rep):
    contact = ContactFactory(owner=rep)
    client.force_login(rep)

    response = client.post(
        CONTACT_BULK,
        {
            "ids": [contact.pk],
            "action": "lifecycle_stage",
            "lifecycle_stage": "customer",
            "next": "https://evil.example/",
            "confirm": "1",
        },
    )

    assert response["Location"] == "/contacts/"


def test_all_matching_changes_what_the_filters_match_not_only_the_page(client, rep):
    customers = [ContactFactory(owner=rep, lifecycle_stage="customer") for _number in range(4)]
    lead = ContactFactory(owner=rep, lifecycle_stage="lead")
    client.force_login(rep)
    data = {
        "ids": [customers[0].pk],
        "all": "1",
        "query": "lifecycle_stage=customer&page=2&per_page=25&sort=-created",
        "action": "tags_add",
        "tags": "Fair, VIP",
    }

    confirmation = client.post(CONTACT_BULK, data)
    response = client.post(CONTACT_BULK, {**data, "confirm": "1"}, follow=True)

    assert "Add “Fair”, “VIP” to 4 contacts?" in confirmation.content.decode()
    assert [str(message) for message in response.context["messages"]] == ["4 contacts changed."]
    assert [sorted(tag.name for tag in contact.tags.all()) for contact in customers] == [
        ["Fair", "VIP"]
    ] * 4
    assert not lead.tags.exists()


def test_nothing_to_change_is_said_plainly(client, rep):
    contacts = [ContactFactory(owner=rep, lifecycle_stage="customer") for _number in range(2)]
    client.force_login(rep)

    response = client.post(
        CONTACT_BULK,
        {
            "ids": [contact.pk for contact in contacts],
            "action": "lifecycle_stage",
            "lifecycle_stage": "customer",
        },
    )

    assert "All 2 selected records already have this." in response.content.decode()
    assert "bulk-confirm" not in response.content.decode()


def test_without_a_selection_nothing_happens(client, rep):
    client.force_login(rep)

    response = client.post(CONTACT_BULK, {"action": "lifecycle_stage", "lifecycle_stage": "other"})

    assert response.status_code == 200
    assert "Select at least one row first." in response.content.decode()


def test_forged_ids_alone_change_nothing(client, rep, rep_b):
    hidden = ContactFactory(owner=rep_b)
    client.force_login(rep)
    before = _state()

    response = client.post(
        CONTACT_BULK,
        {
            "ids": [hidden.pk],
            "action": "lifecycle_stage",
            "lifecycle_stage": "other",
            "confirm": "1",
        },
    )

    assert "None of the selected rows can be changed by you." in response.content.decode()
    assert _state() == before


def test_without_a_value_the_page_asks_for_it(client, manager, rep, rep_a2):
    contact = ContactFactory(owner=rep)
    client.force_login(manager)

    response = client.post(CONTACT_BULK, {"ids": [contact.pk], "action": "owner"})

    html = response.content.decode()
    assert "Change 1 contact" in html
    assert '<select name="owner"' in html
    assert f'<option value="{rep_a2.pk}">Rep2</option>' in html
    assert '<input type="hidden" name="action" value="owner">' in html


def test_a_representative_is_offered_only_themselves_as_owner(client, rep, rep_a2):
    contact = ContactFactory(owner=rep_a2)
    client.force_login(rep)
    before = _state()

    value = client.get(reverse("parties:contact_bulk_value"), {"action": "owner"})
    response = client.post(
        CONTACT_BULK, {"ids": [contact.pk], "action": "owner", "owner": rep_a2.pk, "confirm": "1"}
    )

    assert value.content.decode().count("<option") == 2  # the empty choice and themselves
    assert "errorlist" not in value.content.decode()
    assert f'<option value="{rep.pk}">Rep</option>' in value.content.decode()
    assert "Select a valid choice." in response.content.decode()
    assert _state() == before


def test_the_value_control_comes_for_each_action(client, rep):
    client.force_login(rep)
    url = reverse("parties:contact_bulk_value")

    stage = client.get(url, {"action": "lifecycle_stage"}).content.decode()
    tags = client.get(url, {"action": "tags_remove"}).content.decode()
    unknown = client.get(reverse("parties:organization_bulk_value"), {"action": "lifecycle_stage"})

    assert '<option value="customer">Customer</option>' in stage
    assert '<input type="text" name="tags"' in tags
    assert unknown.content.decode().strip() == ""


def test_an_assignment_the_role_forbids_is_explained_and_changes_nothing(
    client, rep, rep_a2, team_a, team_b
):
    contact = ContactFactory(owner=rep)
    client.force_login(rep)
    before = _state()

    # Team B is not among the choices of a representative of team A.
    response = client.post(
        CONTACT_BULK, {"ids": [contact.pk], "action": "team", "team": team_b.pk, "confirm": "1"}
    )

    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    assert _state() == before


def test_the_limit_is_explained_on_the_page(client, rep, settings):
    settings.CLIENTELA_BULK_MAX = 1
    contacts = [ContactFactory(owner=rep) for _number in range(2)]
    client.force_login(rep)

    response = client.post(
        CONTACT_BULK,
        {
            "ids": [contact.pk for contact in contacts],
            "action": "lifecycle_stage",
            "lifecycle_stage": "other",
        },
    )

    assert "One bulk change touches at most 1 records" in response.content.decode()


def test_an_analyst_cannot_use_the_bulk_page(client, analyst, rep):
    contact = ContactFactory(owner=rep)
    client.force_login(analyst)
    before = _state()

    response = client.post(
        CONTACT_BULK,
        {
            "ids": [contact.pk],
            "action": "lifecycle_stage",
            "lifecycle_stage": "other",
            "confirm": "1",
        },
    )

    assert response.status_code == 403
    assert _state() == before


def test_organizations_change_team_through_their_page(client, admin_user, rep, team_b):
    acme = OrganizationFactory(owner=rep, name="Acme")
    client.force_login(admin_user)

    confirmation = client.post(
        ORGANIZATION_BULK, {"ids": [acme.pk], "action": "team", "team": team_b.pk}
    )
    response = client.post(
        ORGANIZATION_BULK,
        {"ids": [acme.pk], "action": "team", "team": team_b.pk, "confirm": "1"},
        follow=True,
    )

    assert "Move 1 organization to the team Team B?" in confirmation.content.decode()
    assert [str(message) for message in response.context["messages"]] == ["1 organization changed."]
    acme.refresh_from_db()
    assert acme.team == team_b


# -- API ---------------------------------------------------------------------------------------


def _problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    return response.json()


def test_api_changes_the_contacts_named_by_id(api_client, manager, rep, rep_a2, rep_b):
    changing = [ContactFactory(owner=rep) for _number in range(2)]
    already = ContactFactory(owner=rep_a2)
    hidden = ContactFactory(owner=rep_b)
    api_client.force_authenticate(manager)

    response = api_client.post(
        CONTACT_BULK_API,
        {"ids": [*(contact.pk for contact in changing), already.pk, hidden.pk], "owner": rep_a2.pk},
        format="json",
    )

    assert response.status_code == 200
    assert response.json() == {"matched": 3, "changed": 2}
    assert set(Contact.objects.filter(owner=rep_a2).values_list("pk", flat=True)) == {
        *(contact.pk for contact in changing),
        already.pk,
    }
    hidden.refresh_from_db()
    assert (hidden.owner, hidden.version) == (rep_b, 1)


def test_api_changes_what_a_filter_matches(api_client, rep):
    customers = [ContactFactory(owner=rep, lifecycle_stage="customer") for _number in range(3)]
    ContactFactory(owner=rep, lifecycle_stage="lead")
    api_client.force_authenticate(rep)

    response = api_client.post(
        CONTACT_BULK_API,
        {
            "filter": {"lifecycle_stage": ["customer"], "sort": "-created"},
            "tags_add": ["Fair"],
            "lifecycle_stage": "evangelist",
        },
        format="json",
    )

    assert response.json() == {"matched": 3, "changed": 3}
    assert [
        (contact.lifecycle_stage, [tag.name for tag in contact.tags.all()])
        for contact in Contact.objects.filter(pk__in=[c.pk for c in customers])
    ] == [("evangelist", ["Fair"])] * 3


def test_api_dry_run_counts_and_writes_nothing(api_client, rep):
    ContactFactory(owner=rep, lifecycle_stage="customer")
    ContactFactory(owner=rep, lifecycle_stage="lead")
    api_client.force_authenticate(rep)
    before = _state()

    response = api_client.post(
        CONTACT_BULK_API,
        {"filter": {}, "lifecycle_stage": "customer", "dry_run": True},
        format="json",
    )

    assert response.json() == {"matched": 2, "changed": 1}
    assert _state() == before


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({"tags_add": ["x"]}, {"non_field_errors": ["Give either ids or filter."]}),
        (
            {"ids": [1], "filter": {}, "tags_add": ["x"]},
            {"non_field_errors": ["Give either ids or filter."]},
        ),
        ({"ids": [1], "color": "red"}, {"color": ["Unknown or read-only field."]}),
        ({"ids": [], "tags_add": ["x"]}, {"ids": ["This list may not be empty."]}),
        ({"ids": ["a"], "tags_add": ["x"]}, {"ids": {"0": ["A valid integer is required."]}}),
        (
            {"ids": [1], "lifecycle_stage": "boss"},
            {"lifecycle_stage": ['"boss" is not a valid choice.']},
        ),
        ({"filter": {"page": 2}, "tags_add": ["x"]}, {"filter": {"page": ["Unknown filter."]}}),
        (
            {"filter": {"q": {"nested": 1}}, "tags_add": ["x"]},
            {"filter": ["The filter q takes a value or a list of values."]},
        ),
        (
            {"filter": {"lifecycle_stage": ["boss"]}, "tags_add": ["x"]},
            {
                "filter": {
                    "lifecycle_stage": [
                        "Select a valid choice. boss is not one of the available choices."
                    ]
                }
            },
        ),
        ({"ids": [1]}, {"non_field_errors": ["Choose what to change."]}),
    ],
)
def test_api_bad_input_answers_400_and_changes_nothing(api_client, rep, payload, errors):
    contact = ContactFactory(owner=rep)
    payload = {key: ([contact.pk] if value == [1] else value) for key, value in payload.items()}
    api_client.force_authenticate(rep)
    before = _state()

    body = _problem(api_client.post(CONTACT_BULK_API, payload, format="json"), 400)

    assert body["errors"] == errors
    assert _state() == before


def test_api_organizations_have_no_lifecycle_stage(api_client, rep):
    acme = OrganizationFactory(owner=rep)
    api_client.force_authenticate(rep)

    body = _problem(
        api_client.post(
            ORGANIZATION_BULK_API, {"ids": [acme.pk], "lifecycle_stage": "customer"}, format="json"
        ),
        400,
    )

    assert body["errors"] == {"lifecycle_stage": ["Unknown or read-only field."]}


def test_api_a_representative_cannot_give_contacts_away(api_client, rep, rep_a2):
    contact = ContactFactory(owner=rep)
    api_client.force_authenticate(rep)
    before = _state()

    body = _problem(
        api_client.post(CONTACT_BULK_API, {"ids": [contact.pk], "owner": rep_a2.pk}, format="json"),
        403,
    )

    assert body["detail"] == "Your role does not allow giving records to Rep2."
    assert _state() == before


def test_api_an_analyst_is_forbidden(api_client, analyst, rep):
    contact = ContactFactory(owner=rep)
    api_client.force_authenticate(analyst)

    body = _problem(
        api_client.post(CONTACT_BULK_API, {"ids": [contact.pk], "tags_add": ["x"]}, format="json"),
        403,
    )

    assert body["detail"] == "Your role does not allow this."
    assert not Tag.objects.exists()


def test_api_refuses_more_records_than_the_limit(api_client, rep, settings):
    settings.CLIENTELA_BULK_MAX = 1
    ContactFactory(owner=rep)
    ContactFactory(owner=rep)
    api_client.force_authenticate(rep)

    body = _problem(
        api_client.post(CONTACT_BULK_API, {"filter": {}, "tags_add": ["x"]}, format="json"), 400
    )

    assert body["errors"] == {
        "non_field_errors": [
            "One bulk change touches at most 1 records, and these are more. "
            "Narrow them down with the filters."
        ]
    }


def test_api_changes_organizations(api_client, admin_user, rep, team_b):
    acme = OrganizationFactory(owner=rep)
    other = TeamFactory(name="Other")
    user = UserFactory(full_name="Zed", teams=[other])
    api_client.force_authenticate(admin_user)

    response = api_client.post(
        ORGANIZATION_BULK_API,
        {"ids": [acme.pk], "owner": user.pk, "team": team_b.pk},
        format="json",
    )

    assert response.json() == {"matched": 1, "changed": 1}
    acme.refresh_from_db()
    assert (acme.owner, acme.team, acme.version) == (user, team_b, 2)
    assert _events(acme) == [
        (
            "organization.owner_changed",
            {
                "label": str(acme),
                "changes": {
                    "owner": {"old": _ref(rep), "new": _ref(user)},
                    "team": {
                        "old": {"id": rep.teams.get().pk, "label": "Team A"},
                        "new": _ref(team_b),
                    },
                },
            },
        )
    ]


def test_api_filter_by_search_and_organization(api_client, rep):
    acme = OrganizationFactory(owner=rep, name="Acme")
    ana = ContactFactory(owner=rep, first_name="Ana", last_name="Ruiz")
    AffiliationFactory(contact=ana, organization=acme)
    AffiliationFactory(contact=ContactFactory(owner=rep, first_name="Bo", last_name="Ruiz"))
    ContactFactory(owner=rep, first_name="Cy", last_name="Cruz")
    api_client.force_authenticate(rep)

    searched = api_client.post(
        CONTACT_BULK_API, {"filter": {"q": "ruiz"}, "tags_add": ["Ruiz"]}, format="json"
    )
    at_acme = api_client.post(
        CONTACT_BULK_API,
        {"filter": {"organization": acme.pk, "q": "ana"}, "lifecycle_stage": "customer"},
        format="json",
    )

    assert searched.json() == {"matched": 2, "changed": 2}
    assert at_acme.json() == {"matched": 1, "changed": 1}
    assert sorted(
        Contact.objects.filter(tags__name="Ruiz").values_list("first_name", flat=True)
    ) == [
        "Ana",
        "Bo",
    ]
    assert list(Contact.objects.filter(lifecycle_stage="customer")) == [ana]
