"""Benchmark (not a test): server time of the history and result pages with many studies.

    .venv/bin/python -m bench.pages --studies 10000                        # SQLite (a file)
    .venv/bin/python -m bench.pages --studies 100000 \\
        --database-url postgres://postgres@127.0.0.1:5432/chexweb_bench_pages

Seeds the database in bulk (kept between runs: the same --studies reuses it, another number seeds
it again), like a hospital's: patients with several studies each over two years, nearly all done,
a few failed or in progress; a prediction of 14 findings (with 7x7 heatmaps) per done study and a
second, older one for some (re-runs); flagged findings; reviews, most signed off. Then times, in
this process with Django's test Client (URL routing, middleware, session, queries, templates; no
network), each page --requests times after a few warm-up requests, as a clinician:

- the history as it opens (newest first, page 1);
- the history filtered by a flagged finding and a patient search;
- page 100 of the history;
- a patient's page (all of one patient's studies, with the findings' trends);
- a result page (another done study each time; writes its audit event);
- a /metrics scrape (staff), which counts studies per status and reads the last hour;
- the worklist page and its JSON (polled every 10 s by an open worklist), with Pneumothorax urgent
  and Effusion priority in the seeded threshold sets (set in place, bench database only).

Prints p50 and p95 in milliseconds and the SQL queries per request; --explain prints, for each
timed page, the PostgreSQL plans (EXPLAIN (ANALYZE, BUFFERS)) of one request's slowest queries. As in the web process, what Django and the views
loaded is frozen out of Python's full garbage collections first (`chexweb/wsgi.py`);
--no-gc-freeze shows the pages without that.
"""

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[1]
SEED_MARK = "bench-pages"  # the model versions' identity prefix: the seeded database
WARM_UP = 5
BATCH = 1000


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("CHEXWEB_VAR_DIR", tempfile.mkdtemp(prefix="chexweb-bench-"))
    os.environ["CHEXWEB_ALLOWED_HOSTS"] = "testserver"
    os.environ["CHEXWEB_LOG_LEVEL"] = "ERROR"
    os.environ["DJANGO_SETTINGS_MODULE"] = "chexweb.settings"
    import django

    django.setup()


