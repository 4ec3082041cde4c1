"""Seeding of bench.pages on PostgreSQL: the same hospital-like data, made by the server.

A million studies are some 15 million finding rows: made row by row in Python and sent by the
ORM that took hours; here each table is one `INSERT ... SELECT` over `generate_series` (and over
the rows inserted before it), so nothing leaves the server. Around the load, the tables' plain
indexes (those no constraint needs) are dropped and made again after, and the session's foreign
key triggers are off (`session_replication_role = replica`, superuser; the rows are consistent by
construction). Randomness is PostgreSQL's `random()` after `setseed()` (the same --seed gives the
same data); identifiers derive from the study's number. A prediction's 14 findings are inserted
together (`ORDER BY p.id`), as `prediction_store` writes them, so they share a heap page: drawn in
the planner's order (name after name) each page's findings sat in 14 pages, and the filtered
history read some 200 cold pages per request, a cost no hospital's table has.

Columns the statements do not name get their model field's default, so a field added later needs
no change here unless its value matters to the pages.
"""

import sys
import time

STUDY_CLINICIANS = 10  # as bench.pages makes them
HEATMAP_SAMPLES = 20
# P(random()^17 >= 0.5) = 1 - 0.5^(1/17), about 4 %: the flag rate of the seeded findings
# (bench.pages draws Beta(0.6, 4), also about 4 %).
PROBABILITY_POWER = 17
TABLES = ("diagnoses_study", "diagnoses_prediction", "diagnoses_finding", "diagnoses_review",
          "diagnoses_findingverdict")


