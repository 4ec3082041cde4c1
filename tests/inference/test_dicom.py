"""DICOM chest radiographs: decoded, windowed and inverted as a viewer shows them; the rest is
refused without ever quoting patient data."""

import io
import logging
import traceback
from datetime import date
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import DigitalXRayImageStorageForPresentation, ExplicitVRLittleEndian, generate_uid

from inference.imaging.budget import ImageBudget
from inference.imaging.dicom import DicomError, is_dicom, read_dicom
from inference.imaging.preprocessing import ImageError
from tests.shared import SAMPLES, needs

SIIM = next(SAMPLES.glob("siim_*.dcm"), SAMPLES / "siim_*.dcm")
SIIM_MONOCHROME1 = SAMPLES / "txv_Fake_MONOHR1.dcm"
NO_SAMPLES = needs(SIIM)
PATIENT_ID = "PHI-PATIENT-4711"
PATIENT_NAME = "Doe^Jane^PHI"
STUDY_DATE = "20240229"


def pydicom_file(name: str) -> Path:
    path = get_testdata_file(name, download=False)  # no network: pydicom's own or pydicom-data's
    if path is None:
        pytest.skip(f"{name} is not in pydicom's or pydicom-data's test files")
    return Path(path)


def dicom_bytes(dataset: Dataset) -> bytes:
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def as_radiograph(path: Path, **elements: object) -> bytes:
    """A pydicom test file retagged as DX (the decoders do not care), with ELEMENTS set."""
    dataset = pydicom.dcmread(path)
    dataset.Modality = "DX"
    for keyword, value in elements.items():
        setattr(dataset, keyword, value)
    return dicom_bytes(dataset)


def with_patient_data(path: Path, **elements: object) -> bytes:
    patient = {"PatientID": PATIENT_ID, "PatientName": PATIENT_NAME, "StudyDate": STUDY_DATE,
               "PatientBirthDate": "19700101"}
    return as_radiograph(path, **(patient | elements))


def synthetic_radiograph(pixels: np.ndarray, **elements: object) -> bytes:
    """An uncompressed single-frame DX image of PIXELS (uint16 or int16), with ELEMENTS set."""
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.SOPClassUID = DigitalXRayImageStorageForPresentation
    dataset.SOPInstanceUID = generate_uid()
    dataset.Modality = "DX"
    dataset.PatientID = PATIENT_ID
    dataset.Rows, dataset.Columns = pixels.shape
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 16, 16, 15
    dataset.PixelRepresentation = int(pixels.dtype == np.int16)
    for keyword, value in elements.items():
        setattr(dataset, keyword, value)
    dataset.PixelData = pixels.tobytes()
    return dicom_bytes(dataset)


def pixels(source: bytes | Path) -> np.ndarray:
    return np.asarray(read_dicom(source).image)


def raw_pixels(path: Path) -> np.ndarray:
    return pydicom.dcmread(path).pixel_array


@NO_SAMPLES
def test_the_siim_jpeg_baseline_sample_decodes_with_its_study_facts() -> None:
    study = read_dicom(SIIM.read_bytes())

    assert study.image.mode == "L" and study.image.size == (1024, 1024)
    assert np.array_equal(np.asarray(study.image), raw_pixels(SIIM))  # 8 bits, 0..255: unchanged
    assert study.patient_id == "16d7f894-55d7-4d95-8957-d18987f0e981"
    assert study.study_instance_uid == "1.2.276.0.7230010.3.1.2.8323329.6904.1517875201.850818"
    assert study.accession_number == ""
    assert study.study_date == date(1901, 1, 1)
    assert (study.modality, study.view_position) == ("CR", "PA")
    assert (study.photometric_interpretation, study.bits_stored) == ("MONOCHROME2", 8)


@NO_SAMPLES
def test_a_path_reads_like_bytes() -> None:
    assert np.array_equal(pixels(SIIM), pixels(SIIM.read_bytes()))


@NO_SAMPLES
def test_the_monochrome1_twin_is_shown_inverted() -> None:
    assert read_dicom(SIIM_MONOCHROME1).photometric_interpretation == "MONOCHROME1"
    assert np.array_equal(pixels(SIIM_MONOCHROME1), 255 - pixels(SIIM))


