"""Issue 16 in a real browser against the whole product: patient identity, reviews by keyboard,
phones, the prompt before leaving an upload, error pages. Screenshots at 1440x900 and 390x844
go to test-artifacts/."""

import re

import pydicom
import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.shared import SAMPLES
from tests.system.conftest import screenshot
from tests.system.test_end_to_end import FILE_LABEL, log_in

pytestmark = pytest.mark.system
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
SIIM = SAMPLES / "siim_1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"
STUDY_URL = re.compile(r"/studies/[0-9a-f-]{36}/$")


def new_page(browser, stack, viewport):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    log_in(page, stack)
    return page


def no_sideways_scroll(page, viewport) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate("""(limit) => Array.from(document.querySelectorAll('body *'))
        .filter(e => e.getBoundingClientRect().right > limit + 1)
        .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id + ' '
                              + Math.round(e.getBoundingClientRect().right))""", viewport["width"])
    assert width <= viewport["width"], (
        f"{page.url} is {width} px wide on {viewport['width']} px: {wide}")


def accessibility_violations(page) -> list[str]:
    return [f"{v['id']}: {v['help']} — {v['nodes'][0]['target'][0]}"
            for v in Axe().run(page).response["violations"]]


def upload(page, path, patient_id=""):
    page.get_by_label(FILE_LABEL).set_input_files(str(path))
    if patient_id:
        page.get_by_label("Patient identifier").fill(patient_id)
    page.get_by_role("button", name="Upload and analyse").click()


@pytest.fixture(scope="module")
def done_study_url(stack, browser):
    page = new_page(browser, stack, DESKTOP)
    upload(page, SAMPLES / "nih_00000001_000.png", "UX-PHONE-1")
    page.wait_for_url(STUDY_URL)
    page.locator("#findings tbody tr").first.wait_for(timeout=90_000)
    url = page.url
    page.context.close()
    return url


def test_a_patient_id_the_dicom_header_contradicts_is_refused_until_confirmed(stack, browser):
    header = str(pydicom.dcmread(SIIM, stop_before_pixels=True).PatientID)
    page = new_page(browser, stack, DESKTOP)
    upload(page, SIIM, "WRONG-PT")
    refusal = page.locator(f'#uploads tr[data-file="{SIIM.name}"] .status')
    refusal.wait_for()
    page.wait_for_function("() => !document.querySelector('#uploads .status')"
                           ".textContent.startsWith('Uploading')")
    assert "differs from the DICOM header" in refusal.inner_text()
    assert header in refusal.inner_text()
    screenshot(page, "wrong-patient-refused-1440")

    page.get_by_label(re.compile("DICOM header names another patient")).check()
    upload(page, SIIM, "WRONG-PT")
    page.wait_for_url(STUDY_URL)
    mismatch = page.locator("#patient-mismatch")
    assert "WRONG-PT" in mismatch.inner_text() and header in mismatch.inner_text()
    screenshot(page, "wrong-patient-confirmed-1440")
    page.set_viewport_size(PHONE)
    screenshot(page, "wrong-patient-confirmed-390")
    page.context.close()


def test_a_review_by_keyboard_refuses_empty_and_is_final_once_signed_off(stack, browser,
                                                                         done_study_url):
    page = new_page(browser, stack, DESKTOP)
    page.goto(done_study_url)
    form = page.locator("#review-form")
    form.wait_for()
    rows = form.locator("table.verdicts tbody tr")
    assert re.fullmatch(r"0\.\d{3}", rows.first.locator("td.value").inner_text())

    page.get_by_role("button", name="Save review").click()  # nothing given
    assert page.get_by_text("An empty review is not saved").is_visible()

    page.locator("body").press("a")
    page.locator("body").press("d")
    assert rows.nth(0).locator('input[value="agree"]').is_checked()
    assert rows.nth(1).locator('input[value="disagree"]').is_checked()
    assert "current" in rows.nth(2).get_attribute("class")
    # The image stays on screen beside the review: the viewer keeps its place as the page scrolls.
    page.get_by_role("button", name="Save review").scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 0
    viewer = page.locator(".viewer-card").bounding_box()  # in the viewport's coordinates
    middle = DESKTOP["height"] / 2
    assert viewer["y"] < middle < viewer["y"] + viewer["height"], viewer
    screenshot(page, "review-keyboard-1440")
    page.get_by_label("Sign off this review").check()
    page.get_by_role("button", name="Save review").click()
    assert "signed off" in page.locator(".notice").first.inner_text()
    assert page.locator("#review-form").count() == 0  # no form to fill and be refused
    assert "final" in page.locator("#review-final").inner_text()
    entry = page.locator(".review-entry").inner_text()
    assert re.search(r"signed off \d{4}-\d\d-\d\d \d\d:\d\d UTC", entry), entry
    page.set_viewport_size(PHONE)
    screenshot(page, "review-signed-off-390")
    page.context.close()


@pytest.mark.parametrize("name", ["desktop", "phone"])
def test_history_upload_and_result_fit_the_screen(stack, browser, done_study_url, name):
    viewport = VIEWPORTS[name]
    page = new_page(browser, stack, viewport)
    found = {}
    for page_name, path in (("upload", "/studies/new/"), ("history", "/studies/?sort=probability")):
        page.goto(stack.base_url + path)
        if page_name == "upload":
            assert "Up to 64 MiB a file." in page.locator("#size-limit").inner_text()
            # two files: the page stays, with its table of uploads
            page.get_by_label(FILE_LABEL).set_input_files(
                [str(SAMPLES / "nih_00004387_000.png"), str(SAMPLES / "nih_00000075_000.png")])
            page.get_by_role("button", name="Upload and analyse").click()
            page.locator('#uploads td[data-label="Result"] a').first.wait_for(timeout=90_000)
        no_sideways_scroll(page, viewport)
        found[page_name] = accessibility_violations(page)
        screenshot(page, f"{page_name}-{viewport['width']}")
    assert page.locator("table.history img.thumb").count() >= 1

    page.goto(done_study_url)
    page.locator("#findings").wait_for()
    no_sideways_scroll(page, viewport)
    warning = page.locator("#model-warning").bounding_box()
    assert warning["y"] + warning["height"] <= viewport["height"], "stand-in warning below the fold"
    found["result"] = accessibility_violations(page)
    page.screenshot(path=str(screenshot_path(f"result-above-fold-{viewport['width']}")))
    assert all(not problems for problems in found.values()), found
    page.context.close()


