"""A DICOM chest radiograph -> an 8-bit image for CheXNet's preprocessing, and the study's facts.

Pixels: decode (JPEG baseline and lossless, JPEG-LS, JPEG 2000 and RLE through the pylibjpeg
plugins), Modality LUT (rescale), then the VOI LUT or the first window (the data's own min..max when
the file has neither), scaled by that transform's output range to 0..255; MONOCHROME1 is inverted
last. Only single-frame CR and DX images are accepted.

Untrusted files: the header is read without the pixel data and checked against the image budget
(Rows, Columns, SamplesPerPixel, NumberOfFrames; the windowing works in float64, 8 bytes a sample)
before any pixel is decoded. Deflated Explicit VR Little Endian is refused from the file meta alone,
before pydicom would inflate the whole data set in memory: a 1 MB file can hold a 1 GiB element.
Whatever pydicom, a codec or a LUT raises becomes a DicomError.

Patient identifiers: DicomStudy carries them for the app to store but leaves them out of its repr;
no DicomError quotes an element value or shows a pydicom exception (their messages may quote
values). pydicom validates a value when it is first read, and only numbers (DS, IS); the only
numbers read here are the image's own (frames, window, rescale), never the patient's.
"""

import io
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.filereader import _read_file_meta_info, read_preamble
from pydicom.pixels import apply_modality_lut, apply_voi, apply_windowing
from pydicom.encaps import generate_frames
from pydicom.uid import (
    RLELossless,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from inference.imaging.budget import IMAGE_BUDGET, ImageBudget, ImageOverBudget
from inference.imaging.preprocessing import ImageError, UnsupportedImage

ACCEPTED_MODALITIES = ("CR", "DX")
_GRAYSCALE = ("MONOCHROME1", "MONOCHROME2")
_COLOUR = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT")
_CODE_STRING = re.compile(r"[A-Z0-9_ ]{1,16}")
_RECOGNISED = ("SOPClassUID", "Modality", "Rows")
# The header's text kept with a study, and the most characters each may have: DICOM's own limits
# (LO and UI 64, CS 16), the accession number allowed 64 as PACS send longer ones than SH's 16.
# The study's columns are as wide (diagnoses/models.py takes these); a longer value is refused.
HEADER_TEXT_MAX_CHARS = {
    "PatientID": 64,
    "AccessionNumber": 64,
    "StudyInstanceUID": 64,
    "ViewPosition": 16,
    "Modality": 16,
    "SeriesInstanceUID": 64,
    "SOPInstanceUID": 64,
    "SOPClassUID": 64,
    "BodyPartExamined": 16,
}
# What a DICOM node (C-STORE, STOW-RS) may send us: single-frame chest radiographs, in the transfer
# syntaxes pydicom and the pylibjpeg plugins decode.
ACCEPTED_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.1": "CR Image Storage",
    "1.2.840.10008.5.1.4.1.1.1.1": "Digital X-Ray Image Storage - For Presentation",
    "1.2.840.10008.5.1.4.1.1.1.1.1": "Digital X-Ray Image Storage - For Processing",
}
ACCEPTED_TRANSFER_SYNTAXES = (
    "1.2.840.10008.1.2",  # Implicit VR Little Endian
    "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline (Process 1)
    "1.2.840.10008.1.2.4.57",  # JPEG Lossless (Process 14)
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.5",  # RLE Lossless
)
_WORKING_BYTES_PER_SAMPLE = 8  # the Modality LUT and the window are applied in float64


class DicomError(ImageError):
    """The upload is not a DICOM chest radiograph we can read. Never quotes patient data."""


class DicomOverBudget(DicomError, ImageOverBudget):
    """The header asks for more than the image budget allows."""


class UnsupportedDicom(DicomError, UnsupportedImage):
    """A transfer syntax that is not accepted (deflated data sets)."""


class UnacceptedSopClass(DicomError):
    """A DICOM node sent an instance of a SOP class other than ACCEPTED_SOP_CLASSES."""


@dataclass(frozen=True)
class DicomStudy:
    image: Image.Image  # 'L' (8-bit, 0 = black as displayed) or 'RGB'
    patient_id: str = field(repr=False)
    study_instance_uid: str = field(repr=False)
    accession_number: str = field(repr=False)
    study_date: date | None = field(repr=False)
    view_position: str
    modality: str
    photometric_interpretation: str
    bits_stored: int
    # What the intended-use rules read (inference/imaging/intended_use.py).
    body_part_examined: str = ""
    patient_age: str = field(default="", repr=False)  # as the header has it (AS: 012Y), or ""
    patient_birth_date: date | None = field(default=None, repr=False)


