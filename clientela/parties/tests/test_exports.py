"""Exports of contacts and organizations: exact files, formula escaping, visibility, filters, permissions,
queries, the CLI, the pages and the API."""

import csv
import datetime
import io
import logging
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clientela.core.models import Tag
from clientela.core.services import custom_field_definition_create
from clientela.core.spreadsheets import FORMULA_TRIGGERS, spreadsheet_safe
from clientela.parties import exports
from clientela.parties.exports import (
    export_start,
    vcard_escape,
    vcard_fold,
)
from clientela.parties.models import Affiliation, Contact
from clientela.parties.services import contact_create, organization_create
from clientela.parties.tests.factories import (
    AffiliationFactory,
    ContactFactory,
    OrganizationFactory,
)

pytestmark = pytest.mark.django_db

CONTACTS_EXPORT = reverse("parties:contact_export")
ORGANIZATIONS_EXPORT = reverse("parties:organization_export")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PROBLEM = "application/problem+json"
CREATED = datetime.datetime(2026, 11, 23, 9, 30, tzinfo=datetime.UTC)
UPDATED = datetime.datetime(2026, 11, 23, 10, 0, 5, tzinfo=datetime.UTC)
CONTACT_HEADER = (
    "id,first_name,last_name,emails,phones,job_title,organizations,lifecycle_stage,source,street,"
    "city,region,postal_code,country,preferred_language,tags,owner,team,created_at,updated_at"
)
ORGANIZATION_HEADER = (
    "id,name,website,domain,industry,size_band,phone,annual_revenue,currency,description,street,"
    "city,region,postal_code,country,tags,owner,team,created_at,updated_at"
)


def _content(response) -> bytes:
    return b"".join(response.streaming_content)


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _stamp(*records):
    """Fixed created/updated times, so that files can be compared exactly."""
    for record in records:
        type(record).objects.filter(pk=record.pk).update(created_at=CREATED, updated_at=UPDATED)


def _export_log(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "clientela.exports"]


def _export_bytes(**kwargs) -> bytes:
    buffer = io.BytesIO()
    export_start(**kwargs).write(buffer)
    return buffer.getvalue()


@pytest.fixture
def contact_fields(admin_user):
    custom_field_definition_create(
        actor=admin_user,
        record_type="parties.contact",
        key="budget",
        label="Budget",
        field_type="number",
    )
    custom_field_definition_create(
        actor=admin_user,
        record_type="parties.contact",
        key="channels",
        label="Channels",
        field_type="multi_choice",
        choices=["Email", "Phone", "Post"],
    )
    custom_field_definition_create(
        actor=admin_user,
        record_type="parties.contact",
        key="vip",
        label="VIP",
        field_type="boolean",
    )


@pytest.fixture
def jose(rep, rep_b, contact_fields):
    """A contact of rep's with everything filled in, also an organization rep may not see."""
    acme = organization_create(actor=rep, name="Acme ApS")
    secret = OrganizationFactory(name="Secret Holdings", owner=rep_b)
    contact = contact_create(
        actor=rep,
        first_name="José",
        last_name="Ødegård",
        job_title="CTO, R&D",
        lifecycle_stage="customer",
        source="referral",
        street="Nørregade 1; 2. sal",
        city="København",
        postal_code="1165",
        country="DK",
        preferred_language="da",
        emails=[
            {"email": "jose@acme.dk", "kind": "work"},
            {"email": "jose@home.dk", "kind": "personal"},
        ],
        phones=[
            {"number": "+45 32 12 34 56", "kind": "work"},
            {"number": "+1 415-555-0100", "kind": "mobile"},
        ],
        organizations=[{"organization": acme, "role": "CTO"}],
        tags=["VIP", "Beta"],
        custom_fields={"budget": "1500", "channels": ["Email", "Phone"], "vip": True},
    )
    Affiliation.objects.create(contact=contact, organization=secret)
    _stamp(contact)
    return contact


# -- spreadsheet_safe --------------------------------------------------------------------------


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
@pytest.mark.parametrize("rest", ["", "1+1", "cmd|' /C calc'!A0", 'HYPERLINK("http://x")', "\n"])
def test_spreadsheet_safe_escapes_text_starting_with_a_formula_trigger(trigger, rest):
    assert spreadsheet_safe(trigger + rest) == "'" + trigger + rest


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Ana",
        "'=already escaped",
        " =1+1",
        "\n=1+1",
        "1-2",
        "a=b",
        "a@b.example",
        "ÉLODIE",
        "＝1+1",
        "0045 32 12 34 56",
    ],
)
def test_spreadsheet_safe_leaves_other_text_unchanged(value):
    assert spreadsheet_safe(value) == value


