"""/api/v1/organizations/: the JSON shape, writes through the services, bad input, ETags, filters."""

import pytest

from clientela.core.models import Event
from clientela.parties.models import Organization
from clientela.parties.services import organization_create
from clientela.parties.tests.factories import OrganizationFactory

# Every test here uses the test database, also those that ask for their users with getfixturevalue.
pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture
def as_rep(api_client, rep):
    api_client.force_authenticate(rep)
    return api_client


def _problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    return response.json()


def test_create_and_read_an_organization(as_rep, rep, team_a):
    response = as_rep.post(
        "/api/v1/organizations/",
        {
            "name": "Acme A/S",
            "website": "https://www.acme.dk/about",
            "industry": "software",
            "size_band": "10-49",
            "phone": "32 12 34 56",
            "annual_revenue": "1250000.50",
            "currency": "dkk",
            "country": "DK",
            "city": "Copenhagen",
            "tags": ["Partner"],
        },
        format="json",
    )

    assert response.status_code == 201
    organization = Organization.objects.get()
    assert response["ETag"] == '"1"'
    assert response["Location"] == f"http://testserver/api/v1/organizations/{organization.pk}/"
    read = as_rep.get(response["Location"])
    assert read.json() == {
        "id": organization.pk,
        "url": f"http://testserver/api/v1/organizations/{organization.pk}/",
        "name": "Acme A/S",
        "website": "https://www.acme.dk/about",
        "domain": "acme.dk",
        "industry": "software",
        "size_band": "10-49",
        "phone": "+4532123456",
        "annual_revenue": "1250000.50",
        "currency": "DKK",
        "description": "",
        "street": "",
        "city": "Copenhagen",
        "region": "",
        "postal_code": "",
        "country": "DK",
        "owner": rep.pk,
        "team": team_a.pk,
        "is_shared_with_team": True,
        "tags": ["Partner"],
        "custom_fields": {},
        "version": 1,
        "created_at": organization.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": organization.updated_at.isoformat().replace("+00:00", "Z"),
    }
    assert read["ETag"] == '"1"'


def test_patch_and_put(as_rep, rep):
    organization = organization_create(actor=rep, name="Acme", website="https://acme.dk")
    url = f"/api/v1/organizations/{organization.pk}/"

    response = as_rep.patch(
        url, {"website": "https://acme.com", "annual_revenue": None}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["domain"], response["ETag"]) == ("acme.com", '"2"')

    response = as_rep.put(url, {"name": "Acme Inc."}, format="json", HTTP_IF_MATCH='"2"')
    assert response.status_code == 200
    organization.refresh_from_db()
    assert (organization.name, organization.website, organization.version) == (
        "Acme Inc.",
        "https://acme.com",
        3,
    )


def test_put_needs_the_required_fields(as_rep, rep):
    organization = organization_create(actor=rep, name="Acme")

    body = _problem(
        as_rep.put(f"/api/v1/organizations/{organization.pk}/", {"city": "Aarhus"}, format="json"),
        400,
    )

    assert body["errors"] == {"name": ["This field is required."]}
    organization.refresh_from_db()
    assert organization.city == ""


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({"name": ""}, {"name": ["This field may not be blank."]}),
        (
            {"name": "Acme", "annual_revenue": "-1"},
            {"annual_revenue": ["Ensure this value is greater than or equal to 0."]},
        ),
        (
            {"name": "Acme", "annual_revenue": 1.5e20},
            {"annual_revenue": ["Ensure that there are no more than 16 digits in total."]},
        ),
        (
            {"name": "Acme", "annual_revenue": "lots"},
            {"annual_revenue": ["A valid number is required."]},
        ),
        (
            {"name": "Acme", "currency": "XYZ"},
            {"currency": ["Choose a currency such as EUR or USD."]},
        ),
        ({"name": "Acme", "country": "ZZ"}, {"country": ["Choose a country from the list."]}),
        (
            {"name": "Acme", "phone": "12"},
            {
                "phone": [
                    "“12” is not a valid phone number for US. Include the country code, such as +45."
                ]
            },
        ),
        ({"name": "Acme", "website": "not a url"}, {"website": ["Enter a valid URL."]}),
        ({"name": "Acme", "industry": "piracy"}, {"industry": ['"piracy" is not a valid choice.']}),
        ({"name": "Acme", "domain": "acme.dk"}, {"domain": ["Unknown or read-only field."]}),
        (
            {"name": "Acme", "created_at": "2020-01-01T00:00:00Z"},
            {"created_at": ["Unknown or read-only field."]},
        ),
        (
            {"name": "Acme", "team": "B"},
            {"team": ["Incorrect type. Expected pk value, received str."]},
        ),
        (
            {"name": "Acme", "owner": 999999},
            {"owner": ['Invalid pk "999999" - object does not exist.']},
        ),
    ],
)
def test_bad_input_answers_400_and_writes_nothing(as_rep, payload, errors):
    body = _problem(as_rep.post("/api/v1/organizations/", payload, format="json"), 400)

    assert body["errors"] == errors
    assert Organization.objects.count() == 0
    assert Event.objects.count() == 0


