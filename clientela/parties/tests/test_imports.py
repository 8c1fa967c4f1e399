"""The import engine: rows checked and reported exactly, matching, on-match rules, resume, cancel, dry runs."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clientela.core.models import CustomFieldDefinition, Event, Tag
from clientela.core.selectors import events_of
from clientela.parties import duplicates, imports
from clientela.parties.imports import (
    import_file_store,
    import_job_cancel,
    import_job_create,
    import_job_run,
    import_job_start,
    import_mapping_guess,
    import_preview,
    import_report_rows,
)
from clientela.parties.models import (
    Affiliation,
    Contact,
    ContactEmail,
    ContactPhone,
    ImportBatch,
    ImportJob,
    ImportRowError,
    Organization,
)
from clientela.parties.services import contact_create, organization_create
from clientela.parties.tests.factories import ContactFactory

FORMULA = (
    "This value looks like a spreadsheet formula; values may not start with =, +, -, @, a tab or "
    "a line break."
)


@pytest.fixture(autouse=True)
def duplicates_calls(monkeypatch):
    """Duplicate detection is another module's job: recorded here, not run."""
    calls = []

    def record(*, record_type):
        calls.append(record_type)
        return duplicates.DetectionCounts(created=0, updated=0, removed=0)

    monkeypatch.setattr("clientela.parties.duplicates.duplicates_detect", record)
    return calls


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    """Uploads go to a scratch folder (the root conftest sets CLIENTELA_VAR_DIR after settings load)."""
    settings.VAR_DIR = tmp_path / "var"


def store(actor, content, name="people.csv"):
    if isinstance(content, str):
        content = content.encode()
    return import_file_store(actor=actor, upload=SimpleUploadedFile(name, content))


def run_import(
    actor,
    content,
    *,
    record_type="contacts",
    name="people.csv",
    mapping=None,
    on_match="skip",
    is_dry_run=False,
    options=None,
):
    stored_name = store(actor, content, name)
    encoding = (options or {}).get("encoding", "auto")
    header = import_preview(stored_name=stored_name, encoding=encoding).header
    job = import_job_create(
        actor=actor,
        record_type=record_type,
        stored_name=stored_name,
        original_name=name,
        mapping=mapping or import_mapping_guess(record_type, header),
        on_match=on_match,
        is_dry_run=is_dry_run,
        options=options,
        run=False,
    )
    return import_job_run(job.pk)


def errors_of(job):
    return list(
        ImportRowError.objects.filter(job=job)
        .order_by("row_number", "id")
        .values_list("row_number", "column", "value", "message")
    )


def table_counts():
    return {
        "contacts": Contact.objects.count(),
        "emails": ContactEmail.objects.count(),
        "phones": ContactPhone.objects.count(),
        "affiliations": Affiliation.objects.count(),
        "organizations": Organization.objects.count(),
        "tags": Tag.objects.count(),
        "contact tags": Contact.tags.through.objects.count(),
        "events": Event.objects.count(),
    }


