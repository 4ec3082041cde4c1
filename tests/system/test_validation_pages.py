"""The admin validation and monitoring pages in Chromium: a reviewer sees the report of the
reviewed studies and the monitoring charts drawn; screenshots go to test-artifacts/."""

import datetime

import pytest
from django.core.cache import cache

from diagnoses import monitoring

from tests import factories
from tests.system.conftest import screenshot

pytestmark = [pytest.mark.system,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]



@pytest.fixture
def browser(browser_after_database):
    return browser_after_database

@pytest.fixture(scope="module", autouse=True)
def synchronous_database_beside_playwright():
    """Playwright's sync API keeps an event loop in this thread, which Django takes for async
    code; the test's own database work (setting up, flushing) is ordinary synchronous code."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture
def reviewed(clinician, reviewer):
    version = factories.model_version_create(name="CheXNet stand-in", state="active")
    factories.reviewed_studies(model_version=version, uploaded_by=clinician, reviewer=reviewer,
                               count=30, modality="CR", view_position="PA")
    factories.studies_move_to(when=monitoring.week_start() - datetime.timedelta(days=2))
    cache.clear()
    yield version
    cache.clear()


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/admin/")


def drawn(page, selector: str) -> None:
    """The chart image loaded and has a size (an SVG that failed to parse has none)."""
    image = page.locator(selector).first
    image.wait_for()
    assert image.evaluate("img => img.complete && img.naturalWidth > 100")


def test_a_reviewer_opens_the_validation_and_monitoring_pages(live_server, page, reviewed,
                                                             reviewer):
    log_in(page, live_server.url, reviewer.username)
    page.goto(f"{live_server.url}/admin/validation/")
    page.get_by_role("button", name="Show the report").click()
    page.get_by_text("30 studies with a signed-off review").wait_for()
    drawn(page, "img[alt='ROC curves of the findings with an AUROC']")
    drawn(page, "img[alt='Calibration (reliability) curves']")
    assert page.get_by_role("row", name="Effusion").count() == 1
    screenshot(page, "admin-validation")

    page.get_by_role("button", name="Suggest thresholds (draft)").click()
    page.get_by_text("saved as a draft").wait_for()
    assert "Only an admin applies" in page.content()
    screenshot(page, "admin-threshold-suggestion")

    page.goto(f"{live_server.url}/admin/monitoring/")
    for chart in ("#studies-chart", "#flag-chart", "#drift-chart", "#agreement-chart",
                  ".mix-chart"):
        drawn(page, chart)
    screenshot(page, "admin-monitoring")
