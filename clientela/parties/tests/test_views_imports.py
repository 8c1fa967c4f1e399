"""Import pages: upload, mapping, the dry run and its bad rows, the import, its progress and report."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from clientela.parties.imports import (
    import_file_store,
    import_job_create,
    import_job_run,
    import_mapping_save,
)
from clientela.parties.models import Contact, ImportJob, ImportMapping, Organization
from clientela.parties.tests.factories import ContactFactory
from clientela.parties.views.imports import UPLOADS_SESSION_KEY

UPLOAD = reverse("parties:import_upload", args=["contacts"])
ORGANIZATION_UPLOAD = reverse("parties:import_upload", args=["organizations"])

PEOPLE = (
    b"First name,Last name,E-mail,Phone,Notes\n"
    b"Ana,Ruiz,ana@acme.example,+45 32 12 34 56,first\n"
    b"Bo,Berg,not-an-email,,second\n"
    b"Cy,Lund,cy@acme.example,12,third\n"
    b"Di,Eng,=HYPERLINK(1),,fourth\n"
)


def _file(content=PEOPLE, name="people.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def _upload(client, content=PEOPLE, name="people.csv", record_type="contacts", encoding="auto"):
    return client.post(
        reverse("parties:import_upload", args=[record_type]),
        {"file": _file(content, name), "encoding": encoding},
    )


def _mapping_post(columns, **extra):
    data = {"on_match": "skip", "country": "", "tags": "", "save_as": ""}
    data.update({f"column_{index}": key for index, key in enumerate(columns)})
    data.update(extra)
    return data


def _job(actor, *, content=PEOPLE, dry_run=True, run=True, name="people.csv", **kwargs):
    stored = import_file_store(actor=actor, upload=_file(content, name))
    job = import_job_create(
        actor=actor,
        record_type=kwargs.pop("record_type", "contacts"),
        stored_name=stored,
        original_name=name,
        mapping=kwargs.pop(
            "mapping",
            {
                "First name": "first_name",
                "Last name": "last_name",
                "E-mail": "email",
                "Phone": "phone",
            },
        ),
        is_dry_run=dry_run,
        run=False,
        **kwargs,
    )
    return import_job_run(job.pk) if run else job


def _error_rows(response):
    html = response.content.decode()
    rows = re.findall(r'<tr data-testid="import-error-row">(.*?)</tr>', html, re.S)
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in rows
    ]


def _counts(response):
    html = response.content.decode()
    return {
        name: int(value)
        for name, value in re.findall(
            r'data-testid="count-(\w+)"><dt>[^<]*</dt><dd>(\d+)</dd>', html
        )
    }


# -- the whole flow ----------------------------------------------------------------------------


def test_upload_map_check_run_and_download_the_report(
    client, marketer, django_capture_on_commit_callbacks
):
    client.force_login(marketer)

    # given a file uploaded on the first page
    response = _upload(client)
    assert response.status_code == 302
    mapping_url = response["Location"]
    assert re.fullmatch(r"/contacts/import/[A-Za-z0-9_-]+/", mapping_url)

    # the mapping page guesses the columns and shows sample values
    response = client.get(mapping_url)
    assert response.status_code == 200
    form = response.context["form"]
    assert [form[f"column_{index}"].value() for index in range(5)] == [
        "first_name",
        "last_name",
        "email",
        "phone",
        "",
    ]
    assert [column.samples for column in response.context["columns"]] == [
        ["Ana", "Bo", "Cy"],
        ["Ruiz", "Berg", "Lund"],
        ["ana@acme.example", "not-an-email", "cy@acme.example"],
        ["+45 32 12 34 56", "12"],
        ["first", "second", "third"],
    ]
    assert "Do not import" in response.content.decode()

    # when the person changes a select (Notes → job title), names the mapping and checks the file
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            mapping_url,
            _mapping_post(
                ["first_name", "last_name", "email", "phone", "job_title"],
                country="DK",
                tags="Fair 2026, fair 2026, VIP",
                save_as="Fair list",
            ),
        )

    # then a dry run ran: nothing was written, the bad rows are listed
    dry_run = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("parties:import_job", args=[dry_run.pk])
    assert dry_run.is_dry_run is True
    assert dry_run.status == "done"
    assert dry_run.mapping == {
        "First name": "first_name",
        "Last name": "last_name",
        "E-mail": "email",
        "Phone": "phone",
        "Notes": "job_title",
    }
    assert dry_run.options == {"country": "DK", "tags": ["Fair 2026", "VIP"]}
    assert Contact.objects.count() == 0
    assert list(ImportMapping.objects.values_list("name", "columns")) == [
        ("Fair list", dry_run.mapping)
    ]

    response = client.get(response["Location"])
    assert response.status_code == 200
    assert _counts(response) == {"created": 1, "updated": 0, "skipped": 0, "failed": 3}
    assert _error_rows(response) == [
        ["3", "E-mail", "not-an-email", "“not-an-email” is not a valid email address."],
        [
            "4",
            "Phone",
            "12",
            "“12” is not a valid phone number for DK. Include the country code, such as +45.",
        ],
        [
            "5",
            "E-mail",
            "=HYPERLINK(1)",
            "This value looks like a spreadsheet formula; values may not start with =, +, -, @, "
            "a tab or a line break.",
        ],
    ]
    html = response.content.decode()
    assert "Would create" in html
    assert 'data-testid="import-run"' in html
    assert reverse("parties:import_job_mapping", args=[dry_run.pk]) in html
    assert 'hx-trigger="every 1s"' not in html

    # when the person runs the import
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("parties:import_job_start", args=[dry_run.pk]))

    # then the good row is imported with the defaults, and the report says what happened to each row
    job = ImportJob.objects.get(is_dry_run=False)
    assert response["Location"] == reverse("parties:import_job", args=[job.pk])
    assert job.dry_run_of == dry_run
    assert (job.status, job.created_count, job.failed_count) == ("done", 1, 3)
    ana = Contact.objects.get()
    assert (ana.first_name, ana.last_name, ana.job_title, ana.country) == (
        "Ana",
        "Ruiz",
        "first",
        "DK",
    )
    assert sorted(ana.tags.values_list("name", flat=True)) == ["Fair 2026", "VIP"]

    response = client.get(response["Location"])
    assert _counts(response) == {"created": 1, "updated": 0, "skipped": 0, "failed": 3}
    html = response.content.decode()
    assert "Download the report (CSV)" in html
    assert 'data-testid="import-run"' not in html
    assert reverse("parties:contact_list") in html

    response = client.get(reverse("parties:import_job_report", args=[job.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="import-{job.pk}-report.csv"'
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text.removeprefix("\ufeff")))) == [
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
        [
            "4",
            "failed",
            "",
            "Phone",
            "12",
            "“12” is not a valid phone number for DK. Include the country code, such as +45.",
        ],
        [
            "5",
            "failed",
            "",
            "E-mail",
            "'=HYPERLINK(1)",
            "This value looks like a spreadsheet formula; values may not start with =, +, -, @, "
            "a tab or a line break.",
        ],
    ]


def test_the_dry_run_page_links_to_the_import_started_from_it(client, marketer):
    dry_run = _job(marketer)
    job = _job(marketer, dry_run=False, dry_run_of=dry_run)
    client.force_login(marketer)

    response = client.get(reverse("parties:import_job", args=[dry_run.pk]))

    html = response.content.decode()
    assert 'data-testid="import-run"' not in html
    assert f'href="{reverse("parties:import_job", args=[job.pk])}"' in html


def test_change_the_mapping_reopens_the_mapping_page_with_the_jobs_choices(client, marketer):
    dry_run = _job(
        marketer,
        mapping={"First name": "first_name", "E-mail": "email", "Notes": "job_title"},
        on_match="fill",
        options={"country": "SE", "tags": ["Fair"]},
    )
    client.force_login(marketer)

    response = client.get(reverse("parties:import_job_mapping", args=[dry_run.pk]))

    assert response.status_code == 302
    response = client.get(response["Location"])
    form = response.context["form"]
    assert [form[f"column_{index}"].value() for index in range(5)] == [
        "first_name",
        "",
        "email",
        "",
        "job_title",
    ]
    assert form["on_match"].value() == "fill"
    assert form["country"].value() == "SE"
    assert form["tags"].value() == "Fair"


# -- the upload page ---------------------------------------------------------------------------


def test_upload_page_shows_the_size_limit_and_the_persons_recent_imports(
    client, marketer, manager, settings
):
    settings.CLIENTELA_IMPORT_MAX_BYTES = 5 * 1024 * 1024
    _job(marketer, name="mine.csv")
    _job(manager, name="theirs.csv")
    _job(
        marketer,
        name="organizations.csv",
        record_type="organizations",
        mapping={"First name": "name"},
    )
    client.force_login(marketer)

    response = client.get(UPLOAD)

    assert response.status_code == 200
    html = response.content.decode()
    assert "A CSV or XLSX file of at most 5.0\xa0MB" in html
    assert [job.original_name for job in response.context["jobs"]] == ["mine.csv"]
    assert 'data-testid="import-job-row"' in html
    assert "theirs.csv" not in html


@pytest.mark.parametrize("jobs", [1, 6])
def test_upload_page_query_count_does_not_grow_with_the_jobs(
    client, marketer, jobs, django_assert_num_queries
):
    for _index in range(jobs):
        _job(marketer, run=False)
    client.force_login(marketer)

    # session, user, jobs; then the session's new expiry (savepoint, update, release)
    with django_assert_num_queries(6):
        response = client.get(UPLOAD)

    assert len(response.context["jobs"]) == jobs


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", "The file is empty."),
        (b"First name,Last name\n", "header.csv", "The file has a header but no rows."),
        (b"a,b\n1,2\n", "people.xls", "Old Excel files (.xls) cannot be read"),
        (b"a,b\n1,2\n", "people.pdf", "Choose a CSV file (.csv, .txt, .tsv) or an Excel workbook"),
    ],
)
def test_upload_of_a_bad_file_shows_why_and_goes_no_further(
    client, marketer, content, name, message
):
    client.force_login(marketer)

    response = client.post(UPLOAD, {"file": _file(content, name), "encoding": "auto"})

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["file"])
    assert UPLOADS_SESSION_KEY not in client.session
    assert ImportJob.objects.count() == 0


def test_upload_of_a_file_over_the_limit_is_refused(client, marketer, settings):
    settings.CLIENTELA_IMPORT_MAX_BYTES = 100
    client.force_login(marketer)

    response = _upload(client, content=PEOPLE * 2)

    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [
        "The file is larger than the limit of 100\xa0bytes."
    ]


def test_upload_reads_the_chosen_encoding(client, marketer):
    content = "First name,Last name\nJosé,Müller\n".encode("cp1252")
    client.force_login(marketer)

    response = _upload(client, content=content, encoding="cp1252")
    response = client.get(response["Location"])

    assert response.context["columns"][0].samples == ["José"]
    assert response.context["columns"][1].samples == ["Müller"]


# -- the mapping page --------------------------------------------------------------------------


def test_a_saved_mapping_is_applied_from_the_picker(client, marketer):
    saved = import_mapping_save(
        actor=marketer,
        record_type="contacts",
        name="Exports from the fair",
        columns={"Notes": "job_title", "Phone": "", "First name": "full_name"},
    )
    client.force_login(marketer)
    mapping_url = _upload(client)["Location"]

    response = client.get(mapping_url, {"saved": saved.pk})

    form = response.context["form"]
    assert [form[f"column_{index}"].value() for index in range(5)] == [
        "full_name",
        "last_name",
        "email",
        "",
        "job_title",
    ]
    assert f'<option value="{saved.pk}" selected>Exports from the fair</option>' in (
        response.content.decode()
    )


def test_an_invalid_mapping_shows_the_errors_and_keeps_every_choice(client, marketer):
    client.force_login(marketer)
    mapping_url = _upload(client)["Location"]

    response = client.post(
        mapping_url,
        _mapping_post(
            ["", "", "email", "email", "job_title"],
            on_match="overwrite",
            country="DK",
            tags="VIP",
            save_as="Broken",
        ),
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {"column_3": ["Email is already chosen for the column “E-mail”."]}
    assert [form[f"column_{index}"].value() for index in range(5)] == [
        "",
        "",
        "email",
        "email",
        "job_title",
    ]
    assert (form["on_match"].value(), form["country"].value(), form["tags"].value()) == (
        "overwrite",
        "DK",
        "VIP",
    )
    assert form["save_as"].value() == "Broken"
    assert ImportJob.objects.count() == 0
    assert ImportMapping.objects.count() == 0


def test_a_mapping_without_a_name_column_is_refused_above_the_form(client, marketer):
    client.force_login(marketer)
    mapping_url = _upload(client)["Location"]

    response = client.post(mapping_url, _mapping_post(["", "", "email", "", ""]))

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Choose the column that holds the name (first, last or full name)."
    ]
    assert 'data-testid="mapping-errors"' in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_an_unknown_upload_id_answers_404(client, marketer, manager):
    client.force_login(manager)
    mapping_url = _upload(client)["Location"]
    client.force_login(marketer)

    assert client.get(mapping_url).status_code == 404
    assert client.get("/contacts/import/nothing-here/").status_code == 404


def test_an_upload_for_contacts_is_not_mapped_as_organizations(client, marketer):
    client.force_login(marketer)
    mapping_url = _upload(client)["Location"]

    response = client.get(mapping_url.replace("/contacts/", "/organizations/"))

    assert response.status_code == 404


def test_organizations_are_imported_through_the_same_pages(
    client, marketer, django_capture_on_commit_callbacks
):
    client.force_login(marketer)
    response = _upload(
        client, content=b"Company,City\nAcme,Aarhus\nGlobex,Oslo\n", record_type="organizations"
    )
    mapping_url = response["Location"]
    assert mapping_url.startswith("/organizations/import/")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(mapping_url, _mapping_post(["name", "city"]))
    dry_run = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("parties:import_job_start", args=[dry_run.pk]))

    assert sorted(Organization.objects.values_list("name", "city")) == [
        ("Acme", "Aarhus"),
        ("Globex", "Oslo"),
    ]
    job = ImportJob.objects.get(is_dry_run=False)
    response = client.get(reverse("parties:import_job", args=[job.pk]))
    assert reverse("parties:organization_list") in response.content.decode()


# -- the job page ------------------------------------------------------------------------------


def test_a_waiting_job_polls_its_progress_and_offers_to_cancel(client, marketer):
    job = _job(marketer, run=False)
    client.force_login(marketer)
    url = reverse("parties:import_job", args=[job.pk])

    response = client.get(url)

    html = response.content.decode()
    assert f'hx-get="{url}" hx-trigger="every 1s" hx-swap="outerHTML"' in html
    assert "<progress aria-label" in html
    assert 'data-testid="import-counts"' not in html
    assert reverse("parties:import_job_cancel", args=[job.pk]) in html


def test_the_progress_partial_shows_the_rows_done(client, marketer):
    job = _job(marketer, run=False)
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", total_rows=4, created_count=1, failed_count=1
    )
    client.force_login(marketer)

    response = client.get(
        reverse("parties:import_job", args=[job.pk]),
        headers={"HX-Request": "true", "HX-Target": "import-progress"},
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="import-progress"')
    assert '<progress value="2" max="4"' in html
    assert "2 of 4 rows" in html
    assert "every 1s" in html


def test_the_progress_poll_reloads_the_page_once_the_job_has_finished(client, marketer):
    job = _job(marketer)
    client.force_login(marketer)

    response = client.get(
        reverse("parties:import_job", args=[job.pk]),
        headers={"HX-Request": "true", "HX-Target": "import-progress"},
    )

    assert response.status_code == 204
    assert response["HX-Refresh"] == "true"


def test_the_error_table_is_paginated(client, marketer):
    bad = "".join(f"Person{index},Bad,nope{index},,\n" for index in range(60))
    job = _job(marketer, content=("First name,Last name,E-mail,Phone,Notes\n" + bad).encode())
    client.force_login(marketer)
    url = reverse("parties:import_job", args=[job.pk])

    first = client.get(url)
    second = client.get(
        url, {"page": 2}, headers={"HX-Request": "true", "HX-Target": "import-errors"}
    )

    assert len(_error_rows(first)) == 50
    assert "60 problems in the file" in first.content.decode()
    assert [row[0] for row in _error_rows(second)] == [str(number) for number in range(52, 62)]
    assert second.content.decode().lstrip().startswith('<div id="import-errors"')


def test_a_failed_job_shows_its_message(client, marketer):
    job = _job(marketer, run=False)
    ImportJob.objects.filter(pk=job.pk).update(status="failed", message="The file disappeared.")
    client.force_login(marketer)

    response = client.get(reverse("parties:import_job", args=[job.pk]))

    assert 'data-testid="import-message">The file disappeared.</p>' in response.content.decode()


def test_cancel_asks_first_then_cancels(client, marketer):
    job = _job(marketer, dry_run=False, run=False)
    client.force_login(marketer)
    url = reverse("parties:import_job_cancel", args=[job.pk])

    response = client.get(url)
    assert response.status_code == 200
    assert "Cancel the import?" in response.content.decode()
    job.refresh_from_db()
    assert job.status == "pending"

    response = client.post(url)
    assert response["Location"] == reverse("parties:import_job", args=[job.pk])
    job.refresh_from_db()
    assert job.status == "cancelled"


def test_cancelling_a_finished_job_says_so_and_changes_nothing(client, marketer):
    job = _job(marketer)
    client.force_login(marketer)

    response = client.post(reverse("parties:import_job_cancel", args=[job.pk]), follow=True)

    assert "This import has already finished." in response.content.decode()
    job.refresh_from_db()
    assert job.status == "done"


def test_starting_a_dry_run_that_has_not_finished_is_refused(client, marketer):
    dry_run = _job(marketer, run=False)
    client.force_login(marketer)

    response = client.post(reverse("parties:import_job_start", args=[dry_run.pk]), follow=True)

    assert (
        "The dry run has not finished; start the import when it has." in response.content.decode()
    )
    assert ImportJob.objects.count() == 1


# -- permissions and scope ---------------------------------------------------------------------


def test_the_list_pages_link_to_the_import_only_for_those_who_may_import(client, marketer, rep):
    client.force_login(marketer)
    assert f'href="{UPLOAD}"' in client.get(reverse("parties:contact_list")).content.decode()
    assert (
        f'href="{ORGANIZATION_UPLOAD}"'
        in client.get(reverse("parties:organization_list")).content.decode()
    )

    client.force_login(rep)
    assert f'href="{UPLOAD}"' not in client.get(reverse("parties:contact_list")).content.decode()


def test_without_the_import_permission_every_page_answers_403_and_nothing_changes(
    client, marketer, rep
):
    job = _job(marketer, run=False)
    client.force_login(rep)

    assert client.get(UPLOAD).status_code == 403
    assert _upload(client).status_code == 403
    assert client.get(reverse("parties:import_job", args=[job.pk])).status_code == 403
    assert client.post(reverse("parties:import_job_start", args=[job.pk])).status_code == 403
    assert client.post(reverse("parties:import_job_cancel", args=[job.pk])).status_code == 403
    assert client.get(reverse("parties:import_job_report", args=[job.pk])).status_code == 403
    assert client.get(reverse("parties:import_job_mapping", args=[job.pk])).status_code == 403
    job.refresh_from_db()
    assert job.status == "pending"
    assert ImportJob.objects.count() == 1


def test_someone_elses_job_answers_404_and_nothing_changes(client, marketer, manager):
    job = _job(manager, run=False)
    client.force_login(marketer)

    assert client.get(reverse("parties:import_job", args=[job.pk])).status_code == 404
    assert client.post(reverse("parties:import_job_start", args=[job.pk])).status_code == 404
    assert client.get(reverse("parties:import_job_cancel", args=[job.pk])).status_code == 404
    assert client.post(reverse("parties:import_job_cancel", args=[job.pk])).status_code == 404
    assert client.get(reverse("parties:import_job_report", args=[job.pk])).status_code == 404
    assert client.get(reverse("parties:import_job_mapping", args=[job.pk])).status_code == 404
    job.refresh_from_db()
    assert job.status == "pending"
    assert ImportJob.objects.count() == 1


def test_a_row_matching_an_existing_contact_is_counted_as_skipped(client, marketer):
    ContactFactory(
        first_name="Ana", last_name="Ruiz", primary_email="ana@acme.example", owner=marketer
    )
    job = _job(marketer, dry_run=False)
    client.force_login(marketer)

    response = client.get(reverse("parties:import_job", args=[job.pk]))

    assert _counts(response) == {"created": 0, "updated": 0, "skipped": 1, "failed": 3}
    assert Contact.objects.count() == 1