def test_a_15_bit_monochrome1_radiograph_is_windowed_to_8_bits_and_inverted() -> None:
    path = pydicom_file("RG1_UNCR.dcm")
    raw = raw_pixels(path).astype(np.float64)  # 874..26479 of 0..32767; window 15000/30000

    study = read_dicom(path)

    shown = np.asarray(study.image)
    # PS3.3 C.11.2.1.2.1 linear window onto 0..255, then MONOCHROME1 inverted
    windowed = np.clip((raw - (15000 - 0.5)) / (30000 - 1) + 0.5, 0, 1) * 255
    assert (study.bits_stored, study.photometric_interpretation) == (15, "MONOCHROME1")
    assert np.abs(shown.astype(np.float64) - (255 - windowed)).max() <= 0.5 + 1e-9
    assert int(shown.max()) - int(shown.min()) > 200  # not squeezed into the 8-bit range's bottom
    assert np.corrcoef(shown.ravel()[::97], raw.ravel()[::97])[0, 1] < -0.99


@pytest.mark.parametrize(
    ("compressed", "reference"),
    [
        ("RG1_J2KR.dcm", "RG1_UNCR.dcm"),  # JPEG 2000 lossless, 15-bit CR
        ("RG3_J2KR.dcm", "RG3_UNCR.dcm"),  # JPEG 2000 lossless, 10-bit CR
        ("RG1_J2KI.dcm", "RG1_UNCI.dcm"),  # JPEG 2000 lossy vs its decompressed reference
    ],
)
def test_jpeg_2000_radiographs_decode_like_their_uncompressed_references(
    compressed: str, reference: str
) -> None:
    assert np.array_equal(pixels(pydicom_file(compressed)), pixels(pydicom_file(reference)))


@pytest.mark.parametrize(
    ("compressed", "reference"),
    [
        ("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm"),  # JPEG-LS lossless, signed 16-bit
        ("MR_small_RLE.dcm", "MR_small.dcm"),  # RLE lossless
        ("SC_rgb_jpeg_gdcm.dcm", "SC_rgb.dcm"),  # JPEG lossless (process 14), RGB
        ("US1_J2KR.dcm", "US1_UNCR.dcm"),  # JPEG 2000 lossless, YBR_RCT colour
    ],
)
def test_lossless_codecs_decode_like_their_uncompressed_references(
    compressed: str, reference: str
) -> None:
    decoded = pixels(as_radiograph(pydicom_file(compressed)))

    assert np.array_equal(decoded, pixels(as_radiograph(pydicom_file(reference))))
    assert decoded.max() > decoded.min()


@pytest.mark.parametrize("name", ["JPGLosslessP14SV1_1s_1f_8b.dcm", "JPEG-LL.dcm"])
def test_jpeg_lossless_images_without_a_twin_decode_to_their_data_range(name: str) -> None:
    path = pydicom_file(name)
    raw = raw_pixels(path).astype(np.float64)

    shown = pixels(as_radiograph(path, WindowCenter=None, WindowWidth=None))

    expected = np.rint((raw - raw.min()) / (raw.max() - raw.min()) * 255)
    assert np.array_equal(shown, expected)


def test_without_a_window_the_data_range_fills_8_bits_at_any_depth() -> None:
    twelve_bit = np.linspace(100, 3000, 64 * 64).astype(np.uint16).reshape(64, 64)

    shown = pixels(synthetic_radiograph(twelve_bit, BitsStored=12, HighBit=11))

    assert (shown.min(), shown.max()) == (0, 255)
    assert np.all(np.diff(shown.ravel().astype(int)) >= 0)


def test_the_first_of_several_windows_is_used_after_the_rescale() -> None:
    stored = np.arange(0, 4096, dtype=np.uint16).reshape(64, 64)
    image = synthetic_radiograph(
        stored, BitsStored=12, HighBit=11, RescaleSlope=2, RescaleIntercept=-1000,
        WindowCenter=[1000, 5000], WindowWidth=[2000, 100],
    )

    shown = pixels(image).ravel()

    values = stored.ravel().astype(np.int64) * 2 - 1000  # the window is in rescaled units
    assert np.all(shown[values <= 0] == 0) and np.all(shown[values >= 2000] == 255)
    middle = (values > 100) & (values < 1900)
    assert np.abs(shown[middle] - (values[middle] - 0.5 + 0.5) / 1999 * 255).max() < 1.0


