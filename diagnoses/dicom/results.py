"""A prediction as DICOM, for the PACS: a TID 1500 Comprehensive SR and a key image (Secondary
Capture), each in a new series of its own (a series has one modality) in the source study, made
with highdicom.

The SR has one measurement group per CheXNet finding: the probability (DCM 122157, unit 1), whether
it is at or over the model version's threshold (a qualitative evaluation, SCT Yes/No), the
algorithm identification (name, version = the ONNX sha256, the threshold) and the source image it
read. For weights that are not the verified published ones the statement that these are not
medical predictions is in every group's algorithm parameters (TID 4019 Algorithm Parameters).

UIDs are derived from the study and the prediction, so a re-send or a second download is the same
instance, never a duplicate in the PACS. Only studies received as DICOM have results as DICOM:
the results join the source study, whose patient and study attributes they copy.
"""

import io
import re

import highdicom as hd
import numpy as np
import pydicom
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from diagnoses import selectors
from diagnoses.intended_use import study_outside_intended_use
from diagnoses.models import Prediction, Study
from diagnoses.study_images import study_image_read
from inference.findings import FINDINGS
from inference.imaging.heatmaps import heatmap_layer

MANUFACTURER = "ChexWeb"
SR_SERIES_NUMBER, SC_SERIES_NUMBER = 9901, 9902
SERIES_DESCRIPTION = "ChexWeb AI result (CheXNet)"
CHEXNET_SCHEME = "99CHEXWEB"  # our private coding scheme: the finding names as the model has them
OVER_THRESHOLD = hd.sr.CodedConcept("OVER_THRESHOLD", CHEXNET_SCHEME,
                                    "At or over the model version's threshold")
PLAIN_CHEST_XRAY = hd.sr.CodedConcept("399208008", "SCT", "Plain chest X-ray")
NOT_FOR_DIAGNOSTIC_USE = "NOT FOR DIAGNOSTIC USE"
KEY_IMAGE_MAX_SIDE = 1024


class NoDicomSource(Exception):
    """The study was not received as DICOM (its results have no DICOM study to join), or it has
    no prediction yet."""


def finding_code(name: str) -> hd.sr.CodedConcept:
    return hd.sr.CodedConcept(name, CHEXNET_SCHEME, name.replace("_", " "))


def result_uids(prediction: Prediction) -> dict[str, str]:
    """The two series and two instances of this prediction's results, the same every time."""
    seed = [str(prediction.study_id), str(prediction.pk)]
    return {part: generate_uid(entropy_srcs=[*seed, part])
            for part in ("sr-series", "sc-series", "sr", "sc")}


def result_sr(prediction: Prediction) -> Dataset:
    source = _source_header(prediction.study)
    model = prediction.model_version
    uids = result_uids(prediction)
    parameters = [f"ONNX sha256: {model.onnx_sha256 or model.identity}",
                  f"Preprocessing: {prediction.get_preprocessing_display()}"]
    if model.warning:
        parameters.append(f"Warning: {model.warning}")
    outside = study_outside_intended_use(prediction.study)
    if outside:
        parameters.append(outside)
    source_image = hd.sr.SourceImageForMeasurementGroup.from_source_image(source)
    groups = []
    for finding in sorted(prediction.findings.all(), key=lambda f: FINDINGS.index(f.name)):
        algorithm = hd.sr.AlgorithmIdentification(
            name=model.name[:64], version=(model.onnx_sha256 or model.identity)[:64],
            family=codes.DCM.ArtificialIntelligence, manufacturer=MANUFACTURER,
            parameters=[*parameters, f"Threshold: {finding.threshold:.6g}"])
        groups.append(hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(
                uid=generate_uid(entropy_srcs=[uids["sr"], finding.name]), identifier=finding.name),
            finding_type=finding_code(finding.name),
            algorithm_id=algorithm,
            measurements=[hd.sr.Measurement(name=codes.DCM.Probability,
                                            value=float(finding.probability),
                                            unit=codes.UCUM.NoUnits, algorithm_id=algorithm)],
            qualitative_evaluations=[hd.sr.QualitativeEvaluation(
                name=OVER_THRESHOLD, value=codes.SCT.Yes if finding.flagged else codes.SCT.No)],
            source_images=[source_image],
        ))
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=generate_uid(entropy_srcs=[model.identity, "device"]), name=MANUFACTURER,
            manufacturer_name=MANUFACTURER, model_name=model.name[:64]))
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=PLAIN_CHEST_XRAY,
        imaging_measurements=groups,
    )  # no image library: highdicom's asks projection radiographs for Imager Pixel Spacing
    sr = hd.sr.Comprehensive3DSR(
        evidence=[source], content=report[0], series_instance_uid=uids["sr-series"],
        series_number=SR_SERIES_NUMBER, sop_instance_uid=uids["sr"], instance_number=1,
        manufacturer=MANUFACTURER, is_complete=True, is_final=False, is_verified=False,
    )
    sr.SeriesDescription = SERIES_DESCRIPTION
    return sr


