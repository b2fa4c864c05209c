"""End to end in a real browser: Debian's Chromium, driven by Playwright, against `streamlit run app.py`.

Two servers for the module: one on the bundled model (if present, else the tiny test model), one on
the hint-taking tiny test model for colour pins (so the pin test does not depend on the bundled
model's weights; the README's pin screenshots use the bundled model when it takes hints). Figures are
printed, never asserted (speed and memory goals live in benchmarks/): upload-to-result time of a
1 MP photo, the server's peak RSS during the video test and during a 40 MP scan. Screenshots for
the README are written to docs/ only when COLORIZE_SCREENSHOTS=1. Without /usr/bin/chromium the
module is skipped, but fails under CI. Every test here is marked `browser` (`-m "not browser"` leaves
them out).
"""

import importlib.util
import io
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorize.lab import rgb_to_lab, to_uint8
from helpers import BUNDLED, ROOT, gradient_photo, make_video, mean_chroma, video_info
from tiny_model import build_tiny_hint_model, build_tiny_model

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("COLORIZE_CHROMIUM", "/usr/bin/chromium"))  # Debian's, or any Chromium
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = os.environ.get("COLORIZE_SCREENSHOTS") == "1"
WAIT_MS = 300_000  # generous: CI machines are small and may be busy
PHONE = {"width": 390, "height": 844}
BLUE = "#2080C0"


def require_browser():
    if importlib.util.find_spec("playwright") is None:
        missing = "the playwright package is not installed (pip install -r requirements-test.txt)"
    else:
        missing = (
            None
            if CHROMIUM.exists()
            else (f"{CHROMIUM} is missing (apt-get install chromium, or set COLORIZE_CHROMIUM)")
        )
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run under CI: {missing}")
        pytest.skip(missing)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory_kb(pid, field):
    """VmRSS / VmHWM of a process, in kB, from /proc (no psutil)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class PeakRSS:
    """The highest RSS of a process while the `with` block runs, polled every 50 ms."""

    def __init__(self, pid):
        self.pid, self.peak = pid, memory_kb(pid, "VmRSS")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, memory_kb(self.pid, "VmRSS"))
            self._stop.wait(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class Server:
    def __init__(self, proc, url, log, model):
        self.proc, self.url, self.log, self.model = proc, url, log, model

    def log_tail(self):
        return self.log.read_text(errors="replace")[-3000:]


def run_server(folder, models=None, model="bundled model " + BUNDLED.name):
    """`streamlit run app.py` on a free port (COLORIZE_MODELS=models if given); yields a Server."""
    env = {k: v for k, v in os.environ.items() if k != "COLORIZE_MODELS"}
    if models is not None:
        env["COLORIZE_MODELS"] = str(models)
    port = free_port()
    log = folder / "streamlit.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(proc, f"http://127.0.0.1:{port}/", log, model)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                if urllib.request.urlopen(server.url + "_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start within 120 s:\n{server.log_tail()}")
            time.sleep(0.3)
        print(f"\n[browser] streamlit on {server.url} with the {model}")
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-3000:]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_browser()
    folder = tmp_path_factory.mktemp("server")
    if (BUNDLED / "model.json").is_file():
        yield from run_server(folder)
    else:
        build_tiny_model(folder / "models" / "tiny-test")
        yield from run_server(folder, folder / "models", "tiny test model")


@pytest.fixture(scope="module")
def hint_server(tmp_path_factory):
    """A server whose only model takes colour hints (the tiny test one)."""
    require_browser()
    folder = tmp_path_factory.mktemp("hint-server")
    build_tiny_hint_model(folder / "models" / "tiny-hints")
    yield from run_server(folder, folder / "models", "hint-taking tiny test model")


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def open_page(browser, server, width=1400, height=1000, phone=False):
    options = {"viewport": {"width": width, "height": height}, "accept_downloads": True}
    if phone:
        options.update(is_mobile=True, has_touch=True, device_scale_factor=2)
    page = browser.new_page(**options)
    page.set_default_timeout(WAIT_MS)
    page.goto(server.url)
    page.get_by_text("Black-and-white photos:").wait_for()
    return page


def grey_photo(path, h, w, seed, quality=92):
    """A generated black-and-white photo saved as JPEG; returns its RGB as float32."""
    rgb = gradient_photo(h, w, seed)
    grey = np.repeat(rgb.mean(axis=2, keepdims=True), 3, axis=2)
    Image.fromarray(to_uint8(grey)).save(path, "JPEG", quality=quality)
    return grey


def upload_photo(page, path):
    page.locator(".st-key-photos input[type=file]").set_input_files(str(path))


def wait_idle(page):
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')


def default_vividness(server):
    """The served model's default vividness, as the page's caption prints it."""
    if server.model.startswith("bundled"):
        from colorize import list_models

        infos, _ = list_models(BUNDLED.parent)
        return f"{infos[0].default_vividness:.2f}"
    return "1.00"


def wait_for_result(page, vividness):
    """Wait until the result is there, every picture has loaded and the script has finished."""
    page.get_by_text(f"Colorized (vividness {vividness})").first.wait_for()
    wait_idle(page)
    page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stImage"] img')]
                                  .every(img => img.complete && img.naturalWidth > 0)""")