def seed_postgres(*, studies: int, seed: int, clinician_ids: list[int], reviewer_id: int,
                  versions: tuple, thresholds: dict, heatmaps: list, now) -> None:
    from django.db import connection, transaction

    from diagnoses.models import Finding, FindingVerdict, Prediction, Review, Study
    from inference.findings import FINDINGS

    old, new = versions
    patients = max(1, studies // 4)
    with transaction.atomic(), connection.cursor() as cursor:  # all or nothing, indexes too
        cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SET maintenance_work_mem = '256MB'")
        dropped = _drop_plain_indexes(cursor)
        try:
            _step(cursor, "studies", *_insert_select(Study, {
                "id": "md5('bench-' || n)::uuid",
                "image": "'studies/' || to_char(created, 'YYYY/MM') || '/bench-' || n || '.png'",
                "image_sha256": "lpad(to_hex(n), 64, '0')",
                "image_format": "'PNG'",
                "original_filename": "'xray-' || n || '.png'",
                "patient_id": "'P' || lpad(floor(patient * %(patients)s)::int::text, 7, '0')",
                # n * 7^10 mod 9e8 is a permutation of 0..9e8-1: unique, random-looking numbers
                "accession_number": "'A' || (100000000 + (n::bigint * 282475249) %% 900000000)",
                "study_date": "(created - floor(day * 3) * interval '1 day')::date",
                "modality": "'DX'",
                "view_position": "CASE WHEN view < 0.5 THEN 'PA' ELSE 'AP' END",
                "uploaded_by_id": "(%(clinicians)s::int[])[1 + n %% %(clinician_count)s]",
                "status": "status",
                "failure_reason": "CASE WHEN status = 'failed' THEN 'The image could not be "
                                  "read.' ELSE '' END",
                "created_at": "created", "updated_at": "created", "queued_at": "created",
                "started_at": "CASE WHEN status = 'queued' THEN NULL "
                              "ELSE created + interval '0.4 s' END",
                "finished_at": "CASE WHEN status IN ('done', 'failed') "
                               "THEN created + interval '1.2 s' END",
            }, """FROM (SELECT n, created, patient, day, view,
                           CASE WHEN roll < 0.001 THEN 'queued' WHEN roll < 0.002 THEN
                           'processing' WHEN roll < 0.022 THEN 'failed' ELSE 'done' END AS status
                    FROM (SELECT n, %(now)s - (60 + random() * 730 * 86400) * interval '1 s'
                                 AS created, random() AS roll, random() AS patient,
                                 random() AS day, random() AS view
                          FROM generate_series(0, %(studies)s - 1) AS n OFFSET 0) drawn
                   ) AS rows ORDER BY created""", {"patients": patients, "studies": studies, "now": now,
                                   "clinicians": clinician_ids,
                                   "clinician_count": len(clinician_ids)}))
            cursor.execute("CREATE TEMPORARY TABLE bench_heatmaps (number int, heatmaps jsonb)")
            for number, maps in enumerate(heatmaps[:HEATMAP_SAMPLES]):
                cursor.execute("INSERT INTO bench_heatmaps VALUES (%s, %s)",
                               [number, _json(maps)])
            for version, age, share in ((new, "0 days", 1.0), (old, "30 days", 0.08)):
                _step(cursor, f"predictions of {version.identity}", *_insert_select(Prediction, {
                    "study_id": "s.id", "model_version_id": "%(version)s",
                    "threshold_set_id": "%(thresholds)s", "preprocessing": "'center'",
                    "heatmaps": "h.heatmaps",
                    "preprocessing_ms": "18 + 6 * (random() - 0.5)",
                    "inference_ms": "160 + 40 * (random() - 0.5)",
                    "created_at": "s.finished_at - %(age)s::interval",
                }, f"""FROM diagnoses_study s JOIN bench_heatmaps h
                        ON h.number = abs(hashtext(s.id::text)) %% {len(heatmaps[:HEATMAP_SAMPLES])}
                       WHERE s.status = 'done' AND random() < %(share)s
                       ORDER BY s.created_at""",
                   {"version": version.pk, "thresholds": thresholds[version].pk, "age": age,
                    "share": share}))
            _step(cursor, "findings", *_insert_select(Finding, {
                "prediction_id": "prediction_id", "name": "name",
                "probability": "probability", "threshold": "0.5",
                "flagged": "probability >= 0.5",
            }, """FROM (SELECT p.id AS prediction_id, f.name,
                               power(random(), %(power)s) AS probability
                        FROM diagnoses_prediction p CROSS JOIN unnest(%(names)s::text[]) f(name)
                        ORDER BY p.id OFFSET 0) AS drawn""",
                {"power": PROBABILITY_POWER, "names": list(FINDINGS)}))
            _step(cursor, "reviews", *_insert_select(Review, {
                "prediction_id": "id", "reviewer_id": "%(reviewer)s", "note": "'Seen.'",
                "signed_off_at": "CASE WHEN sign < 0.8 THEN created_at + interval '2 hours' END",
                "created_at": "created_at + interval '2 hours'",
                "updated_at": "created_at + interval '2 hours'",
            }, """FROM (SELECT id, created_at, random() AS sign FROM diagnoses_prediction
                        WHERE random() < 0.1 OFFSET 0) AS drawn""",
                {"reviewer": reviewer_id}))
            _step(cursor, "verdicts", *_insert_select(FindingVerdict, {
                "review_id": "r.id", "finding_id": "f.id",
                "verdict": "CASE WHEN random() < 0.85 THEN 'agree' ELSE 'disagree' END",
            }, """FROM diagnoses_review r JOIN diagnoses_finding f
                    ON f.prediction_id = r.prediction_id AND f.flagged""", {}))
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
        for statement in dropped:
            _step(cursor, statement.split(" ON ")[0], statement, {})
        cursor.execute("DROP TABLE bench_heatmaps")


def _insert_select(model, given: dict[str, str], source: str, params: dict) -> tuple[str, dict]:
    """`INSERT INTO model's table (every column) SELECT given expressions FROM source`; a column
    not in `given` gets its field's default as a parameter."""
    from django.db import connection

    columns, expressions = [], []
    for field in model._meta.concrete_fields:
        columns.append(f'"{field.column}"')
        if field.column in given:
            expressions.append(given[field.column])
        elif field.primary_key:
            columns.pop()  # a serial key: the database numbers the rows
        else:
            name = f"default_{field.column}"
            params = {**params, name: field.get_db_prep_save(field.get_default(), connection)}
            expressions.append(f"%({name})s")
    sql = (f'INSERT INTO "{model._meta.db_table}" ({", ".join(columns)}) '
           f'SELECT {", ".join(expressions)} {source}')
    return sql, params


def _step(cursor, what: str, sql: str, params: dict) -> None:
    started = time.monotonic()
    cursor.execute(sql, params)
    print(f"  {what}: {max(cursor.rowcount, 0)} rows, {time.monotonic() - started:.0f} s",
          file=sys.stderr, flush=True)


def _drop_plain_indexes(cursor) -> list[str]:
    """Drops the seeded tables' indexes that back no constraint; returns the statements that make
    them again (with their columns' statistics targets, as migration 0005 sets)."""
    cursor.execute("""
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
        WHERE t.relname = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
                   [list(TABLES)])
    indexes = cursor.fetchall()
    cursor.execute("""
        SELECT a.attrelid::regclass::text, a.attnum, a.attstattarget FROM pg_attribute a
        WHERE a.attrelid = ANY(%s::regclass[]) AND a.attstattarget > 0""",
                   [[name for name, _ in indexes]])
    statistics = [f"ALTER INDEX {name} ALTER COLUMN {number} SET STATISTICS {target}"
                  for name, number, target in cursor.fetchall()]
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    return [definition for _, definition in indexes] + statistics


def _json(value):
    from psycopg.types.json import Jsonb

    return Jsonb(value)
