"""Benchmark (not a test): upload to result on screen in Chromium, the result page told of the
change (this checkout) against the 1 s poll it had before, side by side in one run.

    .venv/bin/python -m bench.status_push [--rounds 20] [--poll-from main] [--held-s 30]

Starts the product as bench.end_to_end does (redis-server, model server, beat, gunicorn, one
Celery worker, each with its Procfile command). The "poll" pages get the result page's and the
upload page's scripts as they are at --poll-from (git show), served in place of this checkout's
by Playwright; the server is the same. Rounds alternate push, poll, push, ...: one distinct PNG
uploaded through the page's form each round (the page goes to the result page and follows it).

Per round: upload to result on screen (the Upload click to the status turning "Done", both on the
browser's clock), and stored to on screen: from the prediction's `created_at` and from the
study's `finished_at` (set in the transaction that stores the prediction, read from the stack's
SQLite file) to the same moment, on the same machine's clock. p50 and p95 of each, per mode. Then the web load of an open result page
whose study waits --held-s seconds (the model server stopped): its status requests per minute.
"""

import argparse
import json
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from bench.end_to_end import (
    USERNAME,
    BenchStack,
    default_onnx,
    distinct_xrays,
    loadavg,
    percentile,
)
from tests.browser import chromium

SCRIPTS = ("study", "upload")
DONE_SEEN = """
window.doneSeen = null;
new MutationObserver(() => {
  if (window.doneSeen === null && document.querySelector("#study-status.status-done")) {
    window.doneSeen = Date.now();
  }
}).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["class"] });
"""


def old_scripts(ref: str) -> dict[str, str]:
    return {name: subprocess.run(
        ["git", "show", f"{ref}:diagnoses/static/diagnoses/{name}.js"], cwd=REPO, check=True,
        capture_output=True, text=True).stdout for name in SCRIPTS}


def serve(body: str):
    def fulfill(route):
        route.fulfill(status=200, content_type="text/javascript", body=body)
    return fulfill


def browser_page(browser, stack: BenchStack, scripts: dict[str, str] | None):
    """A logged-in page; with `scripts`, those served for the pages' own."""
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(DONE_SEEN)
    for name, body in (scripts or {}).items():
        page.route(f"**/diagnoses/{name}*.js", serve(body))
    page.goto(f"{stack.base_url}/accounts/login/")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(stack.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/studies/new/")
    return page


def one_round(page, stack: BenchStack, image: Path) -> tuple[float, float, float]:
    """(upload to on screen, prediction created to on screen, study committed done to on
    screen) in ms."""
    page.goto(f"{stack.base_url}/studies/new/")
    page.get_by_label("Chest X-ray (PNG, JPEG or DICOM)").set_input_files(str(image))
    clicked = page.evaluate("Date.now()")
    page.get_by_role("button", name="Upload and analyse").click()
    page.wait_for_url("**/studies/*-*/")
    page.locator("#study-status.status-done").wait_for(timeout=60_000)
    seen = page.evaluate("window.doneSeen")
    path = page.evaluate("location.pathname")
    study = page.request.get(f"{stack.base_url}{path}status/").json()
    stored = datetime.fromisoformat(study["prediction"]["created_at"]).timestamp() * 1000
    if seen is None:  # done before the page was shown: on screen when it loaded
        seen = page.evaluate("performance.timing.domContentLoadedEventEnd")
    return seen - clicked, seen - stored, seen - finished_at_ms(stack, study["id"])


def finished_at_ms(stack: BenchStack, study_id: str) -> float:
    """The study's finished_at, written in the transaction that stores the prediction."""
    with sqlite3.connect(stack.var_dir / "chexweb.sqlite3") as database:
        (finished,) = database.execute("SELECT finished_at FROM diagnoses_study WHERE id = ?",
                                       (study_id.replace("-", ""),)).fetchone()
    return datetime.fromisoformat(finished).replace(tzinfo=timezone.utc).timestamp() * 1000


def held_page_load(page, stack: BenchStack, image: Path, held_s: float) -> float:
    """Status requests per minute of a result page whose study waits `held_s` seconds."""
    asked = []
    page.on("request", lambda request: asked.append(time.monotonic())
            if "/status/" in request.url else None)
    page.goto(f"{stack.base_url}/studies/new/")
    stack.processes["model"].signal(signal.SIGSTOP)
    try:
        page.get_by_label("Chest X-ray (PNG, JPEG or DICOM)").set_input_files(str(image))
        page.get_by_role("button", name="Upload and analyse").click()
        page.locator("#study-status.status-processing").wait_for(timeout=30_000)
        start = time.monotonic()
        page.wait_for_timeout(held_s * 1000)  # the page's requests are seen meanwhile
        count = sum(start <= moment < start + held_s for moment in asked)
    finally:
        stack.processes["model"].signal(signal.SIGCONT)
    page.locator("#study-status.status-done").wait_for(timeout=60_000)
    return count * 60 / held_s


def summary(values: list[float]) -> dict:
    return {"p50": round(statistics.median(values)), "p95": round(percentile(values, 0.95)),
            "min": round(min(values)), "max": round(max(values)),
            "each": sorted(round(value) for value in values)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="uploads per mode")
    parser.add_argument("--poll-from", default="main", help="git ref of the polling scripts")
    parser.add_argument("--held-s", type=float, default=30)
    args = parser.parse_args(argv)
    onnx = default_onnx()
    if onnx is None:
        parser.error("no ONNX model: set CHEXNET_ONNX or run the tests once (build/test-models)")
    folder = Path(tempfile.mkdtemp(prefix="chexweb-bench-push-"))
    images = []
    for number, content in enumerate(distinct_xrays(2 * args.rounds + 3)):
        images.append(folder / f"xray-{number}.png")
        images[-1].write_bytes(content)
    stack = BenchStack(onnx=onnx).start()
    measures = ("upload_to_screen", "prediction_created_to_screen", "study_done_to_screen")
    results = {mode: {name: [] for name in measures} for mode in ("push", "poll")}
    loads = {"before": [loadavg()]}
    try:
        stack.scale_workers(1)
        with chromium() as browser:
            pages = {"push": browser_page(browser, stack, None),
                     "poll": browser_page(browser, stack, old_scripts(args.poll_from))}
            one_round(pages["push"], stack, images.pop())  # warm-up: first imports, first pages
            for number in range(2 * args.rounds):
                mode = ("push", "poll")[number % 2]
                for name, value in zip(measures, one_round(pages[mode], stack, images.pop())):
                    results[mode][name].append(value)
            loads["after rounds"] = [loadavg()]
            per_minute = {mode: held_page_load(pages[mode], stack, images.pop(), args.held_s)
                          for mode in ("push", "poll")}
    finally:
        stack.stop()
    report = {
        "rounds": args.rounds, "poll_from": args.poll_from, "held_s": args.held_s,
        "python": platform.python_version(), "loadavg": loads,
        **{mode: {name: summary(values) for name, values in measured.items()}
           for mode, measured in results.items()},
        "status_requests_per_minute_while_waiting": per_minute,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
