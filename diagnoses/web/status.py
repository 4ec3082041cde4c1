"""Live status for the result page and the upload table: answered at once, or, when the page
says which status it shows (`after`), when that status changes (diagnoses/status_changes.py).

An answer to a wait is the current status whether it changed or the wait timed out: the page
shows it and asks again. `Retry-After` says no wait was possible: the page asks again after
that many seconds."""

import uuid

from django.conf import settings
from django.http import Http404, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from diagnoses import selectors
from diagnoses.models import Study
from diagnoses.presenters import study_summary
from diagnoses.status_changes import PAGE_TOKEN, WaitUnavailable, study_statuses_wait
from diagnoses.web.access import requires

MAX_STUDIES = 50  # the upload table's rows


@requires("view_study")
@require_GET
@never_cache
def study_status(request, study_id):
    """One study's summary; with `?after=<status>`, once its status is another."""
    selectors.study_get(study_id=study_id)  # 404 before any wait
    known = {study_id: request.GET["after"]} if "after" in request.GET else {}
    waited = _wait(known, request.GET.get("page", ""))
    return _answer(study_summary(selectors.study_get(study_id=study_id)), waited)


@requires("view_study")
@require_GET
@never_cache
def study_statuses(request):
    """Several studies' summaries (`?known=<id>:<status>`, repeated) once one status changed."""
    try:
        known = dict(_known_status(pair) for pair in request.GET.getlist("known"))
    except ValueError:
        return JsonResponse({"error": {"message": "Name each study as known=<id>:<status>."}},
                            status=400)
    if not 1 <= len(known) <= MAX_STUDIES:
        return JsonResponse({"error": {"message": f"Name 1 to {MAX_STUDIES} studies."}},
                            status=400)
    if Study.objects.filter(pk__in=known).count() != len(known):
        raise Http404("No such study")
    waited = _wait(known, request.GET.get("page", ""))
    return _answer({"studies": [study_summary(selectors.study_get(study_id=study_id))
                                for study_id in known]}, waited)


def _known_status(pair: str) -> tuple[uuid.UUID, str]:
    study_id, _, status = pair.partition(":")
    return uuid.UUID(study_id), status


def _wait(known: dict[uuid.UUID, str], page: str) -> bool:
    """Whether the answer may be taken as the news: False when no wait was possible."""
    if not known:
        return True
    if page and not PAGE_TOKEN.fullmatch(page):
        page = ""
    try:
        study_statuses_wait(known=known, timeout=settings.CHEXWEB_STATUS_WAIT_S, page=page)
    except WaitUnavailable:
        return False
    return True


def _answer(content: dict, waited: bool) -> JsonResponse:
    response = JsonResponse(content)
    if not waited:
        response["Retry-After"] = "1"
    return response
