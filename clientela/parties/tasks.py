"""Background jobs of the parties domain. Each takes ids, loads fresh rows and is safe to run twice."""

from __future__ import annotations

from django.tasks import task


@task
def import_job_run_task(*, job_id: int) -> str:
    """Run (or resume) an import job; returns its status. A finished job is left as it is."""
    from clientela.parties.imports import import_job_run

    return str(import_job_run(job_id).status)


# -- duplicates (issue 3: the review queue) ------------------------------------------------------


@task
def duplicates_detect_task(*, record_type: str) -> int:
    """Scan every record of ``record_type`` for duplicates (``parties.duplicates.duplicates_detect``);
    returns how many new pairs entered the review queue. Running it twice adds nothing new."""
    from clientela.parties.duplicates import duplicates_detect

    return duplicates_detect(record_type=record_type).created