def sr_probabilities(sr: Dataset) -> dict[str, tuple[float, bool]]:
    """Finding -> (probability, over threshold) read back from a result SR."""
    values = {}
    for group in _containers(sr):
        name = probability = flagged = None
        for item in group.ContentSequence:
            concept = _code_value(item.ConceptNameCodeSequence[0])
            if concept == codes.DCM.Finding.value and item.ValueType == "CODE":
                name = _code_value(item.ConceptCodeSequence[0])
            elif concept == codes.DCM.Probability.value and item.ValueType == "NUM":
                probability = float(item.MeasuredValueSequence[0].NumericValue)
            elif concept == OVER_THRESHOLD.value:
                flagged = _code_value(item.ConceptCodeSequence[0]) == codes.SCT.Yes.value
        if name is not None and probability is not None:
            values[name] = (probability, bool(flagged))
    return values


def _code_value(code: Dataset) -> str:
    """A code's value: highdicom puts one over 16 characters in Long Code Value."""
    return str(code.get("CodeValue") or code.get("LongCodeValue") or code.get("URNCodeValue"))


def _containers(sr: Dataset):
    for item in sr.ContentSequence:
        if item.ValueType == "CONTAINER" and "ContentSequence" in item:
            for group in item.ContentSequence:
                if group.ValueType == "CONTAINER" and "ContentSequence" in group:
                    yield group


def result_key_image(prediction: Prediction) -> Dataset:
    """The radiograph with the heatmaps of the flagged findings, the finding list and the model
    identity burned in (RGB Secondary Capture); NOT FOR DIAGNOSTIC USE across it for weights that
    are not the verified published ones."""
    source = _source_header(prediction.study)
    uids = result_uids(prediction)
    pixels = np.asarray(_key_picture(prediction), dtype=np.uint8)
    image = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=source, pixel_array=pixels, photometric_interpretation="RGB",
        bits_allocated=8, coordinate_system="PATIENT", series_instance_uid=uids["sc-series"],
        series_number=SC_SERIES_NUMBER, sop_instance_uid=uids["sc"], instance_number=1,
        manufacturer=MANUFACTURER, patient_orientation=("L", "F"),
        transfer_syntax_uid=pydicom.uid.ExplicitVRLittleEndian,
    )
    image.Laterality = ""  # type 2C: a chest is not a paired body part, so known as empty
    image.BurnedInAnnotation = "YES"
    image.SeriesDescription = SERIES_DESCRIPTION
    image.ImageType = ["DERIVED", "SECONDARY"]
    image.DerivationDescription = f"CheXNet heatmaps of the flagged findings, {MANUFACTURER}"
    if prediction.model_version.warning:
        image.ImageComments = prediction.model_version.warning
    return image


def study_result_file(*, study: Study, kind: str) -> bytes:
    """The study's latest result as a DICOM file: KIND "sr" (the report) or "sc" (key image)."""
    prediction = selectors.study_latest_prediction(study=study)
    if prediction is None:
        raise NoDicomSource("the study has no prediction yet")
    return dataset_bytes(RESULT_BUILDERS[kind](prediction))


