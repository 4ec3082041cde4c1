"""Decoding in a child process: the same answer as in-process, and from a daemonic process too
(a Celery prefork worker is one)."""

import multiprocessing
import pickle

import numpy as np
import pytest

from inference.imaging.isolation import read_study_image_isolated, read_study_upload_isolated
from inference.imaging.preprocessing import ImageError, resized
from inference.imaging.study_image import read_resized_copy, read_study_image, study_upload_of
from tests.conftest import SAMPLES

SAMPLE_PNG = SAMPLES / "nih512_00027426_000.png"
SAMPLE_DICOMS = sorted(SAMPLES.glob("*.dcm"))


@pytest.mark.parametrize("path", [SAMPLE_PNG, *SAMPLE_DICOMS], ids=lambda path: path.suffix)
def test_the_child_gives_the_same_image_facts_and_warnings(path):
    if not path.exists():
        pytest.skip(f"no sample {path.name}")
    data = path.read_bytes()

    isolated, direct = read_study_image_isolated(data), read_study_image(data)

    assert np.array_equal(np.asarray(isolated.image), np.asarray(direct.image))
    assert (isolated.format, isolated.dicom, isolated.warnings) == (
        direct.format, direct.dicom, direct.warnings)


def test_a_refusal_comes_back_as_the_same_error():
    with pytest.raises(ImageError, match="not a readable image"):
        read_study_image_isolated(b"a report, not an image")


def _decode_in_daemon(queue):
    queue.put(read_study_image_isolated(SAMPLE_PNG.read_bytes()).image.size)


def test_a_daemonic_process_can_decode_in_a_child():
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    daemon = context.Process(target=_decode_in_daemon, args=(queue,), daemon=True)
    daemon.start()
    try:
        assert queue.get(timeout=60) == (512, 512)
    finally:
        daemon.join(10)


@pytest.mark.parametrize("path", [SAMPLE_PNG, *SAMPLE_DICOMS], ids=lambda path: path.suffix)
def test_an_upload_comes_back_as_its_facts_and_resized_copy_without_the_image(path):
    if not path.exists():
        pytest.skip(f"no sample {path.name}")
    data = path.read_bytes()
    direct = read_study_image(data)

    upload = read_study_upload_isolated(data)

    assert upload == study_upload_of(direct)
    assert np.array_equal(np.asarray(read_resized_copy(upload.resized_copy)),
                          np.asarray(resized(direct.image)))
    assert len(pickle.dumps(upload)) < len(pickle.dumps(direct)) / 4  # what the pipe carries


def test_an_upload_refusal_comes_back_as_the_same_error():
    with pytest.raises(ImageError, match="not a readable image"):
        read_study_upload_isolated(b"a report, not an image")
