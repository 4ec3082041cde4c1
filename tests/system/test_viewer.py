"""The image viewer and the comparison with the previous study, in a real browser: the X-ray drawn
large from its own pixels, wheel zoom, drag pan, window/level, invert, a finding's heatmap with
the model's crop, a DICOM's own window, and two studies side by side with linked zoom and pan."""

import re

import numpy as np
import pytest
from PIL import Image

from inference.imaging.heatmaps import cam_box
from tests.inference.test_dicom import synthetic_radiograph
from tests.shared import SAMPLES
from tests.system.conftest import screenshot
from tests.system.test_end_to_end import FILE_LABEL, SIIM, log_in

pytestmark = pytest.mark.system
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
PRIOR, CURRENT = SAMPLES / "nih_00001021_000.png", SAMPLES / "nih512_00027426_000.png"
HEADER_WINDOW = (1500, 1000)  # centre, width: not the data's range, so it cannot be a default


def upload(page, stack, path, patient_id: str) -> str:
    page.goto(f"{stack.base_url}/studies/new/")
    page.get_by_label(FILE_LABEL).set_input_files(str(path))
    page.get_by_label("Patient identifier").fill(patient_id)
    page.get_by_role("button", name="Upload and analyse").click()
    page.wait_for_url(re.compile(r"/studies/[0-9a-f-]{36}/$"))
    page.locator("#findings tbody tr").first.wait_for(timeout=90_000)
    return page.url


@pytest.fixture(scope="module")
def studies(stack, browser, tmp_path_factory) -> dict[str, str]:
    """Result pages: a patient's earlier and later PNG, and a DICOM with a window of its own."""
    ramp = np.tile(np.linspace(0, 4095, 512, dtype=np.uint16), (512, 1))
    dicom = tmp_path_factory.mktemp("dicom") / "windowed.dcm"
    dicom.write_bytes(synthetic_radiograph(
        ramp, BitsStored=12, HighBit=11, PatientID="VIEWER-DICOM",
        WindowCenter=HEADER_WINDOW[0], WindowWidth=HEADER_WINDOW[1]))
    context = browser.new_context()
    page = context.new_page()
    log_in(page, stack)
    urls = {"prior": upload(page, stack, PRIOR, "VIEWER-1"),
            "current": upload(page, stack, CURRENT, "VIEWER-1"),
            "dicom": upload(page, stack, dicom, "VIEWER-DICOM"),
            "jpeg_dicom": upload(page, stack, SIIM, "")}
    context.close()
    return urls


def open_viewer(browser, stack, url: str, viewport: dict):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    log_in(page, stack)
    page.goto(url)
    page.locator("[data-viewer][data-ready=true]").wait_for(timeout=60_000)
    return context, page


def pane(page, index: int = 0) -> dict:
    return page.locator("[data-pane]").nth(index).evaluate(
        """p => { const c = p.querySelector('canvas').getBoundingClientRect();
                 return {scale: +p.dataset.scale, left: +p.dataset.left, top: +p.dataset.top,
                         width: c.width, height: c.height, x: c.x, y: c.y}; }""")


def pixel(page, fx: float = 0.5, fy: float = 0.5) -> int:
    """The red value the viewer's canvas shows at a fraction of its size."""
    return page.locator("[data-pane] canvas").first.evaluate(
        f"""c => c.getContext('2d').getImageData(Math.floor(c.width * {fx}),
                                                  Math.floor(c.height * {fy}), 1, 1).data[0]""")


def image_pixel(page, column: int, row: int) -> int:
    """The red value the viewer shows for the image's pixel (COLUMN, ROW)."""
    return page.locator("[data-pane]").first.evaluate(
        f"""p => {{ const s = +p.dataset.scale;
                   const x = Math.floor(+p.dataset.left + ({column} + 0.5) * s);
                   const y = Math.floor(+p.dataset.top + ({row} + 0.5) * s);
                   return p.querySelector('canvas').getContext('2d')
                     .getImageData(x, y, 1, 1).data[0]; }}""")


def wait_for_scale_above(page, scale: float) -> None:
    page.wait_for_function(
        f"() => +document.querySelector('[data-pane]').dataset.scale > {scale}")


def drag(page, start: tuple[float, float], by: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + by[0] / 2, start[1] + by[1] / 2, steps=4)
    page.mouse.move(start[0] + by[0], start[1] + by[1], steps=4)
    page.mouse.up()