def test_a_voi_lut_is_scaled_by_its_own_output_range() -> None:
    stored = np.arange(0, 4096, dtype=np.uint16).reshape(64, 64)
    lut = Dataset()
    lut.LUTDescriptor = [4096, 0, 16]  # says 16 bits, holds 12: common in real files
    lut.add_new("LUTData", "US", list(range(4095, -1, -1)))  # an inverting LUT
    image = synthetic_radiograph(stored, BitsStored=12, HighBit=11, VOILUTSequence=[lut])

    shown = pixels(image).ravel()

    assert (shown[0], shown[-1]) == (255, 0)
    assert np.abs(shown - (4095 - stored.ravel()) / 4095 * 255).max() <= 0.5


def test_a_constant_image_is_black_rather_than_an_error() -> None:
    assert pixels(synthetic_radiograph(np.full((8, 8), 700, dtype=np.uint16))).max() == 0


def test_signed_pixels_are_read_as_signed() -> None:
    signed = np.linspace(-1000, 1000, 16 * 16).astype(np.int16).reshape(16, 16)

    shown = pixels(synthetic_radiograph(signed))

    assert (shown[0, 0], shown[-1, -1]) == (0, 255)


@NO_SAMPLES
def test_is_dicom_tells_dicom_from_raster_images_and_text() -> None:
    png = next(SAMPLES.glob("*.png")).read_bytes()

    assert is_dicom(SIIM.read_bytes()) and is_dicom(SIIM_MONOCHROME1.read_bytes())
    assert not any(is_dicom(data) for data in [png, b"hello, world\n" * 50, b"", b"\0" * 200])


def test_a_bare_data_set_without_preamble_or_file_meta_is_read() -> None:
    dataset = pydicom.dcmread(pydicom_file("MR_small.dcm"))
    dataset.Modality = "DX"
    dataset.preamble = None
    dataset.file_meta = FileMetaDataset()
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, dataset, implicit_vr=True, little_endian=True)
    bare = buffer.getvalue()

    assert bare[128:132] != b"DICM" and is_dicom(bare)
    assert read_dicom(bare).image.size == (64, 64)


# Refusals


def test_a_dicom_without_pixel_data_is_refused() -> None:
    dataset = pydicom.dcmread(pydicom_file("MR_small.dcm"))
    dataset.Modality = "CR"
    del dataset.PixelData

    with pytest.raises(DicomError, match="holds no image"):
        read_dicom(dicom_bytes(dataset))


def test_a_ct_image_is_refused_as_not_a_chest_radiograph() -> None:
    with pytest.raises(DicomError) as refused:
        read_dicom(pydicom_file("CT_small.dcm"))

    assert str(refused.value) == "CT images are not chest radiographs; only CR and DX are accepted"
    assert isinstance(refused.value, ImageError)


def test_a_dicom_without_modality_is_refused() -> None:
    with pytest.raises(DicomError, match="images without a Modality are not chest radiographs"):
        read_dicom(as_radiograph(pydicom_file("MR_small.dcm"), Modality=None))


def test_a_multi_frame_dicom_is_refused() -> None:
    with pytest.raises(DicomError, match=r"multi-frame DICOM \(10 frames\)"):
        read_dicom(as_radiograph(pydicom_file("emri_small_RLE.dcm")))


@NO_SAMPLES
def test_too_many_pixels_are_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_decode(dataset: Dataset) -> None:
        raise AssertionError("decoded an image over the pixel limit")

    monkeypatch.setattr("inference.imaging.dicom._decoded", must_not_decode)

    with pytest.raises(DicomError, match=r"too large to decode: 1024x1024 = 1,048,576 pixels"):
        read_dicom(SIIM, budget=ImageBudget(max_pixels=1_000_000))


