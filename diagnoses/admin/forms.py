"""The model-version forms of the admin: register the model a GraphPipe server serves, and a new
threshold set (14 numbers)."""

from django import forms

from diagnoses.models import ROUTINE, URGENCY_LEVELS
from inference.findings import FINDINGS


class ModelVersionRegisterForm(forms.Form):
    serving_url = forms.URLField(
        label="GraphPipe server URL", assume_scheme="http",
        help_text="The server is asked which model it serves; that model version is recorded "
                  "(or found) and served from this URL from now on.",
    )


class ThresholdsForm(forms.Form):
    """One number per finding; a change is saved as a new threshold set."""

    note = forms.CharField(required=False, max_length=500,
                           help_text="Why these thresholds (e.g. calibrated on local data).")

    def __init__(self, *args, thresholds: dict[str, float],
                 urgencies: dict[str, str] | None = None, **kwargs):
        urgencies = urgencies or {}
        initial = {**thresholds, **{f"urgency_{name}": urgencies.get(name, ROUTINE)
                                    for name in FINDINGS}}
        super().__init__(*args, initial=initial, **kwargs)
        for name in FINDINGS:
            self.fields[name] = forms.FloatField(
                label=name.replace("_", " "), min_value=0, max_value=1,
                widget=forms.NumberInput(attrs={"step": "0.01"}),
            )
            self.fields[f"urgency_{name}"] = forms.ChoiceField(
                label=f"{name.replace('_', ' ')} urgency",
                choices=[(level, level) for level in URGENCY_LEVELS], required=False,
            )  # left out of a post: the current urgency stays
        self.order_fields([*FINDINGS, "note"])

    def clean(self):
        cleaned = super().clean()
        if (not self.errors and not set(self.changed_data) & set(FINDINGS)
                and self.urgencies == self._current_urgencies()):
            raise forms.ValidationError("No threshold changed.", code="unchanged")
        return cleaned

    @property
    def urgencies(self) -> dict[str, str]:
        current = self._current_urgencies()
        return {name: self.cleaned_data.get(f"urgency_{name}") or current[name]
                for name in FINDINGS}

    def _current_urgencies(self) -> dict[str, str]:
        return {name: self.initial[f"urgency_{name}"] for name in FINDINGS}

    @property
    def thresholds(self) -> dict[str, float]:
        return {name: self.cleaned_data[name] for name in FINDINGS}

    def finding_fields(self):
        return [self[name] for name in FINDINGS]

    def finding_rows(self):
        """(threshold, urgency) of each finding."""
        return [(self[name], self[f"urgency_{name}"]) for name in FINDINGS]
