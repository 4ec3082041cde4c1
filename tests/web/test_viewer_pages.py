"""What the viewer and the comparison are served (the browser tests are in tests/system)."""

import datetime
import io

import numpy as np
import pydicom
import pytest
from django.urls import reverse
from PIL import Image

from diagnoses import selectors
from diagnoses.presenters import finding_changes, trend_chart
from inference.imaging.heatmaps import cam_box
from tests.factories import (
    SAMPLE,
    model_version_create,
    prediction_add,
    study_stored,
    study_uploaded,
    upload,
)
from tests.shared import SAMPLES

pytestmark = pytest.mark.django_db
SIIM = "siim_1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"


def test_a_png_is_served_to_the_viewer_as_a_dicom_of_its_full_resolution_pixels(
        as_clinician, clinician):
    study = study_uploaded(uploaded_by=clinician)
    response = as_clinician.get(reverse("study-viewer-source", args=[study.pk]))
    assert response["Content-Type"] == "application/dicom"
    assert response["Cache-Control"] == "no-store, private"
    dataset = pydicom.dcmread(io.BytesIO(response.content))
    original = np.asarray(Image.open(SAMPLES / SAMPLE).convert("L"))
    assert np.array_equal(dataset.pixel_array, original)
    assert "PatientID" not in dataset and "PatientName" not in dataset


def test_a_dicom_is_served_to_the_viewer_as_stored(as_clinician, clinician):
    study = study_uploaded(uploaded_by=clinician, image_file=upload(SIIM))
    response = as_clinician.get(reverse("study-viewer-source", args=[study.pk]))
    assert response.content == (SAMPLES / SIIM).read_bytes()


def test_the_viewer_is_told_the_model_crop_as_cam_box_says(as_clinician, clinician):
    study = study_uploaded(uploaded_by=clinician)
    facts = as_clinician.get(reverse("study-viewer", args=[study.pk])).json()
    crop = facts["model_crop"]
    width, height = Image.open(SAMPLES / SAMPLE).size
    assert (crop["image_width"], crop["image_height"]) == (width, height)
    assert (crop["left"], crop["top"], crop["right"], crop["bottom"]) == pytest.approx(
        cam_box(width, height))
    assert facts["source_url"] == reverse("study-viewer-source", args=[study.pk])


def test_the_viewer_urls_need_a_login(client, clinician):
    study = study_stored(uploaded_by=clinician, with_image=True)
    for name in ("study-viewer", "study-viewer-source", "study-comparison"):
        response = client.get(reverse(name, args=[study.pk]))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def dated_study(clinician, model, *, patient_id: str, day: int | None, **probabilities):
    study = study_stored(uploaded_by=clinician, patient_id=patient_id, with_image=True,
                         study_date=datetime.date(2026, 1, day) if day else None)
    prediction_add(study=study, model_version=model, probabilities=probabilities)
    return study


def test_the_previous_study_is_the_same_patients_latest_earlier_one_with_a_reading(clinician):
    model = model_version_create()
    oldest = dated_study(clinician, model, patient_id="PRIOR-1", day=2)
    previous = dated_study(clinician, model, patient_id="PRIOR-1", day=10)
    study_stored(uploaded_by=clinician, patient_id="PRIOR-1", status="failed",
                 study_date=datetime.date(2026, 1, 12))  # no reading
    dated_study(clinician, model, patient_id="OTHER", day=14)
    current = dated_study(clinician, model, patient_id="PRIOR-1", day=15)
    assert selectors.study_previous(study=current) == previous
    assert selectors.study_previous(study=previous) == oldest
    assert selectors.study_previous(study=oldest) is None
    anonymous = dated_study(clinician, model, patient_id="", day=20)
    assert selectors.study_previous(study=anonymous) is None


def test_each_findings_change_says_new_and_resolved(clinician):
    model = model_version_create()
    before = dated_study(clinician, model, patient_id="CH-1", day=1, Effusion=0.9, Mass=0.2)
    now = dated_study(clinician, model, patient_id="CH-1", day=2, Effusion=0.1, Mass=0.95)
    rows = {row["name"]: row for row in finding_changes(
        selectors.study_latest_prediction(study=now),
        selectors.study_latest_prediction(study=before))}
    assert rows["Mass"]["change"] == pytest.approx(0.75)
    assert rows["Mass"]["new"] and not rows["Mass"]["resolved"]
    assert rows["Effusion"]["resolved"] and not rows["Effusion"]["new"]
    assert rows["Edema"]["change"] == pytest.approx(0) and not rows["Edema"]["new"]


def test_the_comparison_page_shows_both_studies_and_the_changes(as_clinician, clinician):
    model = model_version_create()
    before = dated_study(clinician, model, patient_id="CMP-1", day=1, Mass=0.2)
    now = dated_study(clinician, model, patient_id="CMP-1", day=2, Mass=0.95)
    page = as_clinician.get(reverse("study-comparison", args=[now.pk])).content.decode()
    assert reverse("study-viewer", args=[before.pk]) in page
    assert reverse("study-viewer", args=[now.pk]) in page
    assert "+0.750" in page and "tag-new" in page
    detail = as_clinician.get(reverse("study-detail", args=[now.pk])).content.decode()
    assert reverse("study-comparison", args=[now.pk]) in detail
    patient = as_clinician.get(reverse("patient-detail"), {"id": "CMP-1"}).content.decode()
    assert reverse("study-comparison", args=[now.pk]) in patient


def test_a_study_without_a_previous_one_has_no_comparison(as_clinician, clinician):
    only = dated_study(clinician, model_version_create(), patient_id="ALONE", day=1)
    assert as_clinician.get(reverse("study-comparison", args=[only.pk])).status_code == 404
    detail = as_clinician.get(reverse("study-detail", args=[only.pk])).content.decode()
    assert reverse("study-comparison", args=[only.pk]) not in detail


def test_a_trend_chart_has_dated_axes_and_the_threshold_line():
    points = [(datetime.date(2026, 1, 1), 0.2, 0.5), (datetime.date(2026, 1, 11), 0.8, 0.6),
              (datetime.date(2026, 1, 21), 0.4, 0.6)]
    chart = trend_chart("Pleural_Thickening", points)
    assert chart["label"] == "Pleural Thickening"
    assert [tick["date"] for tick in chart["date_ticks"]] == [points[0][0], points[-1][0]]
    assert chart["threshold"] == 0.6
    top, bottom, left, right = chart["top"], chart["bottom"], chart["left"], chart["right"]
    assert float(chart["threshold_y"]) == pytest.approx(top + 0.4 * (bottom - top))
    xs = [float(mark["x"]) for mark in chart["marks"]]
    assert xs == pytest.approx([left, (left + right) / 2, right])
    assert [float(tick["y"]) for tick in chart["probability_ticks"]] == pytest.approx(
        [chart["bottom"], (chart["top"] + chart["bottom"]) / 2, chart["top"]])


def test_the_patient_page_draws_axes_dates_and_thresholds(as_clinician, clinician):
    model = model_version_create()
    dated_study(clinician, model, patient_id="TR-2", day=3)
    dated_study(clinician, model, patient_id="TR-2", day=9)
    page = as_clinician.get(reverse("patient-detail"), {"id": "TR-2"}).content.decode()
    assert page.count('class="threshold"') == 14
    assert "2026-01-03" in page and "2026-01-09" in page
