"""A study's results for other hospital systems: as DICOM files (a DICOM study's), its deliveries
to the PACS and re-sending them, and as a FHIR DiagnosticReport."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from diagnoses.api.base import ApiView, audit
from diagnoses.api.files import FileView, FirstRenderer, _private_file
from diagnoses.dicom.delivery import dicom_delivery_resend
from diagnoses.dicom.results import RESULT_FILE_NAMES, NoDicomSource, study_result_file
from diagnoses.fhir_report import NoPrediction, study_fhir_report
from diagnoses.models import DicomDelivery, Study


class DicomDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = DicomDelivery
        fields = ["id", "protocol", "destination", "status", "attempts", "last_error",
                  "delivered_at", "created_at", "updated_at"]


class StudyDicomResultView(FileView):
    required_permissions = {"GET": "view_study"}

    @extend_schema(
        parameters=[OpenApiParameter("kind", OpenApiTypes.STR, OpenApiParameter.PATH,
                                     enum=list(RESULT_FILE_NAMES))],
        responses={(200, "application/dicom"): OpenApiTypes.BINARY},
        summary="The latest result as DICOM: sr (TID 1500 Comprehensive SR) or sc (key image)")
    def get(self, request, study_id, kind):
        study = get_object_or_404(Study, pk=study_id)
        if kind not in RESULT_FILE_NAMES:
            raise Http404(f"No result {kind}; there are {', '.join(RESULT_FILE_NAMES)}.")
        try:
            content = study_result_file(study=study, kind=kind)
        except NoDicomSource as missing:
            raise Http404(f"No DICOM result: {missing}.") from None
        audit(request, "download", study=study, detail=f"DICOM {kind}")
        return _private_file(content, "application/dicom",
                             f"study-{study.pk}-{RESULT_FILE_NAMES[kind]}.dcm")


class StudyDicomDeliveryListView(ApiView):
    required_permissions = {"GET": "view_study"}
    serializer_class = DicomDeliverySerializer

    @extend_schema(responses=DicomDeliverySerializer(many=True),
                   summary="Where the study's DICOM results were sent, and how that went")
    def get(self, request, study_id):
        study = get_object_or_404(Study, pk=study_id)
        audit(request, "view", study=study, detail="DICOM deliveries")
        return Response(self.get_serializer(study.dicom_deliveries.all(), many=True).data)


class StudyDicomResendView(ApiView):
    required_permissions = {"POST": "rerun_study"}
    serializer_class = DicomDeliverySerializer

    @extend_schema(request=None, responses={202: DicomDeliverySerializer},
                   summary="Send the study's DICOM results to this destination again")
    def post(self, request, study_id, delivery_id):
        delivery = get_object_or_404(DicomDelivery, pk=delivery_id, study_id=study_id)
        delivery = dicom_delivery_resend(delivery=delivery, user=request.user, channel="api")
        return Response(self.get_serializer(delivery).data, status=status.HTTP_202_ACCEPTED)


FHIR_JSON = "application/fhir+json"


class StudyFhirView(ApiView):
    required_permissions = {"GET": "view_study"}
    renderer_classes = [JSONRenderer]  # errors in the API's JSON format, the report as FHIR JSON
    content_negotiation_class = FirstRenderer

    @extend_schema(responses={(200, FHIR_JSON): OpenApiTypes.OBJECT},
                   summary="The latest prediction as a FHIR R4 DiagnosticReport with one "
                           "Observation per finding")
    def get(self, request, study_id):
        study = get_object_or_404(Study, pk=study_id)
        try:
            report = study_fhir_report(study=study)
        except NoPrediction as missing:
            raise Http404(f"No report: {missing}.") from None
        audit(request, "view", study=study, detail="FHIR report")
        return Response(report, content_type=FHIR_JSON)
