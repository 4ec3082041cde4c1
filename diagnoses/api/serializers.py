"""What the API reads (input serializers) and answers (output serializers)."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from diagnoses import selectors
from diagnoses.callbacks import callback_url_check
from diagnoses.intended_use import (
    DECLARED_VIEWS,
    MAX_DECLARED_AGE_YEARS,
    study_intended_use_note,
    study_outside_intended_use,
)
from diagnoses.models import NOTE_MAX_CHARS, Finding, ModelVersion, Prediction, Review, Study
from diagnoses.selectors import SORTS, StudyFilters
from inference.findings import FINDINGS

VERDICT_CHOICES = ["agree", "disagree"]


def absolute(serializer: serializers.Serializer, path: str) -> str:
    request = serializer.context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


# Input


class StudySubmitSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The chest X-ray: PNG, JPEG or DICOM.")
    patient_id = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                       default="", help_text="Taken from DICOM when empty.")
    confirm_patient_mismatch = serializers.BooleanField(
        required=False, default=False,
        help_text="Store patient_id even where it differs from the DICOM header's PatientID "
        "(refused otherwise); the header's is kept as header_patient_id.")
    accession_number = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                             default="", help_text="Taken from DICOM when empty.")
    notes = serializers.CharField(required=False, allow_blank=True, default="",
                                  max_length=NOTE_MAX_CHARS)
    tencrop = serializers.BooleanField(required=False, default=False,
                                       help_text="Average of 10 crops (slower).")
    callback_url = serializers.URLField(
        max_length=500, required=False, allow_blank=True, default="",
        help_text="Receives a signed JSON POST when the study finishes.",
    )
    view_position = serializers.ChoiceField(
        choices=[value for value, _ in DECLARED_VIEWS], required=False, allow_blank=True,
        default="", help_text="PNG/JPEG only (a DICOM header's own is used): the view, as "
        "declared; not checked from a header.")
    patient_age_years = serializers.IntegerField(
        min_value=0, max_value=MAX_DECLARED_AGE_YEARS, required=False, allow_null=True,
        default=None, help_text="PNG/JPEG only (a DICOM header's own is used): the patient's "
        "age in years, as declared; not checked from a header.")

    def validate_callback_url(self, value: str) -> str:
        if value:
            callback_url_check(value)
        return value


class StudyFilterSerializer(serializers.Serializer):
    """The web history's filters, as query parameters."""

    search = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                   help_text="Patient identifier or accession starts with.")
    patient_id = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                       help_text="Exactly this patient identifier.")
    status = serializers.ChoiceField(choices=Study.Status.choices, required=False)
    date_from = serializers.DateField(required=False, help_text="Uploaded on or after.")
    date_to = serializers.DateField(required=False, help_text="Uploaded on or before.")
    flagged_finding = serializers.ChoiceField(choices=FINDINGS, required=False)
    reviewed = serializers.BooleanField(required=False, allow_null=True, default=None,
                                        help_text="Signed off by a reviewer (true) or not.")
    model_version = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    ordering = serializers.ChoiceField(choices=list(SORTS), required=False, default="newest")

    def study_filters(self) -> StudyFilters:
        data = self.validated_data
        return StudyFilters(
            search=data.get("search", ""),
            patient_id=data.get("patient_id", ""),
            status=data.get("status", ""),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            flagged_finding=data.get("flagged_finding", ""),
            reviewed=data.get("reviewed"),
            model_version_id=data.get("model_version"),
            sort=data["ordering"],
        )


class ReviewInputSerializer(serializers.Serializer):
    verdicts = serializers.DictField(
        child=serializers.ChoiceField(choices=VERDICT_CHOICES), required=False, default=dict,
        help_text="Finding name -> agree or disagree; findings left out have no verdict.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="",
                                 max_length=NOTE_MAX_CHARS)
    sign_off = serializers.BooleanField(required=False, default=False,
                                        help_text="Sign off: the review becomes final.")


# Output


class ModelVersionBriefSerializer(serializers.ModelSerializer):
    warning = serializers.CharField(read_only=True,
                                    help_text="Not empty: these are not medical predictions.")

    class Meta:
        model = ModelVersion
        fields = ["id", "name", "short_identity", "weights_verified", "warning"]


class ModelVersionSerializer(ModelVersionBriefSerializer):
    thresholds = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = ["id", "name", "identity", "short_identity", "checkpoint_sha256", "onnx_sha256",
                  "weights_verified", "is_active", "state", "description", "first_seen_at",
                  "warning", "thresholds"]

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "number"},
                          "nullable": True})
    def get_thresholds(self, model: ModelVersion) -> dict | None:
        current = model.current_threshold_set()  # threshold_sets prefetched by the list
        return current.thresholds if current else None