def result_picture(page):
    """The colorized picture: an image, or the clickable picture when the model takes colour hints."""
    return page.locator(
        ".st-key-result [data-testid='stImage'] img, .st-key-result iframe[class*='stCustomComponent']"
    ).first


def bundled_takes_hints(server):
    if not server.model.startswith("bundled"):
        return False
    from colorize.model import read_info

    return read_info(BUNDLED).takes_hints


def pin_colour(page, frac_x, frac_y, colour):
    """Click the shown photo at a fraction of its size, then give the new pin `colour` (#RRGGBB) with
    the chooser's "Any colour" picker."""
    pins = page.get_by_role("button", name="color picker").count()  # one per pin (no point is waiting)
    click_photo(page, frac_x, frac_y)
    page.get_by_role("button", name="Any colour color picker").wait_for()
    wait_idle(page)
    page.get_by_role("button", name="Any colour color picker").click()
    hex_input = page.get_by_role("dialog").locator("input").first
    hex_input.fill(colour)
    hex_input.press("Enter")
    page.keyboard.press("Escape")
    page.get_by_role("button", name=f"Pin {pins + 1} color picker").wait_for()
    wait_idle(page)
    page.wait_for_timeout(500)
    wait_idle(page)


def show_view(page, name):
    """Switch the result between the colorized picture and the before/after view."""
    page.locator(".st-key-result").get_by_text(name, exact=True).click()
    wait_idle(page)
    if name == "Before and after":
        page.frame_locator(".st-key-result iframe").first.locator("img.before").wait_for(state="attached")


def click_photo(page, frac_x, frac_y, tap=False):
    """Click (or, on a phone, tap) the result picture at a fraction of its shown size."""
    picture = page.frame_locator(".st-key-result iframe").first.locator("img#image")
    box = picture.bounding_box()
    position = {"x": frac_x * box["width"], "y": frac_y * box["height"]}
    picture.tap(position=position) if tap else picture.click(position=position)


def download(page, button_name):
    with page.expect_download(timeout=WAIT_MS) as info:
        page.get_by_role("button", name=button_name).first.click()
    d = info.value
    return d.suggested_filename, Path(d.path()).read_bytes()


def lightness_of(image):
    return rgb_to_lab(np.asarray(image.convert("RGB"), np.float32) / 255.0)[..., 0]


def lab_of(image):
    return rgb_to_lab(np.asarray(image.convert("RGB"), np.float32) / 255.0)


def move_vividness(page, target):
    """Move the vividness slider to `target` with the arrow keys, as a person would. The slider's own
    value is read after each press, so a press lost to a rerun that replaced the slider is pressed again."""
    slider = page.locator(".st-key-vividness input[type=range]")
    for _ in range(40):
        value = float(slider.input_value())
        if abs(value - target) < 1e-6:
            return
        slider.focus()
        page.keyboard.press("ArrowRight" if value < target else "ArrowLeft")
        page.wait_for_timeout(50)
    raise AssertionError(f"the vividness slider stayed at {slider.input_value()}, not {target}")


def screenshot(page, name, **kwargs):
    if SCREENSHOTS:
        (ROOT / "docs").mkdir(exist_ok=True)
        page.screenshot(path=str(ROOT / "docs" / name), **kwargs)


