"""API views: thin. Each parses its input, calls one service or selector, records the access and
answers with a serializer. Permissions follow the roles (diagnoses/roles.py)."""

from functools import wraps

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
)
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from diagnoses import renderings, reviews, selectors, services
from diagnoses.api import serializers as s
from diagnoses.api.errors import Conflict, IdempotencyKeyReused
from diagnoses.api.permissions import RolePermission
from diagnoses.api.submissions import IdempotencyConflict, study_submit
from diagnoses.audit import audit_record
from diagnoses.models import ModelVersion, Prediction, Study
from inference.findings import FINDINGS

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Up to 128 printable characters. The same key from the same user returns the "
                "first study instead of creating another one.",
)
STORED_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "DICOM": "application/dicom"}


class ApiView(GenericAPIView):
    permission_classes = [RolePermission]
    pagination_class = None
    required_permissions: dict[str, str] = {}
    error_statuses: dict[str, tuple[int, ...]] = {}


class StudyPages(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


class StudyListView(ApiView):
    required_permissions = {"GET": "view_study", "POST": "add_study"}
    error_statuses = {"POST": (422,)}
    parser_classes = [MultiPartParser]
    pagination_class = StudyPages
    serializer_class = s.StudySerializer

    @extend_schema(parameters=[s.StudyFilterSerializer], responses=s.StudySerializer(many=True),
                   summary="Studies, filtered and ordered like the web history, in pages")
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        _audit(request, "view", detail="study list")
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
            )
        except DjangoValidationError as refused:
            raise exceptions.ValidationError({"file": refused.messages}) from None
        except IdempotencyConflict as conflict:
            raise IdempotencyKeyReused(
                f"This Idempotency-Key was already used for a different submission "
                f"(differs in: {conflict}); use a new key for a new study."
            ) from None
        study = selectors.study_get(study_id=submission.study.pk)
        if submission.replayed:
            _audit(request, "view", study=study, detail="idempotent replay")
        else:
            _audit(request, "create", study=study)
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
        _audit(request, "view", study=study)
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
        _audit(request, "rerun", study=study)
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
        _audit(request, "review", study=prediction.study)
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
            "-is_active", "-first_seen_at")


class FirstRenderer(BaseContentNegotiation):
    """Files answer whatever the Accept header says; errors are JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class FileView(ApiView):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = FirstRenderer


class StudyImageView(FileView):
    required_permissions = {"GET": "view_study"}

    @extend_schema(responses={(200, media): OpenApiTypes.BINARY for media in STORED_TYPES.values()},
                   summary="The image as it was uploaded (PNG, JPEG or DICOM)")
    def get(self, request, study_id):
        study = get_object_or_404(Study, pk=study_id)
        try:
            with study.image.open("rb") as stored:
                content = stored.read()
        except FileNotFoundError:
            raise Http404("The stored image file is missing.") from None
        _audit(request, "download", study=study, detail="image")
        extension = study.image.name.rsplit(".", 1)[-1]
        return _private_file(content, STORED_TYPES[study.image_format],
                             f"study-{study.pk}.{extension}")


class StudyHeatmapView(FileView):
    required_permissions = {"GET": "view_study"}

    @extend_schema(
        operation_id="studies_heatmap_retrieve",
        parameters=[OpenApiParameter("finding", OpenApiTypes.STR, OpenApiParameter.PATH,
                                     enum=FINDINGS)],
        responses={(200, "image/png"): OpenApiResponse(
            OpenApiTypes.BINARY, description="The class activation map over the image.")},
        summary="A finding's heatmap over the image (PNG)")
    def get(self, request, study_id, prediction_id, finding):
        prediction = get_object_or_404(Prediction, pk=prediction_id, study_id=study_id)
        if finding not in FINDINGS:
            raise Http404(f"No finding named {finding}; the findings are {', '.join(FINDINGS)}.")
        content = renderings.heatmap_overlay_png(prediction, finding)
        _audit(request, "download", study=prediction.study,
                  detail=f"heatmap {finding}")
        return _private_file(content, "image/png", f"study-{study_id}-{finding}.png")


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([])
def not_found(request, path=""):
    """Unknown paths under /api/v1/ answer in the error format too."""
    raise exceptions.NotFound(f"There is no API endpoint at {request.path}.")


DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
               "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
               "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'")


def local_only(view):
    """Swagger UI and ReDoc load nothing from outside (ReDoc's bundle would fetch its logo)."""

    @wraps(view)
    def documentation(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_POLICY
        return response

    return documentation


def _idempotency_key(request) -> str:
    key = request.headers.get("Idempotency-Key", "")
    if key and (len(key) > 128 or not key.isascii() or not key.isprintable()):
        raise exceptions.ValidationError(
            {"Idempotency-Key": ["Use at most 128 printable ASCII characters."]})
    return key


def _private_file(content: bytes, content_type: str, filename: str) -> HttpResponse:
    """Patient data: never cached, never sniffed, a file name that carries no patient data."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _audit(request, action: str, **event) -> None:
    audit_record(user=request.user, action=action, channel="api", **event)
