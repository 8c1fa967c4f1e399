"""The `clientela` command and the commands it adds to Django's: version, worker."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command
from django.tasks import task
from django_tasks_db.models import DBTaskResult

import clientela
from clientela.cli import main
from clientela.core.management.commands.worker import Command as WorkerCommand

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@task
def note_processed(*, label: str) -> str:
    """A task for the worker to run in these tests."""
    return f"processed {label}"


def test_version_prints_the_version(capsys):
    # when `clientela version` runs
    code = main(["version"])

    # then it prints the package's version
    assert code == 0
    assert capsys.readouterr().out == f"clientela {clientela.__version__}\n"


def test_version_flag_prints_the_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == "clientela 0.1.0\n"


def test_worker_defaults_serve_the_configured_queues_without_reloading(settings):
    # given the database task backend
    settings.TASKS = DATABASE_TASKS

    # when the worker's arguments are parsed with nothing given, and with db_worker's own options
    parser = WorkerCommand().create_parser("clientela", "worker")
    defaults = parser.parse_args([])
    given = parser.parse_args(["--batch", "--max-tasks", "3", "--queue-name", "*"])

    # then it serves the configured queues and does not reload; db_worker's options pass through
    assert (defaults.queue_name, defaults.reload, defaults.backend_name) == (
        "default",
        False,
        "default",
    )
    assert (given.batch, given.max_tasks, given.queue_name) == (True, 3, "*")


def test_worker_without_a_database_backend_has_nothing_to_do():
    # given the immediate backend the tests run with
    out = io.StringIO()

    # when the worker starts
    call_command("worker", stdout=out)

    # then it says there is nothing to do and returns
    assert out.getvalue() == (
        "The task backend django.tasks.backends.immediate.ImmediateBackend runs tasks without a worker; "
        "nothing to do.\n"
    )


@pytest.mark.django_db(transaction=True)
def test_worker_batch_runs_queued_tasks_then_stops(settings):
    # given the database backend and one queued task
    settings.TASKS = DATABASE_TASKS
    result = note_processed.enqueue(label="one")
    assert DBTaskResult.objects.get(id=result.id).status == "READY"

    # when the worker runs in batch mode
    call_command("worker", "--batch", "--no-startup-delay", verbosity=0)

    # then the task ran and the worker returned
    stored = DBTaskResult.objects.get(id=result.id)
    assert stored.status == "SUCCESSFUL"
    assert stored.return_value == "processed one"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children_of(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    children: list[int] = []
    for task_dir in tasks.iterdir():
        children += [int(child) for child in (task_dir / "children").read_text().split()]
    return children


def _is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(
    not Path(f"/proc/self/task/{os.getpid()}/children").exists(),
    reason="reads child processes from /proc",
)
def test_run_serves_pages_with_the_worker_and_ctrl_c_stops_both(tmp_path):
    # given a migrated installation on SQLite in a directory of its own
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env |= {"CLIENTELA_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "clientela.settings"}
    command = [sys.executable, "-m", "clientela.cli"]
    subprocess.run(  # noqa: S603 - our own interpreter
        [*command, "migrate", "--no-input", "-v0"], env=env, check=True, timeout=120
    )
    port = _free_port()

    # when `clientela run` starts and the login page is fetched
    log = (tmp_path / "run.log").open("w")
    # Started with SIGINT ignored, as some parents (test runners, nohup) start it: Ctrl-C must still
    # stop both children (regression: the web server inherited the ignored signal and never stopped).
    run = subprocess.Popen(  # noqa: S603 - our own interpreter
        [*command, "run", f"127.0.0.1:{port}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        status = None
        deadline = time.monotonic() + 60
        while status is None and time.monotonic() < deadline:
            time.sleep(0.3)
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/login/", timeout=5
                ) as response:
                    status = response.status
            except OSError:
                continue
        children = _children_of(run.pid)
        # and Ctrl-C is pressed
        run.send_signal(signal.SIGINT)
        # Generous: on a busy machine (CI beside a benchmark) the two children take a while to exit.
        code = run.wait(timeout=90)
    finally:
        if run.poll() is None:
            run.kill()
        log.close()

    # then the page was served by one of two children (web server and worker), and all three stopped
    assert status == 200, (tmp_path / "run.log").read_text()
    assert len(children) == 2
    assert code == 0
    deadline = time.monotonic() + 10
    while any(_is_running(child) for child in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [child for child in children if _is_running(child)] == []
