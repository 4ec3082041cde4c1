"""Debian's Chromium under Playwright, as the browser tests and bench/status_push.py start it
(`playwright install` cannot download a browser here; `make test` installs Debian's)."""

from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]


@contextmanager
def chromium():
    if not CHROMIUM.exists():
        raise RuntimeError("Debian's chromium is required for browser tests (`make test` installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()