def test_the_xray_is_drawn_large_on_a_desktop_and_fits_a_phone(stack, browser, studies):
    context, page = open_viewer(browser, stack, studies["current"], DESKTOP)
    shown = pane(page)
    assert shown["width"] >= 800 and shown["height"] >= 500  # was ~400 px wide
    size = Image.open(CURRENT).size
    assert shown["scale"] * size[1] == pytest.approx(shown["height"], rel=0.01)  # fitted
    screenshot(page, "viewer-1440")
    context.close()

    context, page = open_viewer(browser, stack, studies["current"], PHONE)
    shown = pane(page)
    assert 300 <= shown["width"] <= PHONE["width"]
    assert shown["left"] >= -0.5 and shown["scale"] * size[0] <= shown["width"] + 0.5
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "viewer-390")
    context.close()


def test_the_wheel_zooms_a_drag_pans_and_keys_fit_and_show_1_to_1(stack, browser, studies):
    context, page = open_viewer(browser, stack, studies["current"], DESKTOP)
    fitted = pane(page)
    centre = (fitted["x"] + fitted["width"] / 2, fitted["y"] + fitted["height"] / 2)
    page.mouse.move(*centre)
    page.mouse.wheel(0, -200)
    wait_for_scale_above(page, fitted["scale"] * 1.2)
    zoomed = pane(page)
    assert page.locator("[data-control=scale]").inner_text() == f"{round(zoomed['scale'] * 100)}%"

    drag(page, centre, (120, 80))
    panned = pane(page)
    assert panned["left"] - zoomed["left"] == pytest.approx(120, abs=6)
    assert panned["top"] - zoomed["top"] == pytest.approx(80, abs=6)

    page.locator("[data-pane] .viewer").first.focus()
    page.keyboard.press("1")
    assert pane(page)["scale"] == pytest.approx(1.0, rel=1e-3)
    page.keyboard.press("f")
    assert pane(page)["scale"] == pytest.approx(fitted["scale"], rel=1e-3)
    page.keyboard.press("ArrowRight")
    assert pane(page)["left"] != pytest.approx(fitted["left"], abs=1)
    window = page.locator("[data-control=window]").inner_text()
    page.keyboard.press("Shift+ArrowUp")
    assert page.locator("[data-control=window]").inner_text() != window
    page.keyboard.press("w")
    assert page.get_by_role("button", name="Window/level").get_attribute("aria-pressed") == "true"
    page.keyboard.press("p")
    assert page.get_by_role("button", name="Pan").get_attribute("aria-pressed") == "true"
    before = pixel(page)
    page.keyboard.press("i")
    assert page.get_by_role("button", name="Invert").get_attribute("aria-pressed") == "true"
    assert abs(pixel(page) - (255 - before)) <= 2
    context.close()


def test_window_level_changes_the_pixels_and_invert_reverses_them(stack, browser, studies):
    context, page = open_viewer(browser, stack, studies["current"], DESKTOP)
    shown = pane(page)
    before = pixel(page)
    window = page.locator("[data-control=window]").inner_text()
    page.get_by_role("button", name="Window/level").click()
    assert page.get_by_role("button", name="Window/level").get_attribute("aria-pressed") == "true"
    drag(page, (shown["x"] + shown["width"] / 2, shown["y"] + shown["height"] / 2), (-150, 100))
    assert page.locator("[data-control=window]").inner_text() != window
    windowed = pixel(page)
    assert windowed != before

    page.get_by_role("button", name="Invert").click()
    assert abs(pixel(page) - (255 - windowed)) <= 2
    page.keyboard.press("r")  # focus is on the Invert button, inside the viewer
    assert page.locator("[data-control=window]").inner_text() == window
    assert abs(pixel(page) - before) <= 2
    context.close()


