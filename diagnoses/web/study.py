"""One study: its result page (its live status: web/status.py), image, heatmaps, re-run and
downloads."""

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from diagnoses import renderings, reports, selectors, services
from diagnoses.admin.thumbnails import study_thumbnail_png
from diagnoses.audit import audit_record
from diagnoses.forms import ReviewForm
from diagnoses.model_versions import active_model_version
from diagnoses.models import Prediction, Study
from diagnoses.presenters import study_summary
from diagnoses.web.access import private_download, requires
from diagnoses.web.comparison import comparison_url
from inference.findings import FINDINGS


@requires("view_study")
@require_GET
def study_detail(request, study_id):
    study = selectors.study_get(study_id=study_id)
    summary = study_summary(study)
    prediction = selectors.study_latest_prediction(study=study)
    audit_record(user=request.user, action="view", study=study)
    review_form = own_signed_off = next_study = None
    if prediction is not None and request.user.has_perm("diagnoses.review_study"):
        own = selectors.prediction_review_of(prediction=prediction, reviewer=request.user)
        if own is not None and own.signed_off:
            own_signed_off = own  # final: shown, no longer offered as a form
        else:
            review_form = ReviewForm(prediction=prediction, reviewer=request.user)
        next_study = selectors.study_next_to_review(after=study)
    return render(request, "diagnoses/detail.html",
                  {"study": study, "summary": summary, "review_form": review_form,
                   "comparison_url": comparison_url(study), "own_signed_off": own_signed_off,
                   "next_study": next_study})


@requires("view_study")
@require_GET
def study_image(request, study_id):
    study = get_object_or_404(Study, pk=study_id)
    content, content_type = renderings.study_display_image(study)
    extension = "png" if content_type == "image/png" else "jpg"
    return private_download(content, content_type, f"study-{study.pk}.{extension}")


@requires("view_study")
@require_GET
def study_viewer_source(request, study_id):
    study = get_object_or_404(Study, pk=study_id)
    content = renderings.study_viewer_source(study)
    return private_download(content, "application/dicom", f"study-{study.pk}.dcm")


@requires("view_study")
@require_GET
def study_viewer_facts(request, study_id):
    """What the viewer needs besides the pixels: the image's source and the model's crop."""
    study = get_object_or_404(Study, pk=study_id)
    response = JsonResponse({
        "source_url": reverse("study-viewer-source", args=[study.pk]),
        "image_format": study.image_format,
        "model_crop": renderings.study_model_crop(study),
    })
    response["Cache-Control"] = "no-store, private"
    return response


@requires("view_study")
@require_GET
def study_thumbnail(request, study_id):
    study = get_object_or_404(Study, pk=study_id)
    return private_download(study_thumbnail_png(study), "image/png", f"study-{study.pk}-thumb.png")


@requires("view_study")
@require_GET
def study_heatmap(request, study_id, prediction_id, finding):
    prediction = get_object_or_404(Prediction, pk=prediction_id, study_id=study_id)
    if finding not in FINDINGS:
        raise Http404("No such finding")
    content = renderings.heatmap_overlay_png(prediction, finding)
    return private_download(content, "image/png", f"study-{study_id}-{finding}.png")


@requires("view_study")
@require_GET
def study_heatmap_layer(request, study_id, prediction_id, finding):
    prediction = get_object_or_404(Prediction, pk=prediction_id, study_id=study_id)
    if finding not in FINDINGS:
        raise Http404("No such finding")
    content = renderings.heatmap_layer_png(prediction, finding)
    return private_download(content, "image/png", f"study-{study_id}-{finding}-layer.png")


@requires("rerun_study")
@require_POST
def study_rerun(request, study_id):
    study = get_object_or_404(Study, pk=study_id)
    before = selectors.study_latest_prediction(study=study)
    try:
        services.study_rerun(study=study)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        audit_record(user=request.user, action="rerun", study=study)
        messages.info(request, _rerun_message(study, before))
    return redirect("study-detail", study_id=study.pk)


def _rerun_message(study: Study, before: Prediction | None) -> str:
    """What a re-run will show: a model version that read the study before in the same mode
    keeps its earlier prediction (services.prediction_store), so nothing new would appear."""
    active = active_model_version()
    mode = "tencrop" if study.tencrop else "center"
    if before is not None and before.preprocessing == mode and (
            active is None or active.pk == before.model_version_id):
        reader = active or before.model_version
        return (f"Re-run queued. {reader} read this study before in the same mode, so the result "
                "will be the same: the earlier prediction is kept and no new one appears. "
                "To compare models, activate another model version first.")
    return "Re-run queued: a new prediction appears here when the model has read it."


@requires("export_study")
@require_GET
def study_json(request, study_id):
    study = selectors.study_get(study_id=study_id)
    audit_record(user=request.user, action="download", study=study, detail="json")
    content = json.dumps(study_summary(study), indent=2).encode()
    return private_download(content, "application/json", f"study-{study.pk}.json", inline=False)


@requires("export_study")
@require_GET
def study_report(request, study_id):
    study = selectors.study_get(study_id=study_id)
    audit_record(user=request.user, action="download", study=study, detail="pdf")
    return private_download(reports.study_report_pdf(study), "application/pdf",
                            f"study-{study.pk}.pdf", inline=False)
