"""Pages of organizations and contacts."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    return HttpResponse("TODO")


contact_detail = contact_list
organization_list = contact_list
organization_detail = contact_list
