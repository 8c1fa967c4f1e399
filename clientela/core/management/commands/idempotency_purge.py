"""``clientela idempotency_purge``: delete API Idempotency-Keys older than CLIENTELA_IDEMPOTENCY_HOURS.

Claims purge expired keys by themselves now and then; this command is for a scheduled clean-up (cron,
a systemd timer) on a quiet installation, or to see how many there were.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from clientela.core.idempotency import idempotency_keys_purge


class Command(BaseCommand):
    help = "Delete API Idempotency-Keys older than CLIENTELA_IDEMPOTENCY_HOURS (24 by default)."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = idempotency_keys_purge()
        hours = settings.CLIENTELA_IDEMPOTENCY_HOURS
        self.stdout.write(f"Deleted {deleted} idempotency keys older than {hours} hours.")
