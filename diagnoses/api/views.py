"""API views of studies, reviews and model versions: thin. Each parses its input, calls one
service or selector, records the access and answers with a serializer. Permissions follow the
roles (diagnoses/roles.py)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from diagnoses import reviews, selectors, services
from diagnoses.api import serializers as s
from diagnoses.api.base import ApiView, audit
from diagnoses.api.errors import Conflict, FileRefused, IdempotencyKeyReused
from diagnoses.submissions import IdempotencyConflict, study_submit
from diagnoses.models import ModelVersion, Prediction, Study

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Up to 128 printable characters. The same key from the same user returns the "
                "first study instead of creating another one.",
)


class StudyPages(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


class StudyListView(ApiView):
    required_permissions = {"GET": "view_study", "POST": "add_study"}
    error_statuses = {"POST": (413, 422)}
    parser_classes = [MultiPartParser]
    pagination_class = StudyPages
    serializer_class = s.StudySerializer

    @extend_schema(parameters=[s.StudyFilterSerializer], responses=s.StudySerializer(many=True),
                   summary="Studies, filtered and ordered like the web history, in pages")
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        audit(request, "view", detail="study list")
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def get_queryset(self):
        filters = s.StudyFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.study_list(filters=filters.study_filters())

    @extend_schema(request=s.StudySubmitSerializer, parameters=[IDEMPOTENCY_HEADER],
                   responses={202: s.StudyDetailSerializer},
                   summary="Submit a chest X-ray; the diagnosis runs in the background")
    def post(self, request):
        key = _idempotency_key(request)
        submitted = s.StudySubmitSerializer(data=request.data)
        submitted.is_valid(raise_exception=True)
        data = submitted.validated_data
        try:
            submission = study_submit(
                uploaded_by=request.user, image_file=data["file"], idempotency_key=key,
                patient_id=data["patient_id"], accession_number=data["accession_number"],
                notes=data["notes"], tencrop=data["tencrop"], callback_url=data["callback_url"],
                view_position=data["view_position"], patient_age_years=data["patient_age_years"],
                confirm_patient_mismatch=data["confirm_patient_mismatch"],
            )
        except DjangoValidationError as refused:
            if refused.code == services.PATIENT_MISMATCH:
                raise FileRefused(refused, field="patient_id") from None
            raise FileRefused(refused) from None
        except IdempotencyConflict as conflict:
            raise IdempotencyKeyReused(
                f"This Idempotency-Key was already used for a different submission "
                f"(differs in: {conflict}); use a new key for a new study."
            ) from None
        study = selectors.study_get(study_id=submission.study.pk)
        if submission.replayed:
            audit(request, "view", study=study, detail="idempotent replay")
        else:
            audit(request, "create", study=study)
        headers = {"Location": reverse("api-study-detail", args=[study.pk])}
        if submission.replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(s.StudyDetailSerializer(study, context=self.get_serializer_context()).data,
                        status=status.HTTP_202_ACCEPTED, headers=headers)


class StudyDetailView(ApiView):
    required_permissions = {"GET": "view_study"}
    serializer_class = s.StudyDetailSerializer

    @extend_schema(summary="A study: status, predictions, flagged findings, heatmap URLs")
    def get(self, request, study_id):
        study = selectors.study_get(study_id=study_id)
        audit(request, "view", study=study)
        return Response(self.get_serializer(study).data)


class StudyRerunView(ApiView):
    required_permissions = {"POST": "rerun_study"}
    error_statuses = {"POST": (409,)}
    serializer_class = s.StudyDetailSerializer

    @extend_schema(request=None, responses={202: s.StudyDetailSerializer},
                   summary="Queue a finished or failed study again")
    def post(self, request, study_id):
        study = get_object_or_404(Study, pk=study_id)
        try:
            services.study_rerun(study=study)
        except DjangoValidationError as refused:
            raise Conflict(" ".join(refused.messages)) from None
        audit(request, "rerun", study=study)
        study = selectors.study_get(study_id=study_id)
        return Response(self.get_serializer(study).data, status=status.HTTP_202_ACCEPTED)


class PredictionReviewView(ApiView):
    required_permissions = {"POST": "review_study"}
    error_statuses = {"POST": (409,)}
    serializer_class = s.ReviewSerializer
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(request=s.ReviewInputSerializer, responses=s.ReviewSerializer,
                   summary="Save your review of a prediction: verdicts, note, sign-off")
    def post(self, request, study_id, prediction_id):
        prediction = get_object_or_404(Prediction, pk=prediction_id, study_id=study_id)
        submitted = s.ReviewInputSerializer(data=request.data)
        submitted.is_valid(raise_exception=True)
        try:
            review = reviews.review_save(prediction=prediction, reviewer=request.user,
                                         **submitted.validated_data)
        except DjangoValidationError as refused:
            if refused.code == "signed_off":
                raise Conflict(" ".join(refused.messages)) from None
            raise exceptions.ValidationError({"verdicts": refused.messages}) from None
        audit(request, "review", study=prediction.study)
        return Response(self.get_serializer(review).data)


class ModelVersionListView(ApiView):
    required_permissions = {"GET": "view_modelversion"}
    serializer_class = s.ModelVersionSerializer

    @extend_schema(responses=s.ModelVersionSerializer(many=True),
                   summary="Model versions; the active one reads new studies")
    def get(self, request):
        return Response(self.get_serializer(self.get_queryset(), many=True).data)

    def get_queryset(self):
        return ModelVersion.objects.prefetch_related("threshold_sets").order_by(
            "state", "-first_seen_at")  # active, retired, shadow


def _idempotency_key(request) -> str:
    key = request.headers.get("Idempotency-Key", "")
    if key and (len(key) > 128 or not key.isascii() or not key.isprintable()):
        raise exceptions.ValidationError(
            {"Idempotency-Key": ["Use at most 128 printable ASCII characters."]})
    return key
