"""Pages of imports: upload a file, map its columns, check it (a dry run), run it, follow it, get the report.

The file waits between the upload and the dry run under a short id kept in the session, never under a
name the browser could send back: a person can only map and check a file they uploaded themselves.
Jobs are read through ``import_job_get``, so someone else's job answers 404.
"""

from __future__ import annotations

import csv
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import path, re_path, reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clientela.core.locale import country_choices
from clientela.core.permissions import Perm, require_perm
from clientela.core.spreadsheets import spreadsheet_safe
from clientela.parties.choices import ImportOnMatch, ImportRecordType, ImportStatus
from clientela.parties.forms import tag_names_parse
from clientela.parties.imports import (
    ImportField,
    ImportPreview,
    import_fields,
    import_file_store,
    import_job_cancel,
    import_job_create,
    import_job_get,
    import_job_start,
    import_jobs_visible_to,
    import_mapping_guess,
    import_mapping_save,
    import_mapping_validate,
    import_mappings_for,
    import_preview,
    import_report_rows,
)
from clientela.parties.models import ImportJob, ImportMapping

UPLOADS_SESSION_KEY = "parties_import_uploads"
# Uploads remembered per session: enough to go back and forth between a few files.
UPLOADS_KEPT = 10
RECENT_JOBS_SHOWN = 20
ERRORS_PER_PAGE = 50
SAMPLES_SHOWN = 3
ACTIVE_STATUSES = frozenset({ImportStatus.PENDING, ImportStatus.RUNNING})

ENCODING_CHOICES = [
    ("auto", gettext_lazy("Detect automatically")),
    ("utf-8", "UTF-8"),
    ("cp1252", "Windows-1252"),
    ("latin-1", "Latin-1 (ISO-8859-1)"),
    ("utf-16", "UTF-16"),
]

ON_MATCH_HELP = {
    ImportOnMatch.SKIP: gettext_lazy("The existing record stays as it is; the row is skipped."),
    ImportOnMatch.FILL: gettext_lazy(
        "Empty fields of the existing record get the file's values; filled ones stay."
    ),
    ImportOnMatch.OVERWRITE: gettext_lazy(
        "Every mapped field of the existing record takes the file's value."
    ),
}


@dataclass(frozen=True)
class ImportTarget:
    """What differs between importing contacts and organizations."""

    record_type: str
    nav: str
    title: Any
    list_url_name: str


TARGETS = {
    ImportRecordType.CONTACTS: ImportTarget(
        record_type=ImportRecordType.CONTACTS,
        nav="contacts",
        title=gettext_lazy("Import contacts"),
        list_url_name="parties:contact_list",
    ),
    ImportRecordType.ORGANIZATIONS: ImportTarget(
        record_type=ImportRecordType.ORGANIZATIONS,
        nav="organizations",
        title=gettext_lazy("Import organizations"),
        list_url_name="parties:organization_list",
    ),
}


def max_upload_size() -> int:
    """The largest file an import accepts, in bytes."""
    return settings.CLIENTELA_IMPORT_MAX_BYTES


# -- forms -------------------------------------------------------------------------------------


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        # The engine says what is wrong with an empty file, as it does for the API.
        allow_empty_file=True,
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.xlsx,text/csv,"
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )
    encoding = forms.ChoiceField(
        label=gettext_lazy("Text encoding"),
        choices=ENCODING_CHOICES,
        initial="auto",
        help_text=gettext_lazy(
            "For CSV files. Choose one when accented letters come out wrong; XLSX files need none."
        ),
    )


@dataclass(frozen=True)
class MappedColumn:
    """One column of the file on the mapping page: its header, a few values and the field it fills."""

    header: str
    samples: list[str]
    field: forms.BoundField


