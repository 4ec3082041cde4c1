"""The study list's actions: re-run with the active model version, mark reviewed, export the
selection as CSV. Each needs its permission (StudyAdmin.has_<name>_permission), calls a service
and audits every study it touched."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from diagnoses import exports, reviews, selectors, services
from diagnoses.audit import audit_record
from diagnoses.model_versions import active_model_version
from inference.findings import finding_label


@admin.action(description="Re-run with the active model version", permissions=["rerun"])
def rerun_with_active_model_version(modeladmin, request, queryset):
    active = active_model_version()
    version = str(active) if active else "none active: the server at GRAPHPIPE_URL"
    queued = busy = 0
    for study in queryset:
        try:
            services.study_rerun(study=study)
        except ValidationError:
            busy += 1
            continue
        queued += 1
        audit_record(user=request.user, action="rerun", study=study, channel="admin",
                     detail=f"model version: {version}")
    modeladmin.message_user(request, f"{queued} studies queued for model version {version}.",
                            messages.SUCCESS if queued else messages.WARNING)
    if busy:
        modeladmin.message_user(request, f"{busy} studies are queued or in progress already and "
                                "were left alone.", messages.WARNING)


@admin.action(description="Mark reviewed (sign off your draft verdicts; asks to confirm)",
              permissions=["review"])
def mark_reviewed(modeladmin, request, queryset):
    if request.POST.get("post") != "yes":
        return _mark_reviewed_confirmation(modeladmin, request, queryset)
    marked = already = unread = unverdicted = 0
    for study in queryset:
        started = timezone.now()
        try:
            review = reviews.study_mark_reviewed(study=study, reviewer=request.user)
        except ValidationError as refused:
            if refused.code == "no_verdicts":
                unverdicted += 1
            else:
                unread += 1
            continue
        if review.signed_off_at < started:
            already += 1
            continue
        marked += 1
        audit_record(user=request.user, action="review", study=study, channel="admin",
                     detail=f"signed off prediction {review.prediction_id}")
    modeladmin.message_user(request, f"{marked} studies marked reviewed by you.",
                            messages.SUCCESS if marked else messages.WARNING)
    if already:
        modeladmin.message_user(request, f"{already} you had signed off already.", messages.INFO)
    if unread:
        modeladmin.message_user(request, f"{unread} have no prediction yet and were not marked.",
                                messages.WARNING)
    if unverdicted:
        modeladmin.message_user(request, f"{unverdicted} have no verdicts of yours and were not "
                                "marked: open each study and give verdicts first.",
                                messages.WARNING)


def _mark_reviewed_confirmation(modeladmin, request, queryset):
    """The intermediate page: what a confirmation would sign off, and what it would not."""
    ready, skipped = [], []
    for study in queryset:
        prediction = selectors.study_latest_prediction(study=study)
        draft = selectors.prediction_review_of(prediction=prediction, reviewer=request.user) \
            if prediction else None
        verdicts = {v.finding.name: v.verdict for v in draft.verdicts.all()} if draft else {}
        if prediction is None:
            skipped.append((study, "no prediction yet"))
        elif draft is not None and draft.signed_off:
            skipped.append((study, "you signed it off already"))
        elif not verdicts:
            skipped.append((study, "no verdicts of yours: open the study and give verdicts"))
        else:
            ready.append((study, ", ".join(f"{finding_label(name)} {verdict}"
                                           for name, verdict in verdicts.items())))
    return TemplateResponse(request, "admin/diagnoses/study/mark_reviewed.html", {
        **modeladmin.admin_site.each_context(request), "title": "Mark reviewed",
        "queryset": queryset,
        "ready": ready, "skipped": skipped, "total": len(ready) + len(skipped),
    })


@admin.action(description="Export the selection as CSV", permissions=["export"])
def export_csv(modeladmin, request, queryset):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="chexweb-studies-{timezone.now():%Y%m%d-%H%M%S}.csv"')
    response["Cache-Control"] = "no-store, private"
    exports.studies_csv(queryset, response_or_file=response)
    with transaction.atomic():
        for study_id in queryset.values_list("pk", flat=True):
            audit_record(user=request.user, action="export", study=study_id, channel="admin",
                         detail="CSV export")
    return response


ACTIONS = [rerun_with_active_model_version, mark_reviewed, export_csv]