@NO_SAMPLES
@pytest.mark.filterwarnings("ignore:End of file reached")
@pytest.mark.parametrize("length", [200, 1000, 63_000])
def test_a_truncated_compressed_file_is_refused(length: int) -> None:
    with pytest.raises(DicomError, match="truncated"):
        read_dicom(SIIM.read_bytes()[:length])


def test_truncated_uncompressed_pixel_data_is_refused() -> None:
    data = pydicom_file("RG3_UNCR.dcm").read_bytes()

    with pytest.raises(DicomError, match="pixel data could not be decoded"):
        read_dicom(data[: len(data) // 2])


@NO_SAMPLES
@pytest.mark.parametrize("data", [b"%PDF-1.7 not an image", b""], ids=["pdf", "empty"])
def test_something_else_is_refused_as_not_dicom(data: bytes) -> None:
    png = next(SAMPLES.glob("*.png")).read_bytes()

    for not_dicom in (data, png):
        with pytest.raises(DicomError, match="not a DICOM file"):
            read_dicom(not_dicom)


def refusals() -> dict[str, bytes]:
    """Files holding patient data that are refused, each for another reason."""
    mr = pydicom_file("MR_small.dcm")
    complete = with_patient_data(mr)
    no_pixels = pydicom.dcmread(io.BytesIO(complete))
    del no_pixels.PixelData
    return {
        "ct": with_patient_data(mr, Modality="CT"),
        "no pixel data": dicom_bytes(no_pixels),
        "multi-frame": with_patient_data(pydicom_file("emri_small_RLE.dcm")),
        "truncated pixels": complete[:-4000],
        "bad pixel format": with_patient_data(mr, PhotometricInterpretation="PALETTE COLOR"),
        "bad modality": with_patient_data(mr, Modality=PATIENT_ID[:16]),
    }


def test_no_refusal_quotes_patient_data(
    caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder
) -> None:
    secrets = (PATIENT_ID, PATIENT_NAME, "Doe", STUDY_DATE, "19700101")
    files = refusals()  # writing them warns about the odd values: that is the test's own doing
    caplog.clear()
    recwarn.clear()
    caplog.set_level(logging.DEBUG)
    for reason, data in files.items():
        with pytest.raises(DicomError) as refused:
            read_dicom(data)
        shown = "".join(traceback.format_exception(refused.value)) + repr(refused.value)
        assert not any(secret in shown for secret in secrets), reason
    logged = caplog.text + "".join(str(warning.message) for warning in recwarn)
    assert not any(secret in logged for secret in secrets)


def test_patient_data_stays_out_of_the_study_repr_warnings_and_logs(
    caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder
) -> None:
    malformed = with_patient_data(pydicom_file("MR_small.dcm"), StudyDate="PHI-2024-02-29x")
    caplog.clear()
    recwarn.clear()
    caplog.set_level(logging.DEBUG)

    study = read_dicom(malformed)

    assert study.patient_id == PATIENT_ID and study.study_date is None
    logged = caplog.text + "".join(str(warning.message) for warning in recwarn)
    assert not any(secret in repr(study) + logged for secret in (PATIENT_ID, "PHI-2024"))


@pytest.mark.parametrize("keyword, limit", [("PatientID", 64), ("AccessionNumber", 64),
                                            ("StudyInstanceUID", 64), ("ViewPosition", 16)])
def test_a_header_value_longer_than_a_study_keeps_is_refused(keyword: str, limit: int) -> None:
    pixels = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    assert getattr(read_dicom(synthetic_radiograph(pixels, **{keyword: "1" * limit})),
                   {"PatientID": "patient_id", "AccessionNumber": "accession_number",
                    "StudyInstanceUID": "study_instance_uid",
                    "ViewPosition": "view_position"}[keyword]) == "1" * limit
    with pytest.raises(DicomError, match=f"{keyword} is longer than {limit} characters"):
        read_dicom(synthetic_radiograph(pixels, **{keyword: "1" * (limit + 1)}))


def test_a_patient_id_with_a_backslash_is_kept_as_the_header_s_text() -> None:
    pixels = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    assert read_dicom(synthetic_radiograph(pixels, PatientID="HDR\\42")).patient_id == "HDR\\42"