def test_a_file_with_every_kind_of_bad_row_reports_exactly_those_rows_and_writes_only_the_good_ones(
    manager,
):
    long_title = "x" * 151
    content = b"".join(
        [
            b"First Name,Last Name,Email,Phone,Country,Job Title\n",
            b"Ann,Lee,ann@example.com,+45 32 12 34 56,DK,CEO\n",  # 2 good
            b",,nobody@example.com,,DK,\n",  # 3 no name
            b"Bo,Berg,bo@@example,,DK,\n",  # 4 bad email
            b"Cy,Dahl,cy@example.com,12,DK,\n",  # 5 bad phone
            b"Di,Eng,di@example.com,,Narnia,\n",  # 6 unknown country
            b"Ed,Fox,ANN@Example.com,,DK,\n",  # 7 same email as row 2
            b"Flo,Gill,flo@example.com,,DK,=1+2\n",  # 8 formula
            b"Gus,M\xf8ller,gus@example.com,,DK,\n",  # 9 not UTF-8
            b"Hal,Ivy,hal@example.com,,DK,CTO,extra\n",  # 10 too many cells
            b"Ida,Jay\n",  # 11 too few cells
            b"Jo,Kay,jo@example.com,(415) 555-0100,United States,CFO\n",  # 12 good
            b"Kim,Lund,kim@example.com,,dinamarca,,,\n",  # 13 good: trailing empty cells
            b"Lu,Moe,lu@example.com,,DK," + long_title.encode() + b"\n",  # 14 too long
        ]
    )

    job = run_import(manager, content)

    assert errors_of(job) == [
        (3, "First Name", "", "Enter a first or a last name."),
        (4, "Email", "bo@@example", "“bo@@example” is not a valid email address."),
        (
            5,
            "Phone",
            "12",
            "“12” is not a valid phone number for DK. Include the country code, such as +45.",
        ),
        (
            6,
            "Country",
            "Narnia",
            "Unknown country “Narnia”; use a country’s name or its two-letter code, such as DK.",
        ),
        (7, "Email", "ANN@Example.com", "Same email as row 2."),
        (8, "Job Title", "=1+2", FORMULA),
        (
            9,
            "",
            "",
            "This row is not valid UTF-8 text; save the file as UTF-8 or choose its encoding.",
        ),
        (10, "", "", "This row has 7 cells; the header has 6."),
        (11, "", "", "This row has 2 cells; the header has 6."),
        (14, "Job Title", long_title, "This value has 151 characters; the limit is 150."),
    ]
    assert (job.status, job.created_count, job.failed_count, job.skipped_count) == (
        "done",
        3,
        10,
        0,
    )
    assert job.total_rows == 13
    assert ImportBatch.objects.get(job=job).outcomes == "cfffffffffccf"
    assert sorted(ContactEmail.objects.values_list("email", flat=True)) == [
        "ann@example.com",
        "jo@example.com",
        "kim@example.com",
    ]
    assert sorted(Contact.objects.values_list("first_name", "primary_phone", "country")) == [
        ("Ann", "+4532123456", "DK"),
        ("Jo", "+14155550100", "US"),
        ("Kim", "", "DK"),
    ]
    assert Event.objects.filter(kind="contact.created").count() == 3


def test_an_empty_file_and_a_header_only_file_are_refused(manager):
    with pytest.raises(ValidationError) as empty:
        import_preview(stored_name=store(manager, b""))
    with pytest.raises(ValidationError) as header_only:
        import_preview(stored_name=store(manager, b"First Name,Email\n\n,\n"))

    assert empty.value.messages == ["The file is empty."]
    assert header_only.value.messages == ["The file has a header but no rows."]
    assert ImportJob.objects.count() == 0


def test_blank_and_repeated_column_names_are_refused(manager):
    with pytest.raises(ValidationError) as error:
        import_preview(stored_name=store(manager, b"Name,,Email,Email\nAnn,,a@example.com,b\n"))

    assert error.value.messages == [
        "Column 2 has no name in the first row; name every column.",
        "The column “Email” appears twice in the first row; give each column its own name.",
    ]


SAMPLE = (
    "First Name,Last Name,Email,Phone,Company Name,Job Title,City,Country,Tags\n"
    "Ann,Lee,ann@example.com,+4532123456,Acme,CEO,Aarhus,DK,VIP;Fair 2026\n"
    "José,Núñez,jose@example.es,,Acme,CTO,Madrid,ES,Fair 2026\n"
    "Bo,Berg,,+4520123456,,,Odense,DK,\n"
    "Cy,Dahl,,,Bygg AB,Buyer,,SE,\n"
    "Di,Eng,,,,,,,\n"
)


def test_importing_the_same_file_twice_creates_and_changes_nothing(manager):
    first = run_import(manager, SAMPLE)
    counts = table_counts()

    again = run_import(manager, SAMPLE)
    filled = run_import(manager, SAMPLE, on_match="fill")

    assert (first.created_count, first.failed_count) == (5, 0)
    assert (again.created_count, again.updated_count, again.skipped_count) == (0, 0, 5)
    assert (filled.created_count, filled.updated_count, filled.skipped_count) == (0, 0, 5)
    assert table_counts() == counts
    assert counts == {
        "contacts": 5,
        "emails": 2,
        "phones": 2,
        "affiliations": 3,
        "organizations": 2,
        "tags": 2,
        "contact tags": 3,
        "events": 2 + 2 + 5 + 2,  # tags created, organizations created, contacts created, tagged
    }


