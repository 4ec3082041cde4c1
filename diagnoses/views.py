"""Web pages for clinicians: upload, result (live status), history, and the stored image."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from diagnoses import renderings, selectors, services
from diagnoses.forms import HistoryFilterForm, StudyUploadForm
from diagnoses.models import Prediction, Study
from diagnoses.presenters import study_summary
from inference.findings import FINDINGS


@login_required
@permission_required("diagnoses.add_study", raise_exception=True)
@require_http_methods(["GET", "POST"])
def study_upload(request):
    form = StudyUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            study = services.study_create(
                uploaded_by=request.user,
                image_file=form.cleaned_data["image"],
                patient_id=form.cleaned_data["patient_id"],
                accession_number=form.cleaned_data["accession_number"],
                notes=form.cleaned_data["notes"],
                tencrop=form.cleaned_data["tencrop"],
            )
        except ValidationError as error:
            form.add_error("image", error)
        else:
            return redirect("study-detail", study_id=study.pk)
    status = 400 if form.errors else 200
    return render(request, "diagnoses/upload.html", {"form": form}, status=status)


@login_required
@permission_required("diagnoses.view_study", raise_exception=True)
@require_GET
def study_detail(request, study_id):
    study = selectors.study_get(study_id=study_id)
    return render(request, "diagnoses/detail.html", {"study": study, "summary": study_summary(study)})


@login_required
@permission_required("diagnoses.view_study", raise_exception=True)
@require_GET
@never_cache
def study_status(request, study_id):
    study = selectors.study_get(study_id=study_id)
    return JsonResponse(study_summary(study))


@login_required
@permission_required("diagnoses.view_study", raise_exception=True)
@require_GET
def study_history(request):
    filters = HistoryFilterForm(request.GET or None)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    studies = selectors.study_list(
        status=criteria.get("status") or "",
        finding=criteria.get("finding") or "",
        min_probability=criteria.get("min_probability"),
    )
    page = Paginator(studies, 25).get_page(request.GET.get("page"))
    rows = [(study, study_summary(study)) for study in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "diagnoses/history.html",
        {"filters": filters, "page": page, "rows": rows, "query": query.urlencode()},
    )


@login_required
@permission_required("diagnoses.view_study", raise_exception=True)
@require_GET
def study_image(request, study_id):
    study = get_object_or_404(Study, pk=study_id)
    content, content_type = renderings.study_display_image(study)
    return _private_image(content, content_type, f"study-{study.pk}")


@login_required
@permission_required("diagnoses.view_study", raise_exception=True)
@require_GET
def study_heatmap(request, study_id, prediction_id, finding):
    prediction = get_object_or_404(Prediction, pk=prediction_id, study_id=study_id)
    if finding not in FINDINGS:
        raise Http404("No such finding")
    content = renderings.heatmap_overlay_png(prediction, finding)
    return _private_image(content, "image/png", f"study-{study_id}-heatmap-{finding}")


@login_required
@permission_required("diagnoses.rerun_study", raise_exception=True)
@require_POST
def study_rerun(request, study_id):
    study = get_object_or_404(Study, pk=study_id)
    try:
        services.study_rerun(study=study)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("study-detail", study_id=study.pk)


def _private_image(content: bytes, content_type: str, name: str) -> HttpResponse:
    """Patient images: never cached by browsers or proxies, never sniffed, generic file names."""
    extension = content_type.rsplit("/", 1)[1].replace("jpeg", "jpg")
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{name}.{extension}"'
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@never_cache
def health(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
