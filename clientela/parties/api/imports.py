"""REST API of imports: /api/v1/imports/.

An import is a job: POST a file (multipart) and get 202 with the job; follow its status and counts;
read its row errors and its CSV report; start the real import from a finished dry run; cancel it.
Everyone sees only their own jobs (someone else's id answers 404), and every action needs the role's
permission to import.
"""

from __future__ import annotations

import json
from typing import Any

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.routers import DefaultRouter

from clientela.core.api import (
    PROBLEM_CONTENT_TYPE,
    FilterBackend,
    ProblemSerializer,
    StrictSerializer,
    problem_response,
)
from clientela.core.api_views import ApiViewSet
from clientela.core.permissions import Perm
from clientela.parties.choices import ImportOnMatch, ImportRecordType, ImportStatus
from clientela.parties.imports import (
    import_file_store,
    import_job_cancel,
    import_job_create,
    import_job_get,
    import_job_start,
    import_jobs_visible_to,
    import_mapping_guess,
    import_mapping_validate,
    import_preview,
)
from clientela.parties.models import ImportJob
from clientela.parties.views.imports import ENCODING_CHOICES, import_report_response

_ACTIVE = (ImportStatus.PENDING, ImportStatus.RUNNING)
# The code of the engine's error for a file over the size limit: answered 413, not 400.
TOO_LARGE_CODE = "too_large"