def test_spreadsheet_safe_escapes_exactly_the_six_triggers_among_every_first_character():
    escaped = set()
    for code in range(0x110000):
        character = chr(code)
        result = spreadsheet_safe(character + "x")
        if result != character + "x":
            assert result == "'" + character + "x"
            escaped.add(character)

    assert escaped == {"=", "+", "-", "@", "\t", "\r"} == FORMULA_TRIGGERS


# -- exact files -------------------------------------------------------------------------------


def test_contact_csv_has_the_field_keys_and_raw_values_with_only_visible_organizations(
    client, rep, manager, jose
):
    client.force_login(manager)

    response = client.get(CONTACTS_EXPORT, {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="contacts-{timezone.localdate().isoformat()}.csv"'
    )
    assert response["Cache-Control"] == "private, no-store"
    assert _content(response).decode("utf-8") == (
        f"\ufeff{CONTACT_HEADER},cf_budget,cf_channels,cf_vip\r\n"
        f"{jose.pk},José,Ødegård,jose@acme.dk; jose@home.dk,'+4532123456; +14155550100,"
        '"CTO, R&D",Acme ApS,customer,referral,Nørregade 1; 2. sal,København,,1165,DK,da,'
        "Beta; VIP,rep@example.com,Team A,2026-11-23T09:30:00Z,2026-11-23T10:00:05Z,"
        "1500,Email; Phone,true\r\n"
    )


def test_organization_csv_has_the_field_keys_and_raw_values(client, manager, rep, admin_user):
    custom_field_definition_create(
        actor=admin_user,
        record_type="parties.organization",
        key="tier",
        label="Tier",
        field_type="choice",
        choices=["Gold", "Silver"],
    )
    acme = organization_create(
        actor=rep,
        name="Acme ApS",
        website="https://www.acme.dk/about",
        industry="software",
        size_band="10-49",
        phone="+45 32 12 34 56",
        annual_revenue=Decimal("1234.50"),
        currency="DKK",
        description='Line one\nLine "two"',
        city="Aarhus",
        country="DK",
        tags=["Partner"],
        custom_fields={"tier": "Gold"},
    )
    _stamp(acme)
    client.force_login(manager)

    response = client.get(ORGANIZATIONS_EXPORT, {"format": "csv"})

    assert response["Content-Disposition"] == (
        f'attachment; filename="organizations-{timezone.localdate().isoformat()}.csv"'
    )
    assert _content(response).decode("utf-8") == (
        f"\ufeff{ORGANIZATION_HEADER},cf_tier\r\n"
        f"{acme.pk},Acme ApS,https://www.acme.dk/about,acme.dk,software,10-49,'+4532123456,"
        '1234.50,DKK,"Line one\nLine ""two""",,Aarhus,,,DK,Partner,rep@example.com,Team A,'
        "2026-11-23T09:30:00Z,2026-11-23T10:00:05Z,Gold\r\n"
    )


def test_contact_xlsx_cells_read_back_with_numbers_as_numbers_and_phones_as_escaped_text(
    client, manager, jose
):
    client.force_login(manager)

    response = client.get(CONTACTS_EXPORT, {"format": "xlsx"})

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"] == (
        f'attachment; filename="contacts-{timezone.localdate().isoformat()}.xlsx"'
    )
    workbook = openpyxl.load_workbook(io.BytesIO(_content(response)))
    sheet = workbook["contacts"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows == [
        (*CONTACT_HEADER.split(","), "cf_budget", "cf_channels", "cf_vip"),
        (
            jose.pk,
            "José",
            "Ødegård",
            "jose@acme.dk; jose@home.dk",
            "'+4532123456; +14155550100",
            "CTO, R&D",
            "Acme ApS",
            "customer",
            "referral",
            "Nørregade 1; 2. sal",
            "København",
            None,
            "1165",
            "DK",
            "da",
            "Beta; VIP",
            "rep@example.com",
            "Team A",
            "2026-11-23T09:30:00Z",
            "2026-11-23T10:00:05Z",
            1500,
            "Email; Phone",
            "true",
        ),
    ]
    assert sheet["E2"].data_type == "s"
    assert sheet["A1"].font.bold is True
    assert sheet.freeze_panes == "A2"


def test_organization_xlsx_keeps_the_revenue_a_number(client, manager, rep):
    acme = organization_create(actor=rep, name="Acme", annual_revenue=Decimal("1234.50"))
    client.force_login(manager)

    response = client.get(ORGANIZATIONS_EXPORT, {"format": "xlsx"})

    sheet = openpyxl.load_workbook(io.BytesIO(_content(response)))["organizations"]
    assert sheet["A2"].value == acme.pk
    assert sheet["H1"].value == "annual_revenue"
    assert sheet["H2"].value == 1234.5
    assert sheet["H2"].data_type == "n"


def test_contact_vcard_is_version_3_with_crlf_escaping_and_visible_organizations_only(
    client, manager, jose
):
    client.force_login(manager)

    response = client.get(CONTACTS_EXPORT, {"format": "vcf"})

    assert response["Content-Type"] == "text/vcard; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="contacts-{timezone.localdate().isoformat()}.vcf"'
    )
    assert _content(response).decode("utf-8") == (
        "BEGIN:VCARD\r\n"
        "VERSION:3.0\r\n"
        "N:Ødegård;José;;;\r\n"
        "FN:José Ødegård\r\n"
        "ORG:Acme ApS\r\n"
        "TITLE:CTO\\, R&D\r\n"
        "EMAIL;TYPE=INTERNET,WORK,PREF:jose@acme.dk\r\n"
        "EMAIL;TYPE=INTERNET,HOME:jose@home.dk\r\n"
        "TEL;TYPE=WORK,VOICE,PREF:+4532123456\r\n"
        "TEL;TYPE=CELL:+14155550100\r\n"
        "ADR:;;Nørregade 1\\; 2. sal;København;;1165;Denmark\r\n"
        "CATEGORIES:Beta,VIP\r\n"
        "END:VCARD\r\n"
    )