def test_photo_upload_slider_and_full_size_download(server, browser, tmp_path):
    page = open_page(browser, server)
    src = tmp_path / "browser-photo.jpg"
    grey = grey_photo(src, 840, 1200, seed=21)  # ~1 MP
    start = time.monotonic()
    upload_photo(page, src)
    wait_for_result(page, default_vividness(server))
    print(f"\n[browser] upload-to-result time, 1200x840 (1.0 MP) photo: {time.monotonic() - start:.2f} s")

    show_view(page, "Before and after")  # the comparison takes the result's place: one picture, not two
    comparison = page.frame_locator(".st-key-result iframe").first
    assert comparison.locator("input[type=range]").count() == 1
    assert comparison.locator("img").count() == 2
    assert page.locator(".st-key-result iframe").count() == 1
    show_view(page, "Colorized")

    target = f"{float(default_vividness(server)) + 0.20:.2f}"
    move_vividness(page, float(target))
    wait_for_result(page, target)

    name, data = download(page, "Colorized PNG")
    assert name == "browser-photo_colorized.png"
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size == (1200, 840)
    assert mean_chroma(image.convert("RGB")) > 3
    expected_L = rgb_to_lab(grey)[..., 0]
    assert np.abs(lightness_of(image) - expected_L).mean() < 2.0  # the photo's own lightness, kept
    name, data = download(page, "Colorized JPEG")
    assert name == "browser-photo_colorized.jpg" and Image.open(io.BytesIO(data)).size == (1200, 840)
    assert "Traceback" not in page.content()
    page.close()


def test_a_file_name_with_a_web_address_is_shown_as_plain_text(server, browser, tmp_path):
    page = open_page(browser, server)
    src = tmp_path / "see www.example.com and mail me@example.org *now*.jpg"
    grey_photo(src, 150, 200, seed=3)
    upload_photo(page, src)
    wait_for_result(page, default_vividness(server))
    heading = page.locator(".st-key-result h3").first
    assert heading.inner_text().replace("\u2060", "").strip() == src.name  # word joiners are invisible
    assert heading.locator("a").count() == 0, heading.inner_html()
    assert heading.locator("em, strong").count() == 0
    page.close()


def test_phone_tap_on_a_sample_shows_its_result_in_view(server, browser):
    page = open_page(browser, server, **PHONE, phone=True)
    page.get_by_role("button", name="Cat").tap()
    wait_for_result(page, default_vividness(server))
    page.wait_for_timeout(1500)  # the scroll runs as the pictures settle
    box = result_picture(page).bounding_box()
    assert box is not None and box["height"] > 150
    assert 0 <= box["y"] and box["y"] + box["height"] <= PHONE["height"], box  # in view, nothing scrolled by hand
    slider = page.locator(".st-key-vividness").bounding_box()
    assert slider["y"] < box["y"] + box["height"] + 250  # vividness right by the picture
    screenshot(page, "screenshot-phone.png")
    page.close()


def test_pin_a_blue_and_the_full_size_png_is_blue_there_only(hint_server, server, browser, tmp_path):
    page = open_page(browser, hint_server)
    src = tmp_path / "pins.jpg"
    grey_photo(src, 600, 800, seed=5)
    upload_photo(page, src)
    wait_for_result(page, "1.00")
    _, data = download(page, "Colorized PNG")
    before = lab_of(Image.open(io.BytesIO(data)))
    point = (200, 300)  # photo pixels: the orange (dark) half of the generated photo
    pin_colour(page, point[0] / 800, point[1] / 600, BLUE)
    _, data = download(page, "Colorized PNG")
    image = Image.open(io.BytesIO(data))
    assert image.size == (800, 600)
    after = lab_of(image)
    x, y = point
    near = after[y - 8 : y + 9, x - 8 : x + 9]
    assert near[..., 2].mean() < -15 and near[..., 1].mean() < 5  # blue around the pin
    far = (slice(0, 150), slice(550, 800))
    delta = np.linalg.norm(after[far] - before[far], axis=-1).mean()
    print(f"\n[browser] pinned blue: near b* {near[..., 2].mean():.1f}; far mean dE {delta:.2f}")
    assert delta < 3  # a region far away keeps its colour

    move_vividness(page, 0.80)  # pins survive a vividness change
    wait_for_result(page, "0.80")
    assert page.get_by_role("button", name="Pin 1 color picker").count() == 1
    _, data = download(page, "Colorized PNG")
    near = lab_of(Image.open(io.BytesIO(data)))[y - 8 : y + 9, x - 8 : x + 9]
    assert near[..., 2].mean() < -10
    fallback = not bundled_takes_hints(server)  # README pictures of pins from the test model, for want of a real one
    if fallback:
        screenshot(page, "screenshot-pins.png")
    page.get_by_role("tab", name="How it works").click()
    page.get_by_text("The hint map").first.wait_for()
    page.get_by_text("Where the pins changed the colour").first.wait_for()
    if fallback and SCREENSHOTS:
        wait_idle(page)
        page.wait_for_timeout(800)
        page.get_by_text("Colour pins.").first.scroll_into_view_if_needed()
        screenshot(page, "screenshot-pins-teaching.png")
    page.close()


