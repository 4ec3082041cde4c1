from django.contrib import admin

from diagnoses.models import Finding, ModelVersion, Prediction, Study


class PredictionInline(admin.TabularInline):
    model = Prediction
    extra = 0
    can_delete = False
    fields = ("model_version", "preprocessing", "inference_ms", "created_at")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "patient_id", "accession_number", "status", "uploaded_by")
    list_filter = ("status", "created_at")
    search_fields = ("patient_id", "accession_number", "image_sha256")
    readonly_fields = ("image", "image_sha256", "image_format", "original_filename", "uploaded_by",
                       "status", "failure_reason", "created_at", "updated_at", "started_at",
                       "finished_at")
    inlines = [PredictionInline]


class FindingInline(admin.TabularInline):
    model = Finding
    extra = 0
    can_delete = False
    readonly_fields = ("name", "probability")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ("study", "model_version", "preprocessing", "inference_ms", "created_at")
    list_filter = ("model_version", "preprocessing")
    readonly_fields = ("study", "model_version", "preprocessing", "preprocessing_ms",
                       "inference_ms", "created_at")
    exclude = ("heatmaps",)
    inlines = [FindingInline]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("name", "short_identity", "weights_verified", "first_seen_at")
    readonly_fields = ("identity", "name", "checkpoint_sha256", "onnx_sha256", "weights_verified",
                       "description", "first_seen_at")
