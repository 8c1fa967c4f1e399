"""Run the ``clientela`` command and write this process's peak resident memory to ``$BENCH_PEAK_FILE``.

``ru_maxrss`` of a child counts the parent's pages it held between fork and exec: a benchmark that has
a million rows in memory saw every child "peak" at its own size. ``VmHWM`` in /proc/self/status
belongs to the program after exec, so it is what the import itself used.

    python -m bench.peak import contacts FILE --as EMAIL
"""

from __future__ import annotations

import atexit
import os
import sys
from pathlib import Path


def _peak_write() -> None:
    target = os.environ.get("BENCH_PEAK_FILE")
    if not target:
        return
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            Path(target).write_text(line.split()[1])  # kB
            return


def main() -> None:
    atexit.register(_peak_write)
    from clientela.cli import main as clientela_main

    sys.exit(clientela_main(sys.argv[1:]))


if __name__ == "__main__":
    main()
