"""The result page and the upload table show a stored result at once, not at their next poll.

The model server is held (SIGSTOP) while a study waits in it, and let go just after the page sent
a status request (or after 1.5 s when it sends none: a request told of the change is in flight).
A page that polled every second would then show the result at its next poll, a second after the
last one, so 600-900 ms after it is stored (checked: with the scripts of before this change both
tests fail, medians 700-1000 ms); a page told of the change shows it within tens of milliseconds
(docs/benchmarks.md, Status push). The median is asserted, so that one round slowed by a busy
machine does not fail the test."""

import itertools
import re
import signal
import statistics
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.shared import SAMPLE_PNGS
from tests.system.test_end_to_end import FILE_LABEL, log_in

pytestmark = pytest.mark.system
SHOWN_WITHIN_MS = 300  # the median; a poll's would be over 600
_made = itertools.count()
# When each study's "Done" appeared (browser clock, ms): by the result page's path, or by the
# upload table row's file name.
DONE_SEEN = """
window.doneSeen = {};
new MutationObserver(() => {
  for (const el of document.querySelectorAll(".status-done")) {
    const key = el.id === "study-status" ? location.pathname : el.closest("tr")?.dataset.file;
    if (key && !(key in window.doneSeen)) window.doneSeen[key] = Date.now();
  }
}).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["class"] });
"""


def distinct_images(folder: Path, count: int) -> list[Path]:
    """Sample PNGs, each with another pixel changed: none refused as a duplicate."""
    paths = []
    for _ in range(count):
        number = next(_made)
        image = Image.open(SAMPLE_PNGS[number % len(SAMPLE_PNGS)]).convert("L")
        pixel = (number % image.width, number // image.width)
        image.putpixel(pixel, (image.getpixel(pixel) + 128) % 256)
        paths.append(folder / f"push-{number}.png")
        image.save(paths[-1])
    return paths


def stored_at_ms(page, stack, study_url: str) -> float:
    study = page.request.get(f"{stack.base_url}{study_url}status/").json()
    return datetime.fromisoformat(study["prediction"]["created_at"]).timestamp() * 1000


class HeldModelServer:
    """The model server stopped until `release`; let go in any case at the end."""

    def __init__(self, stack):
        self.model = stack.processes["model"]

    def __enter__(self):
        self.model.signal(signal.SIGSTOP)
        return self

    def release_after_next_status_request(self, page):
        try:
            with page.expect_request(lambda request: "/status/" in request.url, timeout=1500):
                pass
        except PlaywrightTimeout:
            pass  # none sent: one waits on the server
        self.model.signal(signal.SIGCONT)

    def __exit__(self, *exc):
        self.model.signal(signal.SIGCONT)


def test_the_result_page_shows_the_result_when_it_is_stored(stack, page, tmp_path):
    page.add_init_script(DONE_SEEN)
    log_in(page, stack)
    delays = []
    for image in distinct_images(tmp_path, 5):
        page.goto(f"{stack.base_url}/studies/new/")
        with HeldModelServer(stack) as model:
            page.get_by_label(FILE_LABEL).set_input_files(str(image))
            page.get_by_role("button", name="Upload and analyse").click()
            page.wait_for_url(re.compile(r"/studies/[0-9a-f-]{36}/$"))
            page.locator("#study-status.status-processing").wait_for(timeout=30_000)
            model.release_after_next_status_request(page)
        page.locator("#study-status.status-done").wait_for(timeout=30_000)
        path = page.evaluate("location.pathname")
        seen = page.evaluate(f"window.doneSeen[{path!r}]")
        delays.append(seen - stored_at_ms(page, stack, path))
    assert statistics.median(delays) < SHOWN_WITHIN_MS and 0 <= min(delays), delays
    assert max(delays) < 1500, delays


def test_the_upload_table_shows_each_result_when_it_is_stored(stack, page, tmp_path):
    page.add_init_script(DONE_SEEN)
    log_in(page, stack)
    delays = []
    for _ in range(3):
        pair = distinct_images(tmp_path, 2)
        page.goto(f"{stack.base_url}/studies/new/")
        with HeldModelServer(stack) as model:
            page.get_by_label(FILE_LABEL).set_input_files([str(image) for image in pair])
            page.get_by_role("button", name="Upload and analyse").click()
            page.locator("#uploads .status-processing").first.wait_for(timeout=30_000)
            model.release_after_next_status_request(page)
        shown = []  # (stored, seen) of each row
        for image in pair:
            row = page.locator(f'#uploads tr[data-file="{image.name}"]')
            row.locator("a", has_text="Result").wait_for(timeout=30_000)
            url = re.sub(r"^https?://[^/]+", "", row.locator("a").get_attribute("href"))
            shown.append((stored_at_ms(page, stack, url),
                          page.evaluate(f"window.doneSeen[{image.name!r}]")))
        assert all(0 <= seen - stored < 1500 for stored, seen in shown), shown
        stored, seen = min(shown)  # the one held in the model server (the other was read after)
        delays.append(seen - stored)
    assert statistics.median(delays) < SHOWN_WITHIN_MS, delays