def create_postgres_database(database_url: str) -> None:
    """CREATE DATABASE for the URL's database name when it does not exist yet."""
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                    [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


# --- seeding ---------------------------------------------------------------------------------

def seeded_count() -> int:
    from diagnoses.models import ModelVersion, Study

    if not ModelVersion.objects.filter(identity__startswith=SEED_MARK).exists():
        return -1
    return Study.objects.count()


def seed(studies: int, rng: random.Random) -> None:
    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction
    from django.utils import timezone

    from diagnoses.models import (
        AuditEvent,
        Finding,
        FindingVerdict,
        ModelVersion,
        Prediction,
        Review,
        Study,
        ThresholdSet,
    )
    from inference.findings import FINDINGS

    postgres = connection.vendor == "postgresql"
    with transaction.atomic():
        models = (FindingVerdict, Review, Finding, Prediction, AuditEvent, Study, ThresholdSet,
                  ModelVersion)
        if postgres:  # a million rows deleted by the ORM would take an hour
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {', '.join(m._meta.db_table for m in models)} CASCADE")
        else:
            for model in models:
                model.objects.all().delete()
        User.objects.filter(username__startswith="bench-").delete()
    clinicians = [User.objects.create_user(f"bench-clinician-{n}", password="bench-password-1")
                  for n in range(10)]
    for user in clinicians:
        user.groups.add(Group.objects.get(name="clinician"))
    reviewer = User.objects.create_user("bench-reviewer", password="bench-password-1")
    reviewer.groups.add(Group.objects.get(name="reviewer"))
    old, new = (ModelVersion.objects.create(
        identity=f"{SEED_MARK}-{name}", name=f"CheXNet stand-in {name}", state=state,
        onnx_sha256=f"{number:064x}") for number, (name, state) in
        enumerate([("v1", "retired"), ("v2", "active")], start=1))
    thresholds = {version: ThresholdSet.objects.create(
        model_version=version, thresholds={name: 0.5 for name in FINDINGS}) for version in
        (old, new)}
    heatmaps = [[[[round(rng.random(), 6) for _ in range(7)] for _ in range(7)]
                 for _ in FINDINGS] for _ in range(20)]
    now = timezone.now()
    started = time.monotonic()
    if postgres:
        from bench.pages_seed_postgres import seed_postgres

        seed_postgres(studies=studies, seed=rng.randrange(10**6),
                      clinician_ids=[user.pk for user in clinicians], reviewer_id=reviewer.pk,
                      versions=(old, new), thresholds=thresholds, heatmaps=heatmaps, now=now)
    else:
        _seed_orm(studies, rng, now, clinicians, reviewer, (old, new), thresholds, heatmaps)
    print(f"seeded {studies} studies in {time.monotonic() - started:.0f} s", file=sys.stderr)
    vacuum_started = time.monotonic()
    with connection.cursor() as cursor:  # as autovacuum leaves a database that grew slowly
        cursor.execute("VACUUM ANALYZE" if postgres else "ANALYZE")
    print(f"vacuumed and analysed in {time.monotonic() - vacuum_started:.0f} s",
          file=sys.stderr)


def _seed_orm(studies, rng, now, clinicians, reviewer, versions, thresholds, heatmaps) -> None:
    """Row by row through the ORM, a thousand studies a transaction (SQLite)."""
    from django.db import transaction

    from diagnoses.models import Prediction, Review, Study

    patients = max(1, studies // 4)  # about four studies per patient
    accessions = rng.sample(range(10**8, 10**9), studies)
    started = time.monotonic()
    timestamps = [model._meta.get_field("created_at") for model in (Study, Prediction, Review)]
    for field in timestamps:  # the seeded times, not the time of seeding
        field.auto_now_add = False
    try:
        for offset in range(0, studies, BATCH):
            with transaction.atomic():
                _seed_batch(range(offset, min(studies, offset + BATCH)), rng, now, clinicians,
                            reviewer, versions, thresholds, heatmaps, patients, accessions)
            done = min(studies, offset + BATCH)
            print(f"\rseeded {done}/{studies} studies ({time.monotonic() - started:.0f} s)",
                  end="", file=sys.stderr, flush=True)
    finally:
        for field in timestamps:
            field.auto_now_add = True
    print(file=sys.stderr)


def _seed_batch(numbers, rng, now, clinicians, reviewer, versions, thresholds, heatmaps,
                patients, accessions) -> None:
    from diagnoses.models import Finding, FindingVerdict, Prediction, Review, Study
    from inference.findings import FINDINGS

    old, new = versions
    batch = []
    for number in numbers:
        created = now - timedelta(seconds=rng.uniform(60, 730 * 86400))
        roll = rng.random()
        status = ("queued" if roll < 0.001 else "processing" if roll < 0.002
                  else "failed" if roll < 0.022 else "done")
        patient = rng.randrange(patients)
        batch.append(Study(
            image=f"studies/{created:%Y/%m}/bench-{number}.png",
            image_sha256=f"{number:064x}", image_format="PNG",
            original_filename=f"xray-{number}.png",
            patient_id=f"P{patient:07d}", accession_number=f"A{accessions[number]}",
            study_date=(created - timedelta(days=rng.randrange(3))).date(),
            modality="DX", view_position=rng.choice(["PA", "AP"]),
            uploaded_by=rng.choice(clinicians), status=status,
            failure_reason="The image could not be read." if status == "failed" else "",
            created_at=created,
            started_at=None if status == "queued" else created + timedelta(seconds=0.4),
            finished_at=(created + timedelta(seconds=1.2)
                         if status in ("done", "failed") else None),
        ))
    studies = Study.objects.bulk_create(batch)
    predictions = []
    for study in studies:
        if study.status != "done":
            continue
        versions_read = [new] + ([old] if rng.random() < 0.08 else [])
        for version in versions_read:
            predictions.append(Prediction(
                study=study, model_version=version, threshold_set=thresholds[version],
                preprocessing="center", heatmaps=rng.choice(heatmaps),
                preprocessing_ms=rng.gauss(18, 3), inference_ms=rng.gauss(160, 20),
                created_at=study.finished_at - timedelta(days=30 * (version is old))))
    predictions = Prediction.objects.bulk_create(predictions)
    findings = [
        Finding(prediction=prediction, name=name, probability=(p := rng.betavariate(0.6, 4)),
                threshold=0.5, flagged=p >= 0.5)
        for prediction in predictions for name in FINDINGS
    ]
    findings = Finding.objects.bulk_create(findings)
    flagged = {}
    for finding in findings:
        if finding.flagged:
            flagged.setdefault(finding.prediction_id, []).append(finding)
    reviews = [Review(prediction=prediction, reviewer=reviewer, note="Seen.",
                      created_at=prediction.created_at + timedelta(hours=2),
                      signed_off_at=(prediction.created_at + timedelta(hours=2)
                                     if rng.random() < 0.8 else None))
               for prediction in predictions if rng.random() < 0.1]
    reviews = Review.objects.bulk_create(reviews)
    FindingVerdict.objects.bulk_create(
        FindingVerdict(review=review, finding=finding,
                       verdict="agree" if rng.random() < 0.85 else "disagree")
        for review in reviews for finding in flagged.get(review.prediction_id, []))


# --- measuring -------------------------------------------------------------------------------

def timed_requests(client, paths: list[str]) -> tuple[list[float], list[int]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for path in paths[:WARM_UP]:
        assert client.get(path).status_code == 200, path
    times, queries = [], []
    for path in paths[WARM_UP:]:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path)
            if hasattr(response, "render"):  # not lazy here, but to be sure
                response.render()
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        queries.append(len(captured))
    return times, queries


def percentile(values: list[float], quantile: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(quantile * len(ordered) + 0.5) - 1))]