def test_the_service_refuses_a_negative_revenue_too(rep):
    """The API's serializer refuses it first; the service keeps pages and imports from a database error."""
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        organization_create(actor=rep, name="Acme", annual_revenue="-5")

    assert error.value.message_dict == {
        "annual_revenue": ["The annual revenue cannot be negative."]
    }


def test_a_representative_cannot_give_an_organization_to_another_team(as_rep, rep, team_b):
    organization = organization_create(actor=rep, name="Acme")

    _problem(
        as_rep.patch(
            f"/api/v1/organizations/{organization.pk}/",
            {"team": team_b.pk, "name": "X"},
            format="json",
        ),
        403,
    )

    organization.refresh_from_db()
    assert (organization.name, organization.team.name, organization.version) == (
        "Acme",
        "Team A",
        1,
    )


def test_an_administrator_can_give_an_organization_to_anyone(api_client, admin_user, rep_b, team_b):
    organization = OrganizationFactory(owner=admin_user)
    api_client.force_authenticate(admin_user)

    response = api_client.patch(
        f"/api/v1/organizations/{organization.pk}/",
        {"owner": rep_b.pk, "team": team_b.pk},
        format="json",
    )

    assert response.status_code == 200
    assert (response.json()["owner"], response.json()["team"]) == (rep_b.pk, team_b.pk)


def test_stale_if_match_answers_412(as_rep, rep):
    organization = organization_create(actor=rep, name="Acme")

    body = _problem(
        as_rep.patch(
            f"/api/v1/organizations/{organization.pk}/",
            {"name": "X"},
            format="json",
            HTTP_IF_MATCH='"3"',
        ),
        412,
    )

    assert body["current_version"] == 1
    assert Organization.objects.get().name == "Acme"


def test_delete_with_a_stale_if_match_keeps_the_record(api_client, manager):
    organization = organization_create(actor=manager, name="Acme")
    api_client.force_authenticate(manager)

    _problem(
        api_client.delete(f"/api/v1/organizations/{organization.pk}/", HTTP_IF_MATCH='"2"'), 412
    )

    assert Organization.objects.exists()


def test_list_filters_and_sorts(as_rep, rep):
    beta = organization_create(actor=rep, name="Beta", industry="software", country="DK")
    alpha = organization_create(actor=rep, name="Alpha", industry="finance", country="SE")
    gamma = organization_create(actor=rep, name="Gamma", industry="software", country="SE")

    def ids(query):
        response = as_rep.get(f"/api/v1/organizations/?{query}")
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    assert ids("") == [alpha.pk, beta.pk, gamma.pk]
    assert ids("sort=-name") == [gamma.pk, beta.pk, alpha.pk]
    assert ids("industry=software") == [beta.pk, gamma.pk]
    assert ids("country=SE&industry=software") == [gamma.pk]
    assert ids("q=gam") == [gamma.pk]


def test_unknown_sort_answers_400(as_rep):
    body = _problem(as_rep.get("/api/v1/organizations/?sort=revenue"), 400)

    assert body["errors"] == {
        "sort": ["Sort by one of: name, domain, industry, city, country, owner, created, updated."]
    }


def test_pagination(as_rep, rep):
    for index in range(5):
        organization_create(actor=rep, name=f"Org {index}")

    response = as_rep.get("/api/v1/organizations/?page_size=2&page=2")

    body = response.json()
    assert body["count"] == 5
    assert [item["name"] for item in body["results"]] == ["Org 2", "Org 3"]
    assert body["next"].endswith("page=3&page_size=2")
    assert body["previous"].endswith("page_size=2")
