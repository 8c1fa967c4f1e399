"""REST API of duplicates: the review queue (/api/v1/duplicates/), merges (/api/v1/contacts/merge/,
/api/v1/organizations/merge/) and undoing them (/api/v1/merges/{id}/undo/).

All of it needs the merge permission (managers and administrators). Pairs are listed only when the
caller may see both records; merging a record the caller may not see answers 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.routers import DefaultRouter

from clientela.core.api import ProblemSerializer, StrictSerializer, etag_of, if_match_version
from clientela.core.api_views import ApiViewSet
from clientela.core.permissions import Perm
from clientela.parties.choices import ImportRecordType
from clientela.parties.duplicates import (
    CONTACTS,
    ORGANIZATIONS,
    REASON_LABELS,
    duplicate_candidate_get,
    duplicate_candidates_visible_to,
    duplicate_dismiss,
    duplicate_pairs,
)
from clientela.parties.merges import (
    MERGE_RECORDS_MAX,
    contacts_merge,
    merge_get,
    merge_undo,
    organizations_merge,
)
from clientela.parties.models import Contact, DuplicateCandidate, Merge, Organization
from clientela.parties.selectors import contacts_visible_to, organizations_visible_to
from clientela.parties.serializers import ContactSerializer, OrganizationSerializer

# -- the review queue ----------------------------------------------------------------------------


class DuplicateRecordSerializer(serializers.Serializer):
    """One record of a pair."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.URLField()


class DuplicateSerializer(serializers.Serializer):
    """Two records that look like the same person or company."""

    id = serializers.IntegerField()
    record_type = serializers.ChoiceField(choices=ImportRecordType.choices)
    score = serializers.IntegerField(help_text=gettext_lazy("Confidence, from 0 to 100."))
    reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(REASON_LABELS)),
        help_text=gettext_lazy(
            "Why they look alike, strongest first: email, phone, name_organization, name_city "
            "(contacts); domain, name, name_city (organizations)."
        ),
    )
    reason_labels = serializers.ListField(
        child=serializers.CharField(), help_text=gettext_lazy("The reasons in words.")
    )
    status = serializers.CharField()
    detected_at = serializers.DateTimeField()
    records = DuplicateRecordSerializer(many=True)


def _record_json(request: Request, record: Any) -> dict[str, Any]:
    is_contact = isinstance(record, Contact)
    return {
        "id": record.pk,
        "name": record.full_name if is_contact else record.name,
        "url": reverse(
            "contact-detail" if is_contact else "organization-detail",
            args=[record.pk],
            request=request,
        ),
    }


def _candidate_json(request: Request, candidate: DuplicateCandidate, records: list[Any]) -> Any:
    return {
        "id": candidate.pk,
        "record_type": candidate.record_type,
        "score": candidate.score,
        "reasons": list(candidate.reasons),
        "reason_labels": [str(REASON_LABELS.get(reason, reason)) for reason in candidate.reasons],
        "status": candidate.status,
        "detected_at": serializers.DateTimeField().to_representation(candidate.detected_at),
        "records": [_record_json(request, record) for record in records],
    }


_PROBLEM = "application/problem+json"
# GET answers 403 too here (the base schema adds it to writes only).
_FORBIDDEN = {(403, _PROBLEM): ProblemSerializer}
_TYPE_PARAMETER = OpenApiParameter(
    "type",
    str,
    enum=[CONTACTS, ORGANIZATIONS],
    description=gettext_lazy("Which pairs: contacts (the default) or organizations."),
)
_RECORD_PARAMETER = OpenApiParameter(
    "record", int, description=gettext_lazy("Only the pairs of this record.")
)


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("List possible duplicates"),
        description=gettext_lazy(
            "Open pairs whose two records the caller may see, most likely duplicates first."
        ),
        parameters=[_TYPE_PARAMETER, _RECORD_PARAMETER],
        responses={200: DuplicateSerializer(many=True), **_FORBIDDEN},
    ),
    dismiss=extend_schema(
        summary=gettext_lazy("Mark a pair as not duplicates"),
        description=gettext_lazy(
            "The pair leaves the queue and is never proposed again. Dismissing it twice changes nothing."
        ),
        request=None,
    ),
)
class DuplicateViewSet(ApiViewSet):
    """Possible duplicates waiting for a decision."""

    serializer_class = DuplicateSerializer
    action_permissions = {"list": Perm.PARTIES_MERGE, "dismiss": Perm.PARTIES_MERGE}

    def _record_type(self) -> str:
        value = self.request.query_params.get("type", CONTACTS)
        if value not in (CONTACTS, ORGANIZATIONS):
            raise serializers.ValidationError({"type": [_("Choose contacts or organizations.")]})
        return value

    def get_queryset(self) -> QuerySet[DuplicateCandidate]:
        record = self.request.query_params.get("record")
        if record is not None and not record.isdigit():
            raise serializers.ValidationError({"record": [_("Give a record id.")]})
        return duplicate_candidates_visible_to(
            self.actor, self._record_type(), record_id=int(record) if record else None
        )

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        pairs = duplicate_pairs(self.actor, page or [])
        return self.get_paginated_response(
            [_candidate_json(request, pair.candidate, [pair.first, pair.second]) for pair in pairs]
        )

    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str) -> Response:
        candidate = duplicate_candidate_get(self.actor, pk)
        self.check_object_permissions(request, candidate)
        candidate = duplicate_dismiss(actor=self.actor, candidate=candidate)
        pairs = duplicate_pairs(self.actor, [candidate])
        records = [pairs[0].first, pairs[0].second] if pairs else []
        return Response(_candidate_json(request, candidate, records))


