"""The PDF report of a study: every value that comes from a study (identifiers, DICOM header
values, notes, names, the model's description) is printed as text, never read as reportlab markup:
no file of the server embedded or read, no link, no 500, nothing of it in the log."""

import io
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import DigitalXRayImageStorageForPresentation, ExplicitVRLittleEndian, generate_uid
from pypdf import PdfReader

from diagnoses.models import (
    Finding,
    FindingVerdict,
    ModelVersion,
    Prediction,
    Review,
    Study,
)
from tests.factories import model_version_create, prediction_add, study_stored

pytestmark = pytest.mark.django_db

# Markup that reportlab would act on: a file of the server embedded as an image, an image that
# reads without end, a javascript link, a tag left open, entities. Short ones fit 8- and
# 16-character fields.
PAYLOADS = {
    "file-image": '<img src="/etc/passwd"/>',
    "endless-image": '<img src="/dev/zero" width="9" height="9"/>',
    "javascript-link": '<link href="javascript:alert(1)">x</link>',
    "unbalanced-bold": "<b>bold",
    "entities": "R&D &amp; &#0; <",
    "short-image": '<img src="/x"/>',
}


@dataclass(frozen=True)
class Field:
    """Where a value of a study reaches the report, and how a test puts one there."""

    name: str
    max_length: int | None
    put: Callable[[Study, str], None]
    shown: Callable[[str], str] = lambda value: value  # hashes are printed cut short
    copies: int = 1  # how many times the report prints it


def _study_field(name: str) -> Callable[[Study, str], None]:
    def put(study: Study, value: str) -> None:
        setattr(study, name, value)
        study.save()
    return put


def _unpredicted(name: str) -> Callable[[Study, str], None]:
    """Status and failure reason are printed for a study without a prediction."""
    def put(study: Study, value: str) -> None:
        study.predictions.all().delete()
        study.status = Study.Status.FAILED
        setattr(study, name, value)
        study.save()
    return put


def _user(relation: Callable[[Study], object]) -> Callable[[Study, str], None]:
    def put(study: Study, value: str) -> None:
        user = relation(study)
        user.username = value
        user.save()
    return put


def _model(name: str) -> Callable[[Study, str], None]:
    def put(study: Study, value: str) -> None:
        model = study.predictions.get().model_version
        if name == "identity":
            model.onnx_sha256 = ""  # the identity is printed only without an ONNX hash
        setattr(model, name, value)
        model.save()
    return put


def _prediction(study: Study, value: str) -> None:
    study.predictions.update(preprocessing=value)


def _review_note(study: Study, value: str) -> None:
    Review.objects.filter(prediction__study=study).update(note=value)


def _finding_name(study: Study, value: str) -> None:
    Finding.objects.filter(prediction__study=study, name="Effusion").update(name=value)


def _verdict(study: Study, value: str) -> None:
    FindingVerdict.objects.filter(review__prediction__study=study).update(verdict=value)


def _hash_shown(value: str) -> str:
    return value[:12]


def _max_length(model, name: str) -> int | None:
    return model._meta.get_field(name).max_length


FIELDS = [
    *(Field(name, _max_length(Study, name), _study_field(name))
      for name in ("patient_id", "accession_number", "modality", "view_position")),
    Field("status", _max_length(Study, "status"), _unpredicted("status")),
    Field("failure_reason", None, _unpredicted("failure_reason")),
    Field("uploader", _max_length(get_user_model(), "username"),
          _user(lambda study: study.uploaded_by)),
    Field("reviewer", _max_length(get_user_model(), "username"),
          _user(lambda study: Review.objects.get(prediction__study=study).reviewer)),
    Field("review note", None, _review_note),
    Field("verdict", _max_length(FindingVerdict, "verdict"), _verdict),
    Field("finding name", _max_length(Finding, "name"), _finding_name,
          copies=2),  # in the table and in the review's verdicts
    Field("preprocessing", _max_length(Prediction, "preprocessing"), _prediction),
    Field("model name", _max_length(ModelVersion, "name"), _model("name")),
    *(Field(f"model {name}", _max_length(ModelVersion, name), _model(name), _hash_shown)
      for name in ("identity", "onnx_sha256", "checkpoint_sha256")),
]
CASES = [
    pytest.param(field, payload, id=f"{field.name}-{kind}")
    for field in FIELDS
    for kind, payload in PAYLOADS.items()
    if field.max_length is None or len(payload) <= field.max_length
]
assert {case.values[0].name for case in CASES} == {field.name for field in FIELDS}