def test_a_vcard_of_a_contact_with_only_a_name_has_only_the_required_lines(client, manager, rep):
    ContactFactory(first_name="", last_name="Solo", owner=rep, primary_email="")
    client.force_login(manager)

    response = client.get(CONTACTS_EXPORT, {"format": "vcf"})

    assert _content(response) == (
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Solo;;;;\r\nFN:Solo\r\nEND:VCARD\r\n"
    )


def test_vcard_escape_escapes_backslash_comma_semicolon_and_line_breaks():
    assert vcard_escape("a\\b,c;d\ne\r\nf\rg") == "a\\\\b\\,c\\;d\\ne\\nf\\ng"


def test_vcard_fold_keeps_lines_of_75_octets_and_never_splits_a_character():
    short = "N:" + "x" * 73
    assert vcard_fold(short) == short + "\r\n"

    folded = vcard_fold("NOTE:" + "ø" * 100)  # ø is two octets in UTF-8

    lines = folded.removesuffix("\r\n").split("\r\n")
    assert [len(line.encode()) for line in lines] == [75, 75, 57]
    assert all(line.startswith(" ") for line in lines[1:])
    assert "".join(line.removeprefix(" ") for line in [lines[0], *lines[1:]]) == (
        "NOTE:" + "ø" * 100
    )


def test_a_long_vcard_line_is_folded_in_the_file(client, manager, rep):
    contact_create(actor=rep, first_name="Ana", last_name="Long", job_title="Director " * 12)
    client.force_login(manager)

    text = _content(client.get(CONTACTS_EXPORT, {"format": "vcf"})).decode()

    assert "TITLE:" + ("Director " * 12).strip()[:69] + "\r\n " in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


# -- formula escaping --------------------------------------------------------------------------


@pytest.fixture
def dangerous(rep, admin_user):
    """One contact per formula trigger, with it at the start of a name, a tag and a custom field."""
    custom_field_definition_create(
        actor=admin_user, record_type="parties.contact", key="note", label="Note", field_type="text"
    )
    for index, trigger in enumerate(sorted(FORMULA_TRIGGERS)):
        contact = ContactFactory(
            first_name=f"{trigger}cmd",
            last_name=f"Z{index}",
            owner=rep,
            custom_fields={"note": f"{trigger}HYPERLINK(1)"},
        )
        contact.tags.add(Tag.objects.create(name=f"{trigger}tag"))


def test_csv_never_starts_a_cell_with_a_formula_trigger(dangerous, manager):
    rows = _csv_rows(_export_bytes(actor=manager, record_type="contacts", file_format="csv"))

    header, body = rows[0], rows[1:]
    assert len(body) == 6
    for row in body:
        cells = dict(zip(header, row, strict=True))
        trigger = cells["first_name"][1]
        assert trigger in FORMULA_TRIGGERS
        assert cells["first_name"] == f"'{trigger}cmd"
        assert cells["tags"] == f"'{trigger}tag"
        assert cells["cf_note"] == f"'{trigger}HYPERLINK(1)"
    assert [cell for row in rows for cell in row if cell and cell[0] in FORMULA_TRIGGERS] == []


