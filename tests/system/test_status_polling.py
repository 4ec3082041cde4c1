"""With no waiting slot in the web process (CHEXWEB_STATUS_WAITERS=0), every status request is
answered at once with `Retry-After: 1`: the result page and the upload table still reach "Done"
without a reload, asking about once a second as they polled before (web/status.py).

The model server is held (SIGSTOP) for HOLD_S seconds while a study waits in it; the page's
status requests that started meanwhile are read from its Resource Timing entries (the browser's
own clock)."""

import re

import pytest
from playwright.sync_api import expect

from tests.system.test_end_to_end import FILE_LABEL, log_in
from tests.system.test_status_push import HeldModelServer, distinct_images

pytestmark = pytest.mark.system
HOLD_S = 4  # at least two requests a second or more apart, even on a loaded machine
# Every request is kept in Resource Timing (250 by default), a page that hammers included.
ALL_TIMINGS = "performance.setResourceTimingBufferSize(100000);"


@pytest.fixture(scope="module")
def stack_settings() -> dict[str, str]:
    return {"CHEXWEB_STATUS_WAITERS": "0"}


def retry_afters(page, path: str) -> list[str | None]:
    """The Retry-After of each answer to the page's requests to `path`, as they come."""
    answers = []
    page.on("response", lambda response: answers.append(response.headers.get("retry-after"))
            if path in response.url else None)
    return answers


def held_for_a_while(page) -> tuple[float, float]:
    """HOLD_S seconds of the page's clock (ms) while the model server is held."""
    start = page.evaluate("performance.now()")
    page.wait_for_timeout(HOLD_S * 1000)
    return start, page.evaluate("performance.now()")


def asked_within(page, path: str, window: tuple[float, float]) -> list[float]:
    """When the page's requests to `path` that started within `window` started (ms)."""
    starts = page.evaluate("""(path) => performance.getEntriesByType("resource")
        .filter((entry) => entry.name.includes(path)).map((entry) => entry.startTime)""", path)
    return sorted(start for start in starts if window[0] <= start <= window[1])


def assert_polled_about_once_a_second(starts: list[float]) -> None:
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
    assert 2 <= len(starts) <= HOLD_S + 1, starts  # kept asking, and did not hammer
    assert min(gaps) >= 900, gaps


def test_the_result_page_polls_until_done_when_no_wait_is_possible(stack, page, tmp_path):
    page.add_init_script(ALL_TIMINGS)
    log_in(page, stack)
    path = "/status/?after="
    answers = retry_afters(page, path)
    with HeldModelServer(stack):
        page.get_by_label(FILE_LABEL).set_input_files(str(*distinct_images(tmp_path, 1)))
        page.get_by_role("button", name="Upload and analyse").click()
        page.wait_for_url(re.compile(r"/studies/[0-9a-f-]{36}/$"))
        page.locator("#study-status.status-processing").wait_for(timeout=30_000)
        window = held_for_a_while(page)
    page.locator("#study-status.status-done").wait_for(timeout=30_000)
    page.locator("#findings tbody tr").first.wait_for(timeout=10_000)  # the result, no reload
    assert_polled_about_once_a_second(asked_within(page, path, window))
    assert answers and set(answers) == {"1"}, answers  # no answer was a wait


def test_the_upload_table_polls_until_done_when_no_wait_is_possible(stack, page, tmp_path):
    page.add_init_script(ALL_TIMINGS)
    log_in(page, stack)
    path = "/studies/status/?"
    answers = retry_afters(page, path)
    pair = distinct_images(tmp_path, 2)
    with HeldModelServer(stack):
        page.get_by_label(FILE_LABEL).set_input_files([str(image) for image in pair])
        page.get_by_role("button", name="Upload and analyse").click()
        followed = page.locator("#uploads :is(.status-queued, .status-processing)")
        expect(followed).to_have_count(2, timeout=30_000)  # both rows in every request
        page.locator("#uploads .status-processing").wait_for(timeout=30_000)
        window = held_for_a_while(page)
    for image in pair:
        row = page.locator(f'#uploads tr[data-file="{image.name}"]')
        row.locator("a", has_text="Result").wait_for(timeout=30_000)
        expect(row.locator(".status-done")).to_have_text("Done")
    assert_polled_about_once_a_second(asked_within(page, path, window))
    assert answers and set(answers) == {"1"}, answers
