"""/api/v1/deals/ with line items, and POST /api/v1/deals/{id}/move/."""

from decimal import Decimal

import pytest

from clientela.core.models import Event
from clientela.parties.tests.factories import ContactFactory, OrganizationFactory
from clientela.sales.choices import CloseOutcome, DealStatus
from clientela.sales.events import DealEvent
from clientela.sales.models import Deal, StageVisit
from clientela.sales.services import deal_create
from clientela.sales.tests.factories import CloseReasonFactory, DealFactory, PipelineFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture
def pipeline():
    return PipelineFactory(name="New business", currency="EUR")


@pytest.fixture
def as_rep(api_client, rep):
    api_client.force_authenticate(rep)
    return api_client


def _stage(pipeline, name):
    return pipeline.stages.get(name=name)


def _problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    return response.json()


def test_retrieve_a_deal_with_line_items_and_etag(as_rep, rep, team_a, pipeline):
    acme = OrganizationFactory(owner=rep, name="Acme")
    ana = ContactFactory(owner=rep)
    deal = deal_create(
        actor=rep,
        title="Licenses",
        pipeline=pipeline,
        organization=acme,
        contacts=[ana],
        line_items=[
            {"name": "Seat", "quantity": "2", "unit_price": "100", "discount_percent": "5"}
        ],
        tags=["Hot"],
    )

    response = as_rep.get(f"/api/v1/deals/{deal.pk}/")

    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    body = response.json()
    assert {key: body[key] for key in ("title", "pipeline", "stage", "stage_name", "status")} == {
        "title": "Licenses",
        "pipeline": pipeline.pk,
        "stage": _stage(pipeline, "Qualify").pk,
        "stage_name": "Qualify",
        "status": "open",
    }
    assert (body["amount"], body["currency"], body["effective_probability"]) == (
        "190.00",
        "EUR",
        10,
    )
    assert (body["organization"], body["contacts"], body["tags"]) == (acme.pk, [ana.pk], ["Hot"])
    assert (body["owner"], body["team"], body["close_reason"]) == (rep.pk, team_a.pk, None)
    assert body["line_items"] == [
        {
            "name": "Seat",
            "quantity": "2.000",
            "unit_price": "100.00",
            "discount_percent": "5.00",
            "total": "190.00",
        }
    ]


