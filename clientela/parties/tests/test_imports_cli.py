"""``clientela import``: the summary line, the exit codes, dry runs and mapping files."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from clientela.parties.models import Contact, ImportJob, Organization


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path / "var"
    monkeypatch.setattr("clientela.parties.duplicates.duplicates_detect", lambda **kw: None)


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("import", *[str(arg) for arg in args], stdout=out, stderr=err)
    except SystemExit as exit:
        code = exit.code
    return code, out.getvalue(), err.getvalue()


def test_importing_a_file_prints_a_summary_and_succeeds(tmp_path, manager):
    path = tmp_path / "people.csv"
    path.write_text("First Name,Last Name,Email\nAnn,Lee,ann@example.com\nBo,Berg,\n")

    code, out, err = run("contacts", path, "--as", manager.email)

    assert code == 0
    assert err == ""
    assert out.startswith("Imported people.csv: 2 created, 0 updated, 0 skipped, 0 failed in ")
    assert out.rstrip().endswith(f"import {ImportJob.objects.get().pk}).")
    assert sorted(Contact.objects.values_list("first_name", flat=True)) == ["Ann", "Bo"]


def test_failed_rows_are_listed_and_make_the_exit_code_1(tmp_path, manager):
    path = tmp_path / "people.csv"
    path.write_text("Name,Email\nAnn Lee,ann@example.com\n,nobody@example.com\nBo Berg,bad\n")

    code, out, err = run("contacts", path, "--as", manager.email)

    assert code == 1
    assert err.splitlines() == [
        "row 3, Name: Enter a first or a last name.",
        "row 4, Email: “bad” is not a valid email address.",
    ]
    assert "1 created, 0 updated, 0 skipped, 2 failed" in out


def test_a_dry_run_writes_nothing(tmp_path, manager):
    path = tmp_path / "people.csv"
    path.write_text("Name\nAnn Lee\n")

    code, out, _err = run("contacts", path, "--as", manager.email, "--dry-run")

    assert code == 0
    assert out.startswith("Checked people.csv (dry run, nothing written): 1 created,")
    assert Contact.objects.count() == 0


def test_a_mapping_file_and_the_on_match_rule_are_used(tmp_path, manager):
    Organization.objects.create(name="Acme", owner=manager)
    path = tmp_path / "companies.csv"
    path.write_text("Firm,Town\nacme,Aarhus\nBygg AB,Oslo\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"Firm": "name", "Town": "city"}))

    code, out, _err = run(
        "organizations", path, "--as", manager.email, "--mapping", mapping, "--on-match", "fill"
    )

    assert code == 0
    assert "1 created, 1 updated, 0 skipped, 0 failed" in out
    assert sorted(Organization.objects.values_list("name", "city")) == [
        ("Acme", "Aarhus"),
        ("Bygg AB", "Oslo"),
    ]


def test_without_as_the_only_administrator_imports(tmp_path, admin_user):
    path = tmp_path / "people.csv"
    path.write_text("Name\nAnn Lee\n")

    code, _out, _err = run("contacts", path)

    assert code == 0
    assert Contact.objects.get().owner == admin_user


def test_a_refused_file_or_user_is_an_error_with_exit_code_2(tmp_path, manager, rep):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    path = tmp_path / "people.csv"
    path.write_text("Name\nAnn Lee\n")

    with pytest.raises(CommandError) as refused_file:
        run("contacts", empty, "--as", manager.email)
    with pytest.raises(CommandError) as refused_user:
        run("contacts", path, "--as", rep.email)
    bad = tmp_path / "mapping.json"
    bad.write_text('{"Name": "nickname"}')
    with pytest.raises(CommandError) as bad_mapping:
        run("contacts", path, "--as", manager.email, "--mapping", bad)

    assert (str(refused_file.value), refused_file.value.returncode) == ("The file is empty.", 2)
    assert str(refused_user.value) == "rep@example.com's role does not allow importing."
    assert str(bad_mapping.value) == "There is no field “nickname”."
    assert Contact.objects.count() == 0
