"""Import files, previews, mappings and jobs as people see them; and the shortcuts the engine takes."""

from __future__ import annotations

import inspect

import phonenumbers
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from clientela.core.phones import phone_to_e164
from clientela.parties import imports
from clientela.parties.imports import (
    import_fields,
    import_file_store,
    import_job_create,
    import_job_get,
    import_jobs_visible_to,
    import_mapping_guess,
    import_mapping_save,
    import_mapping_validate,
    import_mappings_for,
    import_preview,
)
from clientela.parties.models import ImportMapping
from clientela.parties.search import contact_search_text


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    """Uploads go to a scratch folder (the root conftest sets CLIENTELA_VAR_DIR after settings load)."""
    settings.VAR_DIR = tmp_path / "var"


def store(actor, content, name="people.csv"):
    if isinstance(content, str):
        content = content.encode()
    return import_file_store(actor=actor, upload=SimpleUploadedFile(name, content))


# -- files -----------------------------------------------------------------------------------------


def test_a_stored_file_keeps_its_extension_under_the_imports_folder(manager, settings):
    name = store(manager, "Name\nAnn\n", "My People.CSV")

    assert name.endswith(".csv")
    assert len(name) == 36
    assert (settings.VAR_DIR / "imports" / name).read_bytes() == b"Name\nAnn\n"


def test_a_file_over_the_limit_is_refused_before_it_is_read(manager, settings):
    settings.CLIENTELA_IMPORT_MAX_BYTES = 10

    class Unreadable(SimpleUploadedFile):
        def chunks(self, chunk_size=None):
            raise AssertionError("read")

    with pytest.raises(ValidationError) as error:
        import_file_store(actor=manager, upload=Unreadable("people.csv", b"x" * 11))

    assert error.value.messages == ["The file is larger than the limit of 10\xa0bytes."]
    assert error.value.error_list[0].code == "too_large"
    assert not (settings.VAR_DIR / "imports").exists() or not any(
        (settings.VAR_DIR / "imports").iterdir()
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("people.pdf", "Choose a CSV file (.csv, .txt, .tsv) or an Excel workbook (.xlsx)."),
        ("people", "Choose a CSV file (.csv, .txt, .tsv) or an Excel workbook (.xlsx)."),
        ("people.xls", "Old Excel files (.xls) cannot be read; save the file as .xlsx or CSV."),
    ],
)
def test_only_csv_and_xlsx_files_are_kept(manager, name, message):
    with pytest.raises(ValidationError) as error:
        store(manager, "Name\nAnn\n", name)

    assert error.value.messages == [message]


def test_only_roles_that_may_import_can_upload(rep):
    with pytest.raises(PermissionDenied):
        store(rep, "Name\nAnn\n")


def test_the_preview_shows_the_header_the_first_five_rows_and_about_how_many_rows(manager):
    rows = "".join(f"Person {number};p{number}@example.com\n" for number in range(8))
    name = store(manager, "\ufeffName;Email\n" + rows)

    preview = import_preview(stored_name=name)

    assert (preview.file_format, preview.encoding, preview.delimiter) == ("csv", "utf-8-sig", ";")
    assert preview.header == ["Name", "Email"]
    assert preview.rows == [[f"Person {n}", f"p{n}@example.com"] for n in range(5)]
    assert preview.row_count_estimate == 8


def test_a_binary_file_and_a_broken_workbook_are_refused(manager):
    with pytest.raises(ValidationError) as binary:
        import_preview(stored_name=store(manager, b"Name\x00\x01\x02\nAnn\n"))
    with pytest.raises(ValidationError) as workbook:
        import_preview(stored_name=store(manager, b"PK\x03\x04not really a zip", "p.xlsx"))
    with pytest.raises(ValidationError) as text_as_workbook:
        import_preview(stored_name=store(manager, b"Name\nAnn\n", "p.xlsx"))

    assert binary.value.messages == [
        "This is not a text file. Choose a CSV file, or an Excel workbook saved as .xlsx."
    ]
    assert workbook.value.messages == ["This file could not be read as an Excel workbook (.xlsx)."]
    assert text_as_workbook.value.messages == workbook.value.messages


