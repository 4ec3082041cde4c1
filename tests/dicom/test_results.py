"""Results as DICOM: the TID 1500 SR and the key image, checked by dciodvfy (dicom3tools)."""

import shutil
import subprocess

import pydicom
import pytest

from diagnoses.dicom.intake import dicom_instance_receive
from diagnoses.dicom.results import (
    NoDicomSource,
    dataset_bytes,
    result_key_image,
    result_sr,
    result_uids,
    sr_probabilities,
)
from inference.findings import FINDINGS
from tests import factories
from tests.dicom.dicom_files import file_bytes, radiograph

pytestmark = pytest.mark.django_db


@pytest.fixture
def source():
    return radiograph(patient_id="PAT-9", accession_number="ACC-9")


@pytest.fixture
def prediction(source):
    study = dicom_instance_receive(content=file_bytes(source), calling_ae_title="ORTHANC").study
    model = factories.model_version_create(name="CheXNet stand-in", onnx_sha256="ab" * 32)
    return factories.prediction_add(study=study, model_version=model,
                                    probabilities={"Effusion": 0.91, "Mass": 0.62})


def dciodvfy_errors(tmp_path, dataset) -> list[str]:
    if shutil.which("dciodvfy") is None:
        pytest.fail("dciodvfy (Debian dicom3tools) is required: make system-packages")
    path = tmp_path / "instance.dcm"
    path.write_bytes(dataset_bytes(dataset))
    run = subprocess.run(["dciodvfy", "-new", str(path)], capture_output=True, text=True,
                         timeout=60)
    return [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")]


def test_the_sr_holds_every_finding_and_joins_the_source_study(prediction, source, tmp_path):
    raw = dataset_bytes(result_sr(prediction))
    sr = pydicom.dcmread(pydicom.filebase.DicomBytesIO(raw))
    values = sr_probabilities(sr)
    assert set(values) == set(FINDINGS)
    for finding in prediction.findings.all():
        assert values[finding.name] == (pytest.approx(finding.probability), finding.flagged)
    assert values["Effusion"][1] and values["Mass"][1] and not values["Hernia"][1]
    assert sr.StudyInstanceUID == source.StudyInstanceUID
    assert sr.PatientID == "PAT-9" and sr.AccessionNumber == "ACC-9"
    assert sr.SeriesInstanceUID not in (source.SeriesInstanceUID,)
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    assert evidence.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert b"CheXNet stand-in" in raw and b"ab" * 32 in raw  # algorithm name and version
    assert b"not medical predictions" in raw  # stand-in weights: said in the SR itself
    assert dciodvfy_errors(tmp_path, sr) == []


def test_the_key_image_is_a_secondary_capture_in_a_new_series_of_the_study(prediction, source,
                                                                          tmp_path):
    image = result_key_image(prediction)
    sr = result_sr(prediction)
    assert image.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7"
    assert image.StudyInstanceUID == source.StudyInstanceUID
    # a series of its own: a series has one modality (OT here, SR there)
    assert len({image.SeriesInstanceUID, sr.SeriesInstanceUID, source.SeriesInstanceUID}) == 3
    assert image.BurnedInAnnotation == "YES" and image.PhotometricInterpretation == "RGB"
    assert "not medical predictions" in image.ImageComments
    pixels = image.pixel_array
    assert pixels.ndim == 3 and pixels.shape[1] > pixels.shape[0]  # the radiograph + the panel
    # NOT FOR DIAGNOSTIC USE across it in red, in its lower part
    middle = pixels[int(pixels.shape[0] * 0.7): int(pixels.shape[0] * 0.9)]
    red = (middle[..., 0] > 200) & (middle[..., 1] < 80) & (middle[..., 2] < 80)
    assert red.sum() > 500
    assert dciodvfy_errors(tmp_path, image) == []


def test_the_same_prediction_gives_the_same_instances(prediction):
    assert result_uids(prediction) == result_uids(prediction)
    assert result_sr(prediction).SOPInstanceUID == result_uids(prediction)["sr"]


def test_an_uploaded_png_has_no_dicom_results(clinician):
    study = factories.study_uploaded(uploaded_by=clinician)
    prediction = factories.prediction_add(study=study,
                                          model_version=factories.model_version_create())
    with pytest.raises(NoDicomSource):
        result_sr(prediction)


def test_the_key_image_is_saved_for_a_look(prediction):
    """Writes test-artifacts/dicom-key-image.png (the picture the PACS shows)."""
    from PIL import Image

    from tests.processes import REPO

    (REPO / "test-artifacts").mkdir(exist_ok=True)
    Image.fromarray(result_key_image(prediction).pixel_array).save(
        REPO / "test-artifacts" / "dicom-key-image.png")


def test_a_study_outside_the_intended_use_says_so_in_the_sr(prediction, tmp_path):
    from diagnoses.models import Study
    Study.objects.filter(pk=prediction.study_id).update(
        intended_use_reasons=["view position LL is not frontal (PA or AP)"])
    prediction.study.refresh_from_db()
    raw = dataset_bytes(result_sr(prediction))
    assert b"outside intended use: view position LL is not frontal (PA or AP)" in raw
    assert dciodvfy_errors(tmp_path, pydicom.dcmread(pydicom.filebase.DicomBytesIO(raw))) == []