@dataclass(frozen=True)
class DicomInstance:
    """Who a DICOM instance is, from its header alone (the pixels are not read)."""

    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str = field(repr=False)
    body_part_examined: str


def read_dicom_instance(data: bytes) -> DicomInstance:
    """The identity of an instance a DICOM node sent, read without its pixel data; DicomError
    unless it is one of ACCEPTED_SOP_CLASSES with a SOP Instance UID."""
    if not is_dicom(data):
        raise DicomError("not a DICOM file: no 'DICM' marker and no DICOM data set")
    if _is_deflated(data):
        raise UnsupportedDicom("deflated DICOM (Deflated Explicit VR Little Endian) is not "
                               "accepted")
    try:
        dataset = pydicom.dcmread(io.BytesIO(data), force=True, stop_before_pixels=True)
        instance = DicomInstance(
            sop_class_uid=_header_text(dataset, "SOPClassUID"),
            sop_instance_uid=_header_text(dataset, "SOPInstanceUID"),
            series_instance_uid=_header_text(dataset, "SeriesInstanceUID"),
            study_instance_uid=_header_text(dataset, "StudyInstanceUID"),
            body_part_examined=_header_text(dataset, "BodyPartExamined"),
        )
    except DicomError:
        raise
    except Exception as error:
        raise DicomError(f"not a readable DICOM file: {_problem(error)}") from None
    if instance.sop_class_uid not in ACCEPTED_SOP_CLASSES:
        raise UnacceptedSopClass("the SOP class is not accepted: only "
                         + ", ".join(ACCEPTED_SOP_CLASSES.values()))
    if not instance.sop_instance_uid:
        raise DicomError("the instance has no SOP Instance UID")
    return instance


def is_dicom(data: bytes) -> bool:
    """True for a DICOM file: 'DICM' at byte 128, or a bare data set that pydicom can parse."""
    if data[128:132] == b"DICM" or _is_deflated(data):
        return True
    try:
        dataset = pydicom.dcmread(io.BytesIO(data), force=True, stop_before_pixels=True)
        return any(keyword in dataset for keyword in _RECOGNISED)
    except Exception:  # anything pydicom cannot parse is not DICOM to us
        return False


def read_dicom(source: bytes | Path, *, budget: ImageBudget = IMAGE_BUDGET) -> DicomStudy:
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if not is_dicom(data):
        raise DicomError("not a DICOM file: no 'DICM' marker and no DICOM data set")
    if _is_deflated(data):
        raise UnsupportedDicom(
            "deflated DICOM (Deflated Explicit VR Little Endian) is not accepted: send the file "
            "uncompressed or with a JPEG, JPEG-LS, JPEG 2000 or RLE transfer syntax"
        )
    dataset = _dataset(data)  # the pixel data as stored, at most the file's size: not decoded
    _check_is_one_radiograph(dataset, budget)
    _check_complete(dataset)
    try:
        return _study(dataset)
    except DicomError:
        raise
    except MemoryError:
        raise DicomOverBudget("image too large to decode: it ran out of memory") from None
    except Exception as error:  # a bad LUT, VR or value: never quote its message (patient data)
        raise DicomError(f"not a readable DICOM file: {_problem(error)}") from None


def _study(dataset: Dataset) -> DicomStudy:
    return DicomStudy(
        image=_display_image(_decoded(dataset), dataset),
        patient_id=_header_text(dataset, "PatientID"),
        study_instance_uid=_header_text(dataset, "StudyInstanceUID"),
        accession_number=_header_text(dataset, "AccessionNumber"),
        study_date=_date(dataset.get("StudyDate")),
        view_position=_header_text(dataset, "ViewPosition"),
        modality=_header_text(dataset, "Modality"),
        photometric_interpretation=str(dataset.PhotometricInterpretation),
        bits_stored=int(dataset.BitsStored),
        body_part_examined=_header_text(dataset, "BodyPartExamined"),
        patient_age=_patient_age(dataset),
        patient_birth_date=_date(dataset.get("PatientBirthDate")),
    )