def clients():
    """A clinician's and a staff member's test clients; Pneumothorax urgent and Effusion
    priority in the seeded threshold sets (for the worklist)."""
    from django.contrib.auth.models import User
    from django.test import Client

    from diagnoses.models import ThresholdSet

    ThresholdSet.objects.filter(model_version__identity__startswith=SEED_MARK).update(
        urgencies={"Pneumothorax": "urgent", "Effusion": "priority"})
    client = Client()
    client.force_login(User.objects.get(username="bench-clinician-0"))
    staff = Client()
    staff.force_login(User.objects.get(username="bench-reviewer"))  # reviewers are staff
    User.objects.filter(username="bench-reviewer").update(is_staff=True)
    return client, staff


def cases(count: int) -> list[tuple[str, str, list[str], bool]]:
    """(page, path shown, paths to request, as staff) for each timed page."""
    from diagnoses.models import Study
    from diagnoses.presenters import patient_url

    patient_ids = list(Study.objects.order_by("?").values_list("patient_id", flat=True)[:count])
    done_ids = list(Study.objects.filter(status="done").order_by("?")
                    .values_list("pk", flat=True)[:count])
    findings = ["Effusion", "Infiltration", "Atelectasis", "Nodule", "Pneumothorax"]
    return [
        ("history", "/studies/", ["/studies/"] * count, False),
        ("history filtered", "/studies/?flagged_finding=F&search=P00012",
         [f"/studies/?flagged_finding={findings[n % len(findings)]}&search={pid[:6]}"
          for n, pid in enumerate(patient_ids)], False),
        ("history page 100", "/studies/?page=100", ["/studies/?page=100"] * count, False),
        ("patient page", "/studies/patient/?id=<patient>",
         [patient_url(pid) for pid in reversed(patient_ids)], False),
        ("result page", "/studies/<id>/", [f"/studies/{pk}/" for pk in done_ids], False),
        ("worklist", "/studies/worklist/", ["/studies/worklist/"] * count, False),
        ("worklist poll", "/studies/worklist.json", ["/studies/worklist.json"] * count, False),
        ("metrics scrape", "/metrics", ["/metrics"] * count, True),
    ]