def test_xlsx_never_starts_a_cell_with_a_formula_trigger(dangerous, manager):
    data = _export_bytes(actor=manager, record_type="contacts", file_format="xlsx")

    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    texts = [cell.value for cell in cells if isinstance(cell.value, str)]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    assert [text for text in texts if text[0] in FORMULA_TRIGGERS] == []
    # XML reads a carriage return back as a line feed: "'\rcmd" comes back as "'\ncmd".
    for trigger in (trigger.replace("\r", "\n") for trigger in FORMULA_TRIGGERS):
        assert f"'{trigger}cmd" in texts
        assert f"'{trigger}tag" in texts
        assert f"'{trigger}HYPERLINK(1)" in texts


def test_xlsx_drops_characters_a_workbook_cannot_hold(manager, rep):
    ContactFactory(first_name="Bell\x07", last_name="Ring", owner=rep)

    data = _export_bytes(actor=manager, record_type="contacts", file_format="xlsx")

    assert openpyxl.load_workbook(io.BytesIO(data)).active["B2"].value == "Bell"


def test_a_negative_custom_number_is_escaped_in_csv_and_a_number_in_xlsx(manager, rep, admin_user):
    custom_field_definition_create(
        actor=admin_user, record_type="parties.contact", key="score", label="S", field_type="number"
    )
    ContactFactory(owner=rep, custom_fields={"score": -5})

    rows = _csv_rows(_export_bytes(actor=manager, record_type="contacts", file_format="csv"))
    sheet = openpyxl.load_workbook(
        io.BytesIO(_export_bytes(actor=manager, record_type="contacts", file_format="xlsx"))
    ).active

    assert rows[1][-1] == "'-5"
    assert sheet.cell(row=2, column=len(rows[0])).value == -5


# -- visibility, filters, search, sort ---------------------------------------------------------


def test_a_reps_export_holds_only_what_they_see_and_names_only_visible_organizations(
    rep, rep_a2, rep_b, marketer
):
    own_org = OrganizationFactory(name="Visible Org", owner=marketer)
    hidden_org = OrganizationFactory(name="Hidden Org", owner=rep_b)
    mine = ContactFactory(first_name="Mine", last_name="A", owner=marketer)
    AffiliationFactory(contact=mine, organization=own_org)
    AffiliationFactory(contact=mine, organization=hidden_org)
    ContactFactory(first_name="Shared", last_name="B", owner=rep_a2, is_shared_with_team=True)
    ContactFactory(first_name="Private", last_name="C", owner=rep_a2, is_shared_with_team=False)
    ContactFactory(first_name="Other", last_name="D", owner=rep_b)

    rows = _csv_rows(_export_bytes(actor=marketer, record_type="contacts", file_format="csv"))

    assert [(row[1], row[6]) for row in rows[1:]] == [("Mine", "Visible Org"), ("Shared", "")]
    assert "Hidden Org" not in str(rows)
    assert "Private" not in str(rows)


def test_an_organization_export_holds_only_what_the_person_sees(marketer, rep_a2, rep_b):
    OrganizationFactory(name="Own", owner=marketer)
    OrganizationFactory(name="Team private", owner=rep_a2, is_shared_with_team=False)
    OrganizationFactory(name="Other team", owner=rep_b)

    rows = _csv_rows(_export_bytes(actor=marketer, record_type="organizations", file_format="csv"))

    assert [row[1] for row in rows[1:]] == ["Own"]


def test_the_export_applies_the_lists_filters_search_and_sort(client, manager, rep):
    contact_create(actor=rep, first_name="Ana", last_name="Berg", lifecycle_stage="customer")
    contact_create(actor=rep, first_name="Anabel", last_name="Alm", lifecycle_stage="customer")
    contact_create(actor=rep, first_name="Ana", last_name="Lead", lifecycle_stage="lead")
    contact_create(actor=rep, first_name="Bo", last_name="Customer", lifecycle_stage="customer")
    client.force_login(manager)

    response = client.get(
        CONTACTS_EXPORT,
        {"format": "csv", "q": "ana", "lifecycle_stage": "customer", "sort": "-first_name"},
    )

    rows = _csv_rows(_content(response))
    assert [(row[1], row[2]) for row in rows[1:]] == [("Anabel", "Alm"), ("Ana", "Berg")]


