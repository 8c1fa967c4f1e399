"""Pipelines, their stages and close reasons: the services and the settings pages."""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from clientela.core.models import Event
from clientela.sales.choices import CloseOutcome, StageOutcome
from clientela.sales.events import PipelineEvent
from clientela.sales.models import CloseReason, Pipeline, Stage
from clientela.sales.services import (
    close_reason_create,
    close_reason_delete,
    close_reason_update,
    deal_move_to_stage,
    pipeline_create,
    pipeline_delete,
    pipeline_stages_set,
    pipeline_update,
)
from clientela.sales.tests.factories import (
    CloseReasonFactory,
    DealFactory,
    PipelineFactory,
)

pytestmark = pytest.mark.django_db


def _stages(pipeline):
    return list(
        Stage.objects.filter(pipeline=pipeline)
        .order_by("position")
        .values_list("name", "position", "probability", "outcome", "stale_after_days")
    )


# -- pipelines ---------------------------------------------------------------------------------


def test_pipeline_create_with_stages_in_order(admin_user):
    pipeline = pipeline_create(
        actor=admin_user,
        name=" Renewals ",
        currency="usd",
        stages=[
            {"name": "Contact", "probability": 20, "stale_after_days": 7},
            {"name": "Offer", "probability": 60},
            {"name": "Renewed", "probability": 100, "outcome": "won"},
            {"name": "Churned", "probability": 0, "outcome": "lost"},
        ],
    )

    assert (pipeline.name, pipeline.currency, pipeline.is_active) == ("Renewals", "USD", True)
    assert _stages(pipeline) == [
        ("Contact", 0, 20, "open", 7),
        ("Offer", 1, 60, "open", None),
        ("Renewed", 2, 100, "won", None),
        ("Churned", 3, 0, "lost", None),
    ]
    event = Event.objects.get(record_id=pipeline.pk, kind=PipelineEvent.CREATED)
    assert event.data == {
        "label": "Renewals",
        "stages": ["Contact", "Offer", "Renewed", "Churned"],
    }


def test_pipeline_create_without_stages_gets_the_usual_five(admin_user):
    pipeline = pipeline_create(actor=admin_user, name="New business")

    assert [row[0] for row in _stages(pipeline)] == [
        "Qualify",
        "Propose",
        "Negotiate",
        "Won",
        "Lost",
    ]


def test_pipeline_create_refuses_a_taken_name_in_any_case_and_a_bad_currency(admin_user):
    PipelineFactory(name="Renewals")

    with pytest.raises(ValidationError) as error:
        pipeline_create(actor=admin_user, name="RENEWALS", currency="XXXX")

    assert set(error.value.message_dict) == {"name", "currency"}
    assert Pipeline.objects.count() == 1


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([{"name": "Won", "outcome": "won"}], "A pipeline needs at least one open stage."),
        (
            [{"name": "A"}, {"name": "W1", "outcome": "won"}, {"name": "W2", "outcome": "won"}],
            "A pipeline has at most one won stage.",
        ),
        ([{"name": "A"}, {"name": "a"}], "Two stages are called “a”; stage names differ."),
        ([{"name": "A", "probability": 101}], "Stage 1: a probability is from 0 to 100."),
        ([{"name": ""}, {"name": "B"}], "Stage 1 needs a name."),
    ],
)
def test_pipeline_create_refuses_bad_stages(admin_user, stages, message):
    with pytest.raises(ValidationError) as error:
        pipeline_create(actor=admin_user, name="P", stages=stages)

    assert message in error.value.message_dict["stages"]
    assert Pipeline.objects.count() == 0


@pytest.mark.parametrize("role", ["manager", "rep", "analyst"])
def test_only_administrators_configure_pipelines(request, role):
    actor = request.getfixturevalue(role)
    pipeline = PipelineFactory(name="Kept")

    with pytest.raises(PermissionDenied):
        pipeline_create(actor=actor, name="Other")
    with pytest.raises(PermissionDenied):
        pipeline_update(actor=actor, pipeline=pipeline, name="Renamed")
    with pytest.raises(PermissionDenied):
        pipeline_stages_set(actor=actor, pipeline=pipeline, stages=[{"name": "Only"}])
    with pytest.raises(PermissionDenied):
        pipeline_delete(actor=actor, pipeline=pipeline)

    assert list(Pipeline.objects.values_list("name", flat=True)) == ["Kept"]
    assert Stage.objects.filter(pipeline=pipeline).count() == 6
    assert Event.objects.count() == 0


