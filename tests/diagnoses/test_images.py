"""DICOM uploads, the image a browser gets, and heatmap overlays — all behind a login."""

from io import BytesIO

import numpy as np
import pytest
from django.urls import reverse
from PIL import Image

from diagnoses import services
from diagnoses.models import Study
from tests.factories import study_diagnosed, study_uploaded, upload

pytestmark = pytest.mark.django_db

SIIM = "siim_1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"


def test_a_dicom_upload_fills_the_study_from_its_header(clinician):
    study = services.study_create(uploaded_by=clinician, image_file=upload(SIIM))
    assert study.image_format == "DICOM"
    assert study.image.name.endswith(".dcm") and "1.2.276" not in study.image.name
    assert study.patient_id  # from the header
    assert study.study_instance_uid.startswith("1.2.276")
    assert study.modality == "CR" and study.view_position == "PA"


def test_typed_identifiers_win_over_the_dicom_header_once_a_patient_mismatch_is_confirmed(
        clinician):
    study = services.study_create(uploaded_by=clinician, image_file=upload(SIIM),
                                  patient_id="TYPED", accession_number="ACC-TYPED",
                                  confirm_patient_mismatch=True)
    assert (study.patient_id, study.accession_number) == ("TYPED", "ACC-TYPED")
    assert study.header_patient_id.startswith("16d7f894")


def test_a_dicom_study_is_shown_to_the_browser_as_png(as_clinician, clinician):
    study = study_uploaded(uploaded_by=clinician, image_file=upload(SIIM))
    response = as_clinician.get(reverse("study-image", args=[study.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert Image.open(BytesIO(response.content)).size == (1024, 1024)
    assert response["Cache-Control"] == "no-store, private"


def test_a_dicom_study_is_diagnosed(clinician, model_server):
    study = study_diagnosed(uploaded_by=clinician, image_file=upload(SIIM))
    assert study.status == Study.Status.DONE
    assert study.predictions.get().findings.count() == 14


def test_the_heatmap_of_a_finding_is_an_overlay_of_the_image(as_clinician, clinician, model_server):
    study = study_diagnosed(uploaded_by=clinician)
    prediction = study.predictions.get()
    url = reverse("study-heatmap", args=[study.pk, prediction.pk, "Effusion"])
    response = as_clinician.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    overlay = np.asarray(Image.open(BytesIO(response.content)).convert("RGB")).astype(int)
    original = np.asarray(Image.open(study.image.open("rb")).convert("RGB")).astype(int)
    assert overlay.shape == original.shape
    assert np.abs(overlay - original).max() > 30  # some heat is painted
    assert as_clinician.get(url).content == response.content  # rendered once, cached
    missing = reverse("study-heatmap", args=[study.pk, prediction.pk, "Covid"])
    assert as_clinician.get(missing).status_code == 404


def test_an_image_that_may_not_be_a_chest_radiograph_is_accepted_with_a_warning(clinician):
    photo = Image.new("RGB", (1200, 400), (200, 40, 40))
    content = BytesIO()
    photo.save(content, format="JPEG")
    study = services.study_create(uploaded_by=clinician,
                                  image_file=upload("photo.jpg", content=content.getvalue()))
    assert study.image_format == "JPEG"
    assert any("colour" in w or "color" in w for w in study.image_warnings)
    assert any("far from square" in w for w in study.image_warnings)