def scan_jpeg(path, width, height, seed=0):
    """A generated grey 'scan' of width x height pixels (smooth shapes and grain), as JPEG."""
    rng = np.random.default_rng(seed)
    small = gradient_photo(height // 16, width // 16, seed).mean(axis=2)
    import cv2

    grey = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    grey = np.clip(grey * 255 + rng.normal(0, 6, (height, width)).astype(np.float32), 0, 255).astype(np.uint8)
    Image.fromarray(grey, "L").save(path, "JPEG", quality=88)
    return path


def test_a_40_mp_scan_goes_through_and_an_oversize_one_names_the_limit(server, browser, tmp_path):
    page = open_page(browser, server)
    scan = scan_jpeg(tmp_path / "family-scan.jpg", 7300, 5480)  # 40.0 MP
    with PeakRSS(server.proc.pid) as rss:
        start = time.monotonic()
        upload_photo(page, scan)
        wait_for_result(page, default_vividness(server))
        shown = time.monotonic() - start
        name, data = download(page, "Colorized PNG")
        total = time.monotonic() - start
    print(
        f"\n[browser] 40 MP scan ({scan.stat().st_size / 1e6:.1f} MB JPEG): result shown in {shown:.1f} s, "
        f"full-size PNG downloaded after {total:.1f} s; server peak RSS {rss.peak / 1024:.0f} MB "
        f"(goal 900 MB)"
    )
    image = Image.open(io.BytesIO(data))
    assert name == "family-scan_colorized.png" and image.size == (7300, 5480)
    del image, data
    huge = tmp_path / "too-big.jpg"
    Image.new("L", (8200, 6200), 120).save(huge, "JPEG", quality=50)  # 50.8 MP
    upload_photo(page, huge)
    error = page.get_by_text("over the limit of 50 MP").first
    error.wait_for()
    # The page puts a word joiner before the extension so a file name never turns into a link.
    assert "too-big.jpg: is 8200x6200" in error.inner_text().replace("\u2060", "").replace("\u2060", "")
    page.close()


def test_video_tab_preview_cancel_playback_and_mp4_download(server, browser, tmp_path):
    page = open_page(browser, server)
    page.get_by_role("tab", name="Video").click()
    page.get_by_text("Short clips only").wait_for()
    page.get_by_role("button", name="Try the sample video").click()
    page.get_by_text("480×320, 15 frames per second").wait_for()
    page.get_by_role("button", name="Preview 3 seconds").click()
    page.locator("video").wait_for(state="visible")
    wait_idle(page)
    assert page.get_by_text("the first 3 seconds").count() == 1
    page.get_by_role("button", name="Remove clip").click()
    wait_idle(page)

    long_clip = make_video(tmp_path / "long.mp4", w=320, h=240, frames=300, fps=15)  # 20 s: time to cancel
    page.locator(".st-key-video input[type=file]").set_input_files(str(long_clip))
    page.get_by_text("320×240, 15 frames per second").wait_for()
    page.get_by_role("button", name="Colorize video").click()
    page.get_by_text(" frames, about ").first.wait_for()
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text("Cancelled: nothing was kept.").wait_for()
    wait_idle(page)
    assert page.locator("video").count() == 0
    page.get_by_role("button", name="Remove clip").click()
    wait_idle(page)

    clip = make_video(tmp_path / "clip.mp4", w=160, h=120, frames=30, fps=15)
    page.locator(".st-key-video input[type=file]").set_input_files(str(clip))
    page.get_by_text("160×120, 15 frames per second").wait_for()
    with PeakRSS(server.proc.pid) as rss:
        page.get_by_role("button", name="Colorize video").click()
        page.locator("video").wait_for(state="visible")
        name, data = download(page, "Colorized video (MP4)")
    print(
        f"\n[browser] server peak RSS during the video test: {rss.peak / 1024:.0f} MB "
        f"(VmHWM since start {memory_kb(server.proc.pid, 'VmHWM') / 1024:.0f} MB)"
    )
    assert name == "clip_colorized.mp4"
    codec, frame = video_info(data, tmp_path)
    assert codec.startswith("h264") and frame.shape == (120, 160, 3)
    assert page.locator("video").evaluate("v => v.readyState >= 1 && v.videoWidth") == 160
    page.close()


def test_eight_pages_at_once_each_get_their_own_photo(server, browser, tmp_path):
    sizes = [(90 + 20 * i, 130 + 24 * i) for i in range(8)]  # (height, width), all different
    pages, photos = [], []
    for i, (h, w) in enumerate(sizes):
        path = tmp_path / f"page{i}.jpg"
        photos.append((path, grey_photo(path, h, w, seed=100 + i)))
        pages.append(open_page(browser, server, 1200, 900))
    for page, (path, _) in zip(pages, photos, strict=True):  # all eight uploads in flight together
        upload_photo(page, path)
    for page in pages:
        wait_for_result(page, default_vividness(server))
    # Downloads one after another once every page is idle: a deferred download's file is dropped by
    # Streamlit after two script runs of *any* session, so clicks racing other pages' runs can 404.
    for i, (page, (_, grey)) in enumerate(zip(pages, photos, strict=True)):
        name, data = download(page, "Colorized PNG")
        image = Image.open(io.BytesIO(data))
        assert name == f"page{i}_colorized.png"
        assert image.size == (sizes[i][1], sizes[i][0])
        assert np.abs(lightness_of(image) - rgb_to_lab(grey)[..., 0]).mean() < 2.0
    for page in pages:
        page.close()


@pytest.mark.skipif(not SCREENSHOTS, reason="set COLORIZE_SCREENSHOTS=1 to write the README screenshots")
def test_readme_screenshots(server, browser, tmp_path):
    page = open_page(browser, server, 1400, 1000)
    page.get_by_role("button", name="Astronaut").click()
    wait_for_result(page, default_vividness(server))
    page.wait_for_timeout(800)
    screenshot(page, "screenshot-photo.png")
    show_view(page, "Before and after")
    page.wait_for_timeout(800)
    screenshot(page, "screenshot-compare.png")
    show_view(page, "Colorized")
    if bundled_takes_hints(server):  # a new pin's choices on a phone, right below the photo
        phone = open_page(browser, server, **PHONE, phone=True)
        phone.get_by_role("button", name="Astronaut").tap()
        wait_for_result(phone, default_vividness(server))
        phone.wait_for_timeout(1500)
        click_photo(phone, 0.42, 0.78, tap=True)
        phone.locator(".st-key-pin-chooser").wait_for()
        wait_idle(phone)
        phone.wait_for_timeout(800)
        screenshot(phone, "screenshot-pin-chooser-phone.png")
        phone.close()
    page.get_by_role("tab", name="How it works").click()
    page.get_by_text("Taking apart astronaut").wait_for()
    wait_idle(page)
    page.wait_for_timeout(800)
    page.wait_for_timeout(1500)
    page.get_by_text("Taking apart astronaut").evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    screenshot(page, "screenshot-teaching.png")
    if bundled_takes_hints(server):  # colour pins in action, on the bundled model
        page.get_by_role("tab", name="Photos").click()
        wait_for_result(page, default_vividness(server))
        pin_colour(page, 0.42, 0.78, "#2a63c4")  # the suit, blue
        page.wait_for_timeout(800)
        screenshot(page, "screenshot-pins.png")
        page.get_by_role("tab", name="How it works").click()
        page.get_by_text("The hint map").first.wait_for()
        wait_idle(page)
        page.wait_for_timeout(2500)  # every picture loaded and laid out
        page.get_by_text("Colour pins.").first.scroll_into_view_if_needed()
        screenshot(page, "screenshot-pins-teaching.png")
    page.get_by_role("tab", name="Video").click()
    page.get_by_role("button", name="Try the sample video").click()
    page.get_by_role("button", name="Colorize video").click()
    page.locator("video").wait_for(state="visible")
    wait_idle(page)
    page.wait_for_function("() => document.querySelector('video').readyState >= 2")
    screenshot(page, "screenshot-video.png")
    page.close()


# ---------------------------------------------------------------- issue 24: the page, third round

VIEWPORTS = {"desktop": {"width": 1400, "height": 1000}, "phone": {**PHONE, "phone": True}}


def open_in(browser, server, viewport):
    return open_page(browser, server, **VIEWPORTS[viewport])


def press(page, locator, viewport):
    """A tap on a phone, a click on a desktop."""
    locator.tap() if viewport == "phone" else locator.click()


def click_picture(page, picture):
    """A click on a thumbnail's picture itself (not its button), where a person's mouse would go."""
    page.wait_for_timeout(1300)  # the page's own scroll to the last result has settled
    picture.scroll_into_view_if_needed()
    box = picture.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def upload_photos(page, paths):
    page.locator(".st-key-photos input[type=file]").set_input_files([str(p) for p in paths])


def in_view(page, box):
    height = page.viewport_size["height"]
    return box is not None and box["y"] >= 0 and box["y"] + min(box["height"], 200) <= height


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_pin_changes_nothing_until_its_colour_is_chosen_and_a_suggestion_colours_it(
    hint_server, browser, tmp_path, viewport
):
    page = open_in(browser, hint_server, viewport)
    src = tmp_path / "suggest.jpg"
    grey_photo(src, 600, 800, seed=5)
    upload_photo(page, src)
    wait_for_result(page, "1.00")
    _, plain = download(page, "Colorized PNG")
    click_photo(page, 200 / 800, 300 / 600, tap=viewport == "phone")
    chooser = page.locator(".st-key-pin-chooser")
    chooser.get_by_text("New pin at").wait_for()
    wait_idle(page)
    assert page.get_by_role("button", name="Pin 1 color picker").count() == 0  # no pin yet
    _, untouched = download(page, "Colorized PNG")
    assert untouched == plain  # byte for byte: a point without a colour changes nothing
    picture = page.locator(".st-key-result iframe").first.bounding_box()
    box = chooser.bounding_box()
    if viewport == "phone":  # right below the photo, not 500 px down
        assert box["y"] - (picture["y"] + picture["height"]) < 120, (box, picture)
    else:  # beside it
        assert box["x"] > picture["x"] + picture["width"] and box["y"] < picture["y"] + picture["height"]
    navy = chooser.get_by_role("button", name="Navy")
    shown = navy.evaluate("b => getComputedStyle(b).backgroundColor")
    edge = navy.evaluate("b => getComputedStyle(b).borderLeftColor")
    assert edge == "rgb(31, 42, 90)" and shown != edge  # navy itself on the edge, as it will look on the body
    assert chooser.get_by_role("button", name=re.compile(r"^\w+ · \d+%$")).count() >= 1  # the network's own
    press(page, navy, viewport)
    page.get_by_role("button", name="Pin 1 color picker").wait_for()
    wait_idle(page)
    assert chooser.count() == 0
    _, pinned = download(page, "Colorized PNG")
    x, y = 200, 300
    near = lab_of(Image.open(io.BytesIO(pinned)))[y - 8 : y + 9, x - 8 : x + 9]
    before = lab_of(Image.open(io.BytesIO(plain)))[y - 8 : y + 9, x - 8 : x + 9]
    print(f"\n[browser] {viewport}: b* near the pin {before[..., 2].mean():.1f} -> {near[..., 2].mean():.1f} (navy)")
    assert near[..., 2].mean() < before[..., 2].mean() - 10  # towards blue
    page.close()


def data_url_pixels(url):
    import base64

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_compare_view_is_the_result_itself_and_its_before_is_the_upload(server, browser, tmp_path, viewport):
    page = open_in(browser, server, viewport)
    sepia = gradient_photo(300, 200, 9).mean(axis=2)  # a portrait sepia scan
    rgb = to_uint8(np.stack([sepia, sepia * 0.85, sepia * 0.66], axis=-1))
    src = tmp_path / "sepia-portrait.png"
    Image.fromarray(rgb).save(src)
    upload_photo(page, src)
    wait_for_result(page, default_vividness(server))
    show_view(page, "Before and after")
    frame = page.frame_locator(".st-key-result iframe").first
    before = data_url_pixels(frame.locator("img.before").get_attribute("src"))
    np.testing.assert_array_equal(before, rgb)  # the photo as uploaded, sepia and all, pixel for pixel
    assert page.locator(".st-key-result iframe").count() == 1  # one view: no second copy below
    result = page.locator(".st-key-result").bounding_box()
    limit = 2400 if viewport == "phone" else 1300
    print(f"\n[browser] {viewport}: the result with its compare view is {result['height']:.0f} px tall")
    assert result["height"] < limit
    page.close()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_thumbnails_open_photos_and_clear_all_undone_restores_every_photo_and_pin(
    hint_server, browser, tmp_path, viewport
):
    page = open_in(browser, hint_server, viewport)
    click_picture(page, page.locator(".st-key-tile-sample-chelsea-jpg img"))  # the picture, not the button
    page.locator(".st-key-result h3").get_by_text("chelsea").wait_for()
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"undo{i}.jpg")
        grey_photo(paths[-1], 120 + 20 * i, 160, seed=30 + i)
    upload_photos(page, paths)
    page.locator("[class*='st-key-tile-'] img").nth(3).wait_for()
    wait_idle(page)
    tiles = page.locator(".st-key-shelf [class*='st-key-tile-'] img")
    for i in (1, 2):
        click_picture(page, tiles.nth(i))
        page.locator(".st-key-result h3").get_by_text(f"undo{i - 1}").wait_for()
        wait_idle(page)
        click_photo(page, 0.3, 0.4, tap=viewport == "phone")
        page.locator(".st-key-pin-chooser").wait_for()
        wait_idle(page)
        press(page, page.locator(".st-key-swatch-0 button:visible").first, viewport)
        page.get_by_role("button", name="Pin 1 color picker").wait_for()
        wait_idle(page)
    press(page, page.get_by_role("button", name="Clear all"), viewport)
    undo = page.locator(".st-key-undo-photos")
    undo.get_by_text("Cleared 4 photos").wait_for()
    assert in_view(page, undo.bounding_box())  # the offer to undo is where the person is looking
    assert page.locator(".st-key-shelf").count() == 0
    press(page, undo.get_by_role("button", name="Undo"), viewport)
    page.locator(".st-key-shelf [class*='st-key-tile-'] img").nth(3).wait_for()
    wait_idle(page)
    assert page.locator(".st-key-shelf [class*='st-key-tile-'] img").count() == 4
    for i in (1, 2):  # every pin came back with its photo
        click_picture(page, page.locator(".st-key-shelf [class*='st-key-tile-'] img").nth(i))
        page.locator(".st-key-result h3").get_by_text(f"undo{i - 1}").wait_for()
        page.get_by_role("button", name="Pin 1 color picker").wait_for()
    page.close()