# -- merging -------------------------------------------------------------------------------------


class MergeRequestSerializer(StrictSerializer):
    """Which records to merge into which, and whose value of each field the survivor keeps."""

    survivor = serializers.IntegerField(
        min_value=1, help_text=gettext_lazy("The id of the record that remains.")
    )
    merged = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        min_length=1,
        max_length=MERGE_RECORDS_MAX - 1,
        help_text=gettext_lazy("The ids of the records merged into it (they are deleted)."),
    )
    values = serializers.DictField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        help_text=gettext_lazy(
            "For each field whose value should come from another record, that record's id: "
            '{"job_title": 12, "primary_email": 12, "owner": 12, "custom_fields.budget": 12}. '
            "Fields left out keep the survivor's value, or the first record's that has one."
        ),
    )
    versions = serializers.DictField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        help_text=gettext_lazy(
            "The version of each record as last read ({id: version}): 412 when one changed since. "
            "If-Match with the survivor's ETag works too."
        ),
    )

    def validate_versions(self, value: dict[str, int]) -> dict[int, int]:
        versions = {}
        for key, version in value.items():
            if not str(key).isdigit():
                raise serializers.ValidationError(_("Key the versions by record id."))
            versions[int(key)] = version
        return versions


class MergeSerializer(serializers.Serializer):
    """A merge: records merged into one, which can be undone."""

    id = serializers.IntegerField()
    url = serializers.URLField()
    record_type = serializers.ChoiceField(choices=ImportRecordType.choices)
    survivor = serializers.IntegerField(
        help_text=gettext_lazy("The id of the record that remained.")
    )
    merged = serializers.ListField(
        child=serializers.IntegerField(), help_text=gettext_lazy("The ids of the merged records.")
    )
    created_at = serializers.DateTimeField()
    undone_at = serializers.DateTimeField(allow_null=True)


def _merge_json(request: Request, merge: Merge) -> dict[str, Any]:
    datetime_field = serializers.DateTimeField()
    return {
        "id": merge.pk,
        "url": reverse("merge-detail", args=[merge.pk], request=request),
        "record_type": merge.record_type,
        "survivor": merge.survivor_id,
        "merged": list(merge.merged_ids),
        "created_at": datetime_field.to_representation(merge.created_at),
        "undone_at": (
            datetime_field.to_representation(merge.undone_at) if merge.undone_at else None
        ),
    }


class ContactMergeResultSerializer(serializers.Serializer):
    """The merge, and the contact that remains."""

    merge = MergeSerializer()
    survivor = ContactSerializer()


class OrganizationMergeResultSerializer(serializers.Serializer):
    """The merge, and the organization that remains."""

    merge = MergeSerializer()
    survivor = OrganizationSerializer()


