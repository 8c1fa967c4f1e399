"""``clientela import contacts|organizations PATH``: import a CSV or XLSX file from the command line.

The same engine as the import pages and the API (``parties.imports``), run here and now rather than by
the worker. Progress goes to a terminal's standard error; the last line is the summary; the exit code is
1 when any row failed (and 2 when the file or the options are refused).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clientela.core.permissions import Perm, Role, has_perm
from clientela.parties.choices import ImportOnMatch, ImportRecordType, ImportStatus
from clientela.parties.imports import (
    import_file_store,
    import_job_create,
    import_job_run,
    import_mapping_guess,
    import_mapping_validate,
    import_preview,
)
from clientela.parties.models import ImportJob

SHOWN_ERRORS = 20


class Command(BaseCommand):
    help = (
        "Import contacts or organizations from a CSV or XLSX file. Columns are mapped to fields from "
        "their names unless --mapping gives a JSON file of {column: field}."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("record_type", choices=ImportRecordType.values)
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check every row and report what would happen; write nothing.",
        )
        parser.add_argument(
            "--mapping", type=Path, help='A JSON file: {"column header": "field key", ...}.'
        )
        parser.add_argument(
            "--on-match",
            choices=ImportOnMatch.values,
            default=ImportOnMatch.SKIP,
            help="What a row that matches an existing record does (default: %(default)s).",
        )
        parser.add_argument(
            "--as",
            dest="actor",
            metavar="EMAIL",
            help="The user the import acts as (default: the only active administrator).",
        )
        parser.add_argument(
            "--encoding", default="auto", help="The file's text encoding (default: detected)."
        )
        parser.add_argument(
            "--country", help="The country of rows without one (also for their phone numbers)."
        )
        parser.add_argument(
            "--tag", action="append", default=[], help="A tag for every row (repeatable)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self._actor(options["actor"])
        record_type = options["record_type"]
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.", returncode=2)
        job_options: dict[str, Any] = {}
        if options["encoding"] and options["encoding"] != "auto":
            job_options["encoding"] = options["encoding"]
        if options["country"]:
            job_options["country"] = options["country"]
        if options["tag"]:
            job_options["tags"] = options["tag"]
        try:
            with path.open("rb") as handle:
                stored_name = import_file_store(actor=actor, upload=File(handle, name=path.name))
            preview = import_preview(
                stored_name=stored_name, encoding=job_options.get("encoding", "auto")
            )
            if options["mapping"]:
                mapping = self._mapping_read(options["mapping"])
            else:
                mapping = import_mapping_guess(record_type, preview.header)
            mapping = import_mapping_validate(record_type, mapping, preview.header)
            job = import_job_create(
                actor=actor,
                record_type=record_type,
                stored_name=stored_name,
                original_name=path.name,
                mapping=mapping,
                on_match=options["on_match"],
                is_dry_run=options["dry_run"],
                options=job_options,
                run=False,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages), returncode=2) from error
        except PermissionDenied as error:
            raise CommandError(str(error), returncode=2) from error
        if options["verbosity"] > 1:
            columns = ", ".join(f"{header} → {field}" for header, field in mapping.items())
            self.stderr.write(f"Columns: {columns}")
        started = time.perf_counter()
        show_progress = self.stderr.isatty()
        job = import_job_run(job.pk, progress=self._progress if show_progress else None)
        seconds = time.perf_counter() - started
        if show_progress:
            self.stderr.write("")
        if job.status == ImportStatus.FAILED:
            raise CommandError(job.message, returncode=2)
        self._errors_show(job)
        rows = job.processed_rows
        rate = rows / seconds if seconds else 0
        verb = "Checked" if job.is_dry_run else "Imported"
        self.stdout.write(
            f"{verb} {path.name}{' (dry run, nothing written)' if job.is_dry_run else ''}: "
            f"{job.created_count:,} created, {job.updated_count:,} updated, "
            f"{job.skipped_count:,} skipped, {job.failed_count:,} failed in {seconds:.1f} s "
            f"({rate:,.0f} rows/s; import {job.pk})."
        )
        if job.failed_count:
            self.stdout.flush()
            sys.exit(1)

    def _actor(self, email: str | None) -> Any:
        users = get_user_model().objects.filter(is_active=True)
        if email:
            actor = users.filter(email__iexact=email).first()
            if actor is None:
                raise CommandError(f"There is no active user {email}.", returncode=2)
        else:
            administrators = list(users.filter(role=Role.ADMINISTRATOR)[:2])
            if len(administrators) != 1:
                raise CommandError("Choose who imports with --as EMAIL.", returncode=2)
            actor = administrators[0]
        if not has_perm(actor, Perm.PARTIES_IMPORT):
            raise CommandError(f"{actor.email}'s role does not allow importing.", returncode=2)
        return actor

    def _mapping_read(self, path: Path) -> dict[str, str]:
        try:
            mapping = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CommandError(f"{path}: {error}", returncode=2) from error
        if not isinstance(mapping, dict) or not all(
            isinstance(key, str) and isinstance(value, str | None) for key, value in mapping.items()
        ):
            raise CommandError(
                f'{path} must hold a JSON object {{"column": "field", ...}}.', returncode=2
            )
        return {key: value or "" for key, value in mapping.items()}

    def _progress(self, job: ImportJob) -> None:
        total = job.total_rows or getattr(job, "row_count_estimate", None)
        done = job.processed_rows
        share = f" ({min(done * 100 // total, 100)}%)" if total else ""
        self.stderr.write(f"\r{done:,} rows{share}, {job.failed_count:,} failed", ending="")
        self.stderr.flush()

    def _errors_show(self, job: ImportJob) -> None:
        errors = list(
            job.row_errors.order_by("row_number", "id").values_list(
                "row_number", "column", "message"
            )[: SHOWN_ERRORS + 1]
        )
        for row_number, column, message in errors[:SHOWN_ERRORS]:
            where = f"row {row_number}, {column}" if column else f"row {row_number}"
            self.stderr.write(f"{where}: {message}")
        if len(errors) > SHOWN_ERRORS:
            self.stderr.write(f"… and more: {job.failed_count:,} rows failed in all.")