def test_the_search_finds_accents_and_phone_formats_like_the_list(manager, rep):
    contact_create(actor=rep, first_name="José", last_name="Phone", phones=["+1 415-555-0100"])
    contact_create(actor=rep, first_name="Bo", last_name="Other", phones=["+1 415-555-0199"])

    by_name = export_start(actor=manager, record_type="contacts", filters={"q": "jose"})
    by_phone = export_start(actor=manager, record_type="contacts", filters={"q": "(415) 555-0100"})

    assert [row["first_name"] for row, _related in by_name.records()] == ["José"]
    assert [row["first_name"] for row, _related in by_phone.records()] == ["José"]


def test_custom_field_and_organization_filters_apply(manager, rep, contact_fields):
    acme = OrganizationFactory(name="Acme", owner=rep)
    wanted = ContactFactory(first_name="Wanted", owner=rep, custom_fields={"vip": True})
    AffiliationFactory(contact=wanted, organization=acme)
    ContactFactory(first_name="NotVip", owner=rep, custom_fields={"vip": False})
    other = ContactFactory(first_name="Elsewhere", owner=rep, custom_fields={"vip": True})
    AffiliationFactory(contact=other, organization=OrganizationFactory(owner=rep))

    export = export_start(
        actor=manager,
        record_type="contacts",
        filters={"cf_vip": "true", "organization": str(acme.pk)},
    )

    assert [row["first_name"] for row, _related in export.records()] == ["Wanted"]


def test_an_invalid_filter_or_sort_or_format_is_refused_by_parameter(manager, rep):
    with pytest.raises(ValidationError) as invalid_owner:
        export_start(actor=manager, record_type="contacts", filters={"owner": "999999"})
    with pytest.raises(ValidationError) as invalid_sort:
        export_start(actor=manager, record_type="contacts", filters={"sort": "owner__password"})
    with pytest.raises(ValidationError) as vcard_of_organizations:
        export_start(actor=manager, record_type="organizations", file_format="vcf")
    with pytest.raises(ValidationError) as unknown_format:
        export_start(actor=manager, record_type="contacts", file_format="pdf")

    assert list(invalid_owner.value.message_dict) == ["owner"]
    assert invalid_sort.value.message_dict == {
        "sort": [
            "Sort by one of: name, first_name, email, phone, job_title, stage, city, country, "
            "owner, created, updated."
        ]
    }
    assert vcard_of_organizations.value.message_dict == {
        "format": ["Export organizations as one of: csv, xlsx."]
    }
    assert unknown_format.value.message_dict == {
        "format": ["Export contacts as one of: csv, xlsx, vcf."]
    }


def test_an_xlsx_export_larger_than_a_sheet_is_refused(manager, rep, monkeypatch):
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 2)
    ContactFactory.create_batch(3, owner=rep)

    with pytest.raises(ValidationError) as error:
        export_start(actor=manager, record_type="contacts", file_format="xlsx")

    assert error.value.message_dict == {
        "format": [
            "An Excel sheet holds at most 2 rows and this list has 3: export it as CSV, or "
            "filter it."
        ]
    }
    assert export_start(actor=manager, record_type="contacts", file_format="csv")


# -- permissions -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["rep", "service_agent"])
def test_roles_without_the_export_permission_get_403_everywhere(
    client, api_client, request, role, caplog
):
    user = request.getfixturevalue(role)
    ContactFactory(owner=user)
    client.force_login(user)
    api_client.force_authenticate(user)

    with caplog.at_level(logging.INFO, logger="clientela.exports"):
        page = client.get(CONTACTS_EXPORT, {"format": "csv"})
        organizations_page = client.get(ORGANIZATIONS_EXPORT)
        api = api_client.get("/api/v1/contacts/export/", {"format": "csv"})
        with pytest.raises(PermissionDenied):
            export_start(actor=user, record_type="contacts")

    assert page.status_code == 403
    assert organizations_page.status_code == 403
    assert api.status_code == 403
    assert api["Content-Type"] == PROBLEM
    assert api.json()["detail"] == "Your role does not allow this."
    assert _export_log(caplog) == []
    assert Contact.objects.count() == 1


def test_an_anonymous_visitor_is_sent_to_log_in_and_the_api_answers_401(client, api_client):
    page = client.get(CONTACTS_EXPORT)
    api = api_client.get("/api/v1/contacts/export/")

    assert page.status_code == 302
    assert page["Location"].startswith("/login/")
    assert api.status_code == 401
    assert api["Content-Type"] == PROBLEM


