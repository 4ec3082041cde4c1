"""Benchmark (not a test): server time of the admin monitoring page and of a /metrics scrape (with
its drift and agreement gauges) with many studies.

    .venv/bin/python -m bench.monitoring --studies 100000 \\
        --database-url postgres://postgres@127.0.0.1:5432/chexweb_bench_monitoring [--drop]

Seeds the database as bench/pages.py does (patients over two years, one prediction of 14
findings per done study, an older one of another model version for some, reviews, most signed
off), then times, with Django's test Client as a reviewer (staff), --requests requests after a
few warm-ups:

- the monitoring page as it opens (12 weeks, the active model version, the most drifted
  finding's score distribution), its charts kept from an earlier request (as within a week),
  and drawn (the cache cleared first: the first request of a week), --validation-requests times;
- the same page's figures only (the grouped counts of diagnoses/monitoring.py, no charts);
- a /metrics scrape, its drift and agreement gauges kept from an earlier scrape (as within the
  hour) and counted again (the cache cleared first);
- the validation page of the active model version over all its reviewed studies (bootstrap
  intervals and charts), --validation-requests times.

Prints p50, p95 and max in milliseconds and the SQL queries per request. --drop drops the
PostgreSQL database afterwards.
"""

import argparse
import json
import random
import statistics
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.pages import WARM_UP as PAGE_WARM_UP
from bench.pages import (
    REPO,
    create_postgres_database,
    machine,
    percentile,
    seed,
    seeded_count,
    setup_django,
    timed_requests,
)

WARM_UP = 3


def figures_only() -> None:
    """The page's counts, as diagnoses/admin/monitoring.py asks for them, without drawing."""
    from diagnoses import monitoring

    version = monitoring.monitored_model_version()
    window = monitoring.monitoring_window()
    monitoring.studies_per_week(since=window.since, until=window.until)
    monitoring.input_mix_per_week(since=window.since, until=window.until)
    monitoring.flag_rate_per_week(model_version_id=version.pk, since=window.since,
                                  until=window.until)
    monitoring.score_drift(model_version_id=version.pk, periods=window.periods)
    monitoring.reviewer_agreement(model_version_id=version.pk, since=window.agreement_since,
                                  until=window.until)


def timed_calls(function, count: int) -> tuple[list[float], list[int]]:
    import time

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(WARM_UP):
        function()
    times, queries = [], []
    for _ in range(count):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            function()
            times.append((time.perf_counter() - started) * 1000)
        queries.append(len(captured))
    return times, queries


def measure(requests: int, validation_requests: int) -> list[tuple[str, list[float], list[int]]]:
    from django.contrib.auth.models import User
    from django.test import Client

    import chexweb.wsgi  # noqa: F401 -- freezes what was loaded, as when gunicorn loads it

    User.objects.filter(username="bench-reviewer").update(is_staff=True)
    staff = Client()
    staff.force_login(User.objects.get(username="bench-reviewer"))
    from diagnoses.models import ModelVersion

    count = requests + PAGE_WARM_UP
    active = ModelVersion.objects.get(state=ModelVersion.State.ACTIVE)
    from django.core.cache import cache

    def drawn_again():
        cache.clear()
        assert staff.get("/admin/monitoring/").status_code == 200

    def scraped_again():
        cache.clear()
        assert staff.get("/metrics").status_code == 200

    return [
        ("monitoring page (charts kept)",
         *timed_requests(staff, ["/admin/monitoring/"] * count)),
        ("monitoring page (charts drawn)", *timed_calls(drawn_again, validation_requests)),
        ("monitoring figures only (no charts)", *timed_calls(figures_only, requests)),
        ("/metrics scrape (gauges kept)", *timed_requests(staff, ["/metrics"] * count)),
        ("/metrics scrape (gauges counted)", *timed_calls(scraped_again, requests)),
        ("validation page (all reviewed studies)", *timed_requests(
            staff, [f"/admin/validation/?model_version={active.pk}"]
            * (validation_requests + PAGE_WARM_UP))),
    ]


def drop_postgres_database(database_url: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")),
                         autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.monitoring", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=10_000)
    parser.add_argument("--database-url", default="",
                        help="default: SQLite in build/bench/monitoring-STUDIES.sqlite3")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--validation-requests", type=int, default=5)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--drop", action="store_true", help="drop the PostgreSQL database after")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    url = args.database_url
    postgres = url.startswith(("postgres://", "postgresql://"))
    if not url:
        path = REPO / "build" / "bench" / f"monitoring-{args.studies}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
    elif postgres:
        create_postgres_database(url)
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if seeded_count() != args.studies:
        seed(args.studies, random.Random(args.seed))
    print(machine())
    results = measure(args.requests, args.validation_requests)
    print(f"{'what':<40} {'p50':>7} {'p95':>7} {'max':>7}  queries")
    rows = []
    for name, times, queries in results:
        row = {"what": name, "p50_ms": statistics.median(times),
               "p95_ms": percentile(times, 0.95), "max_ms": max(times),
               "queries": max(queries), "requests": len(times)}
        rows.append(row)
        print(f"{name:<40} {row['p50_ms']:7.1f} {row['p95_ms']:7.1f} {row['max_ms']:7.1f}"
              f"  {row['queries']}")
    print(machine())
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": rows}, indent=2))
    if args.drop and postgres:
        drop_postgres_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
