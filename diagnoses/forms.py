from django import forms

from diagnoses.intended_use import DECLARED_VIEWS, MAX_DECLARED_AGE_YEARS
from diagnoses.models import NOTE_MAX_CHARS, ModelVersion, Study
from diagnoses.selectors import StudyFilters
from inference.findings import FINDINGS, finding_label


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """One or more files (Django's documented pattern)."""

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            if not data:
                return [single(None, initial)]  # "This field is required."
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class StudyUploadForm(forms.Form):
    image = MultipleFileField(
        label="Chest X-ray (PNG, JPEG or DICOM)",
        widget=MultipleFileInput(
            attrs={"accept": "image/png,image/jpeg,application/dicom,.dcm,.dicom"}
        ),
    )
    patient_id = forms.CharField(
        label="Patient identifier", max_length=64, required=False,
        help_text="Taken from the DICOM header when left empty.",
    )
    confirm_patient_mismatch = forms.BooleanField(
        label="Where a DICOM header names another patient: store the identifier typed above "
        "anyway (the header's is kept beside it)",
        required=False,
    )
    accession_number = forms.CharField(
        label="Accession number", max_length=64, required=False,
        help_text="Taken from the DICOM header when left empty.",
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                            max_length=NOTE_MAX_CHARS)
    tencrop = forms.BooleanField(
        label="TenCrop (average of 10 crops; slower, as in the CheXNet evaluation)",
        required=False,
    )
    view_position = forms.ChoiceField(
        label="View (PNG/JPEG only)", choices=DECLARED_VIEWS, required=False,
        help_text="Not checked from a header: a DICOM file's own header is used instead.",
    )
    patient_age_years = forms.IntegerField(
        label="Patient age in years (PNG/JPEG only)", min_value=0,
        max_value=MAX_DECLARED_AGE_YEARS, required=False,
        help_text="Not checked from a header: a DICOM file's own header is used instead.",
    )


class HistoryFilterForm(forms.Form):
    search = forms.CharField(
        label="Patient or accession", max_length=64, required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "starts with…"}),
    )
    status = forms.ChoiceField(choices=[("", "Any status")] + Study.Status.choices, required=False)
    date_from = forms.DateField(label="From", required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))
    flagged_finding = forms.ChoiceField(
        label="Flagged finding",
        choices=[("", "Any")] + [(name, finding_label(name)) for name in FINDINGS],
        required=False,
    )
    reviewed = forms.TypedChoiceField(
        choices=[("", "Reviewed or not"), ("yes", "Reviewed"), ("no", "Not reviewed")],
        coerce=lambda value: value == "yes", empty_value=None, required=False,
    )
    model_version = forms.ModelChoiceField(
        queryset=ModelVersion.objects.order_by("-first_seen_at"), required=False,
        empty_label="Any model version",
    )
    sort = forms.ChoiceField(
        choices=[("newest", "Newest first"), ("oldest", "Oldest first"), ("patient", "Patient"),
                 ("accession", "Accession"), ("status", "Status"),
                 ("probability", "Highest probability (of the flagged finding chosen)"),
                 ("flagged", "Most flagged findings")],
        required=False,
    )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "“To” is before “From”: no study can match. Swap them.")
        return data

    def study_filters(self, **overrides) -> StudyFilters:
        data = self.cleaned_data if self.is_valid() else {}
        model_version = data.get("model_version")
        return StudyFilters(
            search=data.get("search") or "",
            status=data.get("status") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            flagged_finding=data.get("flagged_finding") or "",
            reviewed=data.get("reviewed"),
            model_version_id=model_version.pk if model_version else None,
            sort=data.get("sort") or "newest",
            **overrides,
        )


class ReviewForm(forms.Form):
    """Agree / disagree per finding, a note and a sign-off, prefilled from an earlier review."""

    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                           max_length=NOTE_MAX_CHARS)
    sign_off = forms.BooleanField(label="Sign off this review", required=False)

    def __init__(self, *args, prediction, reviewer, **kwargs):
        super().__init__(*args, **kwargs)
        earlier = prediction.reviews.filter(reviewer=reviewer).first()
        verdicts = {v.finding.name: v.verdict for v in earlier.verdicts.all()} if earlier else {}
        findings = sorted(prediction.findings.all(), key=lambda f: -f.probability)
        for finding in findings:
            self.fields[f"verdict_{finding.name}"] = forms.ChoiceField(
                label=finding_label(finding.name),
                choices=[("", "—"), ("agree", "Agree"), ("disagree", "Disagree")],
                required=False,
                initial=verdicts.get(finding.name, ""),
                widget=forms.RadioSelect,
            )
            self.fields[f"verdict_{finding.name}"].finding = finding  # its probability, shown
        if earlier:
            self.fields["note"].initial = earlier.note
            self.fields["sign_off"].initial = earlier.signed_off

    def verdict_fields(self):
        return [self[name] for name in self.fields if name.startswith("verdict_")]

    def verdicts(self) -> dict[str, str]:
        return {
            name.removeprefix("verdict_"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("verdict_") and value
        }
