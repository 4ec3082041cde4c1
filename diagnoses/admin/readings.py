"""A study's reading as the review station lists it: its latest prediction's top finding and
probability, flagged count, model version and whether it is reviewed (a signed-off review of that
prediction). Annotated with subqueries, so a list page costs the same few queries at any length;
and the list filters over them."""

from django.contrib import admin
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Concat, NullIf, Substr

from diagnoses import selectors
from diagnoses.models import Finding, ModelVersion, Prediction, Review, Study
from inference.findings import FINDINGS


def studies_with_reading(studies: QuerySet[Study]) -> QuerySet[Study]:
    latest = selectors.latest_prediction_of(OuterRef("pk"))
    model_label = Concat(
        "model_version__name", Value(" ("),
        Substr(Coalesce(NullIf("model_version__onnx_sha256", Value("")),
                        "model_version__identity"), 1, 12),
        Value(")"),
    )
    return studies.annotate(
        latest_prediction_id=Subquery(latest.values("pk")[:1]),
        reading_model_version_id=Subquery(latest.values("model_version_id")[:1]),
        reading_model_version=Subquery(latest.annotate(label=model_label).values("label")[:1]),
        reading_weights_verified=Subquery(latest.values("model_version__weights_verified")[:1]),
    ).annotate(**_reading_of("latest_prediction_id"))


def predictions_with_reading(predictions: QuerySet[Prediction]) -> QuerySet[Prediction]:
    return predictions.annotate(**_reading_of("pk"))


def _reading_of(prediction: str) -> dict:
    findings = Finding.objects.filter(prediction_id=OuterRef(prediction))
    top = findings.order_by("-probability", "name")
    flagged = (findings.filter(flagged=True).order_by().values("prediction_id")
               .annotate(count=Count("pk")).values("count"))
    return {
        "top_finding": Subquery(top.values("name")[:1]),
        "top_probability": Subquery(top.values("probability")[:1]),
        "flagged_count": Coalesce(Subquery(flagged, output_field=IntegerField()), 0),
        "reviewed": Exists(Review.objects.filter(prediction_id=OuterRef(prediction),
                                                 signed_off_at__isnull=False)),
    }


class FlaggedFindingFilter(admin.SimpleListFilter):
    title = "finding at or above threshold"
    parameter_name = "flagged"
    prediction = "latest_prediction_id"

    def lookups(self, request, model_admin):
        return [(name, name.replace("_", " ")) for name in FINDINGS]

    def queryset(self, request, queryset):
        if self.value() not in FINDINGS:
            return queryset
        return queryset.filter(Exists(Finding.objects.filter(
            prediction_id=OuterRef(self.prediction), name=self.value(), flagged=True)))


class PredictionFlaggedFindingFilter(FlaggedFindingFilter):
    prediction = "pk"


class ReviewedFilter(admin.SimpleListFilter):
    title = "reviewed"
    parameter_name = "reviewed"

    def lookups(self, request, model_admin):
        return [("yes", "Reviewed"), ("no", "Not reviewed")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(reviewed=self.value() == "yes")
        return queryset


class ReadingModelVersionFilter(admin.SimpleListFilter):
    """The model version of the latest prediction (studies not re-run on a new version yet)."""

    title = "model version"
    parameter_name = "model_version"

    def lookups(self, request, model_admin):
        return [(str(version.pk), str(version)) for version in ModelVersion.objects.all()]

    def queryset(self, request, queryset):
        """Only a listed version's id is taken: any other value (`²` too) leaves the list as is."""
        if self.value() not in {version_id for version_id, _ in self.lookup_choices}:
            return queryset
        return queryset.filter(reading_model_version_id=int(self.value()))
