"""Clinicians and reviewers in a real browser; a real worker and model server answer."""

import csv
import io
import json
import re

import pytest
import requests

from inference.findings import FINDINGS
from tests.shared import SAMPLES
from tests.system.conftest import screenshot

pytestmark = pytest.mark.system
SIIM = SAMPLES / "siim_1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"
FILE_LABEL = "Chest X-ray (PNG, JPEG or DICOM)"


def log_in(page, stack) -> None:
    page.goto(f"{stack.base_url}/")
    page.get_by_label("Username").fill(stack.username)
    page.get_by_label("Password").fill(stack.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/studies/new/$"))


def findings_shown(page) -> dict[str, tuple[float, bool]]:
    rows = page.locator("#findings tbody tr")
    return {row.get_attribute("data-finding"): (float(row.locator(".value").inner_text()),
                                                "flagged" in (row.get_attribute("class") or ""))
            for row in rows.all()}


def test_an_uploaded_xray_gets_its_14_findings_on_the_result_page(stack, page):
    log_in(page, stack)
    screenshot(page, "upload")
    page.get_by_label(FILE_LABEL).set_input_files(str(SAMPLES / "nih_00000075_000.png"))
    page.get_by_label("Patient identifier").fill("TEST-0001")
    page.get_by_role("button", name="Upload and analyse").click()
    page.wait_for_url(re.compile(r"/studies/[0-9a-f-]{36}/$"))

    # The page updates by itself: no reload here.
    page.locator("#findings tbody tr").first.wait_for(timeout=90_000)
    assert page.locator("#study-status").inner_text() == "Done"
    shown = findings_shown(page)
    assert set(shown) == set(FINDINGS)
    assert all(0.0 <= p <= 1.0 for p, _ in shown.values())
    order = [(not flagged, -p) for p, flagged in shown.values()]
    assert order == sorted(order)  # flagged first, then most probable
    assert "not medical predictions" in page.locator("#model-warning").inner_text()
    page.locator("[data-viewer][data-ready=true]").wait_for(timeout=30_000)
    screenshot(page, "result")

    page.get_by_role("link", name="History").click()
    assert "TEST-0001" in page.locator("table.history").inner_text()
    assert "unverified weights" in page.locator("table.history").inner_text()


def test_several_files_including_a_dicom_are_followed_until_done(stack, page):
    log_in(page, stack)
    page.get_by_label(FILE_LABEL).set_input_files([str(SAMPLES / "nih_00001968_000.png"),
                                                   str(SIIM)])
    page.get_by_role("button", name="Upload and analyse").click()
    rows = page.locator("#uploads tbody tr")
    for name in ("nih_00001968_000.png", SIIM.name):
        row = page.locator(f'#uploads tr[data-file="{name}"]')
        row.locator("a", has_text="Result").wait_for(timeout=120_000)
        assert row.locator("progress").get_attribute("value") == "100"
        assert row.locator(".status").inner_text().startswith("Done")
    assert rows.count() == 2
    screenshot(page, "uploads")

    page.locator(f'#uploads tr[data-file="{SIIM.name}"] a', has_text="Result").click()
    assert "CR PA" in page.locator("figcaption").inner_text()  # filled from the DICOM header
    page.locator("[data-viewer][data-ready=true]").wait_for(timeout=30_000)


def test_a_heatmap_is_laid_over_the_image_with_an_opacity(stack, page):
    log_in(page, stack)
    page.get_by_label(FILE_LABEL).set_input_files(str(SAMPLES / "nih_00004387_000.png"))
    page.get_by_role("button", name="Upload and analyse").click()
    page.locator("#findings tbody tr").first.wait_for(timeout=90_000)
    page.get_by_label("Heatmap").select_option(label="Effusion")
    layer = page.locator(".heat-layer")
    layer.wait_for(state="visible")
    page.wait_for_function("() => document.querySelector('.heat-layer').naturalWidth > 0")
    page.get_by_label("Opacity").fill("80")
    assert layer.evaluate("img => getComputedStyle(img).opacity") == "0.8"
    page.locator("[data-viewer][data-ready=true]").wait_for(timeout=30_000)
    fitted = float(page.locator("[data-pane]").get_attribute("data-scale"))
    page.get_by_role("button", name="Zoom in").click()
    assert float(page.locator("[data-pane]").get_attribute("data-scale")) == pytest.approx(
        fitted * 1.25, rel=1e-3)
    screenshot(page, "heatmap")


def test_a_reviewer_reviews_a_finding_and_the_history_filters_and_exports(stack, page):
    log_in(page, stack)  # the demo login is an admin: it may review
    page.get_by_label(FILE_LABEL).set_input_files(str(SAMPLES / "nih_00001021_000.png"))
    page.get_by_label("Accession number").fill("REVIEW-7")
    page.get_by_role("button", name="Upload and analyse").click()
    page.locator("#review-form").wait_for(timeout=90_000)
    page.locator('input[name="verdict_Pneumonia"][value="agree"]').check()
    page.get_by_label("Note").fill("consolidation right lower lobe")
    page.get_by_label("Sign off this review").check()
    page.get_by_role("button", name="Save review").click()
    assert "Review saved and signed off." in page.locator(".notice").inner_text()
    assert "Pneumonia agree" in page.locator(".review-entry").inner_text()
    screenshot(page, "review")

    page.get_by_role("link", name="History").click()
    page.get_by_label("Patient or accession").fill("REVIEW")
    page.get_by_label("Reviewed", exact=True).select_option("yes")
    page.get_by_role("button", name="Apply").click()
    assert page.locator("table.history tbody tr").count() == 1
    assert "REVIEW-7" in page.locator("table.history").inner_text()
    screenshot(page, "history")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export these as CSV").click()
    rows = list(csv.reader(io.StringIO(open(download.value.path()).read())))
    assert len(rows) == 2 and "REVIEW-7" in rows[1]


def study_links(page, stack) -> set[str]:
    history = page.request.get(f"{stack.base_url}/studies/").text()
    return set(re.findall(r'href="(/studies/[0-9a-f-]{36}/)"', history))


def test_a_file_that_is_not_an_image_is_refused_on_the_form(stack, page, tmp_path):
    log_in(page, stack)
    before = study_links(page, stack)
    not_an_image = tmp_path / "report.png"
    not_an_image.write_text("this is a radiology report, not an image")
    page.get_by_label(FILE_LABEL).set_input_files(str(not_an_image))
    page.get_by_role("button", name="Upload and analyse").click()
    refusal = page.locator('#uploads tr[data-file="report.png"] .status')
    refusal.wait_for()
    assert "not a readable image" in refusal.inner_text()
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