def dataset_bytes(dataset: Dataset) -> bytes:
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _source_header(study: Study) -> Dataset:
    if study.image_format != "DICOM":
        raise NoDicomSource("results as DICOM are made for studies received as DICOM only")
    with study.image.open("rb") as stored:
        header = pydicom.dcmread(stored, stop_before_pixels=True)
    # The results copy the patient and study modules: a value the source got wrong is left out
    # rather than repeated (PACS send "62" for Patient's Age, which is AS, "062Y").
    if "PatientAge" in header and not re.fullmatch(r"\d{3}[DWMY]", str(header.PatientAge)):
        del header.PatientAge
    return header


def _key_picture(prediction: Prediction) -> Image.Image:
    study = prediction.study
    with study.image.open("rb") as stored:
        radiograph = study_image_read(stored.read()).image.convert("RGB")
    flagged = [f for f in prediction.findings.all() if f.flagged]
    picture = radiograph.copy()
    picture.thumbnail((KEY_IMAGE_MAX_SIDE, KEY_IMAGE_MAX_SIDE))
    for finding in flagged:
        layer = heatmap_layer(radiograph.size, np.asarray(
            prediction.heatmaps[FINDINGS.index(finding.name)], dtype=np.float32),
            max_side=KEY_IMAGE_MAX_SIDE).resize(picture.size)
        picture.paste(layer, (0, 0), _halved(layer))
    panel_width = max(360, picture.width // 2)
    canvas = Image.new("RGB", (picture.width + panel_width, max(picture.height, 560)), "black")
    canvas.paste(picture, (0, 0))
    _write_panel(canvas, picture.width, prediction)
    if prediction.model_version.warning:
        _across(canvas, NOT_FOR_DIAGNOSTIC_USE)
    return canvas


def _halved(layer: Image.Image) -> Image.Image:
    return layer.getchannel("A").point(lambda alpha: alpha // 2)


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _write_panel(canvas: Image.Image, left: int, prediction: Prediction) -> None:
    draw = ImageDraw.Draw(canvas)
    model = prediction.model_version
    size = max(14, canvas.height // 48)
    lines = [("CheXNet findings (probability)", "white")]
    for finding in prediction.findings.all():  # flagged first, then by probability
        marker = "FLAGGED " if finding.flagged else ""
        lines.append((f"{marker}{finding.name.replace('_', ' ')}: {finding.probability:.3f}",
                      "orange" if finding.flagged else "lightgrey"))
    lines += [("", "white"), (f"Model: {model.name}"[:48], "white"),
              (f"ONNX sha256: {(model.onnx_sha256 or model.identity)[:16]}", "white"),
              (f"{MANUFACTURER} AI result, not verified by a physician", "white")]
    if model.warning:
        lines.append(("Stand-in weights: NOT medical predictions", "red"))
    outside = study_outside_intended_use(prediction.study)
    if outside:
        lines.append((outside[:60], "orange"))
    y = size
    for text, colour in lines:
        draw.text((left + size, y), text, fill=colour, font=_font(size))
        y += int(size * 1.5)


def _across(canvas: Image.Image, text: str) -> None:
    """TEXT in large red letters across the whole picture, on a dark band in its lower part
    (under the finding list)."""
    draw = ImageDraw.Draw(canvas)
    size = max(16, canvas.width // (len(text) * 0.62))
    font = _font(int(size))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x, y = (canvas.width - (right - left)) // 2, int(canvas.height * 0.8) - (bottom - top) // 2
    draw.rectangle((0, y - 8, canvas.width, y + bottom + 8), fill=(40, 0, 0))
    draw.text((x, y - top // 2), text, fill=(255, 40, 40), font=font)


RESULT_BUILDERS = {"sr": result_sr, "sc": result_key_image}
RESULT_FILE_NAMES = {"sr": "report-sr", "sc": "key-image"}