def test_imported_contacts_are_written_like_the_services_write_them(manager, team_a):
    job = run_import(manager, SAMPLE)

    ann = Contact.objects.get(first_name="Ann")
    jose = Contact.objects.get(first_name="José")
    assert (ann.owner, ann.team, ann.source, ann.lifecycle_stage) == (
        manager,
        team_a,
        "import",
        "lead",
    )
    assert (ann.primary_email, ann.primary_phone) == ("ann@example.com", "+4532123456")
    assert ann.search_text == "ann lee ann@example.com 4532123456 acme"
    assert jose.search_text == "jose nunez jose@example.es acme"
    assert list(ann.affiliations.values_list("organization__name", "role", "is_primary")) == [
        ("Acme", "", True)
    ]
    assert sorted(ann.tags.values_list("name", flat=True)) == ["Fair 2026", "VIP"]
    assert [(event.kind, event.data) for event in events_of(ann)] == [
        (
            "contact.tagged",
            {"label": "Ann Lee", "tags": ["Fair 2026", "VIP"], "import": job.pk},
        ),
        ("contact.created", {"label": "Ann Lee", "import": job.pk}),
    ]
    acme = Organization.objects.get(name="Acme")
    assert [(event.kind, event.data) for event in events_of(acme)] == [
        ("organization.created", {"label": "Acme", "import": job.pk})
    ]
    assert acme.search_text == "acme"


def _existing(actor):
    return contact_create(
        actor=actor,
        first_name="Ann",
        last_name="Lee",
        emails=["ann@example.com"],
        city="Aarhus",
        lifecycle_stage="customer",
    )


MATCHING_ROW = (
    "First Name,Last Name,Email,Phone,Job Title,City,Lifecycle Stage,Region,Tags\n"
    "Ann,Lee,ANN@example.com,+4532123456,CTO,Odense,Lead,,VIP\n"
)


def test_on_match_skip_changes_nothing(manager):
    contact = _existing(manager)

    job = run_import(manager, MATCHING_ROW, on_match="skip")

    contact.refresh_from_db()
    assert (job.skipped_count, job.updated_count) == (1, 0)
    assert (contact.job_title, contact.city, contact.lifecycle_stage, contact.version) == (
        "",
        "Aarhus",
        "customer",
        1,
    )
    assert list(import_report_rows(job))[1] == [
        "2",
        "skipped",
        str(contact.pk),
        "",
        "",
        "Matches an existing record; skipped.",
    ]


def test_on_match_fill_only_fills_empty_fields_and_adds_phones_and_tags(manager):
    contact = _existing(manager)

    job = run_import(manager, MATCHING_ROW, on_match="fill")

    contact.refresh_from_db()
    assert job.updated_count == 1
    assert (contact.job_title, contact.city, contact.lifecycle_stage, contact.version) == (
        "CTO",
        "Aarhus",
        "customer",
        2,
    )
    assert (contact.primary_email, contact.primary_phone) == ("ann@example.com", "+4532123456")
    assert list(contact.tags.values_list("name", flat=True)) == ["VIP"]
    assert contact.search_text == "ann lee ann@example.com 4532123456"
    changed = events_of(contact).get(kind="contact.changed")
    assert changed.data["changes"] == {
        "job_title": {"old": "", "new": "CTO"},
        "phones": {"old": [], "new": ["+4532123456"]},
    }
    assert changed.data["import"] == job.pk
    assert events_of(contact).get(kind="contact.tagged").data["tags"] == ["VIP"]