def test_downloads_keep_the_archives_fields_16_bits_and_download_all_has_every_format(server, browser, tmp_path):
    from PIL import TiffImagePlugin

    from colorize.provenance import COLOURISED

    page = open_page(browser, server)
    ramp = (gradient_photo(300, 400, 12).mean(axis=2) * 65535).astype(np.uint16)
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[0x013B], tags[0x8298] = b"Ann Lee", "© 1952 Lee family".encode()
    tags[0x0132] = "1952:06:01 12:00:00"
    scan = tmp_path / "harbour.tif"
    Image.fromarray(ramp).save(scan, "TIFF", tiffinfo=tags, dpi=(600, 600))
    other = tmp_path / "pier.jpg"
    grey_photo(other, 200, 300, seed=13)
    upload_photos(page, [scan, other])
    page.get_by_role("button", name="Download all 2 (zip of PNGs)").wait_for()
    wait_idle(page)
    click_picture(page, page.locator(".st-key-shelf [class*='st-key-tile-'] img").first)
    page.locator(".st-key-result h3").get_by_text("harbour").wait_for()
    wait_idle(page)
    for label, ext in (("TIFF", "tif"), ("PNG", "png")):
        name, data = download(page, f"Colorized {label}")
        assert name == f"harbour_colorized.{ext}"
        back = Image.open(io.BytesIO(data))
        exif = back.getexif()
        pixels = cv2_decode(data)
        print(f"\n[browser] {name}: {pixels.dtype}, artist {exif.get(0x013B)!r}, software {exif.get(0x0131)!r}")
        assert pixels.dtype == np.uint16 and pixels.shape == (300, 400, 3)
        assert exif.get(0x013B) == "Ann Lee" and "1952 Lee family" in exif.get(0x8298)
        assert exif.get(0x0132) == "1952:06:01 12:00:00" and tuple(round(v) for v in back.info["dpi"]) == (600, 600)
        assert b"sRGB" in back.info["icc_profile"][:400] or b"s\x00R\x00G\x00B" in back.info["icc_profile"]
        assert COLOURISED.encode() in data and b"Colorize " in data
    page.locator(".st-key-shelf-bar").get_by_text("TIFF", exact=True).click()
    page.get_by_role("button", name="Download all 2 (zip of TIFFs)").wait_for()
    wait_idle(page)
    _, data = download(page, "Download all 2 (zip of TIFFs)")
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert sorted(z.namelist()) == ["harbour_colorized.tif", "pier_colorized.tif"]
        assert cv2_decode(z.read("harbour_colorized.tif")).dtype == np.uint16
        assert cv2_decode(z.read("pier_colorized.tif")).dtype == np.uint8
    page.close()


