"""A large file sent in pieces: resumed at the server's offset after a failure, finished with the
form's fields into a study like any upload; nothing of another user's, nothing over the limit."""

import pytest
from django.urls import reverse

from diagnoses.chunked_uploads import CHUNK_MAX_BYTES
from diagnoses.models import Study
from tests.factories import user_create
from tests.shared import SAMPLES, skip_without

pytestmark = pytest.mark.django_db
SIIM = "siim_1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"


@pytest.fixture
def content():
    skip_without(SAMPLES / SIIM)
    return (SAMPLES / SIIM).read_bytes()


def begin(client, size, name=SIIM):
    return client.post(reverse("study-upload-begin"), {"filename": name, "size": size},
                       content_type="application/json")


def piece(client, url, offset, data):
    return client.post(url, data, content_type="application/octet-stream",
                       HTTP_UPLOAD_OFFSET=str(offset))


def test_pieces_resume_at_the_servers_offset_and_finish_into_a_study(as_clinician, content):
    started = begin(as_clinician, len(content)).json()
    url, third = started["url"], len(content) // 3
    assert piece(as_clinician, url, 0, content[:third]).json()["offset"] == third
    # A retry of a piece the server already has: 409 with the offset to go on from.
    conflict = piece(as_clinician, url, 0, content[:third])
    assert conflict.status_code == 409 and conflict.json()["error"]["offset"] == third
    assert as_clinician.get(url).json()["offset"] == third
    piece(as_clinician, url, third, content[third:])
    answer = as_clinician.post(started["finish_url"], {"patient_id": "", "notes": "in pieces"})
    assert answer.status_code == 201, answer.content
    study = Study.objects.get()
    assert (study.original_filename, study.notes, study.image_format) == (SIIM, "in pieces",
                                                                          "DICOM")
    assert as_clinician.get(url).status_code == 404  # discarded once finished


def test_an_incomplete_upload_cannot_finish(as_clinician, content):
    started = begin(as_clinician, len(content)).json()
    piece(as_clinician, started["url"], 0, content[:1000])
    answer = as_clinician.post(started["finish_url"], {})
    assert answer.status_code == 400 and "incomplete" in answer.json()["error"]["message"]
    assert not Study.objects.exists()


def test_the_finish_applies_the_forms_rules(as_clinician, content):
    started = begin(as_clinician, len(content)).json()
    piece(as_clinician, started["url"], 0, content)
    answer = as_clinician.post(started["finish_url"], {"patient_id": "WRONG-PT"})
    assert answer.status_code == 400
    assert "differs from the DICOM header" in answer.json()["error"]["message"]
    assert not Study.objects.exists()


def test_a_file_over_the_limit_or_a_piece_too_large_is_refused(as_clinician, settings):
    settings.STUDY_MAX_UPLOAD_BYTES = 10 * 2**20
    assert "limit of 10 MiB" in begin(as_clinician, 10 * 2**20 + 1).json()["error"]["message"]
    started = begin(as_clinician, 10 * 2**20).json()
    too_big = piece(as_clinician, started["url"], 0, b"x" * (CHUNK_MAX_BYTES + 1))
    assert too_big.status_code == 400


def test_another_users_upload_is_not_found(client, as_clinician, content):
    started = begin(as_clinician, len(content)).json()
    client.force_login(user_create(username="other", role="clinician"))
    assert client.get(started["url"]).status_code == 404
    assert piece(client, started["url"], 0, content[:10]).status_code == 404
    assert client.get(reverse("study-upload-piece", args=["..%2F..%2Fetc"])).status_code == 404


def test_an_upload_abandoned_for_a_day_is_deleted(as_clinician, content, study_storage):
    import os
    import time

    from diagnoses.chunked_uploads import chunked_uploads_expire

    old = begin(as_clinician, len(content)).json()
    fresh = begin(as_clinician, len(content)).json()
    piece(as_clinician, old["url"], 0, content[:100])
    day_ago = time.time() - 25 * 3600
    for path in (study_storage / "incoming").glob(f"*/{old['id']}.*"):
        os.utime(path, (day_ago, day_ago))
    assert chunked_uploads_expire() == 1
    assert as_clinician.get(old["url"]).status_code == 404
    assert as_clinician.get(fresh["url"]).json()["offset"] == 0
