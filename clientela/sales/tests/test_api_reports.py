"""/api/v1/reports/…: the report endpoints answer the selectors' figures as JSON, Decimals as strings."""

import datetime
from decimal import Decimal

import pytest

from clientela.sales.tests.factories import LeadFactory, PipelineFactory
from clientela.sales.tests.test_reports import DAY, HOUR, T0, _deal, _forecast_deals, _lost, _won

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
REPORTS = "/api/v1/reports/"


@pytest.fixture
def pipeline(db):
    return PipelineFactory(name="New business")


@pytest.fixture
def as_manager(api_client, manager):
    api_client.force_authenticate(manager)
    return api_client


def _scope(pipeline, **changes):
    return {
        "pipeline": pipeline.pk,
        "currency": "EUR",
        "start": None,
        "end": None,
        "team": None,
        "owner": None,
        **changes,
    }


def test_stage_durations(as_manager, pipeline, rep):
    _deal(
        pipeline,
        "Propose",
        rep,
        visits=[
            ("Qualify", T0, T0 + 2 * DAY),
            ("Meet", T0 + 2 * DAY, T0 + 5 * DAY + 12 * HOUR),
            ("Propose", T0 + 5 * DAY + 12 * HOUR, T0 + 6 * DAY),
        ],
    )
    stages = {stage.name: stage.pk for stage in pipeline.stages.all()}

    response = as_manager.get(f"{REPORTS}stage-durations/", {"pipeline": pipeline.pk})

    assert response.status_code == 200
    assert response.json() == {
        "scope": _scope(pipeline),
        "stages": [
            {"stage": stages["Qualify"], "name": "Qualify", "visits": 1, "average_days": "2.00"},
            {"stage": stages["Meet"], "name": "Meet", "visits": 1, "average_days": "3.50"},
            {"stage": stages["Propose"], "name": "Propose", "visits": 1, "average_days": "0.50"},
            {"stage": stages["Negotiate"], "name": "Negotiate", "visits": 0, "average_days": None},
        ],
    }


def test_forecast(as_manager, pipeline, rep):
    _forecast_deals(pipeline, rep)

    response = as_manager.get(f"{REPORTS}forecast/", {"pipeline": pipeline.pk})

    assert response.status_code == 200
    assert response.json() == {
        "scope": _scope(pipeline),
        "committed_probability": 75,
        "excluded_deals": 1,
        "months": [
            {
                "month": "2026-12-01",
                "open_deals": 2,
                "weighted": "2100.40",
                "committed": "2500.50",
                "best_case": "3500.50",
                "won_deals": 1,
                "closed": "4000.00",
            },
            {
                "month": "2027-01-01",
                "open_deals": 3,
                "weighted": "408.34",
                "committed": "100.01",
                "best_case": "766.67",
                "won_deals": 0,
                "closed": "0.00",
            },
            {
                "month": None,
                "open_deals": 1,
                "weighted": "20.00",
                "committed": "0.00",
                "best_case": "200.00",
                "won_deals": 0,
                "closed": "0.00",
            },
        ],
        "total": {
            "open_deals": 6,
            "weighted": "2528.74",
            "committed": "2600.51",
            "best_case": "4467.17",
            "won_deals": 1,
            "closed": "4000.00",
        },
    }


def test_the_range_team_and_owner_are_echoed_in_the_scope(as_manager, pipeline, rep, team_a):
    response = as_manager.get(
        f"{REPORTS}win-rate/",
        {
            "pipeline": pipeline.pk,
            "start": "2026-03-01",
            "end": "2026-03-31",
            "team": team_a.pk,
            "owner": rep.pk,
        },
    )

    assert response.status_code == 200
    assert response.json()["scope"] == _scope(
        pipeline, start="2026-03-01", end="2026-03-31", team=team_a.pk, owner=rep.pk
    )