class ImportMappingForm(forms.Form):
    """Which field each column of the file fills, what a matching row does, and defaults for every row."""

    on_match = forms.ChoiceField(
        label=gettext_lazy("When a row matches an existing record"),
        choices=ImportOnMatch.choices,
        initial=ImportOnMatch.SKIP,
        widget=forms.RadioSelect,
    )
    country = forms.ChoiceField(
        label=gettext_lazy("Default country"),
        required=False,
        help_text=gettext_lazy(
            "For rows without a country; phone numbers without a country code are read in its format."
        ),
    )
    tags = forms.CharField(
        label=gettext_lazy("Tags to add to every record"),
        required=False,
        max_length=500,
        help_text=gettext_lazy("Separate tags with commas. New names create new tags."),
    )
    save_as = forms.CharField(
        label=gettext_lazy("Save this mapping as…"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Give it a name to offer it again for the next file."),
    )

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        header: list[str],
        fields: list[ImportField],
        mapping: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.header = header
        cast(forms.ChoiceField, self.fields["country"]).choices = [("", "—"), *country_choices()]
        field_choices: list[tuple[str, str]] = [("", _("Do not import"))]
        for field in fields:
            label = str(field.label)
            if field.required:
                label = _("%(label)s (required)") % {"label": label}
            field_choices.append((field.key, label))
        mapping = mapping or {}
        for index, name in enumerate(header):
            self.fields[self.column_name(index)] = forms.ChoiceField(
                label=name or _("Column %(number)s") % {"number": index + 1},
                choices=field_choices,
                required=False,
                initial=mapping.get(name, ""),
            )

    @staticmethod
    def column_name(index: int) -> str:
        # By position: headers can hold any character, and a form field name should not.
        return f"column_{index}"

    def columns(self, samples: list[list[str]]) -> list[MappedColumn]:
        return [
            MappedColumn(header=name, samples=samples[index], field=self[self.column_name(index)])
            for index, name in enumerate(self.header)
        ]

    def mapping(self) -> dict[str, str]:
        """{header: field key or ""} from the valid form, for every column of the file."""
        return {
            name: self.cleaned_data.get(self.column_name(index)) or ""
            for index, name in enumerate(self.header)
        }

    def options(self) -> dict[str, Any]:
        """The defaults for every row, as ImportJob.options holds them."""
        options: dict[str, Any] = {}
        if self.cleaned_data.get("country"):
            options["country"] = self.cleaned_data["country"]
        tags = tag_names_parse(self.cleaned_data.get("tags", ""))
        if tags:
            options["tags"] = tags
        return options

    def add_service_errors(self, error: ValidationError) -> None:
        """A service's errors on the field they are about; the rest above the form."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        own = {"name": "save_as", "on_match": "on_match", "country": "country", "tags": "tags"}
        for key, messages_ in error.message_dict.items():
            field = own.get(key)
            if field is None and key in self.header:
                field = self.column_name(self.header.index(key))
            if field is None:
                self.add_error(None, messages_)
            else:
                self.add_error(field, messages_)


# -- the upload, remembered in the session -----------------------------------------------------


def _upload_remember(request: HttpRequest, upload: dict[str, Any]) -> str:
    uploads: dict[str, Any] = dict(request.session.get(UPLOADS_SESSION_KEY, {}))
    upload_id = secrets.token_urlsafe(9)
    uploads[upload_id] = upload
    # Dicts keep their order: the oldest uploads go first.
    while len(uploads) > UPLOADS_KEPT:
        uploads.pop(next(iter(uploads)))
    request.session[UPLOADS_SESSION_KEY] = uploads
    return upload_id


def _upload_get(request: HttpRequest, upload_id: str, record_type: str) -> dict[str, Any]:
    upload = request.session.get(UPLOADS_SESSION_KEY, {}).get(upload_id)
    if upload is None or upload.get("record_type") != record_type:
        raise Http404
    return dict(upload)


def _upload_update(request: HttpRequest, upload_id: str, upload: dict[str, Any]) -> None:
    uploads = dict(request.session.get(UPLOADS_SESSION_KEY, {}))
    uploads[upload_id] = upload
    request.session[UPLOADS_SESSION_KEY] = uploads


# -- helpers -----------------------------------------------------------------------------------


def _target(record_type: str) -> ImportTarget:
    try:
        return TARGETS[ImportRecordType(record_type)]
    except ValueError as error:
        raise Http404 from error


def _is_partial(request: HttpRequest, target: str) -> bool:
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return False
    return bool(htmx.target == target and not htmx.history_restore_request)


def _samples(preview: ImportPreview) -> list[list[str]]:
    """For each column of the file, its first few non-empty values."""
    samples: list[list[str]] = [[] for _name in preview.header]
    for row in preview.rows:
        for index, value in enumerate(row[: len(samples)]):
            if value.strip() and len(samples[index]) < SAMPLES_SHOWN:
                samples[index].append(value)
    return samples


def _saved_mapping(request: HttpRequest, saved: Iterable[ImportMapping]) -> ImportMapping | None:
    chosen = request.GET.get("saved", "")
    return next((mapping for mapping in saved if str(mapping.pk) == chosen), None)


class _Echo:
    """A file-like object whose ``write`` answers what it was given, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def import_report_response(job: ImportJob) -> StreamingHttpResponse:
    """The job's report as a streamed CSV download, safe to open in a spreadsheet."""

    def lines() -> Iterator[str]:
        writer = csv.writer(_Echo())
        yield "\ufeff"  # a BOM, so spreadsheets read the file as UTF-8
        for row in import_report_rows(job):
            yield writer.writerow(
                [spreadsheet_safe("" if cell is None else str(cell)) for cell in row]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    kind = "check" if job.is_dry_run else "import"
    response["Content-Disposition"] = f'attachment; filename="{kind}-{job.pk}-report.csv"'
    return response


# -- pages -------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest, record_type: str) -> HttpResponse:
    """The first step: choose a file (and its encoding); below, the person's recent imports."""
    require_perm(request.user, Perm.PARTIES_IMPORT)
    target = _target(record_type)
    form = ImportUploadForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            stored_name = import_file_store(actor=request.user, upload=upload)
            preview = import_preview(
                stored_name=stored_name, encoding=form.cleaned_data["encoding"]
            )
        except ValidationError as error:
            form.add_error("file", error.messages)
        else:
            upload_id = _upload_remember(
                request,
                {
                    "record_type": target.record_type,
                    "stored_name": stored_name,
                    "original_name": upload.name,
                    "encoding": form.cleaned_data["encoding"],
                    "detected_encoding": preview.encoding,
                },
            )
            return redirect("parties:import_mapping", target.record_type, upload_id)
    # The person's own, even for those who may see everyone's: this is their work list.
    jobs = import_jobs_visible_to(request.user).filter(
        record_type=target.record_type, created_by_id=request.user.pk
    )
    context = {
        "nav": target.nav,
        "target": target,
        "form": form,
        "max_size": max_upload_size(),
        "jobs": jobs[:RECENT_JOBS_SHOWN],
    }
    return render(request, "parties/import_upload.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest, record_type: str, upload_id: str) -> HttpResponse:
    """The second step: which field each column fills, what a matching row does; then check the file."""
    require_perm(request.user, Perm.PARTIES_IMPORT)
    target = _target(record_type)
    upload = _upload_get(request, upload_id, target.record_type)
    try:
        preview = import_preview(stored_name=upload["stored_name"], encoding=upload["encoding"])
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("parties:import_upload", target.record_type)
    saved_mappings = list(import_mappings_for(request.user, target.record_type))
    fields = import_fields(target.record_type)
    if request.method == "POST":
        form = ImportMappingForm(request.POST, header=preview.header, fields=fields)
    else:
        saved = _saved_mapping(request, saved_mappings)
        if saved is None and upload.get("mapping") is not None:
            mapping = upload["mapping"]
        else:
            mapping = import_mapping_guess(target.record_type, preview.header, saved)
        options = upload.get("options") or {}
        form = ImportMappingForm(
            header=preview.header,
            fields=fields,
            mapping=mapping,
            initial={
                "on_match": upload.get("on_match", ImportOnMatch.SKIP),
                "country": options.get("country", ""),
                "tags": ", ".join(options.get("tags", [])),
            },
        )
        if saved is not None:
            form.initial["save_as"] = ""
    if request.method == "POST" and form.is_valid():
        job = _dry_run_start(request, form, target, upload, preview)
        if job is not None:
            # Kept, so that "back" shows the choices just made.
            _upload_update(
                request,
                upload_id,
                {
                    **upload,
                    "mapping": form.mapping(),
                    "on_match": form.cleaned_data["on_match"],
                    "options": form.options(),
                },
            )
            return redirect("parties:import_job", job.pk)
    context = {
        "nav": target.nav,
        "target": target,
        "upload": upload,
        "preview": preview,
        "form": form,
        "columns": form.columns(_samples(preview)),
        "saved_mappings": saved_mappings,
        "saved_chosen": request.GET.get("saved", ""),
        "on_match_help": ON_MATCH_HELP,
    }
    return render(request, "parties/import_mapping.html", context)


def _dry_run_start(
    request: HttpRequest,
    form: ImportMappingForm,
    target: ImportTarget,
    upload: dict[str, Any],
    preview: ImportPreview,
) -> ImportJob | None:
    """The dry run of the mapped file (saving the mapping when named), or None with the form's errors."""
    actor = request.user
    try:
        # Together: a mapping is saved only when the check it was made for starts.
        with transaction.atomic():
            mapping = import_mapping_validate(target.record_type, form.mapping(), preview.header)
            name = form.cleaned_data["save_as"].strip()
            if name:
                import_mapping_save(
                    actor=actor, record_type=target.record_type, name=name, columns=mapping
                )
            options = form.options()
            if upload.get("encoding") and upload["encoding"] != "auto":
                options["encoding"] = upload["encoding"]
            return import_job_create(
                actor=actor,
                record_type=target.record_type,
                stored_name=upload["stored_name"],
                original_name=upload["original_name"],
                mapping=mapping,
                on_match=form.cleaned_data["on_match"],
                is_dry_run=True,
                options=options,
            )
    except ValidationError as error:
        form.add_service_errors(error)
        return None


def _job_context(request: HttpRequest, job: ImportJob) -> dict[str, Any]:
    target = _target(job.record_type)
    is_active = job.status in ACTIVE_STATUSES
    context: dict[str, Any] = {
        "nav": target.nav,
        "target": target,
        "job": job,
        "is_active": is_active,
        "job_url": reverse("parties:import_job", args=[job.pk]),
    }
    if not is_active:
        errors = job.row_errors.order_by("row_number", "id")
        context["errors_page"] = Paginator(errors, ERRORS_PER_PAGE).get_page(
            request.GET.get("page")
        )
    if job.is_dry_run and not is_active:
        context["started_import"] = (
            import_jobs_visible_to(request.user).filter(dry_run_of=job).order_by("-id").first()
        )
    return context


@login_required
@require_GET
def import_job_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A check or an import: its progress while it runs (polled by htmx), then its results."""
    require_perm(request.user, Perm.PARTIES_IMPORT)
    job = import_job_get(request.user, pk)
    if _is_partial(request, "import-progress") and job.status not in ACTIVE_STATUSES:
        # Finished: the whole page changes (results, buttons), so the poll reloads it.
        response = HttpResponse(status=204, headers={"HX-Refresh": "true"})
    elif _is_partial(request, "import-progress"):
        response = render(request, "parties/import_job.html#progress", _job_context(request, job))
    elif _is_partial(request, "import-errors"):
        response = render(request, "parties/import_job.html#errors", _job_context(request, job))
    else:
        response = render(request, "parties/import_job.html", _job_context(request, job))
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@login_required
@require_GET
def import_job_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """Back to the mapping page of a job's file, with the job's choices, to check it again."""
    require_perm(request.user, Perm.PARTIES_IMPORT)
    job = import_job_get(request.user, pk)
    encoding = job.options.get("encoding", "auto") if isinstance(job.options, dict) else "auto"
    options = {key: value for key, value in (job.options or {}).items() if key != "encoding"}
    upload_id = _upload_remember(
        request,
        {
            "record_type": job.record_type,
            "stored_name": job.stored_name,
            "original_name": job.original_name,
            "encoding": encoding,
            "detected_encoding": job.encoding,
            "mapping": job.mapping,
            "on_match": job.on_match,
            "options": options,
        },
    )
    return redirect("parties:import_mapping", job.record_type, upload_id)


@login_required
@require_POST
def import_job_start_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Run the import that a finished check (dry run) describes."""
    require_perm(request.user, Perm.PARTIES_IMPORT)
    dry_run = import_job_get(request.user, pk)
    try:
        job = import_job_start(actor=request.user, dry_run=dry_run)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("parties:import_job", dry_run.pk)
    return redirect("parties:import_job", job.pk)


@login_required
@require_http_methods(["GET", "POST"])
def import_job_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A confirmation (GET), then the cancellation (POST) of a waiting or running job."""
    require_perm(request.user, Perm.PARTIES_IMPORT)
    job = import_job_get(request.user, pk)
    if request.method == "POST":
        try:
            import_job_cancel(actor=request.user, job=job)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("The import was cancelled."))
        return redirect("parties:import_job", job.pk)
    if job.status not in ACTIVE_STATUSES:
        return redirect("parties:import_job", job.pk)
    target = _target(job.record_type)
    return render(request, "parties/import_cancel.html", {"nav": target.nav, "job": job})


@login_required
@require_GET
def import_job_report(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Every row of a finished job with its outcome, as a CSV download."""
    require_perm(request.user, Perm.PARTIES_IMPORT)
    job = import_job_get(request.user, pk)
    if job.status in ACTIVE_STATUSES:
        messages.error(request, _("The report is ready when the import has finished."))
        return redirect("parties:import_job", job.pk)
    return import_report_response(job)


# contacts|organizations, not any word: "<anything>/import/" must stay free for other domains.
_RECORD_TYPE = r"(?P<record_type>contacts|organizations)"

urlpatterns = [
    re_path(rf"^{_RECORD_TYPE}/import/$", import_upload, name="import_upload"),
    re_path(
        rf"^{_RECORD_TYPE}/import/(?P<upload_id>[A-Za-z0-9_-]+)/$",
        import_mapping,
        name="import_mapping",
    ),
    path("imports/<int:pk>/", import_job_page, name="import_job"),
    path("imports/<int:pk>/mapping/", import_job_mapping, name="import_job_mapping"),
    path("imports/<int:pk>/start/", import_job_start_view, name="import_job_start"),
    path("imports/<int:pk>/cancel/", import_job_cancel_view, name="import_job_cancel"),
    path("imports/<int:pk>/report/", import_job_report, name="import_job_report"),
]