def test_pipeline_update_records_the_changes_and_a_new_version(admin_user):
    pipeline = PipelineFactory(name="Old", currency="EUR")

    pipeline_update(actor=admin_user, pipeline=pipeline, name="New", currency="DKK")

    pipeline.refresh_from_db()
    assert (pipeline.name, pipeline.currency, pipeline.version) == ("New", "DKK", 2)
    event = Event.objects.get(kind=PipelineEvent.CHANGED)
    assert event.data["changes"] == {
        "name": {"old": "Old", "new": "New"},
        "currency": {"old": "EUR", "new": "DKK"},
    }


def test_pipeline_update_with_an_old_version_is_a_conflict(admin_user):
    from clientela.core.exceptions import ConflictError

    pipeline = PipelineFactory(name="Old")

    with pytest.raises(ConflictError):
        pipeline_update(actor=admin_user, pipeline=pipeline, expected_version=7, name="New")

    pipeline.refresh_from_db()
    assert pipeline.name == "Old"


def test_pipeline_delete_is_refused_while_deals_use_it(admin_user):
    pipeline = PipelineFactory()
    DealFactory(pipeline=pipeline)

    with pytest.raises(ValidationError):
        pipeline_delete(actor=admin_user, pipeline=pipeline)

    assert Pipeline.objects.filter(pk=pipeline.pk).exists()


def test_pipeline_delete_removes_it_and_its_stages(admin_user):
    pipeline = PipelineFactory()

    pipeline_delete(actor=admin_user, pipeline=pipeline)

    assert Pipeline.objects.count() == 0
    assert Stage.objects.count() == 0
    assert Event.objects.filter(kind=PipelineEvent.DELETED, record_id=pipeline.pk).count() == 1


# -- stages ------------------------------------------------------------------------------------


def test_stages_set_keeps_ids_renames_reorders_adds_and_removes(admin_user):
    pipeline = PipelineFactory(stages=[("A", 10), ("B", 20), ("C", 30), ("Won", 100, "won")])
    a, b, c, won = Stage.objects.filter(pipeline=pipeline).order_by("position")

    result = pipeline_stages_set(
        actor=admin_user,
        pipeline=pipeline,
        stages=[
            {"id": b.pk, "name": "A", "probability": 25},
            {"id": a.pk, "name": "B", "probability": 15, "stale_after_days": 3},
            {"name": "New", "probability": 50},
            {"id": won.pk, "name": "Won", "probability": 100, "outcome": "won"},
        ],
    )

    assert [stage.pk for stage in result][:2] == [b.pk, a.pk]
    assert _stages(pipeline) == [
        ("A", 0, 25, "open", None),
        ("B", 1, 15, "open", 3),
        ("New", 2, 50, "open", None),
        ("Won", 3, 100, "won", None),
    ]
    assert not Stage.objects.filter(pk=c.pk).exists()
    pipeline.refresh_from_db()
    assert pipeline.version == 2
    event = Event.objects.get(kind=PipelineEvent.STAGES_CHANGED)
    assert [item["name"] for item in event.data["stages"]["new"]] == ["A", "B", "New", "Won"]


def test_a_stage_with_deals_cannot_be_removed(admin_user):
    pipeline = PipelineFactory(stages=[("A", 10), ("B", 20)])
    a, b = Stage.objects.filter(pipeline=pipeline).order_by("position")
    DealFactory(stage=b)

    with pytest.raises(ValidationError) as error:
        pipeline_stages_set(actor=admin_user, pipeline=pipeline, stages=[{"id": a.pk, "name": "A"}])

    assert error.value.message_dict["stages"] == [
        "The stage “B” has deals or their history and cannot be removed; rename it instead."
    ]
    assert Stage.objects.filter(pipeline=pipeline).count() == 2


