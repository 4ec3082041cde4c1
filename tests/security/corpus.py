"""Hostile and odd uploads, built in memory: each with what ChexWeb must answer."""

import io
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tests.shared import SAMPLES

SAMPLE_PNG = SAMPLES / "nih512_00027426_000.png"
SIIM = SAMPLES / "siim_1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"


@dataclass(frozen=True)
class Upload:
    name: str
    content: bytes
    refusal: str | None  # a word of the expected error message; None: a valid image


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def decompression_bomb(side: int = 30_000) -> bytes:
    """A PNG whose header claims side x side pixels, with a few bytes of data."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + _png_chunk(b"IEND", b""))


def _saved(image: Image.Image, image_format: str, **options) -> bytes:
    output = io.BytesIO()
    image.save(output, format=image_format, **options)
    return output.getvalue()


def _xray(mode: str = "L") -> Image.Image:
    return Image.open(SAMPLE_PNG).convert(mode)


def sixteen_bit_png() -> bytes:
    pixels = np.asarray(_xray(), dtype=np.uint16) * 257
    return _saved(Image.fromarray(pixels), "PNG")


def animated_gif() -> bytes:
    frames = [_xray().resize((256, 256)), _xray().resize((256, 256)).rotate(10)]
    return _saved(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


def dicom_without_pixel_data() -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.Modality = "CR"
    dataset.PatientID = "NO-PIXELS-0001"
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    output = io.BytesIO()
    dataset.save_as(output, enforce_file_format=True)
    return output.getvalue()


def corpus() -> list[Upload]:
    png = SAMPLE_PNG.read_bytes()
    return [
        Upload("empty.png", b"", "empty"),
        Upload("truncated.png", png[: len(png) // 3], "not a readable image"),
        Upload("bomb.png", decompression_bomb(), "too large"),
        Upload("notes.png", b"Patient reports a cough for three weeks.\n", "not a readable image"),
        Upload("report.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
               "not a readable image"),
        Upload("xray.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script>'
               b"</svg>", "not a readable image"),
        Upload("xray.html", b"<html><body><script>alert(document.cookie)</script></body></html>",
               "not a readable image"),
        Upload("animated.gif", animated_gif(), "not accepted"),
        Upload("no-pixels.dcm", dicom_without_pixel_data(), "holds no image"),
        Upload("ct.dcm", open(get_testdata_file("CT_small.dcm"), "rb").read(), "CT"),
        Upload("malformed.dcm", SIIM.read_bytes()[:1500], "DICOM"),
        Upload("sixteen-bit.png", sixteen_bit_png(), None),
        Upload("rgba.png", _saved(_xray("RGBA"), "PNG"), None),
        Upload("cmyk.jpg", _saved(_xray("CMYK"), "JPEG"), None),
    ]


def refused() -> list[Upload]:
    return [upload for upload in corpus() if upload.refusal]


def odd_but_valid() -> list[Upload]:
    return [upload for upload in corpus() if not upload.refusal]