def test_an_unknown_stored_name_is_refused(manager):
    with pytest.raises(ValidationError):
        import_preview(stored_name="../../etc/passwd")


def test_the_reader_streams_the_file_without_reading_it_all(manager, settings):
    row = "Ann Lee,ann@example.com,Some street 1,Aarhus\n"
    name = store(manager, "Name,Email,Street,City\n" + row * 100_000)
    source = imports._source_open(name)
    counter: list = []

    records = imports._csv_records(source, counter)
    first_rows = [next(records) for _ in range(3)]

    assert inspect.isgenerator(records)
    assert first_rows[1] == (2, ["Ann Lee", "ann@example.com", "Some street 1", "Aarhus"])
    assert source.size > 4_000_000
    assert counter[0].count <= 512 * 1024
    records.close()


# -- fields and mappings ---------------------------------------------------------------------------


def test_the_fields_of_contacts_end_with_the_custom_fields(manager):
    from clientela.core.models import CustomFieldDefinition

    CustomFieldDefinition.objects.create(
        record_type="parties.contact",
        key="channel",
        label="Channel",
        field_type="text",
        is_required=True,
    )

    fields = import_fields("contacts")

    assert [field.key for field in fields] == [
        "first_name",
        "last_name",
        "full_name",
        "email",
        "email_2",
        "email_3",
        "emails",
        "phone",
        "mobile",
        "work_phone",
        "phones",
        "job_title",
        "organization",
        "organization_role",
        "lifecycle_stage",
        "source",
        "street",
        "city",
        "region",
        "postal_code",
        "country",
        "preferred_language",
        "tags",
        "owner",
        "team",
        "cf:channel",
    ]
    assert [field.key for field in fields if field.required] == ["cf:channel"]
    assert [field.key for field in import_fields("organizations") if field.required] == ["name"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (  # HubSpot contacts
            [
                "Record ID",
                "First Name",
                "Last Name",
                "Email",
                "Phone Number",
                "Mobile Phone Number",
                "Job Title",
                "Company Name",
                "Street Address",
                "City",
                "State/Region",
                "Postal Code",
                "Country/Region",
                "Lifecycle Stage",
                "Contact owner",
                "Original Source",
            ],
            [
                "",
                "first_name",
                "last_name",
                "email",
                "phone",
                "mobile",
                "job_title",
                "organization",
                "street",
                "city",
                "region",
                "postal_code",
                "country",
                "lifecycle_stage",
                "owner",
                "source",
            ],
        ),
        (  # Salesforce contacts
            [
                "First Name",
                "Last Name",
                "Title",
                "Account Name",
                "Email",
                "Phone",
                "Mobile",
                "Mailing Street",
                "Mailing City",
                "Mailing State/Province",
                "Mailing Zip/Postal Code",
                "Mailing Country",
                "Lead Source",
                "Contact Owner",
            ],
            [
                "first_name",
                "last_name",
                "job_title",
                "organization",
                "email",
                "phone",
                "mobile",
                "street",
                "city",
                "region",
                "postal_code",
                "country",
                "source",
                "owner",
            ],
        ),
        (  # Pipedrive people
            [
                "Person - Name",
                "Person - Email",
                "Person - Phone",
                "Person - Organization",
                "Person - Labels",
                "Person - Owner",
            ],
            ["full_name", "email", "phone", "organization", "tags", "owner"],
        ),
        (  # Google Contacts (both layouts)
            [
                "Name",
                "Given Name",
                "Family Name",
                "E-mail 1 - Value",
                "E-mail 2 - Value",
                "Phone 1 - Value",
                "Organization 1 - Name",
                "Organization 1 - Title",
                "Address 1 - City",
                "Group Membership",
            ],
            [
                "full_name",
                "first_name",
                "last_name",
                "email",
                "email_2",
                "phone",
                "organization",
                "job_title",
                "city",
                "tags",
            ],
        ),
        (  # Spanish
            ["Nombre", "Apellidos", "Correo electrónico", "Teléfono", "Empresa", "Ciudad", "País"],
            ["first_name", "last_name", "email", "phone", "organization", "city", "country"],
        ),
        (  # Danish
            ["Fornavn", "Efternavn", "E-mail", "Telefon", "Virksomhed", "By", "Land"],
            ["first_name", "last_name", "email", "phone", "organization", "city", "country"],
        ),
        (  # Hindi
            ["नाम", "ईमेल", "फ़ोन", "कंपनी", "शहर", "देश"],
            ["full_name", "email", "phone", "organization", "city", "country"],
        ),
        (  # case, accents and punctuation do not matter; no field twice
            ["EMAIL", "e-mail", "E_Mail!", "email", "CORREO ELECTRONICO", "PHONE", "tel"],
            ["email", "email_2", "email_3", "", "", "phone", ""],
        ),
    ],
)
def test_the_mapping_is_guessed_from_the_column_names_of_common_exports(db, header, expected):
    assert import_mapping_guess("contacts", header) == dict(zip(header, expected, strict=True))


