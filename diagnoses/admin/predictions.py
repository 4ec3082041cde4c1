"""Predictions and reviews in the review station: read-only. Predictions come from the model
server, reviews from the review pages, the API and the study list's "mark reviewed"."""

from django.contrib import admin

from diagnoses.admin import readings
from diagnoses.admin.read_only import ReadOnly
from diagnoses.admin.warnings import StandinWarning
from diagnoses.models import Finding, FindingVerdict, Prediction, Review

SEARCH_FIELDS = ("^{}patient_id", "^{}accession_number", "={}image_sha256")


class FindingInline(ReadOnly, admin.TabularInline):
    model = Finding
    fields = ("name", "probability", "threshold", "flagged")
    readonly_fields = fields
    ordering = ("-probability",)


@admin.register(Prediction)
class PredictionAdmin(StandinWarning, ReadOnly, admin.ModelAdmin):
    list_display = ("study", "patient_id", "model_version", "preprocessing", "top_finding",
                    "top_probability", "flagged_count", "threshold_set", "reviewed", "created_at")
    list_select_related = ("study", "model_version", "threshold_set")
    list_filter = ("model_version", "preprocessing", readings.PredictionFlaggedFindingFilter,
                   readings.ReviewedFilter, "created_at")
    date_hierarchy = "created_at"
    search_fields = tuple(field.format("study__") for field in SEARCH_FIELDS)
    search_help_text = "Patient identifier or accession (beginning), or the image's sha256."
    fields = ("study", "model_version", "warning", "threshold_set", "preprocessing",
              "preprocessing_ms", "inference_ms", "created_at")
    readonly_fields = fields
    inlines = (FindingInline,)

    def get_queryset(self, request):
        return readings.predictions_with_reading(super().get_queryset(request))

    def unverified(self, prediction):
        return not prediction.model_version.weights_verified

    @admin.display(description="warning")
    def warning(self, prediction):
        return prediction.model_version.warning or "—"

    @admin.display(description="patient", ordering="study__patient_id")
    def patient_id(self, prediction):
        return prediction.study.patient_id

    @admin.display(description="top finding", ordering="top_finding")
    def top_finding(self, prediction):
        return prediction.top_finding

    @admin.display(description="probability", ordering="top_probability")
    def top_probability(self, prediction):
        return f"{prediction.top_probability:.3f}"

    @admin.display(description="flagged", ordering="flagged_count")
    def flagged_count(self, prediction):
        return prediction.flagged_count

    @admin.display(description="reviewed", boolean=True, ordering="reviewed")
    def reviewed(self, prediction):
        return prediction.reviewed


class VerdictInline(ReadOnly, admin.TabularInline):
    model = FindingVerdict
    fields = ("finding", "verdict")
    readonly_fields = fields


class SignedOffFilter(admin.SimpleListFilter):
    title = "signed off"
    parameter_name = "signed_off"

    def lookups(self, request, model_admin):
        return [("yes", "Signed off"), ("no", "Draft")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(signed_off_at__isnull=self.value() == "no")
        return queryset


@admin.register(Review)
class ReviewAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("prediction", "patient_id", "reviewer", "signed_off_at", "created_at")
    list_select_related = ("prediction__study", "prediction__model_version", "reviewer")
    list_filter = (SignedOffFilter, "reviewer", "created_at")
    date_hierarchy = "created_at"
    search_fields = tuple(field.format("prediction__study__") for field in SEARCH_FIELDS)
    fields = ("prediction", "reviewer", "note", "signed_off_at", "created_at", "updated_at")
    readonly_fields = fields
    inlines = (VerdictInline,)

    @admin.display(description="patient", ordering="prediction__study__patient_id")
    def patient_id(self, review):
        return review.prediction.study.patient_id