def test_on_match_overwrite_replaces_with_non_empty_values_and_keeps_the_rest(manager):
    contact = _existing(manager)
    contact.region = "Midtjylland"
    contact.save()

    job = run_import(manager, MATCHING_ROW, on_match="overwrite")

    contact.refresh_from_db()
    assert job.updated_count == 1
    assert (contact.job_title, contact.city, contact.lifecycle_stage, contact.region) == (
        "CTO",
        "Odense",
        "lead",
        "Midtjylland",
    )
    assert list(contact.emails.values_list("email", flat=True)) == ["ann@example.com"]
    assert list(contact.phones.values_list("number", "is_primary")) == [("+4532123456", True)]


def test_matching_by_phone_and_by_name_at_the_same_organization(manager):
    by_phone = contact_create(actor=manager, first_name="Bo", phones=["+4520123456"])
    by_name = run_import(manager, "Name,Company\nCy Dahl,Bygg AB\n").created_count

    job = run_import(
        manager,
        "Name,Phone,Company,Job Title\nBo,20 12 34 56,,Buyer\nCy Dahl,,bygg ab,CEO\n",
        on_match="fill",
        options={"country": "DK"},
    )

    by_phone.refresh_from_db()
    cy = Contact.objects.get(first_name="Cy")
    assert by_name == 1
    assert (job.created_count, job.updated_count) == (0, 2)
    assert (by_phone.job_title, cy.job_title) == ("Buyer", "CEO")


def test_a_contact_the_importer_cannot_see_is_neither_matched_nor_touched(manager, rep_b):
    hidden = ContactFactory(
        first_name="Hidden", last_name="Person", owner=rep_b, primary_email="x@example.com"
    )

    job = run_import(manager, "Name,Email,City\nNew Person,x@example.com,Oslo\n", on_match="fill")

    hidden.refresh_from_db()
    created = Contact.objects.exclude(pk=hidden.pk).get()
    assert (job.created_count, job.updated_count, job.skipped_count) == (1, 0, 0)
    assert (hidden.city, hidden.version, hidden.first_name) == ("", 1, "Hidden")
    assert (created.first_name, created.owner) == ("New", manager)
    assert ContactEmail.objects.filter(email="x@example.com").count() == 2
    assert [row[2] for row in import_report_rows(job)][1:] == [str(created.pk)]


def test_a_row_with_an_owner_the_importer_may_not_assign_fails(manager, rep_b, rep_a2):
    job = run_import(
        manager,
        "Name,Owner\nAnn Lee,repb@example.com\nBo Berg,rep2@example.com\nCy Dahl,nobody@example.com\n",
    )

    assert errors_of(job) == [
        (2, "Owner", "repb@example.com", "Your role does not allow giving records to Repb."),
        (
            4,
            "Owner",
            "nobody@example.com",
            "There is no active user with the email address “nobody@example.com”.",
        ),
    ]
    assert Contact.objects.get().owner == rep_a2


def test_custom_fields_are_checked_like_on_the_page(manager, admin_user):
    CustomFieldDefinition.objects.create(
        record_type="parties.contact",
        key="channel",
        label="Channel",
        field_type="choice",
        choices=["Email", "Phone"],
    )

    job = run_import(manager, "Name,Channel\nAnn Lee,Phone\nBo Berg,Fax\n")

    assert errors_of(job) == [
        (3, "Channel", "Fax", "Select a valid choice. Fax is not one of the available choices.")
    ]
    assert Contact.objects.get().custom_fields == {"channel": "Phone"}


def test_an_xlsx_workbook_imports_numbers_and_dates_as_text(manager):
    import openpyxl

    CustomFieldDefinition.objects.create(
        record_type="parties.contact", key="birthday", label="Birthday", field_type="date"
    )
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["First Name", "Last Name", "Phone", "Country", "Birthday"])
    sheet.append(["Ann", "Lee", 4532123456, "DK", datetime(1990, 5, 17)])
    sheet.append([None, None, None, None, None])
    sheet.append(["Bo", "Berg", 20123456.0, "Denmark", date(1985, 1, 2)])
    buffer = io.BytesIO()
    workbook.save(buffer)

    job = run_import(manager, buffer.getvalue(), name="people.xlsx")

    assert (job.file_format, job.created_count, job.failed_count) == ("xlsx", 2, 0)
    assert ImportBatch.objects.get(job=job).outcomes == "c-c"
    assert sorted(Contact.objects.values_list("first_name", "primary_phone", "custom_fields")) == [
        ("Ann", "+4532123456", {"birthday": "1990-05-17"}),
        ("Bo", "+4520123456", {"birthday": "1985-01-02"}),
    ]


