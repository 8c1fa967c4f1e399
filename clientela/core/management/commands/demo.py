"""``clientela demo``: load believable demo data once (``make run`` calls it with ``--if-empty``)."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clientela.core.demo import (
    DEFAULT_SEED,
    DEMO_SIZES,
    DemoAlreadyLoaded,
    DemoSize,
    demo_credentials_path,
    demo_dataset_exists,
    demo_dataset_load,
)


def _positive(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be zero or more")
    return number


class Command(BaseCommand):
    help = (
        "Load demo data: users in every role, teams, organizations and contacts in fourteen "
        "countries. The same seed gives the same data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--size",
            choices=sorted(DEMO_SIZES),
            default="small",
            help="small: 300 organizations and 2,000 contacts; large: 15,000 and 100,000.",
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Default: %(default)s.")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when demo data or any contact is already there (then show the demo logins).",
        )
        # For tests and benchmarks: any number of records, without a named size.
        parser.add_argument("--contacts", type=_positive, help=argparse.SUPPRESS)
        parser.add_argument("--organizations", type=_positive, help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and demo_dataset_exists():
            self.stdout.write("The database already has data; no demo data loaded.")
            self._credentials_show()
            return
        size_name = options["size"]
        size = DEMO_SIZES[size_name]
        if options["contacts"] is not None or options["organizations"] is not None:
            contacts = options["contacts"] if options["contacts"] is not None else size.contacts
            organizations = options["organizations"]
            if organizations is None:
                organizations = max(1, contacts * size.organizations // size.contacts)
            size, size_name = DemoSize(organizations=organizations, contacts=contacts), "custom"
        self.stdout.write(
            f"Loading {size_name} demo data: {size.organizations:,} organizations, "
            f"{size.contacts:,} contacts (seed {options['seed']})…"
        )
        verbose = options["verbosity"] > 1
        try:
            result = demo_dataset_load(
                size=size,
                seed=options["seed"],
                size_name=size_name,
                progress=(lambda message: self.stdout.write(f"  {message}")) if verbose else None,
            )
        except DemoAlreadyLoaded as error:
            raise CommandError(
                "Demo data or demo users are already in this database; start from an empty database "
                "(or use --if-empty)."
            ) from error
        rate = result.rows / result.seconds if result.seconds else 0
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {result.organizations:,} organizations, {result.contacts:,} contacts and "
                f"{result.users} users in {result.seconds:.1f} s ({result.rows:,} rows, {rate:,.0f} rows/s)."
            )
        )
        self.stdout.write(f"\nWritten to {result.credentials_path} (readable only by you):\n")
        self.stdout.write(result.credentials_text)

    def _credentials_show(self) -> None:
        path = demo_credentials_path()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.stdout.write(f"No demo logins are recorded ({path} does not exist).")
            return
        self.stdout.write(f"\nDemo logins, from {path}:\n")
        self.stdout.write(text)