def _patient_age(dataset: Dataset) -> str:
    """PatientAge (AS, four characters such as 012Y) as text; "" when absent or longer than an
    age can be written (it is then read as unknown, not refused)."""
    value = dataset.get("PatientAge")
    text = "" if value is None or isinstance(value, MultiValue) else str(value).strip()
    return text if len(text) <= 8 else ""


def _header_text(dataset: Dataset, keyword: str) -> str:
    """A header value as the file has it: several values (a backslash in the text) joined by
    backslashes again, not a Python list; refused when longer than the study can keep."""
    value = dataset.get(keyword)
    if value is None:
        return ""
    text = "\\".join(map(str, value)) if isinstance(value, MultiValue) else str(value)
    limit = HEADER_TEXT_MAX_CHARS[keyword]
    if len(text) > limit:
        raise DicomError(f"{keyword} is longer than {limit} characters")
    return text


def _is_deflated(data: bytes) -> bool:
    """From the file meta alone (pydicom's own reader of it), before anything is inflated."""
    fp = io.BytesIO(data)
    try:
        read_preamble(fp, True)
        meta = _read_file_meta_info(fp)
        return meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian
    except Exception:  # no readable file meta: nothing that pydicom would inflate
        return False


def _problem(error: Exception) -> str:
    """What went wrong, by the kind of error only: pydicom's messages may quote values."""
    if isinstance(error, NotImplementedError):
        return "an element has an unknown or unsupported value representation"
    return f"malformed ({type(error).__name__})"


def _dataset(data: bytes) -> Dataset:
    try:
        dataset = pydicom.dcmread(io.BytesIO(data), force=True)
    except Exception as error:
        raise DicomError(f"not a readable DICOM file: {_problem(error)}") from None
    if len(dataset) == 0:
        raise DicomError("not a readable DICOM file: malformed or truncated, no element was read")
    if "TransferSyntaxUID" not in dataset.file_meta:  # a bare data set: take what pydicom found
        implicit, little_endian = dataset.original_encoding
        dataset.file_meta.TransferSyntaxUID = (
            ImplicitVRLittleEndian if implicit
            else ExplicitVRLittleEndian if little_endian
            else ExplicitVRBigEndian
        )
    return dataset


def _check_is_one_radiograph(dataset: Dataset, budget: ImageBudget) -> None:
    """Checked from the header, before the pixels are decoded."""
    try:
        _check_header(dataset, budget)
    except DicomError:
        raise
    except Exception as error:  # a bad VR or value among the elements checked
        raise DicomError(f"not a readable DICOM file: {_problem(error)}") from None


def _check_header(dataset: Dataset, budget: ImageBudget) -> None:
    if "PixelData" not in dataset:
        raise DicomError(
            "the DICOM file holds no image (no Pixel Data): it may be a report or a truncated file"
        )
    modality = str(dataset.get("Modality", "")).strip().upper()
    if modality not in ACCEPTED_MODALITIES:
        raise DicomError(
            f"{_modality_images(modality)} are not chest radiographs; "
            f"only {' and '.join(ACCEPTED_MODALITIES)} are accepted"
        )
    try:
        frames = int(dataset.get("NumberOfFrames") or 1)
        rows, columns = int(dataset.Rows), int(dataset.Columns)
        samples = int(dataset.get("SamplesPerPixel") or 1)
        bits_stored, photometric = int(dataset.BitsStored), str(dataset.PhotometricInterpretation)
    except (AttributeError, TypeError, ValueError):
        raise DicomError("not a readable DICOM file: image size or pixel format missing") from None
    if frames > 1:
        raise DicomError(f"multi-frame DICOM ({frames} frames): upload a single radiograph")
    try:
        budget.check(columns, rows, samples=samples, bytes_per_sample=_WORKING_BYTES_PER_SAMPLE)
    except ImageOverBudget as over:
        raise DicomOverBudget(str(over)) from None
    except ImageError as refused:
        raise DicomError(str(refused)) from None
    if photometric not in _GRAYSCALE + _COLOUR or not 1 <= bits_stored <= 32:
        raise DicomError(f"unsupported DICOM pixel format: {photometric[:16]}, {bits_stored} bits")


