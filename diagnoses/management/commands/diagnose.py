"""`manage.py diagnose FILE... [--tencrop] [--json]`: the worker's path, from the command line."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

from diagnoses.model_server import model_server_client
from inference.graphpipe.client import GraphPipeClient
from inference.graphpipe.client import GraphPipeError
from inference.pipeline import diagnose_image
from inference.imaging.preprocessing import ImageError
from inference.imaging.study_image import read_study_image


class Command(BaseCommand):
    help = (
        "Diagnose chest X-ray files through the GraphPipe model server the worker uses: the "
        "active model version's serving URL, else GRAPHPIPE_URL(S)."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--tencrop", action="store_true", help="mean of 10 crops")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print JSON")

    def handle(self, *args, files, tencrop, as_json, **options):
        client = _model_server_client()
        results, failures = {}, []
        for name in files:
            try:
                image = read_study_image(Path(name).read_bytes()).image
                results[name] = diagnose_image(image, client, tencrop=tencrop)
            except (OSError, ImageError) as error:
                failures.append(f"{name}: {error}")
            except GraphPipeError as error:
                raise CommandError(f"model server at {client.url}: {error}") from error
        if as_json:
            self.stdout.write(json.dumps({name: d.probabilities for name, d in results.items()}, indent=2))
        else:
            for name, diagnosis in results.items():
                self.stdout.write(f"{name} ({diagnosis.model.name}, {diagnosis.preprocessing})")
                if diagnosis.model.weights_verified is False:
                    self.stdout.write("  WARNING: unverified weights, not a medical prediction")
                for finding, p in sorted(diagnosis.probabilities.items(), key=lambda i: -i[1]):
                    self.stdout.write(f"  {finding:<20} {p:.4f}")
        if failures:
            raise CommandError("could not read: " + "; ".join(failures))



def _model_server_client() -> GraphPipeClient:
    """The worker's client; which server it is comes from the database (the active model
    version), so a database without its tables is named with what to run, not a traceback."""
    try:
        return model_server_client()
    except DatabaseError as error:
        if _unapplied_migrations():
            raise CommandError(
                "The database has not been migrated: run `python manage.py migrate` "
                "(`make migrate` in a checkout) first."
            ) from None
        raise CommandError(f"The database could not be read: {error}") from None


def _unapplied_migrations() -> int:
    try:
        executor = MigrationExecutor(connection)
        return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    except DatabaseError:
        return 0
