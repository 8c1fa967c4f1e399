"""The sales endpoints of /api/v1/, one module per area."""

from __future__ import annotations

from typing import Any

from clientela.sales.api import deals, leads, pipelines, reports, webforms


def register(router: Any) -> None:
    for module in (pipelines, deals, leads, webforms, reports):
        module.register(router)
