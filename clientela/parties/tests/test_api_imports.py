"""/api/v1/imports/: upload and start a job, follow it, read its errors and report, start, cancel."""

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from clientela.parties.imports import import_file_store, import_job_create, import_job_run
from clientela.parties.models import Contact, ImportJob

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
IMPORTS = "/api/v1/imports/"
PEOPLE = (
    b"First name,Last name,E-mail,Phone\n"
    b"Ana,Ruiz,ana@acme.example,+45 32 12 34 56\n"
    b"Bo,Berg,not-an-email,\n"
    b"Cy,Lund,cy@acme.example,+45 32 12 34 57\n"
)
MAPPING = {
    "First name": "first_name",
    "Last name": "last_name",
    "E-mail": "email",
    "Phone": "phone",
}


@pytest.fixture
def as_marketer(api_client, marketer):
    api_client.force_authenticate(marketer)
    return api_client


def _file(content=PEOPLE, name="people.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def _problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    return body


def _job(actor, *, dry_run=True, run=True, **kwargs):
    stored = import_file_store(actor=actor, upload=_file())
    job = import_job_create(
        actor=actor,
        record_type="contacts",
        stored_name=stored,
        original_name="people.csv",
        mapping=MAPPING,
        is_dry_run=dry_run,
        run=False,
        **kwargs,
    )
    return import_job_run(job.pk) if run else job


def _expected(job, **changes):
    base = f"http://testserver/api/v1/imports/{job.pk}/"
    finished = job.status not in ("pending", "running")
    data = {
        "id": job.pk,
        "url": base,
        "record_type": "contacts",
        "status": job.status,
        "is_dry_run": job.is_dry_run,
        "original_name": "people.csv",
        "file_format": "csv",
        "file_size": len(PEOPLE),
        "encoding": "utf-8",
        "mapping": MAPPING,
        "on_match": "skip",
        "options": {},
        "dry_run_of": None,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "created_count": job.created_count,
        "updated_count": job.updated_count,
        "skipped_count": job.skipped_count,
        "failed_count": job.failed_count,
        "message": "",
        "created_at": job.created_at.isoformat().replace("+00:00", "Z"),
        "started_at": job.started_at.isoformat().replace("+00:00", "Z") if job.started_at else None,
        "finished_at": job.finished_at.isoformat().replace("+00:00", "Z")
        if job.finished_at
        else None,
        "links": {
            "self": base,
            "errors": f"{base}errors/",
            "report": f"{base}report/" if finished else None,
            "start": f"{base}start/" if job.is_dry_run and job.status == "done" else None,
            "cancel": None if finished else f"{base}cancel/",
        },
    }
    data.update(changes)
    return data


# -- create ------------------------------------------------------------------------------------


def test_post_a_file_starts_a_dry_run_and_answers_202_with_the_job(
    as_marketer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = as_marketer.post(
            IMPORTS,
            {
                "file": _file(),
                "record_type": "contacts",
                "mapping": json.dumps(MAPPING),
                "dry_run": "true",
                "options": json.dumps({"country": "dk", "tags": ["Fair"]}),
            },
            format="multipart",
        )

    assert len(callbacks) == 1
    assert response.status_code == 202, response.content
    job = ImportJob.objects.get()
    assert response["Location"] == f"http://testserver/api/v1/imports/{job.pk}/"
    # The answer was made before the worker ran (the task is queued when the request commits).
    assert response.json() == _expected(
        job,
        status="pending",
        total_rows=None,
        processed_rows=0,
        created_count=0,
        failed_count=0,
        started_at=None,
        finished_at=None,
        options={"country": "DK", "tags": ["Fair"]},
        links={
            "self": response["Location"],
            "errors": f"{response['Location']}errors/",
            "report": None,
            "start": None,
            "cancel": f"{response['Location']}cancel/",
        },
    )
    assert (job.status, job.is_dry_run, job.created_count, job.failed_count) == ("done", True, 2, 1)
    assert Contact.objects.count() == 0


def test_without_a_mapping_it_is_guessed_from_the_header(
    as_marketer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_marketer.post(
            IMPORTS, {"file": _file(), "record_type": "contacts"}, format="multipart"
        )

    assert response.status_code == 202
    job = ImportJob.objects.get()
    assert job.mapping == MAPPING
    assert job.is_dry_run is False
    assert sorted(Contact.objects.values_list("first_name", flat=True)) == ["Ana", "Cy"]


def test_read_a_job_after_it_ran(as_marketer, marketer):
    job = _job(marketer)

    response = as_marketer.get(f"{IMPORTS}{job.pk}/")

    assert response.status_code == 200
    assert response.json() == _expected(job)
    assert (job.total_rows, job.processed_rows, job.created_count, job.failed_count) == (3, 3, 2, 1)


def test_post_without_a_file_answers_400(as_marketer):
    response = as_marketer.post(IMPORTS, {"record_type": "contacts"}, format="multipart")

    body = _problem(response, 400)
    assert body["errors"] == {"file": ["No file was submitted."]}
    assert ImportJob.objects.count() == 0


@pytest.mark.parametrize(
    ("mapping", "errors"),
    [
        ("{not json", {"mapping": ['Send a JSON object, such as {"Email": "email"}.']}),
        ('["email"]', {"mapping": ["Send a JSON object, not a list or a single value."]}),
        (
            '{"E-mail": 3}',
            {"mapping": ['Each column must name a field key as a string ("" not to import it).']},
        ),
        ('{"E-mail": "shoe_size"}', {"mapping": ["There is no field “shoe_size”."]}),
        (
            '{"E-mail": "email"}',
            {"mapping": ["Choose the column that holds the name (first, last or full name)."]},
        ),
    ],
)
def test_a_bad_mapping_answers_400_and_starts_nothing(as_marketer, mapping, errors):
    response = as_marketer.post(
        IMPORTS,
        {"file": _file(), "record_type": "contacts", "mapping": mapping},
        format="multipart",
    )

    body = _problem(response, 400)
    assert body["errors"] == errors
    assert ImportJob.objects.count() == 0


def test_a_file_over_the_limit_answers_413(as_marketer, settings):
    settings.CLIENTELA_IMPORT_MAX_BYTES = 50

    response = as_marketer.post(
        IMPORTS, {"file": _file(), "record_type": "contacts"}, format="multipart"
    )

    body = _problem(response, 413)
    assert body["detail"] == "The file is larger than the limit of 50\xa0bytes."
    assert body["errors"] == {"file": ["The file is larger than the limit of 50\xa0bytes."]}
    assert ImportJob.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", "The file is empty."),
        (b"First name\n", "people.csv", "The file has a header but no rows."),
        (b"x", "people.pdf", "Choose a CSV file (.csv, .txt, .tsv) or an Excel workbook (.xlsx)."),
    ],
)
def test_a_file_that_cannot_be_imported_answers_400(as_marketer, content, name, message):
    response = as_marketer.post(
        IMPORTS, {"file": _file(content, name), "record_type": "contacts"}, format="multipart"
    )

    assert _problem(response, 400)["errors"] == {"file": [message]}
    assert ImportJob.objects.count() == 0


def test_unknown_fields_and_bad_options_answer_400(as_marketer):
    response = as_marketer.post(
        IMPORTS,
        {"file": _file(), "record_type": "contacts", "colour": "red", "on_match": "merge"},
        format="multipart",
    )
    body = _problem(response, 400)
    assert body["errors"] == {"colour": ["Unknown or read-only field."]}

    response = as_marketer.post(
        IMPORTS,
        {"file": _file(), "record_type": "contacts", "on_match": "merge"},
        format="multipart",
    )
    assert _problem(response, 400)["errors"] == {"on_match": ['"merge" is not a valid choice.']}

    response = as_marketer.post(
        IMPORTS,
        {"file": _file(), "record_type": "contacts", "options": '{"country": "Narnia"}'},
        format="multipart",
    )
    assert _problem(response, 400)["errors"] == {"country": ["Choose a country from the list."]}
    assert ImportJob.objects.count() == 0


def test_json_bodies_are_refused(as_marketer):
    response = as_marketer.post(IMPORTS, {"record_type": "contacts"}, format="json")

    _problem(response, 415)


# -- list, errors, report ----------------------------------------------------------------------


def test_list_answers_the_callers_jobs_newest_first(as_marketer, marketer, manager):
    first = _job(marketer)
    _job(manager)
    second = _job(marketer, run=False)

    response = as_marketer.get(IMPORTS)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [item["id"] for item in body["results"]] == [second.pk, first.pk]
    assert body["results"][1] == _expected(first)


def test_list_filters_by_status(as_marketer, marketer):
    done = _job(marketer)
    _job(marketer, run=False)

    response = as_marketer.get(IMPORTS, {"status": "done"})

    assert [item["id"] for item in response.json()["results"]] == [done.pk]
    _problem(as_marketer.get(IMPORTS, {"status": "nonsense"}), 400)


@pytest.mark.parametrize("jobs", [1, 5])
def test_list_query_count_does_not_grow_with_the_jobs(
    as_marketer, marketer, jobs, django_assert_num_queries
):
    for _index in range(jobs):
        _job(marketer, run=False)

    # count, page
    with django_assert_num_queries(2):
        response = as_marketer.get(IMPORTS)

    assert response.json()["count"] == jobs


def test_errors_lists_every_bad_row_paginated(as_marketer, marketer):
    job = _job(marketer)

    response = as_marketer.get(f"{IMPORTS}{job.pk}/errors/")

    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "count_is_capped": False,
        "next": None,
        "previous": None,
        "results": [
            {
                "row": 3,
                "column": "E-mail",
                "value": "not-an-email",
                "reason": "“not-an-email” is not a valid email address.",
                "is_skip": False,
            }
        ],
    }


