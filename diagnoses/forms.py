from django import forms

from diagnoses.models import Study
from inference.findings import FINDINGS


class StudyUploadForm(forms.Form):
    image = forms.FileField(
        label="Chest X-ray (PNG, JPEG or DICOM)",
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/png,image/jpeg,application/dicom,.dcm,.dicom"}
        ),
    )
    patient_id = forms.CharField(
        label="Patient identifier", max_length=64, required=False,
        help_text="Taken from the DICOM header when left empty.",
    )
    accession_number = forms.CharField(
        label="Accession number", max_length=64, required=False,
        help_text="Taken from the DICOM header when left empty.",
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    tencrop = forms.BooleanField(
        label="TenCrop (average of 10 crops; slower, as in the CheXNet evaluation)",
        required=False,
    )


class HistoryFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status")] + Study.Status.choices, required=False)
    finding = forms.ChoiceField(
        choices=[("", "Any finding")] + [(name, name.replace("_", " ")) for name in FINDINGS],
        required=False,
    )
    min_probability = forms.FloatField(
        label="Probability at least", min_value=0, max_value=1, required=False
    )
