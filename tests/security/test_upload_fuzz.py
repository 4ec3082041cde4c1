"""Fuzzing the real upload path: a few hundred mutated PNG, JPEG and DICOM files (seeded, so a
failure replays) through the web form. None may be a 500; every refusal names a reason; every
accepted study is stored whole (image and resized copy) and, diagnosed, ends done or failed with
a reason."""

import io
import random
import struct
import time
import zlib

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from pydicom.dataset import Dataset

from diagnoses import services
from diagnoses.models import Study

from tests.security.corpus import SAMPLE_PNG, SIIM
from tests.security.hostile_images import radiograph

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(180)]

SEED = 20261130
MUTANTS_PER_FILE = 60
TIME_LIMIT_S = 90
HEADER_BYTES = 2048  # where most mutations land: the headers the decoders trust
INTERESTING = [0, 1, 2, 7, 8, 255, 256, 4096, 32767, 32768, 65500, 65535, 65536, 2**31 - 1,
               2**32 - 1]


def seed_files() -> dict[str, bytes]:
    xray = Image.open(SAMPLE_PNG).convert("L")
    jpeg = io.BytesIO()
    xray.save(jpeg, format="JPEG", quality=90)
    pixels = np.asarray(xray.resize((256, 256)), dtype=np.uint16) * 16
    voi, modality = Dataset(), Dataset()
    voi.LUTDescriptor = [4096, 0, 16]
    voi.add_new("LUTData", "US", list(range(4095, -1, -1)))
    modality.LUTDescriptor, modality.ModalityLUTType = [4096, 0, 16], "US"
    modality.add_new("LUTData", "US", list(range(4096)))
    with_luts = radiograph(256, 256, VOILUTSequence=[voi], ModalityLUTSequence=[modality])
    with_luts = with_luts[: len(with_luts) - pixels.nbytes] + pixels.tobytes()
    return {"png": SAMPLE_PNG.read_bytes(), "jpg": jpeg.getvalue(), "dcm": SIIM.read_bytes(),
            "lut.dcm": with_luts}


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, at = [], 8
    while at + 12 <= len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        chunks.append((data[at + 4:at + 8], data[at + 8:at + 8 + length]))
        at += 12 + length
    return chunks


def png_of(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(body)) + kind + body
        + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF) for kind, body in chunks)


def png_mutant(original: bytes, rng: random.Random) -> bytes:
    """Chunks changed with their checksums made right, so the decoder parses what it gets."""
    chunks = png_chunks(original)
    at = rng.randrange(len(chunks))
    kind, body = chunks[at]
    if rng.random() < 0.5 and body:
        body = bytearray(body)
        where = rng.randrange(len(body))
        body[where:where + 4] = rng.choice(INTERESTING).to_bytes(4, "big")[-rng.randint(1, 4):]
        chunks[at] = (kind, bytes(body))
    else:
        kind = rng.choice([b"tEXt", b"zTXt", b"iTXt", b"iCCP", b"sBIT", b"pHYs", b"tRNS",
                           b"PLTE", b"gAMA", b"eXIf", b"acTL", b"fcTL"])
        body = rng.randbytes(rng.randint(0, 64))
        if kind in (b"zTXt", b"iCCP"):
            body = b"k\0\0" + zlib.compress(rng.randbytes(rng.randint(0, 256)))
        chunks.insert(rng.randint(1, len(chunks) - 1), (kind, body))
    return png_of(chunks)


def dicom_vr_mutant(original: bytes, rng: random.Random) -> bytes:
    """An element's explicit VR changed to another two letters."""
    data = bytearray(original)
    vr_at = [at for at in range(132, min(len(data), 4096) - 2)
             if data[at:at + 2].isalpha() and data[at:at + 2].isupper()]
    at = rng.choice(vr_at)
    data[at:at + 2] = bytes(rng.choice(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(2))
    return bytes(data)


def mutant(original: bytes, rng: random.Random) -> bytes:
    if original.startswith(b"\x89PNG") and rng.random() < 0.5:
        return png_mutant(original, rng)
    if original[128:132] == b"DICM" and rng.random() < 0.3:
        return dicom_vr_mutant(original, rng)
    data = bytearray(original)
    for _ in range(rng.randint(1, 4)):
        where = rng.randrange(min(len(data), HEADER_BYTES) if rng.random() < 0.7 else len(data))
        kind = rng.choice(["flip", "bytes", "number", "cut", "splice", "insert"])
        if kind == "flip":
            data[where] ^= 1 << rng.randrange(8)
        elif kind == "bytes":
            data[where:where + rng.randint(1, 8)] = rng.randbytes(rng.randint(1, 8))
        elif kind == "number":
            size, order = rng.choice([2, 4]), rng.choice(["big", "little"])
            value = rng.choice(INTERESTING) % (1 << (8 * size))
            data[where:where + size] = value.to_bytes(size, order)
        elif kind == "cut":
            del data[rng.randrange(where, len(data)):]
        elif kind == "splice":
            start = rng.randrange(len(data))
            data[where:where] = data[start:start + rng.randint(1, 512)]
        else:
            data[where:where] = rng.randbytes(rng.randint(1, 64))
        if not data:
            data = bytearray(b"\0")
    return bytes(data)


def test_mutated_uploads_never_get_a_500_and_accepted_ones_are_whole(client, clinician,
                                                                     model_server,
                                                                     study_storage):
    client.force_login(clinician)
    client.raise_request_exception = False
    rng = random.Random(SEED)
    started = time.monotonic()
    answers, server_errors, unexplained = {}, [], []
    for extension, original in seed_files().items():
        for number in range(MUTANTS_PER_FILE):
            name = f"mutant-{number:03d}.{extension}"
            content = mutant(original, rng)
            response = client.post(reverse("study-upload"), {
                "image": SimpleUploadedFile(name, content, "application/octet-stream")})
            answers[name] = response.status_code
            if response.status_code >= 500:
                server_errors.append(name)
            elif response.status_code == 400 and f"{name}: " not in response.content.decode():
                unexplained.append(name)
    elapsed = time.monotonic() - started

    assert server_errors == [], f"500 for {server_errors} (seed {SEED})"
    assert unexplained == [], f"refused without a reason: {unexplained} (seed {SEED})"
    assert set(answers.values()) <= {200, 302, 400}
    accepted = Study.objects.all()
    assert accepted.count() == list(answers.values()).count(302)
    assert 0 < accepted.count() < len(answers)  # the fuzzing reached both sides
    files = sorted(path.name for path in study_storage.rglob("*") if path.is_file())
    assert len(files) == 2 * accepted.count()  # no refused upload left a file behind
    for study in accepted:
        assert study.status == Study.Status.QUEUED and study.resized_image.name
        services.study_diagnose(study_id=study.pk)
        study.refresh_from_db()
        assert study.status == Study.Status.DONE or (
            study.status == Study.Status.FAILED and study.failure_reason), study.original_filename
    assert elapsed < TIME_LIMIT_S, f"{len(answers)} uploads took {elapsed:.0f} s"
