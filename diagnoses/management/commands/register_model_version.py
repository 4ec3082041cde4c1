"""`manage.py register_model_version MODEL.onnx [--thresholds FILE.json]`.

Registers the model version a GraphPipe server of ours will report for this ONNX file, with its
per-finding decision thresholds, before any study is read by it.
"""

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from diagnoses import model_versions
from inference.identity import onnx_model_identity


class Command(BaseCommand):
    help = "Register a model version (and its decision thresholds) from an exported ONNX file."

    def add_arguments(self, parser):
        parser.add_argument("onnx", type=Path)
        parser.add_argument("--thresholds", type=Path, help="JSON object: finding -> threshold")

    def handle(self, *args, onnx: Path, thresholds: Path | None, **options):
        if not onnx.is_file():
            raise CommandError(f"no such file: {onnx}")
        values = None
        if thresholds is not None:
            try:
                values = json.loads(thresholds.read_text())
            except (OSError, ValueError) as error:
                raise CommandError(f"cannot read thresholds from {thresholds}: {error}") from error
        try:
            model_version = model_versions.model_version_register(
                identity=onnx_model_identity(onnx), thresholds=values
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        threshold_set = model_version.current_thresholds()
        self.stdout.write(
            f"Model version {model_version.pk}: {model_version.name} "
            f"({model_version.short_identity}, "
            f"{'verified' if model_version.weights_verified else 'UNVERIFIED'} weights), "
            f"threshold set {threshold_set.pk}"
        )