# -- serializers -------------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "self": {"type": "string", "format": "uri"},
            "errors": {"type": "string", "format": "uri"},
            "report": {"type": "string", "format": "uri", "nullable": True},
            "start": {"type": "string", "format": "uri", "nullable": True},
            "cancel": {"type": "string", "format": "uri", "nullable": True},
        },
        "required": ["self", "errors", "report", "start", "cancel"],
    }
)
class ImportLinksField(serializers.Field):
    """Where to go next: each action's address, or null while it cannot be taken."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["source"] = "*"
        kwargs["read_only"] = True
        kwargs.setdefault(
            "help_text",
            _(
                "Addresses of the job's errors, report (once finished), start (a finished dry run) "
                "and cancel (while waiting or running)."
            ),
        )
        super().__init__(**kwargs)

    def to_representation(self, job: ImportJob) -> dict[str, str | None]:
        request = self.context.get("request")

        def link(name: str) -> str:
            return reverse(f"import-{name}", args=[job.pk], request=request)

        is_active = job.status in _ACTIVE
        return {
            "self": link("detail"),
            "errors": link("errors"),
            "report": None if is_active else link("report"),
            "start": link("start") if job.is_dry_run and job.status == ImportStatus.DONE else None,
            "cancel": link("cancel") if is_active else None,
        }


class ImportJobSerializer(StrictSerializer):
    """An import, or a dry run that checks a file without changing anything: its settings and progress."""

    id = serializers.IntegerField(read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="import-detail")
    record_type = serializers.ChoiceField(choices=ImportRecordType.choices, read_only=True)
    status = serializers.ChoiceField(choices=ImportStatus.choices, read_only=True)
    is_dry_run = serializers.BooleanField(read_only=True)
    original_name = serializers.CharField(read_only=True, help_text=_("The uploaded file's name."))
    file_format = serializers.CharField(read_only=True)
    file_size = serializers.IntegerField(read_only=True, help_text=_("In bytes."))
    encoding = serializers.CharField(read_only=True)
    mapping = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        read_only=True,
        help_text=_("Column header → field key; columns mapped to an empty key are not imported."),
    )
    on_match = serializers.ChoiceField(choices=ImportOnMatch.choices, read_only=True)
    options = serializers.DictField(read_only=True)
    dry_run_of = serializers.IntegerField(
        source="dry_run_of_id",
        read_only=True,
        allow_null=True,
        help_text=_("The id of the dry run this import was started from."),
    )
    total_rows = serializers.IntegerField(
        read_only=True, allow_null=True, help_text=_("Null until the file has been counted.")
    )
    processed_rows = serializers.IntegerField(read_only=True)
    created_count = serializers.IntegerField(read_only=True)
    updated_count = serializers.IntegerField(read_only=True)
    skipped_count = serializers.IntegerField(read_only=True)
    failed_count = serializers.IntegerField(read_only=True)
    message = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)
    links = ImportLinksField()


@extend_schema_field({"type": "string", "description": "A JSON object, as text."})
class JsonObjectTextField(serializers.CharField):
    """A JSON object sent as text (a multipart form has no other way), parsed and checked."""

    def __init__(self, *, string_values: bool = False, **kwargs: Any) -> None:
        self.string_values = string_values
        super().__init__(**kwargs)

    # A CharField that answers a dict: the text is only how the object travels.
    def to_internal_value(self, data: Any) -> dict[str, Any]:  # type: ignore[override]
        text = super().to_internal_value(data)
        try:
            value = json.loads(text)
        except ValueError:
            # Not self.fail(): its messages are str.format templates, and this one has braces.
            raise serializers.ValidationError(
                _('Send a JSON object, such as {"Email": "email"}.'), code="not_json"
            ) from None
        if not isinstance(value, dict):
            raise serializers.ValidationError(
                _("Send a JSON object, not a list or a single value."), code="not_object"
            )
        if self.string_values and not all(isinstance(item, str) for item in value.values()):
            raise serializers.ValidationError(
                _('Each column must name a field key as a string ("" not to import it).')
            )
        return value


class ImportJobCreateSerializer(StrictSerializer):
    """A file to import (or to check first) and how to read it."""

    # The engine says what is wrong with an empty file, as it does on the pages.
    file = serializers.FileField(
        allow_empty_file=True,
        help_text=_("A CSV or XLSX file with the column names in its first row."),
    )
    record_type = serializers.ChoiceField(choices=ImportRecordType.choices)
    mapping = JsonObjectTextField(
        string_values=True,
        required=False,
        help_text=_(
            'A JSON object: column header → field key ("" not to import the column). Left out, the '
            "mapping is guessed from the column names."
        ),
    )
    on_match = serializers.ChoiceField(
        choices=ImportOnMatch.choices,
        default=ImportOnMatch.SKIP,
        help_text=_("What a row that matches an existing record does."),
    )
    dry_run = serializers.BooleanField(
        default=False,
        help_text=_("Only check the file: count what would happen and list the bad rows."),
    )
    options = JsonObjectTextField(
        required=False,
        help_text=_(
            'A JSON object of defaults for every row, such as {"country": "DK", "tags": ["fair"]}.'
        ),
    )
    encoding = serializers.ChoiceField(
        choices=[value for value, _label in ENCODING_CHOICES],
        default="auto",
        help_text=_("The text encoding of a CSV file; auto detects it."),
    )


class ImportRowErrorSerializer(serializers.Serializer):
    """Why one row failed, or was skipped."""

    row = serializers.IntegerField(
        source="row_number",
        help_text=_(
            "As a spreadsheet numbers it: the header is row 1, the first data row is row 2."
        ),
    )
    column = serializers.CharField()
    value = serializers.CharField()
    reason = serializers.CharField(source="message")
    is_skip = serializers.BooleanField(
        help_text=_("True when the row was skipped rather than failed.")
    )


class ImportJobFilterSet(django_filters.FilterSet):
    record_type = django_filters.ChoiceFilter(
        choices=ImportRecordType.choices, label=_("Record type")
    )
    status = django_filters.ChoiceFilter(choices=ImportStatus.choices, label=_("Status"))
    is_dry_run = django_filters.BooleanFilter(label=_("Dry run"))

    class Meta:
        model = ImportJob
        fields: list[str] = []


# -- the endpoint ------------------------------------------------------------------------------


def _codes(error: DjangoValidationError) -> set[str | None]:
    if hasattr(error, "error_dict"):
        return {item.code for items in error.error_dict.values() for item in items}
    return {item.code for item in error.error_list}


def _as_api_error(error: DjangoValidationError, field: str) -> serializers.ValidationError:
    """A service's error, reported against the API field it is about."""
    return serializers.ValidationError({field: list(error.messages)})


