"""The history's search (patient or accession starts with, any case) by index on PostgreSQL.

`istartswith` is `UPPER(column) LIKE UPPER('P00012%')` there; an index on UPPER(column) with
varchar_pattern_ops serves that prefix under any collation (a plain one only under "C"). With
100,000 studies it takes the search from a scan of every study (30-50 ms) to a few ms
(docs/benchmarks.md, "Pages"). SQLite gets nothing: the operator class is PostgreSQL's, so the
indexes are not in the models' state either.
"""

from django.db import migrations

INDEXES = {
    "diagnoses_study_patient_id_upper_like": "patient_id",
    "diagnoses_study_accession_upper_like": "accession_number",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "diagnoses_study" '
                              f'(UPPER("{column}") varchar_pattern_ops)')
        # Finer statistics of the expression: with the default, a 6-character prefix of 100,000
        # studies was estimated at 2.5 times its rows and the planner scanned every study.
        schema_editor.execute(f'ALTER INDEX "{name}" ALTER COLUMN 1 SET STATISTICS 1000')
    schema_editor.execute('ANALYZE "diagnoses_study"')


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("diagnoses", "0004_admin_one_active_model_version")]
    operations = [migrations.RunPython(create_indexes, drop_indexes)]
