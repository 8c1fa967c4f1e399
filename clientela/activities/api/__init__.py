"""The activity and task endpoints of /api/v1/."""

from __future__ import annotations

from typing import Any

from clientela.activities.api import activities, tasks


def register(router: Any) -> None:
    for module in (activities, tasks):
        module.register(router)
