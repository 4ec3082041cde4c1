import hashlib
import io
import uuid

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from diagnoses import services
from diagnoses.models import Finding, Prediction, Study
from inference.findings import FINDINGS
from inference.imaging.preprocessing import preprocess
from inference.imaging.study_image import read_resized_copy, read_study_image
from tests.factories import study_uploaded, upload
from tests.shared import SAMPLES, skip_without

pytestmark = pytest.mark.django_db
skip_without(SAMPLES / "nih512_00027426_000.png")  # read below, as the tests are collected


def test_study_create_stores_the_image_under_a_random_name(clinician, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        study = services.study_create(uploaded_by=clinician, image_file=upload(),
                                      patient_id="P-1", accession_number="A-1")
    assert len(callbacks) == 1  # the diagnosis is queued once the row is committed
    content = (SAMPLES / "nih512_00027426_000.png").read_bytes()
    assert study.status == Study.Status.QUEUED
    assert study.image_sha256 == hashlib.sha256(content).hexdigest()
    assert study.original_filename == "nih512_00027426_000.png"
    assert "nih512" not in study.image.name and study.image.name.endswith(".png")
    assert study.image.read() == content


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"%PDF-1.4 not an x-ray", "not a readable image"),
    ((SAMPLES / "nih512_00027426_000.png").read_bytes()[:5000], "not a readable image"),
])
def test_study_create_refuses_what_is_not_an_image(clinician, study_storage, content, message):
    with pytest.raises(ValidationError, match=message):
        services.study_create(uploaded_by=clinician, image_file=upload(content=content))
    assert not Study.objects.exists()
    assert not any(p.is_file() for p in study_storage.rglob("*"))


def test_study_create_refuses_a_file_over_the_size_limit(clinician, settings):
    settings.STUDY_MAX_UPLOAD_BYTES = 1000
    with pytest.raises(ValidationError, match="limit"):
        services.study_create(uploaded_by=clinician, image_file=upload())
    assert not Study.objects.exists()


def test_study_diagnose_stores_the_14_findings(clinician, model_server):
    study = study_uploaded(uploaded_by=clinician)
    services.study_diagnose(study_id=study.pk)
    study.refresh_from_db()
    assert study.status == Study.Status.DONE and study.finished_at is not None
    prediction = study.predictions.get()
    assert sorted(prediction.findings.values_list("name", flat=True)) == sorted(FINDINGS)
    assert prediction.preprocessing == "center"
    assert len(prediction.heatmaps) == 14 and len(prediction.heatmaps[0]) == 7
    model = prediction.model_version
    assert model.weights_verified is False and model.warning
    assert model.checkpoint_sha256 == (
        "25e14114670aa996cd674c7f12351dc8dab87f7b166371856c58e93155a4fa43")


def test_study_diagnose_of_a_tencrop_study(clinician, model_server):
    study = study_uploaded(uploaded_by=clinician, tencrop=True)
    services.study_diagnose(study_id=study.pk)
    assert study.predictions.get().preprocessing == "tencrop"


def test_a_study_that_is_not_queued_is_left_alone(clinician, model_server):
    study = study_uploaded(uploaded_by=clinician)
    services.study_diagnose(study_id=study.pk)
    services.study_diagnose(study_id=study.pk)  # a redelivered task
    assert Prediction.objects.filter(study=study).count() == 1
    assert Finding.objects.filter(prediction__study=study).count() == 14


def test_an_unreachable_model_server_puts_the_study_back_in_the_queue(
        clinician, unreachable_model_server):
    study = study_uploaded(uploaded_by=clinician)
    with pytest.raises(services.ModelServerUnavailable):
        services.study_diagnose(study_id=study.pk)
    study.refresh_from_db()
    assert study.status == Study.Status.QUEUED
    assert not study.predictions.exists()


def test_study_create_keeps_a_resized_copy_giving_the_same_model_input(clinician):
    study = study_uploaded(uploaded_by=clinician)
    original = read_study_image(study.image.read()).image
    copy = read_resized_copy(study.resized_image.read())
    assert study.resized_image.name.endswith("-resized.png") and copy.size == (256, 256)
    for tencrop in (False, True):
        assert np.array_equal(preprocess(copy, tencrop=tencrop),
                              preprocess(original, tencrop=tencrop))


def test_the_worker_reads_the_resized_copy_not_the_upload(clinician, model_server):
    study = study_uploaded(uploaded_by=clinician)
    with study.image.open("wb") as stored:
        stored.write(b"garbage")  # not read again
    services.study_diagnose(study_id=study.pk)
    study.refresh_from_db()
    assert study.status == Study.Status.DONE


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def probabilities(study: Study) -> dict[str, float]:
    return dict(study.predictions.get().findings.values_list("name", "probability"))


@pytest.mark.parametrize("damage", ["missing", "garbage", "other size"])
def test_without_a_usable_resized_copy_the_upload_is_read(clinician, model_server, damage):
    intact, study = study_uploaded(uploaded_by=clinician), study_uploaded(uploaded_by=clinician)
    if damage == "missing":
        study.resized_image.storage.delete(study.resized_image.name)
    else:
        with study.resized_image.open("wb") as stored:
            stored.write(b"garbage" if damage == "garbage" else png(Image.new("L", (300, 300))))
    for each in (intact, study):
        services.study_diagnose(study_id=each.pk)
    assert probabilities(study) == probabilities(intact)


def test_a_stored_file_that_became_unreadable_fails_with_its_reason(clinician, model_server):
    study = study_uploaded(uploaded_by=clinician)
    for stored_file in (study.image, study.resized_image):
        with stored_file.open("wb") as stored:
            stored.write(b"garbage")
    services.study_diagnose(study_id=study.pk)
    study.refresh_from_db()
    assert study.status == Study.Status.FAILED
    assert "could not be read" in study.failure_reason


def test_study_fail_does_not_undo_a_finished_study(clinician, model_server):
    study = study_uploaded(uploaded_by=clinician)
    services.study_diagnose(study_id=study.pk)
    services.study_fail(study_id=study.pk, reason="late failure")
    study.refresh_from_db()
    assert study.status == Study.Status.DONE


def test_study_diagnose_of_an_unknown_study_does_nothing():
    services.study_diagnose(study_id=uuid.uuid4())


def test_an_upload_succeeds_while_the_broker_is_down_and_stays_queued(
        clinician, monkeypatch, django_capture_on_commit_callbacks):
    from kombu.exceptions import OperationalError

    from diagnoses.tasks import diagnose_study

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to the broker. Connection refused.")

    monkeypatch.setattr(diagnose_study, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        study = services.study_create(uploaded_by=clinician, image_file=upload())
    study.refresh_from_db()
    assert study.status == Study.Status.QUEUED  # the sweeper queues it when the broker is back
