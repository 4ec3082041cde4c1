"""Benchmark (not a test): other users' page times while large DICOMs arrive over slow links,
for the Procfile's web server and for another web command (e.g. the earlier sync workers).

    .venv/bin/python -m bench.slow_uploads [--uploads 2] [--rate 1200000] [--compare-sync]

Starts a redis-server of its own and the web server with the Procfile's `web:` command on a
fresh SQLite database (no model server or worker: the studies are stored and stay queued), then
sends --uploads 40 MB DICOMs (4480 x 4480, 16-bit) at once, each through a TCP proxy that passes
the client's bytes on at --rate bytes a second (tests/system/test_slow_uploads.py), while one
logged-in client asks for /healthz (a 503 here: no model server) and /studies/new/ in
turn, every 0.5 s, 60 s timeout each.
Prints per upload its HTTP status and seconds, and the probes' median, p95 and max and how many
took over 1 s. --compare-sync runs the same against the earlier web command too (gunicorn sync
workers, 2 of them, the default 30 s timeout).
"""

import argparse
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis
import requests

from tests.processes import (
    Process,
    answers_http,
    free_port,
    procfile_command,
    run_checked,
    wait_until,
)
from tests.slow_link import ThrottlingProxy
from tests.system.test_slow_uploads import large_dicom

SYNC_OPTIONS = " --workers 2 --access-logfile"  # the web line before gthread workers


def sync_web_command() -> str:
    command = procfile_command("web")
    head, _, tail = command.partition(" --workers ")
    return head + SYNC_OPTIONS + tail.split(" --access-logfile", 1)[1]


def logged_in(base_url: str, password: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base_url}/accounts/login/", timeout=30).raise_for_status()
    session.post(f"{base_url}/accounts/login/", timeout=30, allow_redirects=False, data={
        "username": "bench", "password": password,
        "csrfmiddlewaretoken": session.cookies["csrftoken"]}).raise_for_status()
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    return session


def run(web_command: str, uploads: int, rate: int) -> dict:
    var_dir = Path(tempfile.mkdtemp(prefix="chexweb-bench-slow-"))
    redis_port, web_port = free_port(), free_port()
    env = {"CHEXWEB_VAR_DIR": str(var_dir), "DATABASE_URL": "",
           "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
           "CHEXWEB_LISTEN": f"127.0.0.1:{web_port}", "CHEXWEB_LOG_LEVEL": "WARNING"}
    base_url = f"http://127.0.0.1:{web_port}"
    password = secrets.token_urlsafe(12)
    processes = [Process("bench-redis", f"{shutil.which('redis-server')} --port {redis_port} "
                         "--bind 127.0.0.1 --save '' --appendonly no", env={})]
    try:
        wait_until(lambda: redis.Redis.from_url(env["REDIS_URL"]).ping(), timeout=20,
                   what="redis-server", process=processes[0])
        run_checked([sys.executable, "manage.py", "migrate", "--noinput"], env=env)
        run_checked([sys.executable, "manage.py", "ensure_demo_user", "--username", "bench",
                     f"--password={password}"], env=env)
        processes.append(Process("bench-web", web_command, env=env))
        # /accounts/login/: /healthz says 503 here, with no model server to ask
        wait_until(answers_http(f"{base_url}/accounts/login/"), timeout=60, what="web server",
                   process=processes[1])
        files = [large_dicom(f"BENCH-SLOW-{n}") for n in range(uploads)]
        proxy = ThrottlingProxy(("127.0.0.1", web_port), rate)
        probe = logged_in(base_url, password)

        def send(content: bytes) -> tuple[int, float]:
            session, started = logged_in(base_url, password), time.monotonic()
            try:
                answer = session.post(f"http://127.0.0.1:{proxy.port}/studies/new/",
                                      files={"image": ("study.dcm", content)},
                                      headers={"Accept": "application/json"}, timeout=300)
                status = answer.status_code
            except requests.RequestException:
                status = 0  # the connection was dropped
            return status, time.monotonic() - started

        probes: list[float] = []
        with ThreadPoolExecutor(uploads) as pool:
            sent = [pool.submit(send, content) for content in files]
            time.sleep(1)
            while not all(future.done() for future in sent):
                for path in ("/healthz", "/studies/new/"):
                    started = time.monotonic()
                    try:
                        probe.get(base_url + path, timeout=60)
                    except requests.RequestException:
                        pass
                    probes.append(time.monotonic() - started)
                time.sleep(0.5)
            results = [future.result() for future in sent]
        proxy.close()
        probes.sort()
        return {
            "uploads": results,
            "probes": len(probes),
            "median_s": statistics.median(probes),
            "p95_s": probes[int(0.95 * (len(probes) - 1))],
            "max_s": probes[-1],
            "over_1s": sum(p > 1 for p in probes),
        }
    finally:
        for process in reversed(processes):
            process.stop(timeout=30)
        shutil.rmtree(var_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=2)
    parser.add_argument("--rate", type=int, default=1_200_000, help="bytes a second per upload")
    parser.add_argument("--compare-sync", action="store_true")
    args = parser.parse_args(argv)
    commands = {"Procfile (gthread)": procfile_command("web")}
    if args.compare_sync:
        commands["earlier (sync, 30 s timeout)"] = sync_web_command()
    print(f"{args.uploads} uploads of 40 MB at {args.rate / 1e6:.1f} MB/s each; load average "
          f"before: {Path('/proc/loadavg').read_text().split()[:3]}")
    for name, command in commands.items():
        found = run(command, args.uploads, args.rate)
        uploads = ", ".join(f"{status or 'dropped'} in {seconds:.0f} s"
                            for status, seconds in found["uploads"])
        print(f"{name}: uploads {uploads}; {found['probes']} page probes: median "
              f"{found['median_s'] * 1000:.0f} ms, p95 {found['p95_s'] * 1000:.0f} ms, max "
              f"{found['max_s'] * 1000:.0f} ms, over 1 s: {found['over_1s']}")
    return 0


if __name__ == "__main__":
    threading.excepthook = lambda args: None  # a dropped relay thread is part of the picture
    sys.exit(main())