def _check_complete(dataset: Dataset) -> None:
    """A JPEG, JPEG-LS or JPEG 2000 image ends with its end marker (FFD9, then at most a padding
    byte or two, as encoders write them): without it the image was cut off, and decoders fill the
    rest in grey without a word."""
    syntax = dataset.file_meta.TransferSyntaxUID
    if not syntax.is_encapsulated or syntax == RLELossless:
        return
    try:
        frame = next(generate_frames(dataset.PixelData, number_of_frames=1))
    except Exception:
        raise DicomError("the DICOM pixel data could not be decoded: its fragments are "
                         "malformed") from None
    if b"\xff\xd9" not in frame[-4:]:
        raise DicomError(f"the DICOM pixel data could not be decoded ({syntax.name}): the "
                         "compressed image has no end marker, it was cut off (a truncated file)")


def _modality_images(modality: str) -> str:
    if not modality:
        return "images without a Modality"
    return f"{modality} images" if _CODE_STRING.fullmatch(modality) else "images of this modality"


def _decoded(dataset: Dataset) -> np.ndarray:
    syntax = dataset.file_meta.TransferSyntaxUID
    try:
        return dataset.pixel_array  # colour arrives as RGB
    except MemoryError:
        raise DicomOverBudget("image too large to decode: it ran out of memory") from None
    except Exception as error:  # codec and plugin messages are technical, never patient data
        raise DicomError(
            f"the DICOM pixel data could not be decoded ({syntax.name}): {error}"
        ) from None


def _display_image(pixels: np.ndarray, dataset: Dataset) -> Image.Image:
    colour = dataset.PhotometricInterpretation in _COLOUR
    if pixels.shape[2:] != ((3,) if colour else ()) or pixels.ndim != 2 + colour:
        raise DicomError(f"unexpected DICOM pixel array of shape {list(pixels.shape)}")
    if colour:
        unit = pixels.astype(np.float64) / (2 ** int(dataset.BitsStored) - 1)
    else:
        unit = _values_of_interest(_modality_values(pixels, dataset), dataset)
        if dataset.PhotometricInterpretation == "MONOCHROME1":
            unit = 1.0 - unit
    return Image.fromarray(_eight_bit(unit))  # 2-D uint8 -> 'L', [H, W, 3] uint8 -> 'RGB'


def _modality_values(pixels: np.ndarray, dataset: Dataset) -> np.ndarray:
    """The Modality LUT or rescale: without it the stored values mean nothing, so a broken one
    (an empty sequence item, a LUT that disagrees with its data) refuses the file."""
    try:
        return apply_modality_lut(pixels, dataset)
    except MemoryError:
        raise
    except Exception as error:
        raise DicomError(
            f"the DICOM Modality LUT or rescale cannot be applied ({type(error).__name__}): "
            "its sequence item is empty or disagrees with the pixel data"
        ) from None


def _values_of_interest(values: np.ndarray, dataset: Dataset) -> np.ndarray:
    """The VOI LUT or first window, scaled by its output range to 0..1; min..max without one."""
    try:
        if _has_voi_lut(dataset):
            entries, first, _ = dataset.VOILUTSequence[0].LUTDescriptor
            all_inputs = np.arange(first, first + (entries or 65536))
            shown = apply_voi(np.rint(values).astype(np.int64), dataset)
            outputs = apply_voi(all_inputs, dataset)
        elif dataset.get("WindowCenter") is not None and dataset.get("WindowWidth") is not None:
            shown = apply_windowing(values, dataset)
            outputs = apply_windowing(np.array([-np.inf, np.inf]), dataset)
        else:
            shown = outputs = values
    except MemoryError:
        raise
    except Exception:  # an unusable VOI (disagrees with the data, empty): show the data's range
        shown = outputs = values
    low, high = float(np.min(outputs)), float(np.max(outputs))
    if high <= low:
        return np.zeros(values.shape)
    return np.clip((shown.astype(np.float64) - low) / (high - low), 0.0, 1.0)


def _has_voi_lut(dataset: Dataset) -> bool:
    sequence = dataset.get("VOILUTSequence")
    return bool(sequence) and "LUTDescriptor" in sequence[0] and "LUTData" in sequence[0]


def _eight_bit(unit: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(unit, 0.0, 1.0) * 255.0).astype(np.uint8)


def _date(value: object) -> date | None:
    digits = str(value or "").strip().replace(".", "")
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None