def measure(requests: int, gc_freeze: bool, pages: list[str]
            ) -> list[tuple[str, str, list[float], list[int]]]:
    if gc_freeze:
        import chexweb.wsgi  # noqa: F401 -- freezes, as when gunicorn loads it
    client, staff = clients()
    count = requests + WARM_UP
    return [(name, shown, *timed_requests(staff if as_staff else client, paths))
            for name, shown, paths, as_staff in cases(count) if not pages or name in pages]


def explain(pages: list[str], slowest: int = 3) -> None:
    """For each timed page, one request's slowest SELECTs with their PostgreSQL plans (EXPLAIN
    (ANALYZE, BUFFERS)), in the order of their time in that request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        print("--explain: PostgreSQL only")
        return
    client, staff = clients()
    for name, _, paths, as_staff in cases(2):
        if pages and name not in pages:
            continue
        (staff if as_staff else client).get(paths[1])  # warm
        with CaptureQueriesContext(connection) as captured:
            (staff if as_staff else client).get(paths[0])
        selects = sorted((q for q in captured.captured_queries
                          if q["sql"].lstrip().upper().startswith("SELECT")),
                         key=lambda q: -float(q["time"]))[:slowest]
        print(f"=== {name} ({paths[0]}): {len(captured)} queries, slowest "
              f"{', '.join(str(round(float(q['time']) * 1000, 1)) for q in selects)} ms")
        for query in selects:
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
                plan = "\n".join(row[0] for row in cursor.fetchall())
            print(f"--- {query['sql'][:300]}\n{plan}\n")


def machine() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()" if connection.vendor == "postgresql"
                       else "SELECT 'SQLite ' || sqlite_version()")
        database = cursor.fetchone()[0].split(" on ")[0]
    load = Path("/proc/loadavg").read_text().split()[:3]
    return (f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {database}; "
            f"load average {' '.join(load)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=10_000)
    parser.add_argument("--database-url", default="",
                        help="default: SQLite in build/bench/pages-STUDIES.sqlite3")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--page", action="append", default=[], dest="pages",
                        help="time (and explain) only this page, by its name in the table "
                             "(\"history\", \"patient page\"...); repeat for more; default all")
    parser.add_argument("--seed-only", action="store_true",
                        help="seed (when needed), measure nothing")
    parser.add_argument("--no-gc-freeze", dest="gc_freeze", action="store_false",
                        help="leave what the process loaded at start in the full collections "
                             "(the web process freezes it: chexweb/wsgi.py)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    url = args.database_url
    if not url:
        path = REPO / "build" / "bench" / f"pages-{args.studies}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
    elif url.startswith(("postgres://", "postgresql://")):
        create_postgres_database(url)
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    if seeded_count() != args.studies:
        seed(args.studies, rng)
    if args.seed_only:
        return 0
    if args.explain:
        explain(args.pages)
    load_before = machine()
    results = measure(args.requests, args.gc_freeze, args.pages)
    print(f"{args.studies} studies{'' if args.gc_freeze else ', no gc.freeze()'}; "
          f"{load_before}; "
          f"load at the end "
          f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print("| page | p50 ms | p95 ms | max ms | queries |")
    print("|---|---:|---:|---:|---:|")
    figures = {}
    for name, shown, times, queries in results:
        p50, p95 = statistics.median(times), percentile(times, 0.95)
        figures[name] = {"path": shown, "p50_ms": p50, "p95_ms": p95, "max_ms": max(times),
                         "queries": statistics.median(queries), "requests": len(times)}
        print(f"| {name} (`{shown}`) | {p50:.1f} | {p95:.1f} | {max(times):.1f} | "
              f"{statistics.median(queries):.0f} |")
    if args.json:
        args.json.write_text(json.dumps({"studies": args.studies, "machine": load_before,
                                         "pages": figures}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
