"""The ``clientela`` command.

A few commands of its own (``version``, ``run``); everything else is handed to Django's management
utility, so ``clientela migrate``, ``clientela createsuperuser``, ``clientela demo`` and
``clientela worker`` all work as in NetBox's ``netbox`` command.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import clientela


def _run(argv: list[str]) -> int:
    """Serve the web app and the background worker together; Ctrl-C stops both."""
    address = argv[0] if argv else os.environ.get("CLIENTELA_ADDRESS", "127.0.0.1:8000")
    command = [sys.executable, "-m", "clientela.cli"]
    processes: list[subprocess.Popen[bytes]] = []
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)

    # Handlers first, children after: a child inherits an *ignored* SIGINT (as from a parent that
    # ignores it, like some test runners) but not a handled one, which exec resets to the default.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    worker = subprocess.Popen([*command, "worker"])
    processes += [worker, subprocess.Popen([*command, "runserver", address, "--noreload"])]
    host = address if ":" in address else f"127.0.0.1:{address}"
    print(f"Clientela is running on http://{host}/ with its worker. Ctrl-C stops both.", flush=True)
    exit_code = 0
    try:
        while processes:
            for process in list(processes):
                try:
                    code = process.wait(timeout=0.5)
                except subprocess.TimeoutExpired:
                    continue
                processes.remove(process)
                if process is worker and code == 0 and not stopping:
                    # The task backend needs no worker (it said so); the web server goes on alone.
                    continue
                if not stopping:
                    # One half died on its own: stop the other and report the failure.
                    exit_code = code or 1
                    stop()
    finally:
        for process in processes:
            process.kill()
    return 0 if stopping and not exit_code else exit_code


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientela.settings")
    if args[:1] in (["version"], ["--version"]):
        print(f"clientela {clientela.__version__}")
        return 0
    if args[:1] == ["run"]:
        return _run(args[1:])
    from django.core.management import execute_from_command_line

    execute_from_command_line(["clientela", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