@pytest.fixture
def reported_study(clinician, reviewer) -> Study:
    """A done study with a prediction and a review (not signed off) with one verdict, built in the
    database (no model server)."""
    model = model_version_create(onnx_sha256="c" * 64, checkpoint_sha256="d" * 64)
    study = study_stored(uploaded_by=clinician, with_image=True, image_sha256="e" * 64,
                         patient_id="P-1", accession_number="ACC-1", modality="DX",
                         view_position="PA")
    prediction = prediction_add(study=study, model_version=model,
                                probabilities={"Effusion": 0.9})
    review = Review.objects.create(prediction=prediction, reviewer=reviewer, note="small effusion")
    FindingVerdict.objects.create(review=review, finding=prediction.findings.get(name="Effusion"),
                                  verdict="agree")
    return study


@dataclass(frozen=True)
class Report:
    text: str  # the page text, runs of white space as one space
    images: int  # image XObjects on all pages
    actions: set[str]  # links, scripts and other actions: annotations, open and page actions


def report(client, study: Study) -> Report:
    response = client.get(reverse("study-report", args=[study.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(page.extract_text() for page in reader.pages)
    images = 0
    actions = {key for key in ("/OpenAction", "/AA", "/Names") if key in reader.trailer["/Root"]}
    for page in reader.pages:
        xobjects = page["/Resources"].get("/XObject", {})
        images += sum(xobject.get_object()["/Subtype"] == "/Image" for xobject in xobjects.values())
        actions |= {key for key in ("/Annots", "/AA") if key in page}
    return Report(" ".join(text.split()), images, actions)


def assert_printed_as_text(printed: Report, value: str, copies: int = 1) -> None:
    assert printed.text.count(" ".join(value.split())) == copies, printed.text
    assert printed.images == 1  # the study's own image, no file of the server
    assert printed.actions == set()  # no link, javascript or otherwise


def test_a_report_prints_the_study_and_its_review(as_clinician, reported_study):
    printed = report(as_clinician, reported_study)
    for line in ("Patient: P-1", "Accession: ACC-1", "Modality: DX", "View: PA", "dr.house",
                 "CheXNet stand-in", "Review by dr.cuddy (not signed off): Effusion: agree. "
                 "Note: small effusion", "WARNING: Not the verified published CheXNet weights"):
        assert line in printed.text
    assert_printed_as_text(printed, "Effusion 0.9000 0.50 yes")


@pytest.mark.parametrize(("field", "value"), CASES)
def test_every_value_of_a_study_is_printed_as_text(as_clinician, reported_study, field, value,
                                                   caplog):
    field.put(reported_study, value)
    with caplog.at_level(logging.DEBUG):
        printed = report(as_clinician, reported_study)
    assert_printed_as_text(printed, field.shown(value), field.copies)
    assert not [record for record in caplog.records if value in record.getMessage()]


def radiograph(**elements: str) -> SimpleUploadedFile:
    """A small uncompressed DX image with the header ELEMENTS set as a crafted file would have
    them (pydicom warns about values that break their VR's rules, and writes them)."""
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.SOPClassUID = DigitalXRayImageStorageForPresentation
    dataset.SOPInstanceUID = generate_uid()
    dataset.Modality = "DX"
    pixels = np.add.outer(np.arange(256), np.arange(256)).astype(np.uint16) * 64
    dataset.Rows, dataset.Columns = pixels.shape
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 16, 16, 15
    dataset.PixelRepresentation = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for keyword, value in elements.items():
            setattr(dataset, keyword, value)
    dataset.PixelData = pixels.tobytes()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        dataset.save_as(buffer, enforce_file_format=True)
    return SimpleUploadedFile("study.dcm", buffer.getvalue(), "application/dicom")


DICOM_ELEMENTS = {"PatientID": "patient_id", "AccessionNumber": "accession_number",
                  "ViewPosition": "view_position"}
DICOM_CASES = [
    pytest.param(keyword, payload, id=f"{keyword}-{kind}")
    for keyword, name in DICOM_ELEMENTS.items()
    for kind, payload in PAYLOADS.items()
    if len(payload) <= _max_length(Study, name)
]


@pytest.mark.parametrize(("keyword", "value"), DICOM_CASES)
def test_a_dicom_header_value_is_printed_as_text(as_clinician, keyword, value, caplog):
    crafted = radiograph(**{keyword: value})
    caplog.clear()  # pydicom's own warnings about the crafted value, while building it
    with caplog.at_level(logging.DEBUG):
        uploaded = as_clinician.post(reverse("study-upload"), {"image": crafted})
        assert uploaded.status_code == 302
        study = Study.objects.get()
        assert getattr(study, DICOM_ELEMENTS[keyword]) == value  # the header reached the study
        printed = report(as_clinician, study)
    assert_printed_as_text(printed, value)
    assert not [record for record in caplog.records if value in record.getMessage()]
