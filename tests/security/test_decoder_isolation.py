"""Whatever the next decoder bug is (memory without end, an endless loop, a crash), it costs the
child process that decodes the upload: the web process answers a 4xx, stays alive and small."""

import os
import resource
import signal
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from diagnoses.models import Study
from tests.security.corpus import SAMPLE_PNG

pytestmark = pytest.mark.django_db


def upload(client):
    return client.post(reverse("study-upload"), {"image": SimpleUploadedFile(
        "xray.png", SAMPLE_PNG.read_bytes(), "application/octet-stream")})


def endless_memory(data, **_):
    hoard = []
    while True:
        hoard.append(bytearray(64 << 20))


def endless_loop(data, **_):
    while True:
        pass


def crash(data, **_):
    os.kill(os.getpid(), signal.SIGSEGV)


def peak_rss_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def test_a_decoder_that_allocates_without_end_is_stopped_at_the_memory_limit(
        as_clinician, settings, monkeypatch, study_storage):
    settings.STUDY_DECODE_MEMORY_MB = 512
    monkeypatch.setattr("inference.imaging.isolation.read_study_image", endless_memory)
    before = peak_rss_mb()

    response = upload(as_clinician)

    assert response.status_code == 400
    assert "over the decoder&#x27;s memory limit (512 MiB)" in response.content.decode()
    assert peak_rss_mb() - before < 100  # the 512 MiB were the child's, not this process's
    assert not Study.objects.exists()


def test_a_decoder_that_never_ends_is_stopped_at_the_cpu_limit(as_clinician, settings, monkeypatch):
    settings.STUDY_DECODE_CPU_S = 1
    monkeypatch.setattr("inference.imaging.isolation.read_study_image", endless_loop)
    started = time.monotonic()

    response = upload(as_clinician)

    assert response.status_code == 400 and "CPU time limit" in response.content.decode()
    assert time.monotonic() - started < 10
    assert not Study.objects.exists()


def test_a_decoder_that_crashes_costs_a_refusal_not_the_web_process(as_clinician, monkeypatch):
    monkeypatch.setattr("inference.imaging.isolation.read_study_image", crash)

    response = upload(as_clinician)

    assert response.status_code == 400
    assert f"the decoder crashed on it (signal {signal.SIGSEGV})" in response.content.decode()
    monkeypatch.undo()
    assert upload(as_clinician).status_code == 302  # and the next upload goes through