class FindingSerializer(serializers.ModelSerializer):
    heatmap_url = serializers.SerializerMethodField()

    class Meta:
        model = Finding
        fields = ["name", "probability", "threshold", "flagged", "heatmap_url"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_heatmap_url(self, finding: Finding) -> str:
        prediction = finding.prediction
        return absolute(self, reverse("api-study-heatmap",
                                      args=[prediction.study_id, prediction.pk, finding.name]))


class ReviewSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.get_username", read_only=True)
    verdicts = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = ["id", "reviewer", "note", "signed_off_at", "created_at", "updated_at",
                  "verdicts"]

    @extend_schema_field({"type": "object", "additionalProperties": {
        "type": "string", "enum": VERDICT_CHOICES}})
    def get_verdicts(self, review: Review) -> dict[str, str]:
        return {v.finding.name: v.verdict for v in review.verdicts.all()}


class PredictionSerializer(serializers.ModelSerializer):
    model_version = ModelVersionBriefSerializer(read_only=True)
    findings = FindingSerializer(many=True, read_only=True)
    flagged = serializers.SerializerMethodField()
    reviews = ReviewSerializer(many=True, read_only=True)
    review_url = serializers.SerializerMethodField()

    class Meta:
        model = Prediction
        fields = ["id", "created_at", "model_version", "threshold_set", "preprocessing",
                  "preprocessing_ms", "inference_ms", "findings", "flagged", "reviews",
                  "review_url"]

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=FINDINGS)))
    def get_flagged(self, prediction: Prediction) -> list[str]:
        return [f.name for f in prediction.findings.all() if f.flagged]

    @extend_schema_field(OpenApiTypes.URI)
    def get_review_url(self, prediction: Prediction) -> str:
        return absolute(self, reverse("api-prediction-review",
                                      args=[prediction.study_id, prediction.pk]))


class StudySerializer(serializers.ModelSerializer):
    """A study in the list: where it is, how far it got and what its newest prediction flags."""

    url = serializers.SerializerMethodField()
    flagged = serializers.SerializerMethodField()
    model_version = serializers.SerializerMethodField()
    outside_intended_use = serializers.SerializerMethodField(
        help_text='"outside intended use: <reasons>"; empty when the study is within it.')

    class Meta:
        model = Study
        fields = ["id", "url", "status", "patient_id", "header_patient_id", "accession_number",
                  "study_date", "original_filename", "tencrop", "created_at", "finished_at",
                  "flagged", "model_version", "outside_intended_use"]

    def get_outside_intended_use(self, study: Study) -> str:
        return study_outside_intended_use(study)

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, study: Study) -> str:
        return absolute(self, reverse("api-study-detail", args=[study.pk]))

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=FINDINGS)))
    def get_flagged(self, study: Study) -> list[str]:
        prediction = selectors.study_latest_prediction(study=study)
        return [f.name for f in prediction.findings.all() if f.flagged] if prediction else []

    @extend_schema_field(ModelVersionBriefSerializer(allow_null=True))
    def get_model_version(self, study: Study) -> dict | None:
        prediction = selectors.study_latest_prediction(study=study)
        if prediction is None:
            return None
        return ModelVersionBriefSerializer(prediction.model_version, context=self.context).data


class StudyDetailSerializer(StudySerializer):
    """One study with all its predictions (newest first), their findings, heatmaps and reviews."""

    image_warnings = serializers.ListField(child=serializers.CharField(), read_only=True)
    image_url = serializers.SerializerMethodField()
    rerun_url = serializers.SerializerMethodField()
    predictions = serializers.SerializerMethodField()
    intended_use_reasons = serializers.ListField(child=serializers.CharField(), read_only=True)
    intended_use_note = serializers.SerializerMethodField(
        help_text="For a PNG or JPEG: its view and age were not checked from a DICOM header.")

    class Meta:
        model = Study
        fields = StudySerializer.Meta.fields + [
            "failure_reason", "notes", "modality", "view_position", "image_format",
            "image_warnings", "callback_url", "started_at", "updated_at", "image_url",
            "rerun_url", "predictions", "body_part_examined", "patient_age_years",
            "intended_use_checked_from", "intended_use_reasons", "intended_use_note",
        ]

    def get_intended_use_note(self, study: Study) -> str:
        return study_intended_use_note(study)

    @extend_schema_field(OpenApiTypes.URI)
    def get_image_url(self, study: Study) -> str:
        return absolute(self, reverse("api-study-image", args=[study.pk]))

    @extend_schema_field(OpenApiTypes.URI)
    def get_rerun_url(self, study: Study) -> str:
        return absolute(self, reverse("api-study-rerun", args=[study.pk]))

    @extend_schema_field(PredictionSerializer(many=True))
    def get_predictions(self, study: Study) -> list[dict]:
        predictions = selectors.study_predictions(study=study)
        return PredictionSerializer(predictions, many=True, context=self.context).data
