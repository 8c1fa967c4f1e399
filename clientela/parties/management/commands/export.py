"""``clientela export contacts|organizations PATH``: the records someone may see, as a CSV, XLSX or vCard file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import QueryDict

from clientela.core.permissions import Role
from clientela.identity.models import User
from clientela.parties.exports import EXPORT_KINDS, ExportFormat, export_start

_SUFFIXES = {".csv": ExportFormat.CSV, ".xlsx": ExportFormat.XLSX, ".vcf": ExportFormat.VCF}


class Command(BaseCommand):
    help = (
        "Export contacts (CSV, XLSX or vCard) or organizations (CSV or XLSX) to a file: the records "
        "a user may see, as their list shows them. CSV and XLSX have the field keys as their first "
        "row; cells that a spreadsheet would run as a formula (phone numbers in E.164 included) start "
        "with an apostrophe."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("record_type", choices=sorted(EXPORT_KINDS), help="What to export.")
        parser.add_argument("path", type=Path, help="The file to write (replaced if it exists).")
        parser.add_argument(
            "--format",
            choices=[item.value for item in ExportFormat],
            help="csv, xlsx or vcf (contacts only). Default: from the file's suffix, else csv.",
        )
        parser.add_argument(
            "--as",
            dest="as_email",
            metavar="EMAIL",
            help=(
                "Export what this user may see, with their role's permission. Default: the first "
                "active administrator (by id), who sees everything."
            ),
        )
        parser.add_argument(
            "--filter",
            dest="filters",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help=(
                "A filter of the list (repeatable), as in its address: q=hansen, "
                "lifecycle_stage=customer, country=DK, tags=<tag id>, sort=-created, cf_<key>=…"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        record_type: str = options["record_type"]
        path: Path = options["path"]
        file_format = options["format"] or _SUFFIXES.get(path.suffix.lower(), ExportFormat.CSV)
        actor = self._actor(options["as_email"])
        filters = QueryDict(mutable=True)
        for item in options["filters"]:
            name, is_pair, value = item.partition("=")
            if not is_pair or not name:
                raise CommandError(f"--filter takes NAME=VALUE, not “{item}”.")
            filters.appendlist(name.strip(), value)
        show_progress = self.stderr.isatty() and options["verbosity"] > 0
        try:
            export = export_start(
                actor=actor,
                record_type=record_type,
                file_format=file_format,
                filters=filters,
            )
        except PermissionDenied as error:
            raise CommandError(f"{actor.email} may not export {record_type}.") from error
        except ValidationError as error:
            raise CommandError(_error_text(error)) from error
        if show_progress:
            total = export.queryset.count()
            export.progress = lambda done: self.stderr.write(
                f"\r{done:,} / {total:,} {record_type}…", ending=""
            )
        try:
            with path.open("wb") as file:
                export.write(file)
        except OSError as error:
            raise CommandError(f"Cannot write {path}: {error.strerror or error}") from error
        finally:
            if show_progress:
                self.stderr.write("")
        self.stdout.write(f"Exported {export.rows_written} {record_type} to {path}")

    def _actor(self, email: str | None) -> User:
        users = User.objects.filter(is_active=True)
        if email:
            actor = users.filter(email__iexact=email).first()
            if actor is None:
                raise CommandError(f"No active user has the email {email}.")
            return actor
        actor = users.filter(role=Role.ADMINISTRATOR).order_by("id").first()
        if actor is None:
            raise CommandError("There is no active administrator: name a user with --as EMAIL.")
        return actor


def _error_text(error: ValidationError) -> str:
    """What is wrong, each message after the parameter it is about ("owner: Select a valid choice…")."""
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    return " ".join(
        f"{name}: {message}"
        for name, messages in error.message_dict.items()
        for message in messages
    )