def test_an_explicit_encoding_reads_the_whole_file_with_it(manager):
    content = "Name;Email;City\nJens Møller;jens@example.dk;Århus\n".encode("windows-1252")

    job = run_import(manager, content, options={"encoding": "windows-1252"})

    contact = Contact.objects.get()
    assert job.encoding == "cp1252"
    assert (contact.last_name, contact.city) == ("Møller", "Århus")


def test_utf16_and_tab_separated_files_are_recognized(manager):
    content = "Name\tEmail\nJens Møller\tjens@example.dk\n".encode("utf-16")

    job = run_import(manager, content, name="people.txt")

    assert (job.encoding, job.created_count) == ("utf-16", 1)
    assert Contact.objects.get().last_name == "Møller"


def test_a_job_that_stopped_resumes_where_it_stopped_and_writes_nothing_twice(
    manager, settings, monkeypatch
):
    settings.CLIENTELA_IMPORT_BATCH_SIZE = 2
    content = (
        "Name,Email\nAnn Lee,ann@example.com\nBo Berg,bo@example.com\nCy Dahl,cy@example.com\n"
        "Di Eng,di@example.com\nEd Fox,ANN@example.com\n"
    )
    original = imports._ImportRun._contacts_create
    calls = []

    def crash_on_second_batch(self, rows, result):
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("the worker died")
        return original(self, rows, result)

    monkeypatch.setattr(imports._ImportRun, "_contacts_create", crash_on_second_batch)
    stored_name = store(manager, content)
    job = import_job_create(
        actor=manager,
        record_type="contacts",
        stored_name=stored_name,
        original_name="people.csv",
        mapping={"Name": "full_name", "Email": "email"},
        run=False,
    )

    with pytest.raises(RuntimeError):
        import_job_run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.next_row, job.created_count) == ("failed", 4, 2)
    assert Contact.objects.count() == 2

    monkeypatch.setattr(imports._ImportRun, "_contacts_create", original)
    job = import_job_run(job.pk)

    assert (job.status, job.message, job.next_row) == ("done", "", 7)
    assert (job.created_count, job.failed_count, job.total_rows) == (4, 1, 5)
    assert errors_of(job) == [(6, "Email", "ANN@example.com", "Same email as row 2.")]
    assert sorted(ContactEmail.objects.values_list("email", flat=True)) == [
        "ann@example.com",
        "bo@example.com",
        "cy@example.com",
        "di@example.com",
    ]
    assert Event.objects.filter(kind="contact.created").count() == 4
    assert list(ImportBatch.objects.filter(job=job).values_list("first_row", "outcomes")) == [
        (2, "cc"),
        (4, "cc"),
        (6, "f"),
    ]


def test_running_a_finished_job_again_does_nothing(manager):
    job = run_import(manager, SAMPLE)
    counts = table_counts()

    again = import_job_run(job.pk)

    assert (again.status, again.created_count) == ("done", 5)
    assert table_counts() == counts


def test_a_cancelled_job_stops_before_its_next_batch(manager, settings):
    settings.CLIENTELA_IMPORT_BATCH_SIZE = 1
    stored_name = store(manager, "Name\nAnn Lee\nBo Berg\nCy Dahl\n")
    job = import_job_create(
        actor=manager,
        record_type="contacts",
        stored_name=stored_name,
        original_name="people.csv",
        mapping={"Name": "full_name"},
        run=False,
    )

    job = import_job_run(job.pk, progress=lambda job: import_job_cancel(actor=manager, job=job))

    assert (job.status, job.created_count, job.next_row) == ("cancelled", 1, 3)
    assert list(Contact.objects.values_list("first_name", flat=True)) == ["Ann"]
    with pytest.raises(ValidationError):
        import_job_cancel(actor=manager, job=job)


