"""The image and the heatmaps of a study: patient data, for a token or a session only."""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer

from diagnoses import renderings
from diagnoses.api.base import ApiView, audit
from diagnoses.models import Prediction, Study
from inference.findings import FINDINGS

STORED_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "DICOM": "application/dicom"}


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
        audit(request, "download", study=study, detail="image")
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
        audit(request, "download", study=prediction.study, detail=f"heatmap {finding}")
        return _private_file(content, "image/png", f"study-{study_id}-{finding}.png")


def _private_file(content: bytes, content_type: str, filename: str) -> HttpResponse:
    """Patient data: never cached, never sniffed, a file name that carries no patient data."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response
