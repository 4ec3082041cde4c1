"""The history of studies: search, filters, sorting, pages, CSV; and one patient's studies."""

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from diagnoses import exports, selectors
from diagnoses.audit import audit_record
from diagnoses.forms import HistoryFilterForm
from diagnoses.presenters import study_summary, trend_chart
from diagnoses.selectors import StudyFilters
from diagnoses.web.access import requires
from diagnoses.web.comparison import comparison_url
from diagnoses.web.pagination import CappedPaginator

PAGE_SIZE = 25


@requires("view_study")
@require_GET
def study_history(request):
    filters = HistoryFilterForm(request.GET or None)
    studies = selectors.study_list(filters=filters.study_filters())
    if filters.is_bound and not filters.is_valid():
        studies = studies.none()  # the errors say why; no unfiltered list in its place
    page = CappedPaginator(studies, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "diagnoses/history.html", {
        "filters": filters,
        "page": page,
        "rows": [(study, study_summary(study)) for study in page.object_list],
        "query": query.urlencode(),
    })


@requires("export_study")
@require_GET
def study_history_csv(request):
    filters = HistoryFilterForm(request.GET or None)
    studies = selectors.study_list(filters=filters.study_filters())
    audit_record(user=request.user, action="export", detail="history csv")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="chexweb-studies.csv"'
    response["Cache-Control"] = "no-store, private"
    exports.studies_csv(studies, response_or_file=response)
    return response


@requires("view_study")
@require_GET
def patient_detail(request):
    patient_id = request.GET.get("id", "").strip()
    if not patient_id:
        raise Http404("No patient identifier given")
    studies = list(selectors.study_list(filters=StudyFilters(patient_id=patient_id)))
    if not studies:
        raise Http404("No studies for this patient identifier")
    trends = selectors.patient_finding_trends(studies=studies)
    return render(request, "diagnoses/patient.html", {
        "patient_id": patient_id,
        "rows": [(study, study_summary(study)) for study in studies],
        "trends": [trend_chart(name, points) for name, points in trends.items()],
        "comparison_url": comparison_url(max(studies, key=selectors.study_taken_at)),
    })