@extend_schema_view(
    list=extend_schema(summary=_("List your imports"), description=_("Newest first.")),
    retrieve=extend_schema(summary=_("Read an import")),
    create=extend_schema(
        summary=_("Import a file"),
        description=_(
            "Upload a CSV or XLSX file as multipart/form-data. The job runs in the background: the "
            "answer is 202 with the job (and its address in Location); read it again to follow its "
            "status and counts. With dry_run, nothing is written: the job counts what would happen and "
            "lists the bad rows; start it for real with /start/."
        ),
        request={"multipart/form-data": ImportJobCreateSerializer},
        responses={
            202: ImportJobSerializer,
            (413, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                ProblemSerializer, description=_("The file is larger than the import size limit.")
            ),
        },
    ),
)
class ImportJobViewSet(ApiViewSet):
    """Imports of contacts and organizations from CSV and XLSX files, run in the background."""

    # Names the model for the schema only; every read goes through import_jobs_visible_to.
    queryset = ImportJob.objects.none()
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser]
    filter_backends = [FilterBackend]
    filterset_class = ImportJobFilterSet
    action_permissions = dict.fromkeys(
        ("list", "retrieve", "create", "errors", "report", "start", "cancel"), Perm.PARTIES_IMPORT
    )

    def get_queryset(self) -> Any:
        return import_jobs_visible_to(self.actor)

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.action == "create":
            return ImportJobCreateSerializer
        if self.action == "errors":
            return ImportRowErrorSerializer
        return ImportJobSerializer

    def _accepted(self, job: ImportJob) -> Response:
        # Read again: with an immediate task backend the job may have run already.
        job = import_job_get(self.actor, job.pk)
        data = ImportJobSerializer(job, context=self.get_serializer_context()).data
        return Response(data, status=202, headers={"Location": data["url"]})

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data["file"]
        try:
            stored_name = import_file_store(actor=self.actor, upload=upload)
        except DjangoValidationError as error:
            if TOO_LARGE_CODE in _codes(error):
                return problem_response(
                    413, " ".join(error.messages), errors={"file": list(error.messages)}
                )
            raise _as_api_error(error, "file") from error
        try:
            preview = import_preview(stored_name=stored_name, encoding=data["encoding"])
        except DjangoValidationError as error:
            raise _as_api_error(error, "file") from error
        mapping = data.get("mapping")
        if mapping is None:
            mapping = import_mapping_guess(data["record_type"], preview.header)
        try:
            mapping = import_mapping_validate(data["record_type"], mapping, preview.header)
        except DjangoValidationError as error:
            raise _as_api_error(error, "mapping") from error
        options = dict(data.get("options") or {})
        if data["encoding"] != "auto":
            options["encoding"] = data["encoding"]
        job = import_job_create(
            actor=self.actor,
            record_type=data["record_type"],
            stored_name=stored_name,
            original_name=upload.name,
            mapping=mapping,
            on_match=data["on_match"],
            is_dry_run=data["dry_run"],
            options=options,
        )
        return self._accepted(job)

    @extend_schema(
        summary=_("List an import's row errors"),
        description=_("Every row that failed or was skipped, by row number."),
        responses=ImportRowErrorSerializer(many=True),
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def errors(self, request: Request, pk: str) -> Response:
        job = self.get_object()
        rows = job.row_errors.order_by("row_number", "id")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary=_("Download an import's report"),
        description=_(
            "CSV, one line per row of the file: row, outcome, record id, column, value, reason. No "
            "cell starts with a character that a spreadsheet would run as a formula."
        ),
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=_("The report.")),
            (409, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                ProblemSerializer, description=_("The job has not finished yet.")
            ),
        },
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def report(self, request: Request, pk: str) -> Any:
        job = self.get_object()
        if job.status in _ACTIVE:
            return problem_response(409, str(_("The report is ready when the job has finished.")))
        return import_report_response(job)

    @extend_schema(
        summary=_("Run the import a dry run checked"),
        description=_(
            "Starts the real import of a finished dry run's file, with the same mapping and options. "
            "Answers 202 with the new job."
        ),
        request=None,
        responses={202: ImportJobSerializer},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def start(self, request: Request, pk: str) -> Response:
        job = import_job_start(actor=self.actor, dry_run=self.get_object())
        return self._accepted(job)

    @extend_schema(
        summary=_("Cancel an import"),
        description=_("Stops a waiting or running job; rows already imported stay."),
        request=None,
        responses={200: ImportJobSerializer},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def cancel(self, request: Request, pk: str) -> Response:
        job = import_job_cancel(actor=self.actor, job=self.get_object())
        return Response(ImportJobSerializer(job, context=self.get_serializer_context()).data)


def register(router: DefaultRouter) -> None:
    router.register("imports", ImportJobViewSet, basename="import")
