"""A study's latest prediction as a FHIR R4 DiagnosticReport (built and validated with
fhir.resources, whose R4B models are R4's for these resources): one Observation per finding (the
probability, an interpretation POS/NEG by the model version's threshold), the model as a Device,
the imaging study by its Study Instance UID; all contained in the report. For weights that are not
the verified published ones, every Observation and the report carry the statement that these are
not medical predictions."""

from fhir.resources.R4B.diagnosticreport import DiagnosticReport

from diagnoses import selectors
from diagnoses.models import Study
from inference.findings import FINDINGS

FINDING_SYSTEM = "urn:chexweb:chexnet-finding"
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
LOINC = "http://loinc.org"
DIAGNOSTIC_IMAGING_STUDY = {"system": LOINC, "code": "18748-4",
                            "display": "Diagnostic imaging study"}


class NoPrediction(Exception):
    """The study has no prediction yet."""


def study_fhir_report(*, study: Study) -> dict:
    """The report as FHIR JSON (a dict), validated by fhir.resources."""
    prediction = selectors.study_latest_prediction(study=study)
    if prediction is None:
        raise NoPrediction("the study has no prediction yet")
    model = prediction.model_version
    notes = [{"text": model.warning}] if model.warning else []
    findings = sorted(prediction.findings.all(), key=lambda f: FINDINGS.index(f.name))
    observations = [{
        "resourceType": "Observation",
        "id": f"finding-{finding.name.lower().replace('_', '-')}",
        "status": "preliminary",
        "code": {"coding": [{"system": FINDING_SYSTEM, "code": finding.name,
                             "display": finding.name.replace("_", " ")}],
                 "text": f"{finding.name.replace('_', ' ')} (CheXNet probability)"},
        "valueQuantity": {"value": round(float(finding.probability), 6), "unit": "probability",
                          "system": "http://unitsofmeasure.org", "code": "1"},
        "interpretation": [{"coding": [{
            "system": INTERPRETATION_SYSTEM, "code": "POS" if finding.flagged else "NEG",
            "display": "Positive" if finding.flagged else "Negative"}],
            "text": f"{'at or over' if finding.flagged else 'under'} the threshold "
                    f"{finding.threshold:.6g}"}],
        "device": {"reference": "#model"},
        **({"note": notes} if notes else {}),
    } for finding in findings]
    device = {
        "resourceType": "Device", "id": "model",
        "deviceName": [{"name": model.name, "type": "model-name"}],
        "version": [{"value": model.onnx_sha256 or model.identity}],
        **({"note": notes} if notes else {}),
    }
    report = {
        "resourceType": "DiagnosticReport",
        "id": str(study.pk),
        "status": "preliminary",
        "code": {"coding": [DIAGNOSTIC_IMAGING_STUDY], "text": "CheXNet chest X-ray findings"},
        "issued": prediction.created_at.isoformat(),
        "contained": [device, *observations],
        "result": [{"reference": f"#{observation['id']}"} for observation in observations],
        "conclusion": model.warning or "CheXNet probabilities, not verified by a physician.",
    }
    if study.patient_id:
        report["subject"] = {"identifier": {"value": study.patient_id}}
    if study.study_date:
        report["effectiveDateTime"] = study.study_date.isoformat()
    if study.study_instance_uid:
        report["imagingStudy"] = [{"identifier": {"system": "urn:dicom:uid",
                                                  "value": f"urn:oid:{study.study_instance_uid}"},
                                   "type": "ImagingStudy"}]
    return DiagnosticReport.model_validate(report).model_dump(mode="json", exclude_none=True)