def test_a_dry_run_writes_nothing_and_its_import_does_what_it_said(manager):
    ContactFactory(
        first_name="Ann", last_name="Lee", owner=manager, primary_email="ann@example.com"
    )
    counts = table_counts()

    dry_run = run_import(manager, SAMPLE, is_dry_run=True, on_match="fill")

    assert table_counts() == counts
    assert (dry_run.status, dry_run.created_count, dry_run.updated_count) == ("done", 4, 1)
    assert dry_run.total_rows == 5
    assert ImportBatch.objects.get(job=dry_run).outcomes == "ucccc"

    job = import_job_start(actor=manager, dry_run=dry_run)
    assert (job.status, job.total_rows, job.dry_run_of) == ("pending", 5, dry_run)
    job = import_job_run(job.pk)

    assert (job.created_count, job.updated_count, job.failed_count) == (4, 1, 0)
    assert Contact.objects.count() == 5


def test_the_report_lists_every_row_and_each_error_of_a_failed_row(manager):
    job = run_import(
        manager, "Name,Email,Country\nAnn Lee,ann@example.com,DK\n,bad,XX\n\nBo Berg,,\n"
    )

    ann, bo = Contact.objects.order_by("first_name")
    assert list(import_report_rows(job)) == [
        ["row", "outcome", "record_id", "column", "value", "reason"],
        ["2", "created", str(ann.pk), "", "", ""],
        ["3", "failed", "", "Name", "", "Enter a first or a last name."],
        ["3", "failed", "", "Email", "bad", "“bad” is not a valid email address."],
        [
            "3",
            "failed",
            "",
            "Country",
            "XX",
            "Unknown country “XX”; use a country’s name or its two-letter code, such as DK.",
        ],
        ["5", "created", str(bo.pk), "", "", ""],
    ]


def test_default_country_tags_and_owner_apply_to_every_new_row(manager, rep_a2):
    job = run_import(
        manager,
        "Name,Phone\nAnn Lee,20 12 34 56\n",
        options={"country": "DK", "tags": ["Fair 2026"], "owner": rep_a2.pk},
    )

    contact = Contact.objects.get()
    assert job.options == {"country": "DK", "tags": ["Fair 2026"], "owner": rep_a2.pk}
    assert (contact.country, contact.primary_phone, contact.owner) == ("DK", "+4520123456", rep_a2)
    assert list(contact.tags.values_list("name", flat=True)) == ["Fair 2026"]


def test_options_are_checked_before_the_job_is_saved(manager, rep_b):
    stored_name = store(manager, "Name\nAnn Lee\n")

    with pytest.raises(ValidationError) as error:
        import_job_create(
            actor=manager,
            record_type="contacts",
            stored_name=stored_name,
            original_name="x.csv",
            mapping={"Name": "full_name"},
            on_match="merge",
            options={"country": "Narnia", "owner": rep_b.pk},
            run=False,
        )

    assert error.value.message_dict == {
        "on_match": ["Choose what happens to a row that matches a record."]
    }
    with pytest.raises(ValidationError) as error:
        import_job_create(
            actor=manager,
            record_type="contacts",
            stored_name=stored_name,
            original_name="x.csv",
            mapping={"Name": "full_name"},
            options={"country": "Narnia", "colour": "red"},
            run=False,
        )
    assert error.value.message_dict == {
        "options": ["Unknown option “colour”."],
        "country": ["Choose a country from the list."],
    }
    assert ImportJob.objects.count() == 0


