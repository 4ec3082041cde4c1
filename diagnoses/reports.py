"""The PDF report of a study: identifiers, the image, the 14 findings, model and reviews."""

from io import BytesIO

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    Image,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from diagnoses import renderings, selectors
from diagnoses.models import Study


def study_report_pdf(study: Study) -> bytes:
    styles = getSampleStyleSheet()
    output = BytesIO()
    document = SimpleDocTemplate(output, pagesize=A4, title="ChexWeb study report",
                                 leftMargin=18 * mm, rightMargin=18 * mm)
    story = [Paragraph("ChexWeb — chest X-ray study report", styles["Title"])]
    story += [Paragraph(line, styles["Normal"]) for line in _identifiers(study)]
    story.append(Spacer(1, 4 * mm))
    content, _ = renderings.study_display_image(study)
    story.append(Image(BytesIO(content), width=80 * mm, height=80 * mm, kind="proportional"))
    story.append(Spacer(1, 4 * mm))
    prediction = selectors.study_latest_prediction(study=study)
    if prediction is None:
        story.append(Paragraph(f"Status: {study.get_status_display()}. {study.failure_reason}",
                               styles["Normal"]))
    else:
        story += _prediction_section(prediction, styles)
    story.append(Spacer(1, 6 * mm))
    story.append(Paragraph(
        f"Generated {timezone.now():%Y-%m-%d %H:%M %Z}. CheXNet findings are probabilities from "
        "a decision-support model, not diagnoses.", styles["Italic"]))
    document.build(story)
    return output.getvalue()


def _identifiers(study: Study) -> list[str]:
    lines = [f"Study {study.pk}", f"Uploaded {study.created_at:%Y-%m-%d %H:%M} by "
             f"{study.uploaded_by.get_username()}"]
    for label, value in (("Patient", study.patient_id), ("Accession", study.accession_number),
                         ("Study date", study.study_date), ("Modality", study.modality),
                         ("View", study.view_position)):
        if value:
            lines.append(f"{label}: {value}")
    return lines


def _prediction_section(prediction, styles) -> list:
    model = prediction.model_version
    section = []
    if model.warning:
        section.append(Paragraph(f"<b>WARNING:</b> {model.warning}", styles["Normal"]))
    rows = [["Finding", "Probability", "Threshold", "Flagged"]]
    for finding in sorted(prediction.findings.all(), key=lambda f: -f.probability):
        rows.append([finding.name.replace("_", " "), f"{finding.probability:.4f}",
                     f"{finding.threshold:.2f}", "yes" if finding.flagged else ""])
    table = Table(rows, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f0f3f6")]),
    ]))
    section.append(table)
    section.append(Spacer(1, 3 * mm))
    section.append(Paragraph(
        f"Model: {model.name} (ONNX {model.onnx_sha256[:12] or model.identity[:12]}, checkpoint "
        f"{model.checkpoint_sha256[:12] or 'unknown'}, "
        f"{'verified published weights' if model.weights_verified else 'UNVERIFIED weights'}); "
        f"{prediction.get_preprocessing_display()}; threshold set {prediction.threshold_set_id}.",
        styles["Normal"]))
    for review in prediction.reviews.all():
        verdicts = ", ".join(f"{v.finding.name.replace('_', ' ')}: {v.verdict}"
                             for v in review.verdicts.all())
        signed = f"signed off {review.signed_off_at:%Y-%m-%d %H:%M}" if review.signed_off else (
            "not signed off")
        section.append(Paragraph(
            f"Review by {review.reviewer.get_username()} ({signed}): {verdicts or 'no verdicts'}."
            + (f" Note: {_escape(review.note)}" if review.note else ""), styles["Normal"]))
    return section


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