@pytest.mark.parametrize("role", ["manager", "marketer", "analyst", "admin_user"])
def test_roles_with_the_export_permission_export(client, request, role):
    user = request.getfixturevalue(role)
    ContactFactory(owner=user, first_name="Mine")
    client.force_login(user)

    response = client.get(CONTACTS_EXPORT)

    assert response.status_code == 200
    assert [row[1] for row in _csv_rows(_content(response))[1:]] == ["Mine"]


# -- queries, chunks, logging ------------------------------------------------------------------


def _contacts_with_everything(owner, count):
    organization = OrganizationFactory(owner=owner)
    tag = Tag.objects.get_or_create(name="VIP")[0]
    for _number in range(count):
        contact = ContactFactory(owner=owner, primary_phone="+4532123456")
        AffiliationFactory(contact=contact, organization=organization)
        contact.tags.add(tag)


def _count_export_queries(client, url, params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
        data = _content(response) if response.streaming else response.content
    return len(queries), data


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "vcf"])
def test_the_number_of_queries_does_not_grow_with_the_rows(
    client, manager, file_format, django_assert_num_queries
):
    client.force_login(manager)
    _contacts_with_everything(manager, 5)
    client.get(CONTACTS_EXPORT)  # the session and content types are warm from here on
    small, _data = _count_export_queries(client, CONTACTS_EXPORT, {"format": file_format})

    _contacts_with_everything(manager, 45)
    with django_assert_num_queries(small):
        response = client.get(CONTACTS_EXPORT, {"format": file_format})
        data = _content(response) if response.streaming else response.content

    if file_format == "vcf":
        assert data.count(b"BEGIN:VCARD") == 50
    elif file_format == "csv":
        assert len(_csv_rows(data)) == 51


def test_a_csv_export_of_contacts_runs_a_fixed_set_of_queries(
    client, manager, django_assert_num_queries
):
    """session, user, custom field definitions (filters, columns), session save (savepoint, update,
    release), then while streaming: the contacts, and the tags, emails, phones, affiliations and
    visible organizations of the chunk."""
    _contacts_with_everything(manager, 50)
    client.force_login(manager)
    client.get(CONTACTS_EXPORT)

    with django_assert_num_queries(13):
        rows = _csv_rows(_content(client.get(CONTACTS_EXPORT, {"format": "csv"})))

    assert len(rows) == 51


