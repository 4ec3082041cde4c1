"""The worklist page, and the JSON it polls to update itself without a reload."""

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from diagnoses.intended_use import study_outside_intended_use
from diagnoses.templatetags.worklist import badge_label
from diagnoses.web.access import requires
from diagnoses.worklist import Worklist, WorklistEntry, count_label, worklist


@requires("view_study")
@require_GET
def study_worklist(request):
    current = worklist()
    return render(request, "diagnoses/worklist.html", {
        "worklist": current, "counts": _counts(current), "rows": _rows(current.entries),
        "max_wait": _duration(int(current.max_wait.total_seconds() // 60))})


@requires("view_study")
@require_GET
@never_cache
def study_worklist_json(request):
    current = worklist()
    return JsonResponse({"total": current.total, "urgent_unread": current.urgent_unread,
                         "overdue": current.overdue, "count_cap": current.count_cap,
                         "labels": _counts(current), "rows": _rows(current.entries)})


def _counts(current: Worklist) -> dict[str, str]:
    """The summary's counts as shown (they stop at the worklist's cap), and the navigation's
    urgent badge."""
    return {"total": count_label(current.total, cap=current.count_cap),
            "urgent_unread": count_label(current.urgent_unread, cap=current.count_cap),
            "overdue": count_label(current.overdue, cap=current.count_cap),
            "badge": badge_label(current.urgent_unread)}


def _rows(entries: list[WorklistEntry]) -> list[dict]:
    return [_row(entry) for entry in entries]


def _row(entry: WorklistEntry) -> dict:
    study = entry.study
    minutes = int(entry.waiting.total_seconds() // 60)
    return {
        "id": str(study.pk),
        "url": reverse("study-detail", args=[study.pk]),
        "patient_id": study.patient_id,
        "accession_number": study.accession_number,
        "urgency": "overdue" if entry.overdue else entry.urgency,
        "urgency_label": (f"waiting over the maximum ({entry.urgency})" if entry.overdue
                          else entry.urgency),
        "urgent_findings": [name.replace("_", " ") for name in entry.urgent_findings],
        "flagged": [name.replace("_", " ") for name in entry.flagged],
        "waiting_minutes": minutes,
        "waiting_label": _duration(minutes),
        "uploaded_at": study.created_at.isoformat(),
        "outside_intended_use": study_outside_intended_use(study),
    }


def _duration(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes // (24 * 60)} days"