def test_win_rate_sales_cycle_and_velocity(as_manager, pipeline, rep, rep_a2):
    _deal(pipeline, "Meet", rep)
    _won(pipeline, rep, closed_at=T0 + 10 * DAY, amount=Decimal("1000.00"))
    _won(pipeline, rep, closed_at=T0 + 20 * DAY, amount=Decimal("3000.00"))
    _lost(pipeline, rep_a2, closed_at=T0 + 5 * DAY)
    params = {"pipeline": pipeline.pk}

    win_rate = as_manager.get(f"{REPORTS}win-rate/", params).json()
    cycle = as_manager.get(f"{REPORTS}sales-cycle/", params).json()
    velocity = as_manager.get(f"{REPORTS}velocity/", params).json()

    assert win_rate["total"] == {
        "owner": None,
        "owner_name": "",
        "won": 2,
        "lost": 1,
        "rate": "66.7",
    }
    assert win_rate["by_owner"] == [
        {"owner": rep.pk, "owner_name": "Rep", "won": 2, "lost": 0, "rate": "100.0"},
        {"owner": rep_a2.pk, "owner_name": "Rep2", "won": 0, "lost": 1, "rate": "0.0"},
    ]
    assert {key: cycle[key] for key in ("deals", "average_days", "median_days")} == {
        "deals": 2,
        "average_days": "15.00",
        "median_days": "15.00",
    }
    # 1 open * 2000 * 2/3 ÷ 15 days
    assert {key: value for key, value in velocity.items() if key != "scope"} == {
        "open_deals": 1,
        "average_won_amount": "2000.00",
        "win_rate": "66.7",
        "average_cycle_days": "15.00",
        "per_day": "88.89",
        "excluded_deals": 0,
    }


def test_conversion_and_lead_response(as_manager, pipeline, rep):
    _won(pipeline, rep, closed_at=T0 + DAY)
    _deal(pipeline, "Qualify", rep)
    LeadFactory(owner=rep, created_at=T0, first_activity_at=T0 + 2 * HOUR)
    LeadFactory(owner=rep, created_at=T0)
    params = {"pipeline": pipeline.pk}

    conversion = as_manager.get(f"{REPORTS}conversion/", params).json()
    leads = as_manager.get(f"{REPORTS}lead-response/", params).json()

    assert [
        (row["name"], row["reached"], row["advanced"], row["rate"]) for row in conversion["stages"]
    ] == [
        ("Qualify", 2, 1, "50.0"),
        ("Meet", 1, 1, "100.0"),
        ("Propose", 1, 1, "100.0"),
        ("Negotiate", 1, 1, "100.0"),
        ("Won", 1, 1, None),
    ]
    assert conversion["stages"][-1]["stage"] is None
    assert leads["total"] == {
        "owner": None,
        "owner_name": "",
        "leads": 2,
        "responded": 1,
        "without_response": 1,
        "average_hours": "2.00",
        "median_hours": "2.00",
    }
    assert [row["owner"] for row in leads["by_owner"]] == [rep.pk]


def test_the_first_active_pipeline_is_the_default(as_manager, rep):
    PipelineFactory(name="Old", is_active=False, position=0)
    active = PipelineFactory(name="Current", position=3)

    response = as_manager.get(f"{REPORTS}forecast/")

    assert response.status_code == 200
    assert response.json()["scope"]["pipeline"] == active.pk


def test_a_role_without_the_reports_permission_is_refused(api_client, rep, pipeline):
    api_client.force_authenticate(rep)

    response = api_client.get(f"{REPORTS}forecast/", {"pipeline": pipeline.pk})

    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM


def test_reports_need_authentication(api_client, pipeline):
    response = api_client.get(f"{REPORTS}stage-durations/")

    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"pipeline": "999999"}, {"pipeline"}),
        ({"pipeline": "x"}, {"pipeline"}),
        ({"start": "2026-05-02", "end": "2026-05-01"}, {"end"}),
        ({"start": "May"}, {"start"}),
    ],
)
def test_invalid_parameters_answer_400(as_manager, pipeline, params, errors):
    response = as_manager.get(f"{REPORTS}forecast/", params)

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert set(response.json()["errors"]) == errors


def test_without_any_pipeline_the_reports_say_so(as_manager):
    response = as_manager.get(f"{REPORTS}forecast/")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"pipeline"}


def test_a_manager_gets_only_their_teams_figures(api_client, manager, pipeline, rep, rep_b):
    _deal(pipeline, "Propose", rep, amount=Decimal("100.00"))
    _deal(pipeline, "Propose", rep_b, amount=Decimal("900.00"))
    api_client.force_authenticate(manager)

    response = api_client.get(f"{REPORTS}forecast/", {"pipeline": pipeline.pk})

    assert response.json()["total"]["best_case"] == "100.00"


@pytest.mark.parametrize("deals", [1, 6])
def test_the_forecast_runs_the_same_queries_whatever_the_number_of_deals(
    as_manager, pipeline, rep, deals, django_assert_num_queries
):
    for number in range(deals):
        _deal(pipeline, "Propose", rep, expected_close_date=datetime.date(2026, 12, 1 + number))
        _won(pipeline, rep, closed_at=T0 + (number + 1) * DAY)

    # The pipeline, the forecast's two sums.
    with django_assert_num_queries(3):
        response = as_manager.get(f"{REPORTS}forecast/", {"pipeline": pipeline.pk})

    assert response.status_code == 200
