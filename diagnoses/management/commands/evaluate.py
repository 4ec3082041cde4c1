"""`manage.py evaluate --labels FILE --images DIR [--tencrop] [--output DIR]`: validate the served
model on labelled images. Each image goes the worker's way (decoded as an upload is, then
`inference.pipeline.diagnose_image` through the worker's GraphPipe client); the report (HTML with
SVG charts, JSON) compares the scores with the labels (inference/validation/labels.py says which
layouts are read)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from diagnoses.management.commands.diagnose import _model_server_client
from diagnoses.study_images import study_image_read
from diagnoses.validation import report_write, thresholds_of
from inference.graphpipe.client import GraphPipeError
from inference.imaging.preprocessing import ImageError
from inference.pipeline import diagnose_image
from inference.validation.labels import LabelsError, read_labels
from inference.validation.report import LabelledScores, validation_report

LABELS_MAX_BYTES = 64 * 2**20  # Data_Entry_2017.csv is 7.5 MB


class Command(BaseCommand):
    help = ("Run labelled chest X-rays through the model server the worker uses and write a "
            "validation report (AUROC with 95% CI, operating points, ROC and calibration).")

    def add_arguments(self, parser):
        parser.add_argument("--labels", required=True, metavar="FILE",
                            help="Data_Entry_2017.csv layout, image,finding,label CSV, or the "
                                 "samples' labels.json")
        parser.add_argument("--images", required=True, metavar="DIR")
        parser.add_argument("--tencrop", action="store_true", help="mean of 10 crops")
        parser.add_argument("--output", default="validation-report", metavar="DIR")

    def handle(self, *args, labels, images, tencrop, output, **options):
        truth = _read_labels(Path(labels))
        folder = Path(images)
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder")
        client = _model_server_client()
        data, skipped, model = LabelledScores(), [], None
        for name, image_labels in sorted(truth.items()):
            path = folder / name
            if not path.is_file() or path.parent != folder:
                skipped.append(f"{name}: not in {folder}")
                continue
            try:
                image = study_image_read(path.read_bytes()).image
                diagnosis = diagnose_image(image, client, tencrop=tencrop)
            except (OSError, ImageError) as error:
                skipped.append(f"{name}: {error}")
                continue
            except GraphPipeError as error:
                raise CommandError(f"model server at {client.url}: {error}") from error
            if model is not None and diagnosis.model.identity != model.identity:
                raise CommandError("the model server changed its model during the evaluation")
            model = diagnosis.model
            for finding, label in image_labels.items():
                data.add(finding, label, diagnosis.probabilities[finding])
            self.stdout.write(f"{name}: done")
        if model is None:
            raise CommandError("no labelled image could be read: " + "; ".join(skipped[:10]))
        thresholds, threshold_source = thresholds_of(model)
        report = validation_report(
            data, thresholds=thresholds, model_name=model.name,
            weights_verified=bool(model.weights_verified),
            source=f"{len(truth) - len(skipped)} labelled images from {folder} "
                   f"({'TenCrop' if tencrop else 'centre crop'}); thresholds: {threshold_source}",
            studies=len(truth) - len(skipped))
        report["skipped"] = skipped
        written = report_write(report, Path(output))
        mean = report["mean_auroc"]
        self.stdout.write(f"mean AUROC {mean:.3f}" if mean is not None else
                          "mean AUROC: none (no finding has both positives and negatives)")
        for line in skipped:
            self.stderr.write(f"skipped {line}")
        self.stdout.write("report: " + ", ".join(str(path) for path in written))


def _read_labels(path: Path) -> dict[str, dict[str, int]]:
    try:
        if path.stat().st_size > LABELS_MAX_BYTES:
            raise CommandError(f"{path} is over {LABELS_MAX_BYTES // 2**20} MB")
        text = path.read_text(encoding="utf-8-sig")
        labels = read_labels(path.name, text)
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read {path}: {error}") from None
    except LabelsError as error:
        raise CommandError(f"{path}: {error}") from None
    if not labels:
        raise CommandError(f"{path} labels no image")
    return labels

