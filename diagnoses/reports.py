"""The PDF report of a study: identifiers, the image, the 14 findings, model and reviews.

Every value that comes with or from a study (patient id, accession and the other DICOM header
values, user names, notes, verdicts, the model's name and hashes, failure reasons) enters the
report through `_paragraph`, escaped: reportlab prints it as text and never reads it as markup,
so an `<img src=...>` in a patient id embeds and reads no file and a `<link>` makes no link.
Table cells are plain strings, which reportlab draws as they are."""

from io import BytesIO
from xml.sax.saxutils import escape

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
from diagnoses.intended_use import study_intended_use_note, study_outside_intended_use
from diagnoses.models import Study


def study_report_pdf(study: Study) -> bytes:
    styles = getSampleStyleSheet()
    output = BytesIO()
    document = SimpleDocTemplate(output, pagesize=A4, title="ChexWeb study report",
                                 leftMargin=18 * mm, rightMargin=18 * mm)
    story = [_paragraph("ChexWeb — chest X-ray study report", styles["Title"])]
    story += _identifiers(study, styles["Normal"])
    story.append(Spacer(1, 4 * mm))
    content, _ = renderings.study_display_image(study)
    story.append(Image(BytesIO(content), width=80 * mm, height=80 * mm, kind="proportional"))
    story.append(Spacer(1, 4 * mm))
    if outside := study_outside_intended_use(study):
        story.append(_paragraph("<b>WARNING:</b> {outside}", styles["Normal"],
                                outside=outside[:1].upper() + outside[1:]))
    if note := study_intended_use_note(study):
        story.append(_paragraph("{note}", styles["Normal"], note=note))
    prediction = selectors.study_latest_prediction(study=study)
    if prediction is None:
        story.append(_paragraph("Status: {status}. {reason}", styles["Normal"],
                                status=study.get_status_display(), reason=study.failure_reason))
    else:
        story += _prediction_section(prediction, styles)
    story.append(Spacer(1, 6 * mm))
    story.append(_paragraph(
        "Generated {now}. CheXNet findings are probabilities from a decision-support model, "
        "not diagnoses.", styles["Italic"], now=f"{timezone.now():%Y-%m-%d %H:%M %Z}"))
    document.build(story)
    return output.getvalue()


def _paragraph(template: str, style, **values: object) -> Paragraph:
    """A paragraph of TEMPLATE, this module's own reportlab markup, with each `{name}` in it
    replaced by VALUES[name] as text (escaped). The one way text enters the report."""
    return Paragraph(template.format_map({name: escape(str(value))
                                          for name, value in values.items()}), style)


def _identifiers(study: Study, style) -> list[Paragraph]:
    lines = [_paragraph("Study {id}", style, id=study.pk),
             _paragraph("Uploaded {at} by {user}", style, at=f"{study.created_at:%Y-%m-%d %H:%M}",
                        user=study.uploaded_by.get_username())]
    for label, value in (("Patient", study.patient_id), ("Accession", study.accession_number),
                         ("Study date", study.study_date), ("Modality", study.modality),
                         ("View", study.view_position)):
        if value:
            lines.append(_paragraph("{label}: {value}", style, label=label, value=value))
    return lines


def _prediction_section(prediction, styles) -> list:
    model = prediction.model_version
    section = []
    if model.warning:
        section.append(_paragraph("<b>WARNING:</b> {warning}", styles["Normal"],
                                  warning=model.warning))
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
    section.append(_paragraph(
        "Model: {name} (ONNX {onnx}, checkpoint {checkpoint}, {weights}); {preprocessing}; "
        "threshold set {thresholds}.", styles["Normal"],
        name=model.name, onnx=model.onnx_sha256[:12] or model.identity[:12],
        checkpoint=model.checkpoint_sha256[:12] or "unknown",
        weights="verified published weights" if model.weights_verified else "UNVERIFIED weights",
        preprocessing=prediction.get_preprocessing_display(),
        thresholds=prediction.threshold_set_id))
    for review in prediction.reviews.all():
        verdicts = ", ".join(f"{v.finding.name.replace('_', ' ')}: {v.verdict}"
                             for v in review.verdicts.all())
        signed = f"signed off {review.signed_off_at:%Y-%m-%d %H:%M}" if review.signed_off else (
            "not signed off")
        note = " Note: {note}" if review.note else ""
        section.append(_paragraph(
            "Review by {reviewer} ({signed}): {verdicts}." + note, styles["Normal"],
            reviewer=review.reviewer.get_username(), signed=signed,
            verdicts=verdicts or "no verdicts", note=review.note))
    return section