def cv2_decode(data):
    import cv2

    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_lesson_shows_a_pixels_colours_reveals_pins_and_exports(hint_server, browser, viewport):
    page = open_in(browser, hint_server, viewport)
    page.get_by_role("tab", name="How it works").click()
    page.get_by_text("Taking apart").wait_for()
    wait_idle(page)
    lesson = page.locator(".st-key-lesson")
    clickable = lesson.locator("iframe.stCustomComponentV1").first
    clickable.wait_for()
    page.frame_locator(".st-key-lesson iframe").first.locator("img#image").wait_for()
    picture = clickable.bounding_box()
    page.frame_locator(".st-key-lesson iframe").first.locator("img#image").click(
        position={"x": picture["width"] * 0.5, "y": picture["height"] * 0.5}
    )
    page.get_by_text("What the network says at pixel").wait_for()
    wait_idle(page)
    assert page.get_by_text("average of all (posterior mean)").count() >= 1
    reveal = page.get_by_text("Reveal the real colours")
    reveal.click()
    page.get_by_text("The real colours: the photo before").wait_for()
    wait_idle(page)
    with page.expect_download() as info:
        lesson.locator(".st-key-lesson-png-real button:visible").first.click()
    real = Image.open(info.value.path())
    assert real.format == "PNG" and np.asarray(real.convert("RGB")).std(axis=2).mean() > 3  # in colour
    page.get_by_text("Pin a colour", exact=True).click()
    wait_idle(page)
    page.frame_locator(".st-key-lesson iframe").first.locator("img#image").click(
        position={"x": picture["width"] * 0.3, "y": picture["height"] * 0.3}
    )
    page.locator(".st-key-lesson-pin-chooser").wait_for()
    wait_idle(page)
    page.locator(".st-key-lesson-swatch-0 button:visible").first.click()
    page.get_by_text("The hint map").first.wait_for()
    page.close()