def test_report_is_a_csv_download(as_marketer, marketer):
    job = _job(marketer, dry_run=False)
    ana, cy = Contact.objects.order_by("first_name")

    response = as_marketer.get(f"{IMPORTS}{job.pk}/report/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode().removeprefix("\ufeff")
    assert list(csv.reader(io.StringIO(text))) == [
        ["row", "outcome", "record_id", "column", "value", "reason"],
        ["2", "created", str(ana.pk), "", "", ""],
        [
            "3",
            "failed",
            "",
            "E-mail",
            "not-an-email",
            "“not-an-email” is not a valid email address.",
        ],
        ["4", "created", str(cy.pk), "", "", ""],
    ]


def test_report_of_a_job_still_running_answers_409(as_marketer, marketer):
    job = _job(marketer, run=False)

    body = _problem(as_marketer.get(f"{IMPORTS}{job.pk}/report/"), 409)

    assert body["detail"] == "The report is ready when the job has finished."


# -- start and cancel --------------------------------------------------------------------------


def test_start_runs_the_import_a_dry_run_checked(
    as_marketer, marketer, django_capture_on_commit_callbacks
):
    dry_run = _job(marketer)

    with django_capture_on_commit_callbacks(execute=True):
        response = as_marketer.post(f"{IMPORTS}{dry_run.pk}/start/")

    assert response.status_code == 202
    job = ImportJob.objects.get(is_dry_run=False)
    assert response["Location"] == f"http://testserver/api/v1/imports/{job.pk}/"
    assert response.json()["dry_run_of"] == dry_run.pk
    assert response.json()["is_dry_run"] is False
    assert (job.status, job.created_count, job.failed_count) == ("done", 2, 1)
    assert Contact.objects.count() == 2


def test_start_from_an_unfinished_dry_run_answers_400(as_marketer, marketer):
    dry_run = _job(marketer, run=False)

    body = _problem(as_marketer.post(f"{IMPORTS}{dry_run.pk}/start/"), 400)

    assert body["errors"] == {
        "non_field_errors": ["The dry run has not finished; start the import when it has."]
    }
    assert ImportJob.objects.count() == 1


def test_cancel_stops_a_waiting_job(as_marketer, marketer):
    job = _job(marketer, dry_run=False, run=False)

    response = as_marketer.post(f"{IMPORTS}{job.pk}/cancel/")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    job.refresh_from_db()
    assert job.status == "cancelled"
    _problem(as_marketer.post(f"{IMPORTS}{job.pk}/cancel/"), 400)


# -- permissions and scope ---------------------------------------------------------------------


def test_without_the_import_permission_everything_answers_403_and_nothing_changes(
    api_client, rep, marketer
):
    job = _job(marketer, run=False)
    api_client.force_authenticate(rep)

    _problem(api_client.get(IMPORTS), 403)
    _problem(
        api_client.post(IMPORTS, {"file": _file(), "record_type": "contacts"}, format="multipart"),
        403,
    )
    # Someone else's job is not found before the permission is looked at.
    _problem(api_client.get(f"{IMPORTS}{job.pk}/"), 404)
    assert ImportJob.objects.count() == 1


def test_someone_elses_job_answers_404(as_marketer, manager):
    job = _job(manager, run=False)

    for path in ("", "errors/", "report/"):
        _problem(as_marketer.get(f"{IMPORTS}{job.pk}/{path}"), 404)
    for path in ("start/", "cancel/"):
        _problem(as_marketer.post(f"{IMPORTS}{job.pk}/{path}"), 404)
    job.refresh_from_db()
    assert job.status == "pending"
    assert ImportJob.objects.count() == 1


def test_anonymous_requests_answer_401(api_client):
    _problem(api_client.get(IMPORTS), 401)