def test_organizations_match_by_domain_then_by_name(manager):
    Organization.objects.create(
        name="Acme", website="https://acme.example", domain="acme.example", owner=manager
    )
    Organization.objects.create(name="Bygg AB", owner=manager)

    job = run_import(
        manager,
        "Company,Website,Employees,Annual Revenue,Industry\n"
        'ACME Corp,www.acme.example,120,"1,250,000.50",Software\n'
        "bygg ab,bygg.example,8,,Construction\n"
        "Cafe Luna,,,12x,Coffee\n"
        "New Co,new.example,1500,,\n",
        record_type="organizations",
        on_match="fill",
    )

    assert errors_of(job) == [
        (
            4,
            "Annual Revenue",
            "12x",
            "“12x” is not an amount; write it like 1250000 or 1250000.50.",
        ),
        (
            4,
            "Industry",
            "Coffee",
            "Unknown value “Coffee”; use one of: Agriculture, Automotive, Construction, Consulting, "
            "Education, Energy, Finance, Food and beverage, Healthcare, Hospitality, Logistics, "
            "Manufacturing, Media, Non-profit, Public sector, Real estate, Retail, Software, "
            "Telecommunications, Other.",
        ),
    ]
    assert (job.created_count, job.updated_count) == (1, 2)
    assert sorted(
        Organization.objects.values_list(
            "name", "domain", "size_band", "annual_revenue", "industry"
        )
    ) == [
        ("Acme", "acme.example", "50-249", 1250000.50, "software"),
        ("Bygg AB", "bygg.example", "1-9", None, "construction"),
        ("New Co", "new.example", "1000+", None, ""),
    ]


def test_an_organization_without_a_name_fails(manager):
    job = run_import(manager, "Name,City\n,Oslo\n", record_type="organizations")

    assert errors_of(job) == [(2, "Name", "", "An organization needs a name.")]


def test_a_job_that_wrote_records_rescans_for_duplicates_once(manager, settings, duplicates_calls):
    settings.CLIENTELA_IMPORT_BATCH_SIZE = 1
    run_import(manager, "Name\nAnn Lee\nBo Berg\n")

    assert duplicates_calls == ["contacts"]


def test_contacts_that_created_organizations_rescan_both(manager, duplicates_calls):
    run_import(manager, "Name,Company Name\nAnn Lee,Acme\n")

    assert duplicates_calls == ["contacts", "organizations"]


def test_a_dry_run_or_a_job_that_changed_nothing_does_not_rescan(manager, duplicates_calls):
    run_import(manager, "Name\nAnn Lee\n", is_dry_run=True)
    assert duplicates_calls == []

    run_import(manager, "Name\nAnn Lee\n")
    run_import(manager, "Name\nAnn Lee\n")

    assert duplicates_calls == ["contacts"]


def test_a_job_queued_on_commit_runs_in_the_worker(manager, django_capture_on_commit_callbacks):
    stored_name = store(manager, "Name\nAnn Lee\n")

    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_create(
            actor=manager,
            record_type="contacts",
            stored_name=stored_name,
            original_name="people.csv",
            mapping={"Name": "full_name"},
        )

    job.refresh_from_db()
    assert (job.status, job.created_count) == ("done", 1)


def test_organizations_and_tags_resolve_after_their_caches_are_emptied(
    manager, settings, monkeypatch
):
    # Regression: a full cache was emptied after deciding what was missing, losing ids the batch needed.
    monkeypatch.setattr(imports, "_CACHE_LIMIT", 1)
    settings.CLIENTELA_IMPORT_BATCH_SIZE = 2
    content = (
        "First Name,Last Name,Company Name,Tags\n"
        "Ana,One,Acme,a\nBo,Two,Beta,b\nCy,Three,Acme,a\nDe,Four,Beta,b\nEd,Five,Gamma,c\n"
    )

    job = run_import(manager, content)

    assert (job.created_count, job.failed_count) == (5, 0)
    assert sorted(Organization.objects.values_list("name", flat=True)) == ["Acme", "Beta", "Gamma"]
    assert sorted(
        (contact.last_name, contact.organizations.get().name, contact.tags.get().name)
        for contact in Contact.objects.all()
    ) == [
        ("Five", "Gamma", "c"),
        ("Four", "Beta", "b"),
        ("One", "Acme", "a"),
        ("Three", "Acme", "a"),
        ("Two", "Beta", "b"),
    ]


def test_a_large_import_refreshes_planner_statistics_on_postgresql_only(manager, monkeypatch):
    monkeypatch.setattr(imports, "STATISTICS_REFRESH_ROWS", 2)

    with CaptureQueriesContext(connection) as queries:
        run_import(manager, "Name\nAnn Lee\nBo Berg\n")
        run_import(manager, "Name\nCy Dahl\n", is_dry_run=True)

    analyzed = [query["sql"] for query in queries if query["sql"].startswith("ANALYZE")]
    if connection.vendor == "postgresql":
        assert analyzed == [
            'ANALYZE "parties_contact", "parties_contactemail", "parties_contactphone", '
            '"parties_affiliation", "parties_organization"'
        ]
    else:
        assert analyzed == []


