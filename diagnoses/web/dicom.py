"""A DICOM study's results as DICOM files (SR, key image) and re-sending them to the PACS."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_POST

from diagnoses.audit import audit_record
from diagnoses.dicom.delivery import dicom_delivery_resend
from diagnoses.dicom.results import RESULT_FILE_NAMES, NoDicomSource, study_result_file
from diagnoses.models import DicomDelivery, Study
from diagnoses.web.access import private_download, requires


@requires("export_study")
@require_GET
def study_dicom_result(request, study_id, kind):
    study = get_object_or_404(Study, pk=study_id)
    if kind not in RESULT_FILE_NAMES:
        raise Http404("No such result")
    try:
        content = study_result_file(study=study, kind=kind)
    except NoDicomSource as missing:
        raise Http404(str(missing)) from None
    audit_record(user=request.user, action="download", study=study, detail=f"DICOM {kind}")
    return private_download(content, "application/dicom",
                            f"study-{study.pk}-{RESULT_FILE_NAMES[kind]}.dcm", inline=False)


@requires("rerun_study")
@require_POST
def study_dicom_resend(request, study_id, delivery_id):
    delivery = get_object_or_404(DicomDelivery, pk=delivery_id, study_id=study_id)
    dicom_delivery_resend(delivery=delivery, user=request.user, channel="web")
    messages.success(request, f"The results are being sent to {delivery.destination} again.")
    return redirect("study-detail", study_id=study_id)
