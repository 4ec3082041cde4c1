"""The study as the pages show it: every finding's heatmap URLs are the ones the URLconf gives."""

import pytest
from django.urls import reverse

from diagnoses.presenters import prediction_summary
from inference.findings import FINDINGS
from tests.factories import model_version_create, prediction_add, study_stored

pytestmark = pytest.mark.django_db


def test_each_findings_heatmap_urls_are_the_urlconfs(clinician):
    study = study_stored(uploaded_by=clinician)
    prediction = prediction_add(study=study, model_version=model_version_create())

    findings = prediction_summary(prediction)["findings"]

    assert sorted(f["name"] for f in findings) == sorted(FINDINGS)
    for finding in findings:
        args = [study.pk, prediction.pk, finding["name"]]
        assert finding["heatmap_url"] == reverse("study-heatmap", args=args)
        assert finding["heatmap_layer_url"] == reverse("study-heatmap-layer", args=args)