def test_an_export_imports_back_with_every_email_phone_and_its_organization(client, manager):
    acme = organization_create(actor=manager, name="Acme ApS")
    contact_create(
        actor=manager,
        first_name="José",
        last_name="Ødegård",
        country="DK",
        emails=[{"email": "jose@acme.dk"}, {"email": "jose@home.dk"}],
        phones=[{"number": "+45 32 12 34 56"}, {"number": "+1 415-555-0100"}],
        organizations=[{"organization": acme}],
        tags=["VIP", "Beta"],
    )
    client.force_login(manager)
    exported = b"".join(
        client.get(reverse("parties:contact_export"), {"format": "csv"}).streaming_content
    )
    Contact.objects.all().delete()
    header = exported.decode("utf-8-sig").splitlines()[0].split(",")

    assert {
        name: key
        for name, key in import_mapping_guess("contacts", header).items()
        if name in ("emails", "phones", "organizations")
    } == {"emails": "emails", "phones": "phones", "organizations": "organization"}
    job = run_import(manager, exported, name="contacts.csv")

    assert (job.created_count, job.failed_count) == (1, 0)
    contact = Contact.objects.get()
    assert sorted(contact.emails.values_list("email", "is_primary")) == [
        ("jose@acme.dk", True),
        ("jose@home.dk", False),
    ]
    assert sorted(contact.phones.values_list("number", "is_primary")) == [
        ("+14155550100", False),
        ("+4532123456", True),
    ]
    assert [organization.name for organization in contact.organizations.all()] == ["Acme ApS"]
    assert sorted(contact.tags.values_list("name", flat=True)) == ["Beta", "VIP"]


def test_a_cell_naming_several_organizations_fails_its_row(manager):
    job = run_import(manager, "Name,organizations\nAnn Lee,Acme; Beta\nBo Berg,Acme\n")

    assert (job.created_count, job.failed_count) == (1, 1)
    assert errors_of(job) == [
        (
            2,
            "organizations",
            "Acme; Beta",
            "One organization per row: this cell names 2 (separated by ;). Link the others on the "
            "contact’s page.",
        )
    ]


def test_several_emails_in_one_cell_report_the_bad_one(manager):
    job = run_import(manager, "Name,Emails\nAnn Lee,ann@x.dk; not-an-email\n")

    assert errors_of(job) == [
        (2, "Emails", "ann@x.dk; not-an-email", "“not-an-email” is not a valid email address.")
    ]


@pytest.mark.parametrize("record_type", ["contacts", "organizations"])
def test_an_update_that_changes_the_owner_and_adds_tags_records_both_events(
    manager, rep_a2, record_type
):
    header = "Name,Owner,Tags" if record_type == "organizations" else "Name,Email,Owner,Tags"
    row = "Acme" if record_type == "organizations" else "Ann Lee,ann@example.com"
    run_import(manager, f"{header}\n{row},,\n", record_type=record_type)

    job = run_import(
        manager,
        f"{header}\n{row},rep2@example.com,VIP\n",
        record_type=record_type,
        on_match="overwrite",
    )

    model = Organization if record_type == "organizations" else Contact
    record = model.objects.get()
    prefix = "organization" if record_type == "organizations" else "contact"
    owner_changed = events_of(record).get(kind=f"{prefix}.owner_changed")
    assert (job.updated_count, record.owner) == (1, rep_a2)
    assert owner_changed.data["changes"]["owner"]["new"]["id"] == rep_a2.pk
    assert owner_changed.data["changes"]["owner"]["old"]["id"] == manager.pk
    assert owner_changed.data["import"] == job.pk
    tagged = events_of(record).get(kind=f"{prefix}.tagged")
    assert (tagged.data["tags"], tagged.data["import"]) == (["VIP"], job.pk)
