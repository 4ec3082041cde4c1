"""Benchmark (not a test): resident memory of each process of the product, idle and after a burst.

    .venv/bin/python -m bench.memory [--burst 50] [--workers 1] [--database-url postgres://...]

Starts the stack as bench.end_to_end does (each Procfile line: model server, celery beat, web
server, Celery worker(s); and a redis-server of its own), waits until it is idle, reads VmRSS and
VmHWM (the peak) from /proc/<pid>/status for every process of each Procfile line (gunicorn's
master and its workers, Celery's main process and its pool child, ...), then uploads --burst
studies, waits until they are done, and reads them again, with PSS (shared pages divided among
the processes that share them, from /proc/<pid>/smaps_rollup): the sum of PSS is what the whole
product takes, the sum of RSS counts shared libraries once per process.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

from bench.end_to_end import (
    BenchStack,
    default_onnx,
    distinct_xrays,
    fresh_postgres_database,
    loadavg,
    setup_django,
    upload,
    wait_done,
)


def process_memory(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Name", "VmRSS", "VmHWM", "PPid"):
            fields[key] = value.strip()
    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    pss_kib = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            pss_kib = int(line.split()[1])
    return {"pid": pid, "ppid": int(fields["PPid"]), "command": command,
            "rss_mib": int(fields.get("VmRSS", "0 kB").split()[0]) / 1024,
            "pss_mib": pss_kib / 1024,
            "peak_mib": int(fields.get("VmHWM", "0 kB").split()[0]) / 1024}


def snapshot(stack: BenchStack) -> dict[str, list[dict]]:
    """Each Procfile line's processes (the bash that honcho-like starts them left out)."""
    found = {}
    for name, pids in stack.all_pids().items():
        rows = []
        for pid in sorted(pids):
            try:
                row = process_memory(pid)
            except (OSError, KeyError):
                continue
            if row["command"].startswith("bash -c"):
                continue
            rows.append(row)
        found[name] = rows
    return found


def role(name: str, row: dict, rows: list[dict]) -> str:
    parents = {other["pid"] for other in rows}
    child = row["ppid"] in parents
    if name == "web":
        return "gunicorn worker" if child else "gunicorn master"
    if name.startswith("worker"):
        return "celery pool child" if child else "celery main"
    return name


def table(before: dict, after: dict) -> list[str]:
    lines = ["| process | role | RSS idle MiB | RSS after burst MiB | peak RSS MiB | PSS after "
             "burst MiB |", "|---|---|---:|---:|---:|---:|"]
    for name, rows in before.items():
        later = {row["pid"]: row for row in after.get(name, [])}
        for row in rows:
            then = later.get(row["pid"], dict.fromkeys(("rss_mib", "peak_mib", "pss_mib"),
                                                       float("nan")))
            lines.append(f"| {name} | {role(name, row, rows)} | {row['rss_mib']:.0f} | "
                         f"{then['rss_mib']:.0f} | {then['peak_mib']:.0f} | "
                         f"{then['pss_mib']:.0f} |")
    total_before = sum(row["rss_mib"] for rows in before.values() for row in rows)
    total_after = sum(row["rss_mib"] for rows in after.values() for row in rows)
    total_pss = sum(row["pss_mib"] for rows in after.values() for row in rows)
    lines.append(f"| all | | {total_before:.0f} | {total_after:.0f} | | {total_pss:.0f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--onnx", type=Path, default=default_onnx())
    parser.add_argument("--database-url", default="")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.onnx is None or not args.onnx.exists():
        parser.error("no ONNX model: give --onnx")
    if args.database_url.startswith(("postgres://", "postgresql://")):
        fresh_postgres_database(args.database_url)
    stack = BenchStack(args.onnx, args.database_url)
    print(f"start: load average {loadavg()}, {os.cpu_count()} CPUs", flush=True)
    try:
        stack.start()
        stack.scale_workers(args.workers)
        setup_django(stack)
        session, token = stack.session()  # the web workers have served a page
        time.sleep(5)
        idle = snapshot(stack)
        ids = [upload(session, token, stack.base_url, image, number)
               for number, image in enumerate(distinct_xrays(args.burst))]
        wait_done(ids, timeout=60 + 10 * args.burst)
        time.sleep(2)
        burst = snapshot(stack)
    finally:
        stack.stop()
    print(f"burst of {args.burst} studies, {args.workers} worker(s); load average {loadavg()}")
    print("\n".join(table(idle, burst)))
    if args.json:
        args.json.write_text(json.dumps({"idle": idle, "after_burst": burst}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
