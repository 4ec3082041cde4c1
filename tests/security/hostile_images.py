"""Hostile images built in memory, none larger than a few MB: thin shapes, lying headers, a
deflate bomb, broken chunks and LUTs. Each comes with a word of the refusal it must get."""

import functools
import io
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, PngImagePlugin
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import (
    ComputedRadiographyImageStorage,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    generate_uid,
)

from tests.security.corpus import SAMPLE_PNG, _png_chunk

BOMB_ELEMENT_BYTES = 1 << 30  # the inflated size of the deflate bomb's one element


@dataclass(frozen=True)
class Hostile:
    name: str
    content: bytes
    refusal: str  # a word of the expected error message
    status: int  # the API's answer


def _saved(image: Image.Image, image_format: str, **options) -> bytes:
    output = io.BytesIO()
    image.save(output, format=image_format, **options)
    return output.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG header declaring WIDTH x HEIGHT, with a few bytes of data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _png_chunk(b"IEND", b""))


def radiograph(rows: int, columns: int, **elements) -> bytes:
    """An uncompressed 12-bit CR image of ROWS x COLUMNS zeros, with ELEMENTS set."""
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.SOPClassUID = ComputedRadiographyImageStorage
    dataset.SOPInstanceUID = generate_uid()
    dataset.Modality = "CR"
    dataset.PatientID = "HOSTILE-0001"
    dataset.Rows, dataset.Columns = rows, columns
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 16, 12, 11
    dataset.PixelRepresentation = 0
    for keyword, value in elements.items():
        setattr(dataset, keyword, value)
    dataset.PixelData = np.arange(rows * columns, dtype=np.uint16).__mod__(4096).tobytes()
    output = io.BytesIO()
    dataset.save_as(output, enforce_file_format=True)
    return output.getvalue()


def deflate_bomb(element_bytes: int = BOMB_ELEMENT_BYTES) -> bytes:
    """A Deflated Explicit VR Little Endian CR file whose one private OB element inflates to
    ELEMENT_BYTES, followed by a small image. Built a MB at a time, never inflated here."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ComputedRadiographyImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    head = DicomBytesIO()
    head.is_little_endian, head.is_implicit_VR = True, False
    head.write(b"\0" * 128 + b"DICM")
    write_file_meta_info(head, meta, enforce_standard=True)
    creator = b"CHEXWEB TEST"
    body = (struct.pack("<HH2sH", 0x0008, 0x0060, b"CS", 2) + b"CR"
            + struct.pack("<HH2sH", 0x0009, 0x0010, b"LO", len(creator)) + creator
            + struct.pack("<HH2sHI", 0x0009, 0x1010, b"OB", 0, element_bytes))
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    parts, megabyte = [deflater.compress(body)], bytes(1 << 20)
    for _ in range(element_bytes >> 20):
        parts.append(deflater.compress(megabyte))
    parts.append(deflater.flush())
    return head.getvalue() + b"".join(parts)


def _broken_png_crc() -> bytes:
    png = bytearray(SAMPLE_PNG.read_bytes())
    png[29] ^= 0xFF  # the IHDR chunk's checksum
    return bytes(png)


def _broken_png_data() -> bytes:
    png = bytearray(SAMPLE_PNG.read_bytes())
    start = png.find(b"IDAT") + 4
    png[start + 16:start + 48] = b"\xff" * 32
    return bytes(png)


def _oversized_text_chunk() -> bytes:
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "x" * (4 << 20), zip=True)  # 4 MiB of text in a few KB
    return _saved(Image.open(SAMPLE_PNG), "PNG", pnginfo=text)


def _empty_modality_lut() -> bytes:
    return radiograph(256, 256, ModalityLUTSequence=[Dataset()])


def _unknown_vr() -> bytes:
    data = bytearray(radiograph(256, 256))
    at = data.find(b"\x10\x00\x20\x00LO")  # PatientID, explicit VR
    data[at + 4:at + 6] = b"ZZ"
    return bytes(data)


@functools.cache
def hostile_images() -> list[Hostile]:
    return [
        Hostile("thin.jpg", _saved(Image.new("L", (1, 65500), 128), "JPEG"), "too thin", 413),
        Hostile("tall-header.png", png_claiming(1, 49_000_000), "too thin", 413),
        Hostile("huge-header.png", png_claiming(60_000, 60_000), "too large", 413),
        Hostile("thin.dcm", radiograph(1, 65535), "too thin", 413),
        Hostile("deflate-bomb.dcm", deflate_bomb(), "deflated DICOM", 415),
        Hostile("broken-crc.png", _broken_png_crc(), "corrupt PNG", 400),
        Hostile("broken-data.png", _broken_png_data(), "corrupt PNG", 400),
        Hostile("oversized-text.png", _oversized_text_chunk(), "MAX_TEXT_CHUNK", 400),
        Hostile("empty-modality-lut.dcm", _empty_modality_lut(), "Modality LUT", 400),
        Hostile("unknown-vr.dcm", _unknown_vr(), "unknown or unsupported value representation",
                400),
    ]


def voi_lut_disagreeing_with_data() -> bytes:
    """A VOI LUT of 4096 entries holding 3: shown with the data's own range instead."""
    lut = Dataset()
    lut.LUTDescriptor = [4096, 0, 16]
    lut.add_new("LUTData", "US", [1, 2, 3])
    return radiograph(256, 256, VOILUTSequence=[lut])
