"""A clinician uploads a chest X-ray in a real browser; a real worker and model server answer."""

import json
import re

import pytest
import requests

from inference.findings import FINDINGS
from tests.conftest import SAMPLES
from tests.system.conftest import screenshot

pytestmark = pytest.mark.system


def log_in(page, stack) -> None:
    page.goto(f"{stack.base_url}/")
    page.get_by_label("Username").fill(stack.username)
    page.get_by_label("Password").fill(stack.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/studies/new/$"))


def test_an_uploaded_xray_gets_its_14_findings_on_the_result_page(stack, page):
    log_in(page, stack)
    screenshot(page, "upload")
    page.get_by_label("Chest X-ray (PNG, JPEG or DICOM)").set_input_files(
        str(SAMPLES / "nih_00000075_000.png"))
    page.get_by_label("Patient identifier").fill("TEST-0001")
    page.get_by_role("button", name="Upload and analyse").click()
    page.wait_for_url(re.compile(r"/studies/[0-9a-f-]{36}/$"))

    # The page updates by itself: no reload here.
    rows = page.locator("#findings tbody tr")
    rows.first.wait_for(timeout=90_000)
    assert rows.count() == len(FINDINGS)
    assert page.locator("#study-status").inner_text() == "Done"
    shown = {row.get_attribute("data-finding"): float(row.locator(".value").inner_text())
             for row in rows.all()}
    assert set(shown) == set(FINDINGS)
    assert all(0.0 <= p <= 1.0 for p in shown.values())
    assert list(shown.values()) == sorted(shown.values(), reverse=True)
    assert "not medical predictions" in page.locator("#model-warning").inner_text()
    assert page.locator("img.xray").evaluate("img => img.naturalWidth") == 1024
    screenshot(page, "result")

    page.get_by_role("link", name="History").click()
    assert "TEST-0001" in page.locator("table.history").inner_text()
    assert "unverified weights" in page.locator("table.history").inner_text()
    screenshot(page, "history")


def study_links(page, stack) -> set[str]:
    history = page.request.get(f"{stack.base_url}/studies/").text()
    return set(re.findall(r'href="(/studies/[0-9a-f-]{36}/)"', history))


def test_a_file_that_is_not_an_image_is_refused_on_the_form(stack, page, tmp_path):
    log_in(page, stack)
    before = study_links(page, stack)
    not_an_image = tmp_path / "report.png"
    not_an_image.write_text("this is a radiology report, not an image")
    page.get_by_label("Chest X-ray (PNG, JPEG or DICOM)").set_input_files(str(not_an_image))
    page.get_by_role("button", name="Upload and analyse").click()
    error = page.locator(".field.has-error .error")
    assert "not a readable image" in error.inner_text()
    assert re.search(r"/studies/new/$", page.url)
    assert study_links(page, stack) == before


def test_every_page_but_login_and_health_needs_a_login(stack):
    for path in ("/studies/", "/studies/new/", "/admin/"):
        response = requests.get(stack.base_url + path, allow_redirects=False, timeout=10)
        assert response.status_code == 302, path
        assert "login" in response.headers["Location"]
    assert requests.get(stack.base_url + "/healthz", timeout=10).text == "ok"


def test_diagnose_command_prints_all_14_findings_for_each_file(stack):
    files = [str(SAMPLES / "nih_00000075_000.png"), str(SAMPLES / "nih512_00027426_000.png")]
    output = json.loads(stack.manage("diagnose", *files, "--json"))
    assert list(output) == files
    for probabilities in output.values():
        assert list(probabilities) == list(FINDINGS)
        assert all(0.0 <= p <= 1.0 for p in probabilities.values())
