"""Forms of the admin's validation page: which reviewed studies (model version, upload dates) and
how to suggest thresholds (target sensitivity or Youden's J)."""

from django import forms

from diagnoses.models import ModelVersion, ThresholdSuggestion


class ReviewedStudiesForm(forms.Form):
    model_version = forms.ModelChoiceField(
        queryset=ModelVersion.objects.order_by("-first_seen_at"), empty_label=None)
    date_from = forms.DateField(required=False, label="Uploaded from",
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="Uploaded to",
                              widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("The start date is after the end date.")
        return cleaned


class SuggestForm(ReviewedStudiesForm):
    method = forms.ChoiceField(choices=ThresholdSuggestion.Method.choices)
    target_sensitivity = forms.FloatField(
        required=False, min_value=0.05, max_value=1.0, initial=0.9,
        widget=forms.NumberInput(attrs={"step": "0.01"}),
        help_text="For a target sensitivity: the share of reviewed positives to flag.")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("method") == ThresholdSuggestion.Method.SENSITIVITY and \
                cleaned.get("target_sensitivity") is None:
            self.add_error("target_sensitivity", "A target sensitivity is needed.")
        return cleaned
