"""Deals: the services (create, change, move with exact stage history, delete) and their pages."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from clientela.core.exceptions import ConflictError
from clientela.core.models import Event
from clientela.parties.tests.factories import ContactFactory, OrganizationFactory
from clientela.sales.choices import CloseOutcome, DealStatus
from clientela.sales.events import DealEvent
from clientela.sales.models import Deal, DealLineItem, StageVisit
from clientela.sales.selectors import deal_stage_history
from clientela.sales.services import (
    deal_create,
    deal_delete,
    deal_move_to_stage,
    deal_update,
)
from clientela.sales.tests.factories import (
    CloseReasonFactory,
    DealFactory,
    DealLineItemFactory,
    PipelineFactory,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def pipeline():
    return PipelineFactory(name="New business", currency="EUR")


def _stage(pipeline, name):
    return pipeline.stages.get(name=name)


def _kinds(deal):
    return list(
        Event.objects.filter(record_id=deal.pk, record_type__model="deal")
        .order_by("id")
        .values_list("kind", flat=True)
    )


# -- create ------------------------------------------------------------------------------------


def test_deal_create_starts_at_the_first_open_stage_with_its_first_visit(rep, team_a, pipeline):
    acme = OrganizationFactory(owner=rep, name="Acme Ærø")
    ana = ContactFactory(owner=rep, first_name="Ana", last_name="Ruiz")

    deal = deal_create(
        actor=rep,
        title="  Big order ",
        pipeline=pipeline,
        organization=acme,
        contacts=[ana.pk],
        expected_close_date=date(2026, 4, 30),
        next_step="Call back",
        tags=["Hot"],
        now=T0,
    )

    deal.refresh_from_db()
    assert deal.title == "Big order"
    assert deal.stage.name == "Qualify"
    assert (deal.status, deal.amount, deal.currency) == (DealStatus.OPEN, Decimal("0.00"), "EUR")
    assert (deal.owner, deal.team) == (rep, team_a)
    assert deal.stage_entered_at == T0
    assert deal.search_text == "big order acme aero"
    assert list(deal.contacts.all()) == [ana]
    assert list(
        StageVisit.objects.filter(deal=deal).values_list(
            "stage__name", "entered_at", "left_at", "entered_by"
        )
    ) == [("Qualify", T0, None, rep.pk)]
    assert _kinds(deal) == [DealEvent.CREATED, DealEvent.TAGGED]


def test_deal_create_computes_the_amount_from_the_line_items(rep, pipeline):
    deal = deal_create(
        actor=rep,
        title="Licenses",
        pipeline=pipeline,
        currency="usd",
        line_items=[
            {"name": "Seat", "quantity": "10", "unit_price": "99.90", "discount_percent": "10"},
            {"name": "Setup", "unit_price": "500"},
        ],
    )

    deal.refresh_from_db()
    assert deal.amount == Decimal("1399.10")  # 10 x 99.90 less 10 % = 899.10, + 500.00
    assert deal.currency == "USD"
    assert list(
        DealLineItem.objects.filter(deal=deal).values_list(
            "position", "name", "quantity", "unit_price", "discount_percent"
        )
    ) == [
        (0, "Seat", Decimal("10.000"), Decimal("99.90"), Decimal("10.00")),
        (1, "Setup", Decimal("1.000"), Decimal("500.00"), Decimal("0.00")),
    ]


def test_an_amount_given_wins_over_the_line_items(rep, pipeline):
    deal = deal_create(
        actor=rep,
        title="Deal",
        pipeline=pipeline,
        amount="2500",
        line_items=[{"name": "Seat", "quantity": "1", "unit_price": "100"}],
    )

    assert Deal.objects.get(pk=deal.pk).amount == Decimal("2500.00")


def test_deal_create_at_a_chosen_open_stage(rep, pipeline):
    deal = deal_create(
        actor=rep, title="Deal", pipeline=pipeline, stage=_stage(pipeline, "Propose")
    )

    assert deal.stage.name == "Propose"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "T", "amount": "-1"}, "amount"),
        ({"title": "T", "currency": "EURO"}, "currency"),
        ({"title": "T", "probability": 120}, "probability"),
        ({"title": "T", "line_items": [{"name": "", "unit_price": "1"}]}, "line_items"),
        (
            {
                "title": "T",
                "line_items": [{"name": "X", "unit_price": "1", "discount_percent": "101"}],
            },
            "line_items",
        ),
        (
            {"title": "T", "line_items": [{"name": "X", "quantity": "0", "unit_price": "1"}]},
            "line_items",
        ),
    ],
)
def test_deal_create_refuses_bad_values(rep, pipeline, kwargs, field):
    with pytest.raises(ValidationError) as error:
        deal_create(actor=rep, pipeline=pipeline, **kwargs)

    assert field in error.value.message_dict
    assert Deal.objects.count() == 0


def test_deal_create_refuses_a_closed_stage_a_foreign_stage_and_an_inactive_pipeline(rep, pipeline):
    other = PipelineFactory()
    inactive = PipelineFactory(is_active=False)

    with pytest.raises(ValidationError):
        deal_create(actor=rep, title="T", pipeline=pipeline, stage=_stage(pipeline, "Won"))
    with pytest.raises(ValidationError):
        deal_create(actor=rep, title="T", pipeline=pipeline, stage=other.stages.first())
    with pytest.raises(ValidationError):
        deal_create(actor=rep, title="T", pipeline=inactive)

    assert Deal.objects.count() == 0


def test_deal_create_refuses_organizations_and_contacts_the_actor_cannot_see(rep, rep_b, pipeline):
    hidden_org = OrganizationFactory(owner=rep_b)
    hidden_contact = ContactFactory(owner=rep_b)

    with pytest.raises(ValidationError) as error:
        deal_create(
            actor=rep,
            title="T",
            pipeline=pipeline,
            organization=hidden_org,
            contacts=[hidden_contact],
        )

    assert set(error.value.message_dict) == {"organization", "contacts"}
    assert Deal.objects.count() == 0


def test_an_analyst_cannot_create_deals(analyst, pipeline):
    with pytest.raises(PermissionDenied):
        deal_create(actor=analyst, title="T", pipeline=pipeline)

    assert Deal.objects.count() == 0


# -- update ------------------------------------------------------------------------------------


def test_deal_update_replaces_line_items_and_recomputes_the_amount(rep, pipeline):
    deal = deal_create(
        actor=rep,
        title="Deal",
        pipeline=pipeline,
        line_items=[{"name": "Seat", "quantity": "2", "unit_price": "100"}],
    )

    deal_update(
        actor=rep,
        deal=deal,
        expected_version=1,
        line_items=[
            {"name": "Seat", "quantity": "3", "unit_price": "100", "discount_percent": "50"}
        ],
    )

    deal.refresh_from_db()
    assert (deal.amount, deal.version) == (Decimal("150.00"), 2)
    assert list(deal.line_items.values_list("quantity", flat=True)) == [Decimal("3.000")]
    assert _kinds(deal) == [DealEvent.CREATED, DealEvent.CHANGED, DealEvent.LINE_ITEMS_CHANGED]
    changed = Event.objects.get(record_id=deal.pk, kind=DealEvent.CHANGED)
    assert changed.data["changes"] == {"amount": {"old": "200.00", "new": "150.00"}}
    items = Event.objects.get(record_id=deal.pk, kind=DealEvent.LINE_ITEMS_CHANGED)
    assert items.data["line_items"]["new"] == [
        {"name": "Seat", "quantity": "3.000", "unit_price": "100.00", "discount_percent": "50.00"}
    ]


def test_deal_update_changes_fields_organization_and_contacts_and_the_search_text(rep, pipeline):
    deal = deal_create(actor=rep, title="Deal", pipeline=pipeline, amount="10")
    acme = OrganizationFactory(owner=rep, name="Acme")
    ana = ContactFactory(owner=rep, first_name="Ana", last_name="Ruiz")

    deal_update(actor=rep, deal=deal, title="Bigger deal", organization=acme, contacts=[ana])

    deal.refresh_from_db()
    assert (deal.title, deal.organization, deal.amount) == ("Bigger deal", acme, Decimal("10.00"))
    assert deal.search_text == "bigger deal acme"
    changes = Event.objects.get(record_id=deal.pk, kind=DealEvent.CHANGED).data["changes"]
    assert changes == {
        "title": {"old": "Deal", "new": "Bigger deal"},
        "organization": {"old": None, "new": {"id": acme.pk, "label": "Acme"}},
        "contacts": {"old": [], "new": [{"id": ana.pk, "label": "Ana Ruiz"}]},
    }


def test_deal_update_without_changes_records_nothing(rep, pipeline):
    deal = deal_create(actor=rep, title="Deal", pipeline=pipeline)

    deal_update(actor=rep, deal=deal, title="Deal")

    deal.refresh_from_db()
    assert deal.version == 1
    assert _kinds(deal) == [DealEvent.CREATED]


def test_deal_update_with_an_old_version_is_a_conflict(rep, pipeline):
    deal = deal_create(actor=rep, title="Deal", pipeline=pipeline)
    deal_update(actor=rep, deal=deal, title="Changed")

    with pytest.raises(ConflictError):
        deal_update(actor=rep, deal=deal, expected_version=1, title="Mine")

    assert Deal.objects.get(pk=deal.pk).title == "Changed"


def test_deal_update_refuses_to_change_the_stage(rep, pipeline):
    deal = deal_create(actor=rep, title="Deal", pipeline=pipeline)

    with pytest.raises(ValidationError):
        deal_update(actor=rep, deal=deal, stage=_stage(pipeline, "Meet"))

    assert Deal.objects.get(pk=deal.pk).stage.name == "Qualify"


def test_a_manager_gives_a_deal_to_a_team_mate(manager, rep, pipeline):
    deal = deal_create(actor=rep, title="Deal", pipeline=pipeline)

    deal_update(actor=manager, deal=deal, owner=manager)

    deal.refresh_from_db()
    assert deal.owner == manager
    event = Event.objects.get(record_id=deal.pk, kind=DealEvent.OWNER_CHANGED)
    assert event.data["changes"]["owner"]["new"]["id"] == manager.pk


# -- moving between stages ---------------------------------------------------------------------


def test_stage_history_and_durations_are_exact_across_several_moves(rep, pipeline):
    lost_reason = CloseReasonFactory(name="Price", outcome=CloseOutcome.LOST)
    deal = deal_create(actor=rep, title="Deal", pipeline=pipeline, amount="100", now=T0)
    t1 = T0 + timedelta(days=2, hours=3)
    t2 = T0 + timedelta(days=5, seconds=30)
    t3 = T0 + timedelta(days=9)

    deal_move_to_stage(actor=rep, deal=deal, stage=_stage(pipeline, "Meet"), now=t1)
    deal_move_to_stage(actor=rep, deal=deal, stage=_stage(pipeline, "Propose"), now=t2)
    deal_move_to_stage(
        actor=rep,
        deal=deal,
        stage=_stage(pipeline, "Lost"),
        now=t3,
        close_reason=lost_reason,
        close_note="Too pricey",
    )

    deal.refresh_from_db()
    assert (deal.stage.name, deal.status, deal.stage_entered_at) == ("Lost", DealStatus.LOST, t3)
    assert (deal.closed_at, deal.close_reason, deal.close_note) == (t3, lost_reason, "Too pricey")
    assert deal.version == 4
    assert list(
        StageVisit.objects.filter(deal=deal)
        .order_by("entered_at")
        .values_list("stage__name", "entered_at", "left_at")
    ) == [
        ("Qualify", T0, t1),
        ("Meet", t1, t2),
        ("Propose", t2, t3),
        ("Lost", t3, None),
    ]
    moves = Event.objects.filter(record_id=deal.pk, kind=DealEvent.STAGE_CHANGED).order_by("id")
    assert [
        (
            e.data["from_stage"]["name"],
            e.data["to_stage"]["name"],
            e.data["days"],
            e.data["seconds"],
        )
        for e in moves
    ] == [
        ("Qualify", "Meet", 2, 183_600),
        ("Meet", "Propose", 2, 248_430),
        ("Propose", "Lost", 3, 345_570),
    ]
    lost = Event.objects.get(record_id=deal.pk, kind=DealEvent.LOST)
    assert lost.data["close_reason"] == {"id": lost_reason.pk, "name": "Price"}
    assert lost.data["close_note"] == "Too pricey"
    history = deal_stage_history(deal, now=t3 + timedelta(hours=36))
    assert [(stay.visit.stage.name, stay.seconds, stay.days) for stay in history] == [
        ("Qualify", 183_600, 2),
        ("Meet", 248_430, 2),
        ("Propose", 345_570, 3),
        ("Lost", 129_600, 1),
    ]


def test_moving_to_a_closed_stage_requires_a_reason_of_that_outcome(rep, pipeline):
    deal = deal_create(actor=rep, title="Deal", pipeline=pipeline)
    won_reason = CloseReasonFactory(name="Fit", outcome=CloseOutcome.WON)
    inactive = CloseReasonFactory(name="Old", outcome=CloseOutcome.LOST, is_active=False)

    with pytest.raises(ValidationError) as missing:
        deal_move_to_stage(actor=rep, deal=deal, stage=_stage(pipeline, "Lost"))
    with pytest.raises(ValidationError) as wrong:
        deal_move_to_stage(
            actor=rep, deal=deal, stage=_stage(pipeline, "Lost"), close_reason=won_reason
        )
    with pytest.raises(ValidationError):
        deal_move_to_stage(
            actor=rep, deal=deal, stage=_stage(pipeline, "Lost"), close_reason=inactive
        )

    assert missing.value.message_dict == {"close_reason": ["Choose why the deal was lost."]}
    assert wrong.value.message_dict == {
        "close_reason": ["Choose one of the active reasons for a lost deal."]
    }
    deal.refresh_from_db()
    assert (deal.stage.name, deal.version, deal.status) == ("Qualify", 1, DealStatus.OPEN)
    assert StageVisit.objects.filter(deal=deal).count() == 1


def test_moving_a_won_deal_back_to_an_open_stage_reopens_it(rep, pipeline):
    won_reason = CloseReasonFactory(name="Fit", outcome=CloseOutcome.WON)
    deal = deal_create(actor=rep, title="Deal", pipeline=pipeline, now=T0)
    deal_move_to_stage(
        actor=rep,
        deal=deal,
        stage=_stage(pipeline, "Won"),
        close_reason=won_reason,
        close_note="Yes!",
        now=T0 + timedelta(days=1),
    )

    deal_move_to_stage(
        actor=rep, deal=deal, stage=_stage(pipeline, "Negotiate"), now=T0 + timedelta(days=3)
    )

    deal.refresh_from_db()
    assert (deal.status, deal.closed_at, deal.close_reason, deal.close_note) == (
        DealStatus.OPEN,
        None,
        None,
        "",
    )
    assert _kinds(deal) == [
        DealEvent.CREATED,
        DealEvent.STAGE_CHANGED,
        DealEvent.WON,
        DealEvent.STAGE_CHANGED,
        DealEvent.REOPENED,
    ]


def test_a_stage_of_another_pipeline_is_refused(rep, pipeline):
    deal = deal_create(actor=rep, title="Deal", pipeline=pipeline)
    other = PipelineFactory()

    with pytest.raises(ValidationError):
        deal_move_to_stage(actor=rep, deal=deal, stage=other.stages.first())

    deal.refresh_from_db()
    assert (deal.stage.name, deal.version) == ("Qualify", 1)


def test_moving_to_the_current_stage_changes_nothing(rep, pipeline):
    deal = deal_create(actor=rep, title="Deal", pipeline=pipeline)

    deal_move_to_stage(actor=rep, deal=deal, stage=deal.stage)

    assert Deal.objects.get(pk=deal.pk).version == 1
    assert _kinds(deal) == [DealEvent.CREATED]


def test_moving_with_an_old_version_is_a_conflict(rep, pipeline):
    deal = deal_create(actor=rep, title="Deal", pipeline=pipeline)
    deal_move_to_stage(actor=rep, deal=deal, stage=_stage(pipeline, "Meet"))

    with pytest.raises(ConflictError):
        deal_move_to_stage(
            actor=rep, deal=deal, stage=_stage(pipeline, "Propose"), expected_version=1
        )

    assert Deal.objects.get(pk=deal.pk).stage.name == "Meet"


def test_a_rep_cannot_move_a_colleagues_unshared_deal(rep, rep_a2, pipeline):
    deal = DealFactory(owner=rep, pipeline=pipeline, is_shared_with_team=False)

    with pytest.raises(Deal.DoesNotExist):
        deal_move_to_stage(actor=rep_a2, deal=deal, stage=_stage(pipeline, "Meet"))

    deal.refresh_from_db()
    assert (deal.stage.name, deal.version) == ("Qualify", 1)
    assert StageVisit.objects.filter(deal=deal).count() == 1
    assert Event.objects.count() == 0


def test_a_rep_moves_a_shared_deal_of_the_team(rep, rep_a2, pipeline):
    deal = DealFactory(owner=rep, pipeline=pipeline, is_shared_with_team=True)

    deal_move_to_stage(actor=rep_a2, deal=deal, stage=_stage(pipeline, "Meet"))

    assert Deal.objects.get(pk=deal.pk).stage.name == "Meet"


def test_an_analyst_cannot_move_a_deal(analyst, rep, pipeline):
    deal = DealFactory(owner=rep, pipeline=pipeline)

    with pytest.raises(PermissionDenied):
        deal_move_to_stage(actor=analyst, deal=deal, stage=_stage(pipeline, "Meet"))

    deal.refresh_from_db()
    assert (deal.stage.name, deal.version) == ("Qualify", 1)
    assert Event.objects.count() == 0


# -- delete ------------------------------------------------------------------------------------


def test_deal_delete_needs_the_delete_permission(rep, manager, pipeline):
    deal = DealFactory(owner=rep, pipeline=pipeline)
    DealLineItemFactory(deal=deal)

    with pytest.raises(PermissionDenied):
        deal_delete(actor=rep, deal=deal)
    assert Deal.objects.count() == 1

    deal_delete(actor=manager, deal=deal)

    assert Deal.objects.count() == 0
    assert DealLineItem.objects.count() == 0
    assert StageVisit.objects.count() == 0
    assert Event.objects.filter(kind=DealEvent.DELETED, record_id=deal.pk).count() == 1


# -- pages -------------------------------------------------------------------------------------


def test_the_deal_list_filters_by_pipeline_and_status(client, rep, pipeline):
    other = PipelineFactory(name="Renewals")
    DealFactory(owner=rep, pipeline=pipeline, title="Alpha")
    DealFactory(owner=rep, pipeline=other, title="Beta")
    DealFactory(owner=rep, stage=_stage(pipeline, "Won"), title="Gamma")
    client.force_login(rep)

    everything = client.get("/deals/")
    first = client.get("/deals/", {"pipeline": pipeline.pk, "status": "open"})

    assert everything.status_code == 200
    assert everything.content.decode().count('data-testid="deal-row"') == 3
    content = first.content.decode()
    assert content.count('data-testid="deal-row"') == 1
    assert "Alpha" in content


def test_the_deal_list_shows_only_visible_deals(client, rep, rep_b, pipeline):
    DealFactory(owner=rep, pipeline=pipeline, title="Mine")
    DealFactory(owner=rep_b, pipeline=pipeline, title="Theirs")
    client.force_login(rep)

    content = client.get("/deals/").content.decode()

    assert "Mine" in content
    assert "Theirs" not in content


@pytest.mark.parametrize("rows", [5, 40])
def test_the_deal_list_fetches_the_same_number_of_queries_for_any_number_of_rows(
    client, rep, pipeline, rows, django_assert_num_queries
):
    organization = OrganizationFactory(owner=rep)
    for number in range(rows):
        DealFactory(owner=rep, pipeline=pipeline, organization=organization, title=f"D{number}")
    client.force_login(rep)
    client.get("/deals/")

    # session, user, count, filter choices (pipelines, stages, owners, teams, tags), page with
    # stage, pipeline, owner, team and organization joined, session save (savepoint, update, release)
    with django_assert_num_queries(QUERIES_DEAL_LIST):
        response = client.get("/deals/", {"per_page": "100"})

    assert response.content.decode().count('data-testid="deal-row"') == rows


QUERIES_DEAL_LIST = 12


def test_the_deal_detail_shows_products_history_and_timeline(client, rep, pipeline):
    deal = deal_create(
        actor=rep,
        title="Licenses",
        pipeline=pipeline,
        line_items=[{"name": "Seat", "quantity": "2", "unit_price": "100"}],
        now=T0,
    )
    deal_move_to_stage(
        actor=rep, deal=deal, stage=_stage(pipeline, "Meet"), now=T0 + timedelta(days=3)
    )
    client.force_login(rep)

    response = client.get(f"/deals/{deal.pk}/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "Seat" in content
    assert "€200.00" in content
    assert "3 days" in content
    assert "Moved to another stage" in content


def test_someone_elses_deal_is_a_404(client, rep, rep_b, pipeline):
    deal = DealFactory(owner=rep_b, pipeline=pipeline)
    client.force_login(rep)

    assert client.get(f"/deals/{deal.pk}/").status_code == 404
    assert client.get(f"/deals/{deal.pk}/edit/").status_code == 404


def _deal_post(rows, **fields):
    data = {
        "title": "From the form",
        "currency": "EUR",
        "is_shared_with_team": "on",
        "line_items-TOTAL_FORMS": str(len(rows)),
        "line_items-INITIAL_FORMS": "0",
        "line_items-MIN_NUM_FORMS": "0",
        "line_items-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"line_items-{index}-{key}"] = value
    return data


def test_create_a_deal_with_products_on_the_form(client, rep, pipeline):
    client.force_login(rep)

    response = client.post(
        "/deals/new/",
        _deal_post(
            [
                {"name": "Seat", "quantity": "3", "unit_price": "50", "discount_percent": "0"},
                {"name": "", "quantity": "1", "unit_price": "", "discount_percent": "0"},
            ],
            pipeline=str(pipeline.pk),
        ),
    )

    deal = Deal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/deals/{deal.pk}/"
    assert (deal.title, deal.amount, deal.owner, deal.stage.name) == (
        "From the form",
        Decimal("150.00"),
        rep,
        "Qualify",
    )


def test_edit_a_deal_on_the_form_with_an_old_version_is_a_conflict(client, rep, pipeline):
    deal = deal_create(actor=rep, title="Deal", pipeline=pipeline, amount="5")
    deal_update(actor=rep, deal=deal, title="Changed")
    client.force_login(rep)

    response = client.post(
        f"/deals/{deal.pk}/edit/", _deal_post([], title="Mine", amount="5", version="1")
    )

    assert response.status_code == 200
    assert 'data-testid="conflict"' in response.content.decode()
    assert Deal.objects.get(pk=deal.pk).title == "Changed"


def test_close_a_deal_as_lost_on_the_close_page(client, rep, pipeline):
    reason = CloseReasonFactory(name="Price", outcome=CloseOutcome.LOST)
    deal = deal_create(actor=rep, title="Deal", pipeline=pipeline)
    lost = _stage(pipeline, "Lost")
    client.force_login(rep)

    form = client.get(f"/deals/{deal.pk}/close/", {"stage": lost.pk})
    without_reason = client.post(f"/deals/{deal.pk}/close/", {"stage": lost.pk, "version": 1})
    response = client.post(
        f"/deals/{deal.pk}/close/",
        {"stage": lost.pk, "version": 1, "close_reason": reason.pk, "close_note": "Too pricey"},
    )

    assert form.status_code == 200
    assert "Price" in form.content.decode()
    assert without_reason.status_code == 200
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.status, deal.close_reason, deal.close_note) == (
        DealStatus.LOST,
        reason,
        "Too pricey",
    )


def test_the_close_page_refuses_an_open_stage(client, rep, pipeline):
    deal = deal_create(actor=rep, title="Deal", pipeline=pipeline)
    client.force_login(rep)

    response = client.get(f"/deals/{deal.pk}/close/", {"stage": _stage(pipeline, "Meet").pk})

    assert response.status_code == 404


def test_delete_a_deal_on_its_page(client, manager, rep, pipeline):
    deal = DealFactory(owner=rep, pipeline=pipeline)
    client.force_login(manager)

    response = client.post(f"/deals/{deal.pk}/delete/")

    assert response.status_code == 302
    assert Deal.objects.count() == 0


def test_the_deal_form_pages_render(client, manager, rep, pipeline):
    deal = deal_create(
        actor=rep,
        title="Deal",
        pipeline=pipeline,
        line_items=[{"name": "Seat", "quantity": "1", "unit_price": "10"}],
    )
    client.force_login(manager)

    new = client.get("/deals/new/", {"pipeline": pipeline.pk})
    edit = client.get(f"/deals/{deal.pk}/edit/")
    delete = client.get(f"/deals/{deal.pk}/delete/")

    assert (new.status_code, edit.status_code, delete.status_code) == (200, 200, 200)
    assert 'name="line_items-0-name"' in new.content.decode()
    assert 'value="Seat"' in edit.content.decode()
    assert 'name="owner"' in edit.content.decode()


def test_an_analyst_cannot_open_the_deal_forms(client, analyst, rep, pipeline):
    deal = DealFactory(owner=rep, pipeline=pipeline)
    client.force_login(analyst)

    assert client.get("/deals/new/").status_code == 403
    assert client.get(f"/deals/{deal.pk}/edit/").status_code == 403
    assert client.post(f"/deals/{deal.pk}/close/", {"stage": "1"}).status_code == 403
    assert Deal.objects.get(pk=deal.pk).version == 1


def test_edit_a_deal_on_the_form_replaces_its_products(client, rep, pipeline):
    deal = deal_create(
        actor=rep,
        title="Deal",
        pipeline=pipeline,
        line_items=[{"name": "Seat", "quantity": "1", "unit_price": "10"}],
    )
    client.force_login(rep)
    data = _deal_post(
        [
            {"name": "Seat", "quantity": "1", "unit_price": "10", "discount_percent": "0"},
            {"name": "Support", "quantity": "2", "unit_price": "5", "discount_percent": "0"},
        ],
        title="Deal",
        version="1",
    )
    data["line_items-INITIAL_FORMS"] = "1"

    response = client.post(f"/deals/{deal.pk}/edit/", data)

    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.amount == Decimal("20.00")
    assert list(deal.line_items.values_list("name", flat=True)) == ["Seat", "Support"]
    assert _kinds(deal)[-1] == DealEvent.LINE_ITEMS_CHANGED
