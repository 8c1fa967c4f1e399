"""Pages: the Export menu of the contact and organization lists downloads the list as it is filtered.

``/contacts/export/?format=csv&<the list's filters and sort>`` (and ``/organizations/export/``). CSV and
vCard stream as they are read; XLSX is written to a temporary file first.
"""

from __future__ import annotations

import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET

from clientela.parties.exports import EXPORT_KINDS, Export, ExportFormat, export_start


def export_response(export: Export) -> HttpResponseBase:
    """The file of ``export`` as a download: streamed (CSV, vCard) or from a temporary file (XLSX)."""
    response: HttpResponseBase
    if export.file_format == ExportFormat.XLSX:
        # Deleted by the system once FileResponse closes it.
        file = tempfile.TemporaryFile()  # noqa: SIM115
        export.write(file)
        file.seek(0)
        response = FileResponse(
            file, as_attachment=True, filename=export.filename(), content_type=export.content_type
        )
    else:
        response = StreamingHttpResponse(export.stream(), content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename()}"'
    # Personal data: never kept by a shared cache or the browser's.
    response["Cache-Control"] = "private, no-store"
    return response


def _export(request: HttpRequest, record_type: str, list_url_name: str) -> HttpResponseBase:
    query = request.GET.copy()
    file_format = query.get("format") or ExportFormat.CSV
    # The list page ignores a sort it does not know; so does its Export link.
    sort_keys = EXPORT_KINDS[record_type].filterset_class.base_filters["sort"].keys()
    if query.get("sort", "").strip().lstrip("-") not in sort_keys:
        query.pop("sort", None)
    try:
        export = export_start(
            actor=request.user, record_type=record_type, file_format=file_format, filters=query
        )
    except ValidationError as error:
        # Back to the list, which shows what is wrong with its filters.
        for message in error.messages:
            messages.error(request, message)
        query.pop("format", None)
        url = reverse(list_url_name)
        return redirect(f"{url}?{query.urlencode()}" if query else url)
    return export_response(export)


@login_required
@require_GET
def contact_export(request: HttpRequest) -> HttpResponseBase:
    return _export(request, "contacts", "parties:contact_list")


@login_required
@require_GET
def organization_export(request: HttpRequest) -> HttpResponseBase:
    return _export(request, "organizations", "parties:organization_list")


urlpatterns: list[URLPattern] = [
    path("contacts/export/", contact_export, name="contact_export"),
    path("organizations/export/", organization_export, name="organization_export"),
]
