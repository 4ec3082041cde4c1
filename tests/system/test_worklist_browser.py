"""The worklist in a real browser (Chromium) against pytest-django's live server: the order
(a study waiting over the maximum on top, then urgent first), the urgent count in the
navigation, updates without a reload, and j/k/Enter. Screenshots in test-artifacts/."""

import re
import threading
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from diagnoses import model_versions
from diagnoses.models import ModelVersion, Study
from inference.findings import FINDINGS
from tests.factories import prediction_add, study_stored
from tests.system.conftest import screenshot

pytestmark = [pytest.mark.system,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]



@pytest.fixture
def browser(browser_after_database):
    return browser_after_database

@pytest.fixture(scope="module", autouse=True)
def orm_beside_playwright():
    """Playwright's sync API keeps an event loop in this thread; the test's own database calls
    (data, flush) run beside it, one at a time, as the live server's do in their threads."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


def read(clinician, version, *, patient_id: str, minutes_ago: int, flagged=()) -> Study:
    study = study_stored(uploaded_by=clinician, patient_id=patient_id)
    Study.objects.filter(pk=study.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago))
    prediction_add(study=study, model_version=version,
                   probabilities={name: 0.9 for name in flagged})
    return study


def patients(page) -> list[str]:
    return page.locator("#worklist tbody tr td:nth-child(2)").all_inner_texts()


def selected(page) -> str:
    return page.locator("#worklist tbody tr.selected td:nth-child(2)").inner_text()


@pytest.fixture
def logged_in_page(browser, client, clinician, live_server):
    client.force_login(clinician)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": live_server.url}])
    page = context.new_page()
    yield page
    context.close()
    for thread in threading.enumerate():  # let the server finish before the database goes
        if thread.name.endswith("(process_request_thread)"):
            thread.join(timeout=10)


def test_the_worklist_orders_by_urgency_under_a_maximum_wait_and_follows_the_keyboard(
        settings, clinician, live_server, logged_in_page):
    page = logged_in_page
    settings.CHEXWEB_WORKLIST_MAX_WAIT_MINUTES = 60
    version = ModelVersion.objects.create(identity="a" * 64, name="CheXNet", state="active")
    model_versions.threshold_set_create(
        model_version=version, thresholds={name: 0.5 for name in FINDINGS},
        urgencies={"Pneumothorax": "urgent", "Effusion": "priority"})
    read(clinician, version, patient_id="ROUTINE", minutes_ago=30, flagged=["Mass"])
    priority = read(clinician, version, patient_id="PRIORITY", minutes_ago=20,
                    flagged=["Effusion"])
    read(clinician, version, patient_id="URGENT", minutes_ago=5, flagged=["Pneumothorax"])
    read(clinician, version, patient_id="CAPPED", minutes_ago=90)

    page.goto(live_server.url + reverse("study-worklist"))
    assert patients(page) == ["CAPPED", "URGENT", "PRIORITY", "ROUTINE"]
    assert page.locator("#urgent-unread").inner_text() == "1"
    assert "waiting over the maximum" in page.locator("#worklist tbody tr").first.inner_text()
    screenshot(page, "worklist")

    page.keyboard.press("j")
    assert selected(page) == "CAPPED"
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert selected(page) == "URGENT"
    page.keyboard.press("j")
    assert selected(page) == "PRIORITY"
    screenshot(page, "worklist-selected")

    # A new urgent study arrives: the page shows it without a reload, the selection stays.
    read(clinician, version, patient_id="URGENT-2", minutes_ago=10, flagged=["Pneumothorax"])
    page.wait_for_function(
        "() => document.querySelectorAll('#worklist tbody tr').length === 5", timeout=20_000)
    assert patients(page) == ["CAPPED", "URGENT-2", "URGENT", "PRIORITY", "ROUTINE"]
    assert page.locator("#urgent-unread").inner_text() == "2"
    assert selected(page) == "PRIORITY"
    screenshot(page, "worklist-updated")

    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(reverse("study-detail", args=[priority.pk])) + "$"))