def test_rows_are_read_in_chunks_with_their_related_rows_prefetched_per_chunk(
    manager, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    organization = OrganizationFactory(name="Acme", owner=manager)
    for index in range(5):
        contact = ContactFactory(first_name=f"N{index}", last_name="X", owner=manager)
        AffiliationFactory(contact=contact, organization=organization)
    export = export_start(actor=manager, record_type="contacts", filters={"sort": "first_name"})

    # one query for the contacts, read 2 at a time; 5 for the related rows of each of the 3 chunks
    with django_assert_num_queries(1 + 3 * 5):
        rows = list(export.rows())

    assert [(row[1], row[3], row[6]) for row in rows] == [
        (f"N{index}", f"n{index}.x@example.com", "Acme") for index in range(5)
    ]


def test_an_organization_csv_export_runs_a_fixed_set_of_queries(
    client, manager, django_assert_num_queries
):
    """session, user, custom field definitions (filters, columns), session save (savepoint, update,
    release), the organizations, their tags."""
    OrganizationFactory.create_batch(30, owner=manager)
    client.force_login(manager)
    client.get(ORGANIZATIONS_EXPORT)

    with django_assert_num_queries(9):
        rows = _csv_rows(_content(client.get(ORGANIZATIONS_EXPORT)))

    assert len(rows) == 31


def test_each_export_is_logged_with_who_what_and_how_many(client, manager, rep, caplog):
    ContactFactory.create_batch(2, owner=rep, country="DK")
    ContactFactory(owner=rep, country="SE")
    client.force_login(manager)

    with caplog.at_level(logging.INFO, logger="clientela.exports"):
        _content(client.get(CONTACTS_EXPORT, {"format": "csv", "country": "DK", "page": "2"}))
        client.get(ORGANIZATIONS_EXPORT, {"format": "xlsx"})

    assert _export_log(caplog) == [
        "manager@example.com exported 2 contacts as csv (filters: country=DK)",
        "manager@example.com exported 0 organizations as xlsx",
    ]


# -- pages -------------------------------------------------------------------------------------


def test_the_list_pages_offer_the_export_menu_with_the_current_filters(client, manager):
    client.force_login(manager)

    contacts = client.get(
        reverse("parties:contact_list"),
        {"q": "ana", "lifecycle_stage": "customer", "sort": "-created", "page": "2"},
    ).content.decode()
    organizations = client.get(reverse("parties:organization_list")).content.decode()

    assert 'data-testid="export-menu"' in contacts
    query = "q=ana&amp;lifecycle_stage=customer&amp;sort=-created"
    assert f'href="/contacts/export/?{query}&amp;format=csv"' in contacts
    assert f'href="/contacts/export/?{query}&amp;format=xlsx"' in contacts
    assert f'href="/contacts/export/?{query}&amp;format=vcf"' in contacts
    assert 'href="/organizations/export/?format=csv"' in organizations
    assert 'href="/organizations/export/?format=xlsx"' in organizations
    assert "format=vcf" not in organizations


def test_the_export_menu_is_not_shown_without_the_permission(client, rep):
    client.force_login(rep)

    html = client.get(reverse("parties:contact_list")).content.decode()

    assert 'data-testid="export-menu"' not in html
    assert "/contacts/export/" not in html


def test_a_bad_export_link_goes_back_to_the_list_with_the_reason(client, manager):
    client.force_login(manager)

    response = client.get(ORGANIZATIONS_EXPORT, {"format": "vcf", "country": "DK"}, follow=True)

    assert response.redirect_chain == [("/organizations/?country=DK", 302)]
    assert "Export organizations as one of: csv, xlsx." in response.content.decode()


def test_a_sort_the_list_would_ignore_is_ignored_by_its_export_link_too(client, manager, rep):
    ContactFactory(first_name="Bo", last_name="Beta", owner=rep)
    ContactFactory(first_name="Ana", last_name="Alpha", owner=rep)
    client.force_login(manager)

    response = client.get(CONTACTS_EXPORT, {"sort": "owner__password"})

    assert [row[2] for row in _csv_rows(_content(response))[1:]] == ["Alpha", "Beta"]


# -- API ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "file_format", "content_type", "suffix"),
    [
        ("contacts", "csv", "text/csv; charset=utf-8", "csv"),
        ("contacts", "xlsx", XLSX, "xlsx"),
        ("contacts", "vcf", "text/vcard; charset=utf-8", "vcf"),
        ("organizations", "csv", "text/csv; charset=utf-8", "csv"),
        ("organizations", "xlsx", XLSX, "xlsx"),
        ("contacts", None, "text/csv; charset=utf-8", "csv"),
    ],
)
def test_api_exports_answer_the_file_with_its_type_and_name(
    api_client, manager, endpoint, file_format, content_type, suffix
):
    ContactFactory(owner=manager)
    OrganizationFactory(owner=manager)
    api_client.force_authenticate(manager)
    params = {"format": file_format} if file_format else {}

    response = api_client.get(f"/api/v1/{endpoint}/export/", params, HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == (
        f'attachment; filename="{endpoint}-{timezone.localdate().isoformat()}.{suffix}"'
    )


def test_api_export_takes_the_list_endpoints_filters(api_client, manager, rep):
    contact_create(actor=rep, first_name="Ana", last_name="Customer", lifecycle_stage="customer")
    contact_create(actor=rep, first_name="Bo", last_name="Lead", lifecycle_stage="lead")
    api_client.force_authenticate(manager)

    response = api_client.get(
        "/api/v1/contacts/export/", {"lifecycle_stage": "customer", "format": "csv"}
    )

    assert [row[1] for row in _csv_rows(_content(response))[1:]] == ["Ana"]


@pytest.mark.parametrize(
    ("url", "errors"),
    [
        (
            "/api/v1/organizations/export/?format=vcf",
            {"format": ["Export organizations as one of: csv, xlsx."]},
        ),
        (
            "/api/v1/contacts/export/?format=json",
            {"format": ["Export contacts as one of: csv, xlsx, vcf."]},
        ),
        (
            "/api/v1/contacts/export/?sort=password",
            {
                "sort": [
                    "Sort by one of: name, first_name, email, phone, job_title, stage, city, "
                    "country, owner, created, updated."
                ]
            },
        ),
        (
            "/api/v1/contacts/export/?lifecycle_stage=king",
            {
                "lifecycle_stage": [
                    "Select a valid choice. king is not one of the available choices."
                ]
            },
        ),
    ],
)
def test_api_export_refuses_bad_parameters_with_problem_json(api_client, manager, url, errors):
    api_client.force_authenticate(manager)

    response = api_client.get(url)

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert response.json()["errors"] == errors


def test_contacts_export_is_not_read_as_a_contact_id(api_client, manager):
    api_client.force_authenticate(manager)

    assert api_client.get("/api/v1/contacts/export/").status_code == 200
    assert api_client.get("/api/v1/contacts/export").status_code == 404


# -- the command -------------------------------------------------------------------------------


def test_the_command_writes_the_file_as_the_first_administrator_and_prints_a_summary(
    tmp_path, admin_user, rep, rep_b
):
    ContactFactory(first_name="Ana", last_name="A", owner=rep)
    ContactFactory(first_name="Bo", last_name="B", owner=rep_b)
    path = tmp_path / "contacts.csv"
    out, err = io.StringIO(), io.StringIO()

    call_command("export", "contacts", str(path), stdout=out, stderr=err)

    assert out.getvalue() == f"Exported 2 contacts to {path}\n"
    assert err.getvalue() == ""  # not a terminal: no progress
    assert [row[1] for row in _csv_rows(path.read_bytes())[1:]] == ["Ana", "Bo"]


def test_the_command_exports_what_the_user_named_with_as_may_see(tmp_path, marketer, rep_b):
    ContactFactory(first_name="Mine", owner=marketer)
    ContactFactory(first_name="Theirs", owner=rep_b)
    path = tmp_path / "mine.xlsx"
    out = io.StringIO()

    call_command("export", "contacts", str(path), "--as", "MARKETER@example.com", stdout=out)

    assert out.getvalue() == f"Exported 1 contacts to {path}\n"
    sheet = openpyxl.load_workbook(path).active
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["Mine"]


def test_the_command_takes_a_format_and_filters(tmp_path, admin_user, rep):
    contact_create(actor=rep, first_name="Ana", last_name="Customer", lifecycle_stage="customer")
    contact_create(actor=rep, first_name="Bo", last_name="Lead", lifecycle_stage="lead")
    path = tmp_path / "cards.txt"

    call_command(
        "export",
        "contacts",
        str(path),
        "--format",
        "vcf",
        "--filter",
        "lifecycle_stage=customer",
        stdout=io.StringIO(),
    )

    assert path.read_bytes().count(b"BEGIN:VCARD") == 1
    assert b"FN:Ana Customer\r\n" in path.read_bytes()


def test_the_command_writes_organizations(tmp_path, admin_user, rep):
    OrganizationFactory(name="Acme", owner=rep)
    path = tmp_path / "organizations.csv"
    out = io.StringIO()

    call_command("export", "organizations", str(path), stdout=out)

    assert out.getvalue() == f"Exported 1 organizations to {path}\n"
    assert [row[1] for row in _csv_rows(path.read_bytes())] == ["name", "Acme"]


def test_the_command_shows_progress_on_a_terminal(tmp_path, admin_user, rep, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    ContactFactory.create_batch(3, owner=rep)

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    err = Terminal()

    call_command("export", "contacts", str(tmp_path / "c.csv"), stdout=io.StringIO(), stderr=err)

    assert err.getvalue() == "\r2 / 3 contacts…\r3 / 3 contacts…\n"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--as", "rep@example.com"], "rep@example.com may not export contacts."),
        (["--as", "nobody@example.com"], "No active user has the email nobody@example.com."),
        (["--format", "pdf"], "argument --format: invalid choice"),
        (["--filter", "country"], "--filter takes NAME=VALUE, not “country”."),
        (["--filter", "owner=999999"], "owner: Select a valid choice."),
    ],
)
def test_the_command_refuses_what_it_cannot_do(tmp_path, admin_user, rep, arguments, message):
    path = tmp_path / "out.csv"

    with pytest.raises(CommandError) as error:
        call_command("export", "contacts", str(path), *arguments, stdout=io.StringIO())

    assert message in str(error.value)
    assert not path.exists()


def test_the_command_refuses_a_vcard_of_organizations(tmp_path, admin_user):
    with pytest.raises(CommandError) as error:
        call_command("export", "organizations", str(tmp_path / "o.vcf"), stdout=io.StringIO())

    assert str(error.value) == "format: Export organizations as one of: csv, xlsx."


def test_the_command_needs_a_user_when_there_is_no_administrator(tmp_path, rep):
    with pytest.raises(CommandError) as error:
        call_command("export", "contacts", str(tmp_path / "c.csv"), stdout=io.StringIO())

    assert str(error.value) == "There is no active administrator: name a user with --as EMAIL."


def test_the_help_says_whose_visibility_applies_by_default():
    from clientela.parties.management.commands.export import Command

    parser = Command().create_parser("clientela", "export")

    assert "Default: the first active administrator" in " ".join(parser.format_help().split())
