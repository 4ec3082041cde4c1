"""Benchmark (not a test): the CPU an upload costs the web process, without the HTTP server.

    .venv/bin/python -m bench.upload_cpu [--uploads 30] [--rounds 2] [--profile 40]
                                         [--database-url postgres://...]

Posts distinct 1024 x 1024 PNG chest X-rays (as bench.end_to_end makes them) to
`/studies/new/` with Django's test client in this process, logged in, `Accept: application/json`:
the middleware, the multipart parsing, the session, `study_create` (hash, duplicate check, the
decoding child, the stored files and rows) and the audit event, as a gunicorn worker runs them,
with the URLs loaded (what a warm worker has imported). Queuing the diagnosis is left out (no
broker). Per round: this process's CPU per upload and its reaped children's (the decoding
children, inference/imaging/isolation.py), from getrusage. --profile N: then N more uploads under
cProfile on the CPU clock, the 40 largest cumulative and own times.

On the database of --database-url (a PostgreSQL database is dropped and created first), else on
SQLite in a temporary folder.
"""

import argparse
import io
import os
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path


def cpu_seconds() -> tuple[float, float]:
    """This process's CPU seconds, and its reaped children's."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                          resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.upload_cpu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uploads", type=int, default=30, help="per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)

    from bench.end_to_end import distinct_xrays, fresh_postgres_database, loadavg

    if args.database_url.startswith(("postgres://", "postgresql://")):
        fresh_postgres_database(args.database_url)
    os.environ.update({"DJANGO_SETTINGS_MODULE": "chexweb.settings",
                       "CHEXWEB_VAR_DIR": tempfile.mkdtemp(prefix="chexweb-bench-"),
                       "DATABASE_URL": args.database_url, "CHEXWEB_DB_CONN_MAX_AGE": "60",
                       "CHEXWEB_LOG_LEVEL": "WARNING"})
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client
    from django.urls import get_resolver

    from diagnoses import services

    call_command("migrate", verbosity=0)
    get_resolver().url_patterns  # every view imported, as in a warm web worker
    services._queue_diagnosis = lambda study_id: None  # no broker here
    client = Client(HTTP_HOST="127.0.0.1")
    call_command("ensure_demo_user", "--username", "bench-upload",
                 f"--password={secrets.token_urlsafe(12)}", stdout=io.StringIO())
    client.force_login(get_user_model().objects.get(username="bench-upload"))
    images = iter(distinct_xrays(1 + args.uploads * args.rounds + args.profile))

    def upload() -> None:
        image = SimpleUploadedFile("bench.png", next(images), "image/png")
        response = client.post("/studies/new/", {"image": image},
                               HTTP_ACCEPT="application/json")
        assert response.status_code == 201, response.content[:300]

    upload()  # warm-up
    rss_mb = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf(
        "SC_PAGE_SIZE") / 2**20
    print(f"this process: {rss_mb:.0f} MB resident; load average {loadavg()}", flush=True)
    for _ in range(args.rounds):
        own, children = cpu_seconds()
        for _ in range(args.uploads):
            upload()
        own, children = (now - before for now, before in zip(cpu_seconds(), (own, children)))
        print(f"CPU ms per upload: web {own * 1000 / args.uploads:.1f} + decoding children "
              f"{children * 1000 / args.uploads:.1f} = {(own + children) * 1000 / args.uploads:.1f}"
              f"; load average {loadavg()}", flush=True)
    if args.profile:
        import cProfile
        import pstats

        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for _ in range(args.profile):
            upload()
        profile.disable()
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(40)
    return 0


if __name__ == "__main__":
    sys.exit(main())