def test_a_stage_only_in_the_history_cannot_be_removed_either(admin_user):
    pipeline = PipelineFactory(stages=[("A", 10), ("B", 20)])
    a, b = Stage.objects.filter(pipeline=pipeline).order_by("position")
    deal = DealFactory(stage=b)
    deal_move_to_stage(actor=admin_user, deal=deal, stage=a)

    with pytest.raises(ValidationError):
        pipeline_stages_set(actor=admin_user, pipeline=pipeline, stages=[{"id": a.pk, "name": "A"}])

    assert Stage.objects.filter(pk=b.pk).exists()


def test_a_stage_holding_deals_keeps_its_outcome(admin_user):
    pipeline = PipelineFactory(stages=[("A", 10), ("B", 20)])
    a, b = Stage.objects.filter(pipeline=pipeline).order_by("position")
    DealFactory(stage=b)

    with pytest.raises(ValidationError):
        pipeline_stages_set(
            actor=admin_user,
            pipeline=pipeline,
            stages=[{"id": a.pk, "name": "A"}, {"id": b.pk, "name": "B", "outcome": "won"}],
        )

    b.refresh_from_db()
    assert b.outcome == StageOutcome.OPEN


def test_stages_set_refuses_a_stage_of_another_pipeline(admin_user):
    pipeline = PipelineFactory(stages=[("A", 10)])
    other = PipelineFactory(stages=[("X", 10)])
    x = other.stages.get()

    with pytest.raises(ValidationError) as error:
        pipeline_stages_set(actor=admin_user, pipeline=pipeline, stages=[{"id": x.pk, "name": "A"}])

    assert error.value.message_dict["stages"] == ["Stage 1 is not a stage of this pipeline."]
    assert list(other.stages.values_list("name", flat=True)) == ["X"]


# -- close reasons -----------------------------------------------------------------------------


def test_close_reason_create_and_update(admin_user):
    price = close_reason_create(actor=admin_user, outcome="lost", name="Price")
    timing = close_reason_create(actor=admin_user, outcome="lost", name="Timing")

    close_reason_update(actor=admin_user, close_reason=price, name="Too expensive")

    assert list(CloseReason.objects.values_list("name", "position", "outcome")) == [
        ("Too expensive", 0, "lost"),
        ("Timing", 1, "lost"),
    ]
    assert timing.is_active


def test_close_reason_names_are_unique_per_outcome(admin_user):
    close_reason_create(actor=admin_user, outcome="lost", name="Price")
    close_reason_create(actor=admin_user, outcome="won", name="price")

    with pytest.raises(ValidationError):
        close_reason_create(actor=admin_user, outcome="lost", name="PRICE")

    assert CloseReason.objects.count() == 2


def test_a_used_close_reason_is_deactivated_not_deleted(admin_user):
    pipeline = PipelineFactory()
    lost = pipeline.stages.get(outcome="lost")
    used = CloseReasonFactory(name="Price", outcome=CloseOutcome.LOST)
    unused = CloseReasonFactory(name="Timing", outcome=CloseOutcome.LOST)
    deal_move_to_stage(
        actor=admin_user, deal=DealFactory(pipeline=pipeline), stage=lost, close_reason=used
    )

    assert close_reason_delete(actor=admin_user, close_reason=used) is False
    assert close_reason_delete(actor=admin_user, close_reason=unused) is True

    assert list(CloseReason.objects.values_list("name", "is_active")) == [("Price", False)]


def test_close_reasons_need_the_configure_permission(manager):
    reason = CloseReasonFactory(name="Price")

    with pytest.raises(PermissionDenied):
        close_reason_create(actor=manager, outcome="lost", name="Other")
    with pytest.raises(PermissionDenied):
        close_reason_update(actor=manager, close_reason=reason, name="Renamed")
    with pytest.raises(PermissionDenied):
        close_reason_delete(actor=manager, close_reason=reason)

    assert list(CloseReason.objects.values_list("name", "is_active")) == [("Price", True)]


# -- settings pages ----------------------------------------------------------------------------