def test_clicking_a_finding_shows_its_heatmap_over_the_model_crop(stack, browser, studies):
    context, page = open_viewer(browser, stack, studies["current"], DESKTOP)
    row = page.locator("#findings tbody tr").first
    finding = row.get_attribute("data-finding")
    row.click()
    layer = page.locator(".heat-layer")
    layer.wait_for(state="visible")
    page.wait_for_function("() => document.querySelector('.heat-layer').naturalWidth > 0")
    assert page.get_by_label("Heatmap").evaluate("s => s.selectedOptions[0].textContent") == \
        finding.replace("_", " ")

    # The layer lies exactly on the image, and the crop drawn is the server's cam_box.
    shown = pane(page)
    width, height = Image.open(CURRENT).size
    overlay = page.locator(".image-overlay").first.bounding_box()
    assert overlay["width"] == pytest.approx(width * shown["scale"], abs=1)
    assert overlay["x"] == pytest.approx(shown["x"] + shown["left"], abs=1)
    left, top, right, bottom = cam_box(width, height)
    crop = page.locator(".crop-box")
    assert float(crop.get_attribute("x")) == pytest.approx(left)
    assert float(crop.get_attribute("width")) == pytest.approx(right - left)
    caption = page.locator("[data-crop-caption]")
    assert caption.is_visible()
    assert f"{round(right - left)} × {round(bottom - top)} px" in caption.inner_text()
    assert finding.replace("_", " ") in caption.inner_text()

    page.get_by_label("Opacity").fill("30")
    assert layer.evaluate("img => getComputedStyle(img).opacity") == "0.3"
    page.mouse.move(shown["x"] + 300, shown["y"] + 300)
    page.mouse.wheel(0, -300)  # the layer follows the zoom
    page.wait_for_timeout(200)
    zoomed = pane(page)
    assert page.locator(".image-overlay").first.bounding_box()["width"] == pytest.approx(
        width * zoomed["scale"], abs=1)
    screenshot(page, "viewer-heatmap-1440")
    context.close()


def test_a_dicom_is_shown_with_the_window_in_its_header(stack, browser, studies):
    context, page = open_viewer(browser, stack, studies["dicom"], DESKTOP)
    root = page.locator("[data-viewer]")
    assert float(root.get_attribute("data-window-center")) == HEADER_WINDOW[0]
    assert float(root.get_attribute("data-window-width")) == HEADER_WINDOW[1]
    # The ramp (column c holds c * 4095 / 511) through that window: black below 1000, white
    # above 2000, mid-grey at the centre. Its own pixel data, not a rendered 8-bit copy.
    assert image_pixel(page, 100, 256) <= 2  # 801
    assert image_pixel(page, 300, 256) >= 253  # 2404
    assert 110 <= image_pixel(page, 187, 256) <= 145  # 1499
    context.close()


def test_a_jpeg_compressed_dicom_is_decoded_by_the_viewers_own_decoder(stack, browser, studies):
    context, page = open_viewer(browser, stack, studies["jpeg_dicom"], DESKTOP)
    assert page.locator("[data-control=preset]").input_value() == "minmax"  # no header window
    values = [image_pixel(page, x, y) for x in (200, 512, 800) for y in (300, 700)]
    assert max(values) - min(values) > 30  # a chest drawn, not an empty or failed canvas
    context.close()


def test_the_comparison_shows_the_prior_beside_with_linked_zoom_and_pan(stack, browser, studies):
    for viewport in (DESKTOP, PHONE):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        log_in(page, stack)
        page.goto(studies["current"])
        page.get_by_role("link", name="Compare with this patient's previous study").click()
        page.locator("[data-viewer][data-ready=true]").wait_for(timeout=60_000)
        assert page.locator("[data-pane]").count() == 2
        assert page.locator("#prior-link").get_attribute("href") in studies["prior"]
        rows = page.locator("#changes tbody tr")
        assert rows.count() == 14
        assert all(re.fullmatch(r"[+-]?\d\.\d{3}", rows.nth(i).locator(".change").inner_text())
                   for i in range(14))
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        screenshot(page, f"comparison-{viewport['width']}")
        context.close()

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    log_in(page, stack)
    page.goto(f"{stack.base_url}/studies/patient/?id=VIEWER-1")
    page.get_by_role("link", name="Compare the latest study with the previous one").click()
    page.locator("[data-viewer][data-ready=true]").wait_for(timeout=60_000)
    first, second = pane(page, 0), pane(page, 1)
    page.mouse.move(first["x"] + first["width"] / 2, first["y"] + first["height"] / 2)
    page.mouse.wheel(0, -300)
    wait_for_scale_above(page, first["scale"] * 1.2)
    page.wait_for_timeout(200)
    zoomed_first, zoomed_second = pane(page, 0), pane(page, 1)
    assert zoomed_second["scale"] / second["scale"] == pytest.approx(
        zoomed_first["scale"] / first["scale"], rel=0.02)
    drag(page, (first["x"] + 200, first["y"] + 200), (-90, 0))
    page.wait_for_timeout(200)
    assert pane(page, 1)["left"] < zoomed_second["left"] - 40  # the prior moved too
    context.close()