def screenshot_path(name):
    from tests.system.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def test_leaving_during_an_upload_asks_first(stack, browser):
    page = new_page(browser, stack, DESKTOP)
    held = []
    page.route("**/studies/new/", lambda route: held.append(route)
               if route.request.method == "POST" else route.continue_())
    upload(page, SAMPLES / "nih_00000129_000.png")
    page.wait_for_function("() => document.querySelector('#uploads progress') !== null")
    dialogs = []

    def answer(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()  # stay on the page

    page.on("dialog", answer)
    try:
        page.reload(timeout=3000)
    except Exception:  # the reload is cancelled by staying
        pass
    assert dialogs == ["beforeunload"]
    page.context.close()


@pytest.mark.parametrize("name", ["desktop", "phone"])
def test_missing_pages_are_styled_and_an_unknown_patient_is_not_found(stack, browser, name):
    page = new_page(browser, stack, VIEWPORTS[name])
    response = page.goto(f"{stack.base_url}/studies/00000000-0000-0000-0000-000000000000/")
    assert response.status == 404
    assert page.locator("#error-page h1").inner_text() == "Not found"
    assert page.locator("link[rel=icon]").count() == 1
    assert accessibility_violations(page) == []
    screenshot(page, f"not-found-{VIEWPORTS[name]['width']}")
    assert page.goto(f"{stack.base_url}/studies/patient/?id=NOBODY-42").status == 404
    assert page.request.get(f"{stack.base_url}/static/diagnoses/favicon.svg").ok
    page.context.close()


def test_the_api_docs_logged_out_show_the_login_page(stack, browser):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{stack.base_url}/api/v1/docs/")
    assert "/accounts/login/" in page.url
    assert page.get_by_role("button", name="Log in").is_visible()
    context.close()


def test_a_large_file_goes_in_pieces_and_survives_a_dropped_connection(stack, browser,
                                                                         tmp_path):
    from tests.system.test_slow_uploads import large_dicom

    path = tmp_path / "large.dcm"
    path.write_bytes(large_dicom("CHUNKED-1"))  # 40 MB: ten pieces of 4 MiB
    page = new_page(browser, stack, DESKTOP)
    dropped = []

    def drop_one_piece(route):
        request = route.request
        if (request.method == "POST" and not dropped
                and request.headers.get("upload-offset", "0") != "0"):
            dropped.append(request.headers["upload-offset"])
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(re.compile(r"/studies/new/pieces/[0-9a-f]{32}/$"), drop_one_piece)
    upload(page, path)
    page.wait_for_url(STUDY_URL, timeout=120_000)
    assert dropped, "no piece was dropped: the file did not go in pieces"
    study = page.request.get(page.url + "status/").json()
    assert study["patient_id"] == "CHUNKED-1" and study["original_filename"] == "large.dcm"
    page.context.close()


@pytest.mark.parametrize("name", ["desktop", "phone"])
def test_history_sorts_by_probability_and_says_when_dates_are_swapped(stack, browser,
                                                                      done_study_url, name):
    page = new_page(browser, stack, VIEWPORTS[name])
    page.goto(f"{stack.base_url}/studies/")
    page.get_by_label("Sort").select_option("probability")
    page.get_by_role("button", name="Apply").click()
    assert "sort=probability" in page.url and "?&" not in page.url
    assert page.locator("table.history tbody tr").count() >= 1
    page.get_by_label("From").fill("2026-12-31")
    page.get_by_label("To").fill("2026-01-01")
    page.get_by_role("button", name="Apply").click()
    assert "is before “From”" in page.locator(".filters .error").inner_text()
    assert page.locator("table.history tbody").inner_text().strip() == "No studies match."
    no_sideways_scroll(page, VIEWPORTS[name])
    screenshot(page, f"history-dates-swapped-{VIEWPORTS[name]['width']}")
    page.context.close()


def test_the_admin_asks_before_marking_reviewed(stack, browser, done_study_url):
    page = new_page(browser, stack, DESKTOP)
    page.goto(f"{stack.base_url}/admin/diagnoses/study/")
    page.locator("input.action-select").first.check()
    page.locator("select[name=action]").select_option("mark_reviewed")
    page.locator("button[name=index]").click()
    heading = page.get_by_role("heading", name=re.compile(r"Sign off \d+ of the 1 selected"))
    assert heading.is_visible()
    screenshot(page, "admin-mark-reviewed-confirmation-1440")
    page.get_by_role("link", name="No, take me back").click()
    assert page.url.endswith("/admin/diagnoses/study/")
    page.context.close()


def test_a_rerun_with_the_same_model_says_so(stack, browser, done_study_url):
    """Last in this module: the study is queued again."""
    page = new_page(browser, stack, DESKTOP)
    page.goto(done_study_url)
    page.get_by_role("button", name="Re-run this study").click()
    assert page.get_by_text("the earlier prediction is kept and no new one appears").is_visible()
    screenshot(page, "rerun-same-model-1440")
    page.context.close()
