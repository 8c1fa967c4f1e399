"""``clientela worker``: run background tasks, with django-tasks-db's ``db_worker`` underneath.

Every option of ``db_worker`` works here too (``--batch``, ``--max-tasks``, ``--queue-name``, ...); only
the defaults differ: the queues named in ``TASKS`` are served, and code changes do not reload the worker
unless ``--reload`` is given (``clientela run`` starts the web server without its reloader as well).
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand


class Command(DbWorkerCommand):
    help = "Run the background worker: emails, webhooks, imports and other queued tasks."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        backend = settings.TASKS.get(DEFAULT_TASK_BACKEND_ALIAS, {})
        parser.set_defaults(reload=False, queue_name=",".join(backend.get("QUEUES") or ["default"]))
        if not isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend):
            # db_worker would refuse its own default; without a database backend there is nothing to
            # poll, which handle() says instead of failing (so `clientela run` keeps serving).
            parser.set_defaults(backend_name=None)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["backend_name"] is None:
            backend = settings.TASKS[DEFAULT_TASK_BACKEND_ALIAS]["BACKEND"]
            self.stdout.write(
                f"The task backend {backend} runs tasks without a worker; nothing to do."
            )
            return
        super().handle(*args, **options)