def test_the_lesson_at_projector_size_has_two_big_pictures_a_row(server, browser):
    page = open_page(browser, server, 1920, 1080)
    page.get_by_role("tab", name="How it works").click()
    page.get_by_text("Taking apart").wait_for()
    page.get_by_text("Projector layout").click()
    page.wait_for_function(
        "() => document.querySelector('.st-key-lesson [data-testid=stImage] img')?.getBoundingClientRect().width > 600"
    )
    wait_idle(page)
    images = page.locator(".st-key-lesson [data-testid='stImage'] img")
    first, second = images.nth(0).bounding_box(), images.nth(1).bounding_box()
    assert first["width"] > 600 and abs(first["y"] - second["y"]) < 5  # two to a row, each big
    assert images.nth(2).bounding_box()["y"] > first["y"] + first["height"] - 5
    if SCREENSHOTS:
        page.wait_for_timeout(800)
        page.get_by_text("Taking apart").evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(300)
        screenshot(page, "screenshot-lesson-projector.png")
        iframe = page.locator(".st-key-lesson iframe").first.bounding_box()
        page.frame_locator(".st-key-lesson iframe").first.locator("img#image").click(
            position={"x": iframe["width"] * 0.42, "y": iframe["height"] * 0.78}
        )
        page.get_by_text("What the network says at pixel").wait_for()
        wait_idle(page)
        page.wait_for_timeout(800)
        page.get_by_text("What the network says at pixel").evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(300)
        screenshot(page, "screenshot-lesson-pixel.png")
    page.close()


