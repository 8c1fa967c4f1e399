"""``clientela duplicates detect``: look for duplicates among all contacts and organizations."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clientela.parties.duplicates import RECORD_TYPES, duplicates_detect


class Command(BaseCommand):
    help = (
        "Bring the review queue of possible duplicates up to date: detect pairs of contacts and "
        "organizations that look alike (same email, phone, domain; similar names at the same "
        "organization or in the same city)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["detect"], help="detect: scan every record.")
        parser.add_argument(
            "--record-type",
            choices=RECORD_TYPES,
            help="Only contacts or only organizations (default: both).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] != "detect":  # pragma: no cover - argparse refuses others
            raise CommandError(f"Unknown action: {options['action']}")
        record_types = [options["record_type"]] if options["record_type"] else list(RECORD_TYPES)
        for record_type in record_types:
            counts = duplicates_detect(record_type=record_type)
            self.stdout.write(
                f"{record_type}: {counts.created} new, {counts.updated} updated, "
                f"{counts.removed} removed possible duplicates."
            )
