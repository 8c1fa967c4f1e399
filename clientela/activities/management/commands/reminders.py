"""``clientela reminders send``: send every task reminder whose time has come.

Reminders are normally enqueued for their time when a task is saved; this sweep is for installations
that run it from cron or a systemd timer instead (or as well: a reminder is never sent twice).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clientela.activities.services import task_reminders_send


class Command(BaseCommand):
    help = "Send the task reminders that are due (each reminder is sent once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["send"], help="send: send the due reminders.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] != "send":  # pragma: no cover - argparse refuses others
            raise CommandError(f"Unknown action: {options['action']}")
        sent = task_reminders_send()
        self.stdout.write(f"Sent {sent} reminders.")
