"""/api/v1/pipelines/ (with nested stages) and /api/v1/close-reasons/."""

import pytest

from clientela.sales.models import CloseReason, Pipeline, Stage
from clientela.sales.services import deal_move_to_stage
from clientela.sales.tests.factories import CloseReasonFactory, DealFactory, PipelineFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture
def as_admin(api_client, admin_user):
    api_client.force_authenticate(admin_user)
    return api_client


@pytest.fixture
def as_rep(api_client, rep):
    api_client.force_authenticate(rep)
    return api_client


def test_read_a_pipeline_with_its_stages_and_etag(as_rep):
    pipeline = PipelineFactory(name="New business", stages=[("Talk", 20), ("Won", 100, "won")])
    talk, won = pipeline.stages.order_by("position")

    response = as_rep.get(f"/api/v1/pipelines/{pipeline.pk}/")

    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    body = response.json()
    assert body["name"] == "New business"
    assert body["currency"] == "EUR"
    assert body["stages"] == [
        {
            "id": talk.pk,
            "name": "Talk",
            "probability": 20,
            "outcome": "open",
            "stale_after_days": None,
        },
        {
            "id": won.pk,
            "name": "Won",
            "probability": 100,
            "outcome": "won",
            "stale_after_days": None,
        },
    ]


def test_list_pipelines_in_a_constant_number_of_queries(as_rep, django_assert_num_queries):
    for _number in range(5):
        PipelineFactory()

    # count, page, stages prefetch
    with django_assert_num_queries(3):
        response = as_rep.get("/api/v1/pipelines/")

    assert response.json()["count"] == 5


def test_create_a_pipeline_with_stages(as_admin):
    response = as_admin.post(
        "/api/v1/pipelines/",
        {
            "name": "Partners",
            "currency": "DKK",
            "stages": [
                {"name": "Intro", "probability": 10, "stale_after_days": 14},
                {"name": "Signed", "probability": 100, "outcome": "won"},
            ],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    pipeline = Pipeline.objects.get()
    assert response["Location"].endswith(f"/api/v1/pipelines/{pipeline.pk}/")
    assert list(pipeline.stages.order_by("position").values_list("name", "stale_after_days")) == [
        ("Intro", 14),
        ("Signed", None),
    ]


def test_a_rep_cannot_create_pipelines(as_rep):
    response = as_rep.post("/api/v1/pipelines/", {"name": "Mine"}, format="json")

    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM
    assert Pipeline.objects.count() == 0


def test_patch_the_stages_keeps_ids_and_honors_if_match(as_admin):
    pipeline = PipelineFactory(stages=[("A", 10), ("B", 20)])
    a, b = pipeline.stages.order_by("position")

    stale = as_admin.patch(
        f"/api/v1/pipelines/{pipeline.pk}/",
        {"stages": [{"id": a.pk, "name": "A"}]},
        format="json",
        headers={"If-Match": '"9"'},
    )
    response = as_admin.patch(
        f"/api/v1/pipelines/{pipeline.pk}/",
        {
            "stages": [
                {"id": b.pk, "name": "Second"},
                {"id": a.pk, "name": "First"},
                {"name": "New"},
            ]
        },
        format="json",
        headers={"If-Match": '"1"'},
    )

    assert stale.status_code == 412
    assert response.status_code == 200, response.content
    assert response["ETag"] == '"2"'
    assert [(s["id"], s["name"]) for s in response.json()["stages"]][:2] == [
        (b.pk, "Second"),
        (a.pk, "First"),
    ]
    assert Stage.objects.filter(pipeline=pipeline).count() == 3


def test_removing_a_stage_with_deals_is_a_400(as_admin):
    pipeline = PipelineFactory(stages=[("A", 10), ("B", 20)])
    a, b = pipeline.stages.order_by("position")
    DealFactory(stage=b)

    response = as_admin.patch(
        f"/api/v1/pipelines/{pipeline.pk}/", {"stages": [{"id": a.pk, "name": "A"}]}, format="json"
    )

    assert response.status_code == 400
    assert "stages" in response.json()["errors"]
    assert Stage.objects.filter(pipeline=pipeline).count() == 2


def test_deleting_a_pipeline_with_deals_is_refused(as_admin):
    pipeline = PipelineFactory()
    DealFactory(pipeline=pipeline)
    empty = PipelineFactory()

    refused = as_admin.delete(f"/api/v1/pipelines/{pipeline.pk}/")
    deleted = as_admin.delete(f"/api/v1/pipelines/{empty.pk}/")

    assert (refused.status_code, deleted.status_code) == (400, 204)
    assert list(Pipeline.objects.values_list("pk", flat=True)) == [pipeline.pk]


def test_close_reasons_are_listed_filtered_and_created(as_admin):
    CloseReasonFactory(name="Price", outcome="lost")
    CloseReasonFactory(name="Fit", outcome="won")

    listed = as_admin.get("/api/v1/close-reasons/", {"outcome": "won"})
    created = as_admin.post(
        "/api/v1/close-reasons/", {"name": "Timing", "outcome": "lost"}, format="json"
    )

    assert [item["name"] for item in listed.json()["results"]] == ["Fit"]
    assert created.status_code == 201, created.content
    assert created.json()["position"] == 1
    assert created.json()["is_active"] is True


def test_deleting_a_used_close_reason_deactivates_it(as_admin, admin_user):
    pipeline = PipelineFactory()
    reason = CloseReasonFactory(name="Price", outcome="lost")
    deal_move_to_stage(
        actor=admin_user,
        deal=DealFactory(pipeline=pipeline),
        stage=pipeline.stages.get(outcome="lost"),
        close_reason=reason,
    )
    unused = CloseReasonFactory(name="Timing", outcome="lost")

    deactivated = as_admin.delete(f"/api/v1/close-reasons/{reason.pk}/")
    deleted = as_admin.delete(f"/api/v1/close-reasons/{unused.pk}/")

    assert deactivated.status_code == 200
    assert deactivated.json()["is_active"] is False
    assert deleted.status_code == 204
    assert list(CloseReason.objects.values_list("name", "is_active")) == [("Price", False)]


def test_a_rep_reads_but_cannot_change_close_reasons(as_rep):
    reason = CloseReasonFactory(name="Price")

    read = as_rep.get(f"/api/v1/close-reasons/{reason.pk}/")
    changed = as_rep.patch(f"/api/v1/close-reasons/{reason.pk}/", {"name": "X"}, format="json")

    assert read.status_code == 200
    assert changed.status_code == 403
    assert CloseReason.objects.get().name == "Price"
