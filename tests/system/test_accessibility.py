"""The main pages pass an axe-core accessibility check, on a desktop and a tablet screen, and the
upload works from the keyboard alone."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.shared import SAMPLES
from tests.system.conftest import screenshot
from tests.system.test_end_to_end import FILE_LABEL, log_in

pytestmark = pytest.mark.system
TABLET = {"width": 768, "height": 1024}
DESKTOP = {"width": 1280, "height": 900}


def violations(page) -> list[str]:
    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(node["target"][0] for node in v["nodes"][:3])
            for v in results.response["violations"]]


@pytest.fixture(scope="module")
def finished_study_url(stack, browser):
    context = browser.new_context()
    page = context.new_page()
    log_in(page, stack)
    for sample in ("nih_00000075_000.png", "nih_00000129_000.png"):  # a prior, to compare with
        page.goto(f"{stack.base_url}/studies/new/")
        page.get_by_label(FILE_LABEL).set_input_files(str(SAMPLES / sample))
        page.get_by_label("Patient identifier").fill("A11Y-1")
        page.get_by_role("button", name="Upload and analyse").click()
        page.locator("#findings tbody tr").first.wait_for(timeout=90_000)
    url = page.url
    context.close()
    return url


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_the_main_pages_have_no_accessibility_violations(stack, browser, finished_study_url,
                                                         viewport):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(f"{stack.base_url}/accounts/login/")
    found = {"login": violations(page)}
    log_in(page, stack)
    for name, path in (("upload", "/studies/new/"), ("history", "/studies/"),
                       ("patient", "/studies/patient/?id=A11Y-1")):
        page.goto(stack.base_url + path)
        found[name] = violations(page)
    page.goto(finished_study_url)
    page.locator("#findings").wait_for()
    page.locator("[data-viewer][data-ready=true]").wait_for(timeout=60_000)
    page.locator("#findings tbody tr").first.click()  # the heatmap, its crop and caption shown
    page.locator("[data-crop-caption]").wait_for()
    found["result"] = violations(page)
    screenshot(page, f"result-{viewport['width']}")
    page.goto(finished_study_url + "comparison/")
    page.locator("[data-viewer][data-ready=true]").wait_for(timeout=60_000)
    found["comparison"] = violations(page)
    assert all(not problems for problems in found.values()), found
    # Nothing wider than the screen on a tablet.
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    context.close()


def test_an_upload_can_be_made_with_the_keyboard_alone(stack, page):
    log_in(page, stack)
    page.keyboard.press("Tab")
    focused = []
    with page.expect_file_chooser() as chooser:
        for _ in range(30):
            label = page.evaluate("document.activeElement.id || document.activeElement.textContent")
            focused.append(label.strip())
            if label == "id_image":
                page.keyboard.press("Space")
                break
            page.keyboard.press("Tab")
    chooser.value.set_files(str(SAMPLES / "nih_00001968_000.png"))
    while page.evaluate("document.activeElement.textContent") != "Upload and analyse":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/studies/[0-9a-f-]{36}/$"))
    assert focused[-1] == "id_image"  # the file picker was reached with Tab alone