def test_create_a_deal_at_the_first_open_stage(as_rep, rep, pipeline):
    response = as_rep.post(
        "/api/v1/deals/",
        {
            "title": "From the API",
            "pipeline": pipeline.pk,
            "line_items": [{"name": "Seat", "quantity": "3", "unit_price": "10.00"}],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    deal = Deal.objects.get()
    assert response["Location"].endswith(f"/api/v1/deals/{deal.pk}/")
    assert (deal.stage.name, deal.amount, deal.owner) == ("Qualify", Decimal("30.00"), rep)
    assert StageVisit.objects.filter(deal=deal).count() == 1


def test_create_refuses_unknown_fields_and_invisible_organizations(as_rep, rep_b, pipeline):
    hidden = OrganizationFactory(owner=rep_b)

    unknown = as_rep.post(
        "/api/v1/deals/", {"title": "X", "pipeline": pipeline.pk, "status": "won"}, format="json"
    )
    invisible = as_rep.post(
        "/api/v1/deals/",
        {"title": "X", "pipeline": pipeline.pk, "organization": hidden.pk},
        format="json",
    )

    assert "status" in _problem(unknown, 400)["errors"]
    assert "organization" in _problem(invisible, 400)["errors"]
    assert Deal.objects.count() == 0


def test_patch_replaces_line_items_and_cannot_change_the_stage(as_rep, rep, pipeline):
    deal = deal_create(actor=rep, title="Deal", pipeline=pipeline)

    stage = as_rep.patch(
        f"/api/v1/deals/{deal.pk}/", {"stage": _stage(pipeline, "Meet").pk}, format="json"
    )
    response = as_rep.patch(
        f"/api/v1/deals/{deal.pk}/",
        {"line_items": [{"name": "Seat", "unit_price": "40"}]},
        format="json",
        headers={"If-Match": '"1"'},
    )

    _problem(stage, 400)
    assert response.status_code == 200, response.content
    assert response["ETag"] == '"2"'
    assert response.json()["amount"] == "40.00"
    assert response.json()["stage_name"] == "Qualify"


def test_move_a_deal_and_close_it_with_a_reason(as_rep, rep, pipeline):
    reason = CloseReasonFactory(name="Price", outcome=CloseOutcome.LOST)
    deal = deal_create(actor=rep, title="Deal", pipeline=pipeline)

    moved = as_rep.post(
        f"/api/v1/deals/{deal.pk}/move/",
        {"stage": _stage(pipeline, "Meet").pk},
        format="json",
        headers={"If-Match": '"1"'},
    )
    no_reason = as_rep.post(
        f"/api/v1/deals/{deal.pk}/move/", {"stage": _stage(pipeline, "Lost").pk}, format="json"
    )
    closed = as_rep.post(
        f"/api/v1/deals/{deal.pk}/move/",
        {"stage": _stage(pipeline, "Lost").pk, "close_reason": reason.pk, "close_note": "Costly"},
        format="json",
    )

    assert moved.status_code == 200, moved.content
    assert (moved.json()["stage_name"], moved["ETag"]) == ("Meet", '"2"')
    assert _problem(no_reason, 400)["errors"] == {"close_reason": ["Choose why the deal was lost."]}
    assert closed.status_code == 200
    assert (
        closed.json()["status"],
        closed.json()["close_reason"],
        closed.json()["close_note"],
    ) == (
        "lost",
        reason.pk,
        "Costly",
    )
    deal.refresh_from_db()
    assert deal.status == DealStatus.LOST


def test_move_with_a_stale_if_match_is_a_412(as_rep, rep, pipeline):
    deal = deal_create(actor=rep, title="Deal", pipeline=pipeline)

    response = as_rep.post(
        f"/api/v1/deals/{deal.pk}/move/",
        {"stage": _stage(pipeline, "Meet").pk},
        format="json",
        headers={"If-Match": '"5"'},
    )

    assert _problem(response, 412)["current_version"] == 1
    assert Deal.objects.get(pk=deal.pk).stage.name == "Qualify"


def test_move_to_a_stage_of_another_pipeline_is_a_400(as_rep, rep, pipeline):
    deal = deal_create(actor=rep, title="Deal", pipeline=pipeline)
    other = PipelineFactory()

    response = as_rep.post(
        f"/api/v1/deals/{deal.pk}/move/", {"stage": other.stages.first().pk}, format="json"
    )

    assert "stage" in _problem(response, 400)["errors"]


def test_a_rep_cannot_move_a_colleagues_unshared_deal(api_client, rep, rep_a2, pipeline):
    deal = DealFactory(owner=rep, pipeline=pipeline, is_shared_with_team=False)
    api_client.force_authenticate(rep_a2)

    response = api_client.post(
        f"/api/v1/deals/{deal.pk}/move/", {"stage": _stage(pipeline, "Meet").pk}, format="json"
    )

    _problem(response, 404)
    deal.refresh_from_db()
    assert (deal.stage.name, deal.version) == ("Qualify", 1)
    assert Event.objects.count() == 0


def test_an_analyst_cannot_move_a_deal(api_client, analyst, rep, pipeline):
    deal = DealFactory(owner=rep, pipeline=pipeline)
    api_client.force_authenticate(analyst)

    response = api_client.post(
        f"/api/v1/deals/{deal.pk}/move/", {"stage": _stage(pipeline, "Meet").pk}, format="json"
    )

    _problem(response, 403)
    deal.refresh_from_db()
    assert (deal.stage.name, deal.version) == ("Qualify", 1)
    assert Event.objects.filter(kind=DealEvent.STAGE_CHANGED).count() == 0


def test_list_deals_filters_by_stage_and_status(as_rep, rep, pipeline):
    DealFactory(owner=rep, pipeline=pipeline, title="Open")
    DealFactory(owner=rep, stage=_stage(pipeline, "Won"), title="Won")

    won = as_rep.get("/api/v1/deals/", {"status": "won"})
    qualify = as_rep.get("/api/v1/deals/", {"stage": _stage(pipeline, "Qualify").pk})
    bad_sort = as_rep.get("/api/v1/deals/", {"sort": "nope"})

    assert [item["title"] for item in won.json()["results"]] == ["Won"]
    assert [item["title"] for item in qualify.json()["results"]] == ["Open"]
    _problem(bad_sort, 400)


@pytest.mark.parametrize("rows", [3, 30])
def test_list_deals_in_a_constant_number_of_queries(
    as_rep, rep, pipeline, rows, django_assert_num_queries
):
    for _number in range(rows):
        deal = DealFactory(
            owner=rep, pipeline=pipeline, organization=OrganizationFactory(owner=rep)
        )
        deal.contacts.add(ContactFactory(owner=rep))
        deal.tags.create(name=f"T{_number}")

    # count, page (stage, pipeline, owner, team, organization, close reason joined), prefetches of
    # tags, line items and contacts, custom field definitions
    with django_assert_num_queries(QUERIES_API_LIST):
        response = as_rep.get("/api/v1/deals/", {"page_size": 100})

    assert response.json()["count"] == rows


QUERIES_API_LIST = 6