def test_organization_headers_are_guessed_too(db):
    header = [
        "Company name",
        "Company Domain Name",
        "Industry",
        "Number of Employees",
        "Billing City",
    ]

    assert import_mapping_guess("organizations", header) == {
        "Company name": "name",
        "Company Domain Name": "website",
        "Industry": "industry",
        "Number of Employees": "size_band",
        "Billing City": "city",
    }


def test_a_saved_mapping_wins_for_the_columns_it_names(manager):
    saved = import_mapping_save(
        actor=manager,
        record_type="contacts",
        name="Fair list",
        columns={"Name": "", "Notes": "job_title", "Email": "email_2"},
    )

    guess = import_mapping_guess("contacts", ["Name", "Email", "Notes", "E-mail"], saved)

    assert guess == {"Name": "", "Email": "email_2", "Notes": "job_title", "E-mail": "email"}


def test_saving_a_mapping_with_the_same_name_replaces_it(manager, marketer):
    first = import_mapping_save(
        actor=manager, record_type="contacts", name="Fair list", columns={"Name": "full_name"}
    )

    second = import_mapping_save(
        actor=marketer, record_type="contacts", name="fair LIST", columns={"Navn": "full_name"}
    )

    assert second.pk == first.pk
    assert list(ImportMapping.objects.values_list("name", "columns")) == [
        ("fair LIST", {"Navn": "full_name"})
    ]
    assert list(import_mappings_for(marketer, "contacts")) == [second]
    assert list(import_mappings_for(marketer, "organizations")) == []


def test_a_mapping_needs_a_known_field_per_column_once_and_a_name(db):
    header = ["Name", "Email", "Mail"]

    with pytest.raises(ValidationError) as error:
        import_mapping_validate(
            "contacts",
            {"Name": "nickname", "Email": "email", "Mail": "email", "Fax": "phone"},
            header,
        )
    with pytest.raises(ValidationError) as nameless:
        import_mapping_validate("contacts", {"Email": "email"}, header)

    assert error.value.message_dict == {
        "Name": ["There is no field “nickname”."],
        "Mail": ["Email is already chosen for the column “Email”."],
        "mapping": ["The file has no column “Fax”."],
    }
    assert nameless.value.message_dict == {
        "mapping": ["Choose the column that holds the name (first, last or full name)."]
    }
    assert import_mapping_validate(
        "contacts", {"Mail": "tags", "Email": "tags", "Name": "full_name"}, header
    ) == {"Name": "full_name", "Email": "tags", "Mail": "tags"}


# -- jobs as people see them -----------------------------------------------------------------------