def test_the_sample_video_result_scrolls_into_view_with_its_sound(server, browser, tmp_path):
    from colorize.video import probe_video

    page = open_in(browser, server, "phone")
    page.get_by_role("tab", name="Video").tap()
    page.get_by_role("button", name="Try the sample video").tap()
    page.get_by_text("480×320, 15 frames per second").wait_for()
    wait_idle(page)
    page.get_by_role("button", name="Colorize video").tap()
    page.locator("video").wait_for(state="visible")
    wait_idle(page)
    page.wait_for_timeout(1500)  # the scroll runs as the player settles
    assert in_view(page, page.locator("video").bounding_box()), page.locator("video").bounding_box()
    name, data = download(page, "Colorized video (MP4)")
    (tmp_path / name).write_bytes(data)
    assert probe_video(tmp_path / name).has_audio  # the sample's sound track, kept
    page.close()


def test_a_black_and_white_photograph_is_among_the_samples(server, browser):
    page = open_page(browser, server)
    page.get_by_role("button", name="Photographer").click()
    wait_for_result(page, default_vividness(server))
    page.get_by_role("tab", name="How it works").click()
    page.get_by_text("Taking apart camera").wait_for()
    wait_idle(page)
    assert page.get_by_role("switch", name="Reveal the real colours").is_disabled()  # no colour original
    page.close()
