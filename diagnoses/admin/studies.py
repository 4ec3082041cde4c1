"""Studies in the review station: the list (thumbnail, top finding, flagged count, status,
reviewed), the study page (image, heatmap preview, read-only predictions) and its audit trail."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from diagnoses import selectors
from diagnoses.admin import dicom_deliveries, readings, study_actions, thumbnails
from diagnoses.admin.read_only import ReadOnly
from diagnoses.admin.warnings import StandinWarning
from diagnoses.audit import audit_record
from diagnoses.models import Prediction, Study

HEATMAP_PREVIEWS = 4  # the top finding and the next flagged ones


class PredictionInline(ReadOnly, admin.TabularInline):
    model = Prediction
    extra = 0
    fields = ("created_at", "model_version", "preprocessing", "threshold_set", "top_findings",
              "flagged_findings", "signed_off_by")
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(
            "model_version", "threshold_set").prefetch_related("findings", "reviews__reviewer")

    @admin.display(description="top findings")
    def top_findings(self, prediction):
        findings = sorted(prediction.findings.all(), key=lambda f: -f.probability)[:3]
        return ", ".join(f"{f.name} {f.probability:.2f}" for f in findings)

    @admin.display(description="flagged")
    def flagged_findings(self, prediction):
        return ", ".join(f.name for f in prediction.findings.all() if f.flagged) or "none"

    @admin.display(description="signed off by")
    def signed_off_by(self, prediction):
        return ", ".join(str(r.reviewer) for r in prediction.reviews.all() if r.signed_off) or "—"


@admin.register(Study)
class StudyAdmin(StandinWarning, admin.ModelAdmin):
    list_display = ("thumbnail", "patient_id", "accession_number", "created_at", "status",
                    "top_finding", "top_probability", "flagged_count", "reading_model_version",
                    "reviewed")
    list_display_links = ("thumbnail", "patient_id")
    list_filter = ("status", readings.FlaggedFindingFilter, readings.ReadingModelVersionFilter,
                   readings.ReviewedFilter, "created_at")
    date_hierarchy = "created_at"
    search_fields = ("^patient_id", "^accession_number", "=image_sha256")
    search_help_text = "Patient identifier or accession (beginning), or the image's sha256."
    list_per_page = 50
    actions = [*study_actions.ACTIONS, dicom_deliveries.resend_dicom_results]
    inlines = (PredictionInline, dicom_deliveries.DicomDeliveryInline)
    fieldsets = (
        ("Patient", {"fields": ("patient_id", "header_patient_id", "accession_number",
                                "study_date", "study_instance_uid", "modality",
                                "view_position")}),
        ("Image", {"fields": ("preview", "image_format", "original_filename", "image_sha256",
                              "image_warnings")}),
        ("Processing", {"fields": ("status", "failure_reason", "tencrop", "uploaded_by",
                                   "created_at", "started_at", "finished_at", "callback_url")}),
        ("Notes", {"fields": ("notes",)}),
    )
    editable_fields = ("patient_id", "accession_number", "study_date", "notes")

    def get_queryset(self, request):
        return readings.studies_with_reading(super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        fields = [name for fieldset in self.fieldsets for name in fieldset[1]["fields"]]
        return [name for name in fields if name not in self.editable_fields]

    def unverified(self, study):
        return study.reading_model_version is not None and not study.reading_weights_verified

    def has_add_permission(self, request):
        return False  # studies are uploaded on the web pages or through the API

    def has_rerun_permission(self, request):
        return request.user.has_perm("diagnoses.rerun_study")

    def has_review_permission(self, request):
        return request.user.has_perm("diagnoses.review_study")

    def has_export_permission(self, request):
        return request.user.has_perm("diagnoses.export_study")

    def get_urls(self):
        thumbnail = path("<uuid:object_id>/thumbnail.png",
                         self.admin_site.admin_view(self.thumbnail_view),
                         name="diagnoses_study_thumbnail")
        return [thumbnail, *super().get_urls()]

    def thumbnail_view(self, request, object_id):
        study = get_object_or_404(Study, pk=object_id)
        if not self.has_view_permission(request, study):
            raise PermissionDenied
        try:
            content = thumbnails.study_thumbnail_png(study)
        except OSError as error:  # the stored file is missing or unreadable
            raise Http404("The study's image cannot be shown.") from error
        response = HttpResponse(content, content_type="image/png")
        response["Content-Disposition"] = f'inline; filename="study-{study.pk}-thumbnail.png"'
        response["Cache-Control"] = "no-store, private"
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            audit_record(user=request.user, action="view", study=object_id, channel="admin")
        return response

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if form.changed_data:
            audit_record(user=request.user, action="change", study=obj, channel="admin",
                         detail="changed " + ", ".join(form.changed_data))

    def get_deleted_objects(self, objs, request):
        """A study's predictions, findings and reviews go with it: delete_study is enough."""
        deleted, counts, _, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def delete_model(self, request, obj):
        _audit_deletion(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for study in queryset:
            _audit_deletion(request, study)
        super().delete_queryset(request, queryset)

    @admin.display(description="")
    def thumbnail(self, study):
        url = reverse("admin:diagnoses_study_thumbnail", args=[study.pk])
        return format_html('<img src="{}" alt="study thumbnail" width="{}" height="{}" '
                           'loading="lazy" style="object-fit: contain; background: #000">',
                           url, thumbnails.THUMBNAIL_SIDE // 2, thumbnails.THUMBNAIL_SIDE // 2)

    @admin.display(description="top finding", ordering="top_finding")
    def top_finding(self, study):
        return study.top_finding or "—"

    @admin.display(description="probability", ordering="top_probability")
    def top_probability(self, study):
        return "—" if study.top_probability is None else f"{study.top_probability:.3f}"

    @admin.display(description="flagged", ordering="flagged_count")
    def flagged_count(self, study):
        return study.flagged_count

    @admin.display(description="model version")
    def reading_model_version(self, study):
        return study.reading_model_version or "—"

    @admin.display(description="reviewed", boolean=True, ordering="reviewed")
    def reviewed(self, study):
        return study.reviewed

    @admin.display(description="image and heatmaps")
    def preview(self, study):
        """The image and the latest prediction's heatmaps of its top finding and the next flagged
        ones, from the permission-checked image views of the web app."""
        image = format_html('<a href="{0}"><img src="{0}" alt="study image" '
                            'style="max-width: 320px; max-height: 320px"></a>',
                            reverse("study-image", args=[study.pk]))
        prediction = selectors.study_latest_prediction(study=study)
        if prediction is None:
            return image
        warning = prediction.model_version.warning
        findings = sorted(prediction.findings.all(), key=lambda f: -f.probability)
        shown = [*findings[:1], *[f for f in findings[1:] if f.flagged]][:HEATMAP_PREVIEWS]
        heatmaps = format_html_join(
            "", '<figure style="display: inline-block; margin: 0 8px 0 0"><img src="{}" '
            'alt="heatmap of {}" style="max-width: 240px; max-height: 240px">'
            "<figcaption>{} {}{}</figcaption></figure>",
            ((reverse("study-heatmap", args=[study.pk, prediction.pk, f.name]), f.name, f.name,
              f"{f.probability:.3f}", " (flagged)" if f.flagged else "") for f in shown),
        )
        return format_html('<div>{}</div><div style="margin-top: 8px">{}</div>{}', image, heatmaps,
                           format_html('<p class="errornote">{}</p>', warning) if warning else "")


def _audit_deletion(request, study: Study) -> None:
    audit_record(user=request.user, action="change", study=study, channel="admin",
                 detail=f"deleted study {study.pk} (patient {study.patient_id or '—'})")