def test_people_see_their_own_imports_and_administrators_see_all(manager, marketer, admin_user):
    def create(actor):
        return import_job_create(
            actor=actor,
            record_type="contacts",
            stored_name=store(actor, "Name\nAnn\n"),
            original_name="people.csv",
            mapping={"Name": "full_name"},
            is_dry_run=True,
            run=False,
        )

    mine, theirs = create(manager), create(marketer)

    assert list(import_jobs_visible_to(manager)) == [mine]
    assert set(import_jobs_visible_to(admin_user)) == {mine, theirs}
    assert import_job_get(admin_user, mine.pk) == mine
    with pytest.raises(Http404):
        import_job_get(manager, theirs.pk)


def test_roles_that_may_not_import_see_no_imports(rep, manager):
    import_job_create(
        actor=manager,
        record_type="contacts",
        stored_name=store(manager, "Name\nAnn\n"),
        original_name="people.csv",
        mapping={"Name": "full_name"},
        run=False,
    )

    assert list(import_jobs_visible_to(rep)) == []
    with pytest.raises(PermissionDenied):
        import_job_create(
            actor=rep,
            record_type="contacts",
            stored_name="0" * 32 + ".csv",
            original_name="people.csv",
            mapping={},
            run=False,
        )


# -- the engine's shortcuts give the same results as the slow paths ------------------------------------


def _phone_inputs():
    formats = phonenumbers.PhoneNumberFormat
    types = phonenumbers.PhoneNumberType
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (types.MOBILE, types.FIXED_LINE, types.TOLL_FREE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, formats.E164)
            for text in (
                e164,
                phonenumbers.format_number(example, formats.INTERNATIONAL),
                phonenumbers.format_number(example, formats.NATIONAL),
                "00" + e164[1:],
                e164[:-1],
                e164 + "1",
            ):
                for parsing_region in {region, "US", "DK", "GB", "IN"}:
                    yield text, parsing_region


def test_the_fast_phone_reader_agrees_with_phone_to_e164_whenever_it_answers():
    fast = imports._FastPhones()
    answered = 0
    disagreements = []
    inputs = list(_phone_inputs())
    for text, region in inputs:
        number = fast.e164(text, region)
        if number is None:
            continue
        answered += 1
        try:
            expected = phone_to_e164(text, region)
        except ValidationError:
            expected = "invalid"
        if number != expected:
            disagreements.append((text, region, number, expected))

    assert disagreements == []
    assert answered > len(inputs) // 3


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("+45 32 12 34 56", "US", "+4532123456"),
        ("0045 32 12 34 56", "US", "+4532123456"),
        ("32123456", "DK", "+4532123456"),
        ("(415) 555-0100", "US", "+14155550100"),
        ("001 415 555 0100", "DK", "+14155550100"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+91 98765 43210", "DK", "+919876543210"),
    ],
)
def test_the_fast_phone_reader_reads_common_formats(text, region, expected):
    assert imports._FastPhones().e164(text, region) == expected == phone_to_e164(text, region)


@pytest.mark.parametrize(
    "parts",
    [
        ("Ann", "Lee", ["ann@example.com"], ["+4532123456"], ["Acme"]),
        ("José", "Núñez García", ["Jose@Example.es"], [], ["Ñandú S.A.", "Acme"]),
        ("Søren", "Ødegård", [], ["+4520123456"], []),
        ("  Ann  ", "", [], [], ["  Big   Co "]),
        ("राहुल", "शर्मा", ["rahul@example.in"], ["+919876543210"], ["टाटा"]),
        ("Straße", "Łukasz", [], [], []),
    ],
)
def test_the_engine_computes_the_same_search_text_as_the_services(parts):
    first, last, emails, phones, organizations = parts

    assert imports._contact_search_text(
        first, last, emails, phones, organizations
    ) == contact_search_text(
        first_name=first,
        last_name=last,
        emails=emails,
        phones=phones,
        organization_names=organizations,
    )