def test_the_settings_page_lists_pipelines_and_reasons(client, admin_user):
    PipelineFactory(name="New business")
    CloseReasonFactory(name="Price")
    client.force_login(admin_user)

    response = client.get("/settings/pipelines/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "New business" in content
    assert "Qualify" in content
    assert "Price" in content


def test_the_settings_pages_are_for_administrators_only(client, manager):
    pipeline = PipelineFactory()
    client.force_login(manager)

    assert client.get("/settings/pipelines/").status_code == 403
    assert client.get(f"/settings/pipelines/{pipeline.pk}/").status_code == 403
    assert client.post("/settings/pipelines/new/", {"name": "X"}).status_code == 403
    assert Pipeline.objects.count() == 1


def _stage_post(rows, *, name="Partners", currency="EUR", version=None):
    data = {
        "name": name,
        "currency": currency,
        "is_active": "on",
        "stages-TOTAL_FORMS": str(len(rows)),
        "stages-INITIAL_FORMS": "0",
        "stages-MIN_NUM_FORMS": "0",
        "stages-MAX_NUM_FORMS": "1000",
    }
    if version is not None:
        data["version"] = str(version)
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"stages-{index}-{key}"] = value
    return data


def test_create_a_pipeline_with_the_form(client, admin_user):
    client.force_login(admin_user)

    response = client.post(
        "/settings/pipelines/new/",
        _stage_post(
            [
                {"name": "Talk", "probability": "20", "outcome": "open"},
                {"name": "Signed", "probability": "100", "outcome": "won"},
                {"name": "", "probability": "10", "outcome": "open"},
            ]
        ),
    )

    assert response.status_code == 302
    pipeline = Pipeline.objects.get()
    assert pipeline.name == "Partners"
    assert [row[:4] for row in _stages(pipeline)] == [
        ("Talk", 0, 20, "open"),
        ("Signed", 1, 100, "won"),
    ]


def test_edit_a_pipeline_renames_a_stage_and_shows_a_refused_removal(client, admin_user):
    pipeline = PipelineFactory(name="Sales", stages=[("A", 10), ("B", 20)])
    a, b = pipeline.stages.order_by("position")
    DealFactory(stage=b)
    client.force_login(admin_user)

    refused = client.post(
        f"/settings/pipelines/{pipeline.pk}/",
        _stage_post(
            [
                {"id": str(a.pk), "name": "A", "probability": "10", "outcome": "open"},
                {
                    "id": str(b.pk),
                    "name": "B",
                    "probability": "20",
                    "outcome": "open",
                    "DELETE": "on",
                },
            ],
            name="Sales",
            version=1,
        ),
    )
    renamed = client.post(
        f"/settings/pipelines/{pipeline.pk}/",
        _stage_post(
            [
                {"id": str(a.pk), "name": "First", "probability": "10", "outcome": "open"},
                {"id": str(b.pk), "name": "B", "probability": "20", "outcome": "open"},
            ],
            name="Sales",
            version=1,
        ),
    )

    assert refused.status_code == 200
    assert "has deals or their history" in refused.content.decode()
    assert renamed.status_code == 302, re.findall(
        r"errorlist[^<]*<li>([^<]*)", renamed.content.decode()
    )
    assert list(pipeline.stages.order_by("position").values_list("name", flat=True)) == [
        "First",
        "B",
    ]


def test_deleting_a_used_close_reason_on_the_page_deactivates_it(client, admin_user):
    pipeline = PipelineFactory()
    reason = CloseReasonFactory(name="Price")
    deal_move_to_stage(
        actor=admin_user,
        deal=DealFactory(pipeline=pipeline),
        stage=pipeline.stages.get(outcome="lost"),
        close_reason=reason,
    )
    client.force_login(admin_user)

    response = client.post(f"/settings/close-reasons/{reason.pk}/delete/")

    assert response.status_code == 302
    reason.refresh_from_db()
    assert reason.is_active is False


def test_the_pipeline_and_reason_forms_render_and_save(client, admin_user):
    pipeline = PipelineFactory(name="Sales")
    client.force_login(admin_user)

    edit = client.get(f"/settings/pipelines/{pipeline.pk}/")
    new_reason = client.get("/settings/close-reasons/new/")
    created = client.post(
        "/settings/close-reasons/new/", {"outcome": "won", "name": "Great fit", "is_active": "on"}
    )

    assert edit.status_code == 200
    assert 'name="stages-5-name" value="Lost"' in edit.content.decode()
    assert new_reason.status_code == 200
    assert created.status_code == 302
    assert list(CloseReason.objects.values_list("outcome", "name")) == [("won", "Great fit")]