class _MergeViewSet(ApiViewSet):
    serializer_class = MergeRequestSerializer
    action_permissions = {"create": Perm.PARTIES_MERGE}
    model: type[Contact] | type[Organization]
    record_serializer: type[serializers.Serializer]

    def selector(self, actor: Any) -> QuerySet[Any]:
        raise NotImplementedError

    def service(self, **kwargs: Any) -> Merge:
        raise NotImplementedError

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        found = self.selector(self.actor).select_related(None).prefetch_related(None)
        records = found.in_bulk([data["survivor"], *data["merged"]])
        survivor = records.get(data["survivor"])
        if survivor is None or any(pk not in records for pk in data["merged"]):
            raise self.model.DoesNotExist
        versions = dict(data.get("versions") or {})
        expected = if_match_version(request, survivor)
        if expected is not None:
            versions.setdefault(survivor.pk, expected)
        merge = self.service(
            actor=self.actor,
            survivor=survivor,
            others=[records[pk] for pk in data["merged"]],
            values=data.get("values"),
            expected_versions=versions,
        )
        survivor = self.selector(self.actor).get(pk=survivor.pk)
        context = self.get_serializer_context()
        return Response(
            {
                "merge": _merge_json(request, merge),
                "survivor": self.record_serializer(survivor, context=context).data,
            },
            headers={"ETag": etag_of(survivor.version)},
        )


_IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description=gettext_lazy(
        "The survivor's ETag as last read: the merge happens only if it is still current (else 412)."
    ),
)
_PRECONDITION_FAILED = {(412, _PROBLEM): ProblemSerializer}
_MERGE_DESCRIPTION = gettext_lazy(
    "Merges the records into the survivor: the chosen value of each field stays, and every email, "
    "phone, affiliation, tag, timeline event and other related row of the merged records moves to "
    "the survivor; the merged records are deleted. The merge is recorded on the survivor's timeline "
    "and can be undone (POST /api/v1/merges/{id}/undo/). Records the caller may not see answer 404."
)


@extend_schema_view(
    create=extend_schema(
        summary=gettext_lazy("Merge contacts"),
        description=_MERGE_DESCRIPTION,
        request=MergeRequestSerializer,
        parameters=[_IF_MATCH],
        responses={200: ContactMergeResultSerializer, **_PRECONDITION_FAILED},
    )
)
class ContactMergeViewSet(_MergeViewSet):
    """Merging duplicate contacts."""

    model = Contact
    record_serializer = ContactSerializer

    def selector(self, actor: Any) -> QuerySet[Any]:
        return contacts_visible_to(actor)

    def service(self, **kwargs: Any) -> Merge:
        return contacts_merge(**kwargs)


@extend_schema_view(
    create=extend_schema(
        summary=gettext_lazy("Merge organizations"),
        description=_MERGE_DESCRIPTION,
        request=MergeRequestSerializer,
        parameters=[_IF_MATCH],
        responses={200: OrganizationMergeResultSerializer, **_PRECONDITION_FAILED},
    )
)
class OrganizationMergeViewSet(_MergeViewSet):
    """Merging duplicate organizations."""

    model = Organization
    record_serializer = OrganizationSerializer

    def selector(self, actor: Any) -> QuerySet[Any]:
        return organizations_visible_to(actor)

    def service(self, **kwargs: Any) -> Merge:
        return organizations_merge(**kwargs)


@extend_schema_view(
    retrieve=extend_schema(
        summary=gettext_lazy("Read a merge"),
        description=gettext_lazy("A merge whose remaining record the caller may see."),
        responses={200: MergeSerializer, **_FORBIDDEN},
    ),
    undo=extend_schema(
        summary=gettext_lazy("Undo a merge"),
        description=gettext_lazy(
            "The merged records come back with their ids and values, and the rows that moved go "
            "back to them; what was added to the survivor since stays with it. 400 when the merge "
            "was undone already."
        ),
        request=None,
    ),
)
class MergeViewSet(ApiViewSet):
    """Merges, which can be undone."""

    serializer_class = MergeSerializer
    action_permissions = {"retrieve": Perm.PARTIES_MERGE, "undo": Perm.PARTIES_MERGE}

    def get_object(self) -> Merge:
        merge = merge_get(self.actor, self.kwargs["pk"])
        self.check_object_permissions(self.request, merge)
        return merge

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(_merge_json(request, self.get_object()))

    @action(detail=True, methods=["post"])
    def undo(self, request: Request, pk: str) -> Response:
        merge = merge_undo(actor=self.actor, merge=self.get_object())
        return Response(_merge_json(request, merge))


def register(router: DefaultRouter) -> None:
    router.register("duplicates", DuplicateViewSet, basename="duplicate")
    router.register("contacts/merge", ContactMergeViewSet, basename="contact-merge")
    router.register("organizations/merge", OrganizationMergeViewSet, basename="organization-merge")
    router.register("merges", MergeViewSet, basename="merge")
