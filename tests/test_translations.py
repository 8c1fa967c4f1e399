"""Every interface string is translated into Spanish, Danish and Hindi, and the compiled files match."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "clientela" / "locale"
LANGUAGES = ("es", "da", "hi")


def _catalog(language: str, locale_dir: Path = LOCALE_DIR):
    with (locale_dir / language / "LC_MESSAGES" / "django.po").open("rb") as handle:
        return read_po(handle, locale=language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language):
    catalog = _catalog(language)

    untranslated = [
        message.id
        for message in catalog
        if message.id
        and (
            message.fuzzy
            or not all(message.string if isinstance(message.string, tuple) else [message.string])
        )
    ]

    assert len(catalog) > 100
    assert untranslated == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_survive_translation(language):
    import re

    placeholder = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")
    broken = []
    for message in _catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = {match.group(0) for match in placeholder.finditer(ids[-1])}
        for string in strings:
            if {match.group(0) for match in placeholder.finditer(string)} != expected:
                broken.append((message.id, string))
    assert broken == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogues_match_their_sources(language):
    buffer = io.BytesIO()
    write_mo(buffer, _catalog(language), use_fuzzy=False)

    committed = (LOCALE_DIR / language / "LC_MESSAGES" / "django.mo").read_bytes()

    assert committed == buffer.getvalue(), "run `make messages` (or scripts/compile_messages.py)"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext's xgettext is not installed")
def test_no_string_in_the_code_is_missing_from_the_catalogues(tmp_path, settings, monkeypatch):
    copy = tmp_path / "clientela"
    shutil.copytree(
        ROOT / "clientela", copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo", "tests")
    )
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(copy)

    call_command("makemessages", locale=["es"], no_location=True, verbosity=0)

    extracted = {message.id for message in _catalog("es", copy / "locale") if message.id}
    committed = {message.id for message in _catalog("es") if message.id}
    assert sorted(map(str, extracted - committed)) == []
