"""Indexes for the history and `/metrics` at a million studies (docs/benchmarks.md, "Pages",
1,000,000 studies).

- Every scrape reads the studies finished and the predictions stored in the last hour; without
  an index on those timestamps each scrape scanned both tables.
- The history's flagged-finding filter asks, study by study, for the latest reading and whether
  it flags the finding: (study, created_at, id) on predictions and (prediction, name) of the
  flagged findings (a few percent of the rows) answer both from the index alone, without
  reading the rows (the filtered history's queries: about half their time).

On PostgreSQL the indexes are made
CONCURRENTLY, so that migrating a hospital's database does not lock its studies and predictions
against writes for the minutes the build takes (hence a migration outside a transaction); other
databases make them the plain way.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL, a plain CREATE INDEX elsewhere (SQLite)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(self, app_label, schema_editor,
                                                     from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(self, app_label, schema_editor,
                                                      from_state, to_state)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("diagnoses", "0013_model_precision")]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="study",
            index=models.Index(fields=["finished_at"], name="diagnoses_study_finish_idx"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="prediction",
            index=models.Index(fields=["created_at"], name="diagnoses_pred_created_idx"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="prediction",
            index=models.Index(fields=["study", "created_at", "id"],
                               name="diagnoses_pred_latest_idx"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="finding",
            index=models.Index(fields=["prediction", "name"], condition=models.Q(flagged=True),
                               name="diagnoses_flagged_finding_idx"),
        ),
    ]
