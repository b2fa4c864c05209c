"""End to end in a real browser: Debian's Chromium, driven by Playwright, against `streamlit run app.py`.

One server for the module (the bundled model if present, else the tiny test model). It prints two
figures, never asserted (speed goals live in benchmarks/): upload-to-result time of a 1 MP photo and
the server's peak RSS during the video test. Screenshots for the README are written to docs/ only
when COLORIZE_SCREENSHOTS=1. Without /usr/bin/chromium the module is skipped, but fails under CI.
"""
import io
import os
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

from conftest import BUNDLED, ROOT, gradient_photo
from test_app import make_video, mean_chroma, video_info
from tiny_model import build_tiny_model
from colorize.encode import to_uint8
from colorize.lab import rgb_to_lab

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = os.environ.get("COLORIZE_SCREENSHOTS") == "1"
WAIT_MS = 180_000  # generous: CI machines are small and may be busy


def require_browser():
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing = "the playwright package is not installed (pip install -r requirements-test.txt)"
    else:
        missing = None if CHROMIUM.exists() else f"{CHROMIUM} is missing (apt-get install chromium)"
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


class Server:
    def __init__(self, proc, url, log):
        self.proc, self.url, self.log = proc, url, log

    def log_tail(self):
        return self.log.read_text(errors="replace")[-3000:]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_browser()
    env = {k: v for k, v in os.environ.items() if k != "COLORIZE_MODELS"}
    if (BUNDLED / "model.json").is_file():
        model = "bundled model " + BUNDLED.name
    else:
        models = tmp_path_factory.mktemp("browser-models")
        build_tiny_model(models / "tiny-test")
        env["COLORIZE_MODELS"], model = str(models), "tiny test model"
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
             "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(proc, f"http://127.0.0.1:{port}/", log)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                if urllib.request.urlopen(server.url + "_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start within 90 s:\n{server.log_tail()}")
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
def browser(server):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def open_page(browser, server, width=1400, height=1000):
    page = browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)
    page.set_default_timeout(WAIT_MS)
    page.goto(server.url)
    page.get_by_text("Black-and-white photos (one or many)").wait_for()
    return page


def grey_photo(path, h, w, seed):
    """A generated black-and-white photo saved as JPEG; returns its RGB as float32."""
    rgb = gradient_photo(h, w, seed)
    grey = np.repeat(rgb.mean(axis=2, keepdims=True), 3, axis=2)
    Image.fromarray(to_uint8(grey)).save(path, "JPEG", quality=92)
    return grey


def upload_photo(page, path):
    page.locator(".st-key-photos input[type=file]").set_input_files(str(path))


def wait_idle(page):
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')


def default_vividness():
    """The served model's default vividness, as the page's caption prints it."""
    from colorize import list_models
    infos, _ = list_models(BUNDLED.parent) if (BUNDLED / "model.json").is_file() else ([], [])
    return f"{infos[0].default_vividness:.2f}" if infos else "1.00"


def wait_for_result(page, vividness=None):
    """Wait until the three pictures are there, every picture has loaded and the script has finished."""
    vividness = vividness or default_vividness()
    page.get_by_text("Original (").first.wait_for()
    page.get_by_text("What the network sees: lightness only").first.wait_for()
    caption = page.get_by_text(f"Colorized (vividness {vividness})").first
    caption.wait_for()
    page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stImage"] img')]
                                  .every(img => img.complete && img.naturalWidth > 0)""")
    wait_idle(page)


def download(page, button_name):
    with page.expect_download(timeout=WAIT_MS) as info:
        page.get_by_role("button", name=button_name).first.click()
    d = info.value
    return d.suggested_filename, Path(d.path()).read_bytes()


def lightness_of(image):
    return rgb_to_lab(np.asarray(image.convert("RGB"), np.float32) / 255.0)[..., 0]


def screenshot(page, name):
    if SCREENSHOTS:
        (ROOT / "docs").mkdir(exist_ok=True)
        page.screenshot(path=str(ROOT / "docs" / name))


def test_photo_upload_slider_and_full_size_download(server, browser, tmp_path):
    page = open_page(browser, server)
    src = tmp_path / "browser-photo.jpg"
    grey = grey_photo(src, 840, 1200, seed=21)  # ~1 MP
    start = time.monotonic()
    upload_photo(page, src)
    wait_for_result(page)
    print(f"\n[browser] upload-to-result time, 1200x840 (1.0 MP) photo: {time.monotonic() - start:.2f} s")

    comparison = page.frame_locator("iframe").first
    assert comparison.locator("input[type=range]").count() == 1
    assert comparison.locator("img").count() == 2

    page.locator(".st-key-vividness input[type=range]").focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    wait_for_result(page, vividness=f"{float(default_vividness()) + 0.20:.2f}")

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


def test_video_tab_progress_playback_and_mp4_download(server, browser, tmp_path):
    page = open_page(browser, server)
    page.get_by_role("tab", name="Video").click()
    clip = make_video(tmp_path / "clip.mp4", w=160, h=120, frames=30, fps=15)
    page.locator(".st-key-video input[type=file]").set_input_files(str(clip))
    page.get_by_text("160×120, 15 frames per second").wait_for()

    peak = {"rss": memory_kb(server.proc.pid, "VmRSS")}
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            peak["rss"] = max(peak["rss"], memory_kb(server.proc.pid, "VmRSS"))
            stop.wait(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        page.get_by_role("button", name="Colorize video").click()
        page.locator("video").wait_for(state="visible")
        name, data = download(page, "Colorized video (MP4)")
    finally:
        stop.set()
        poller.join()
    print(f"\n[browser] server peak RSS during the video test: {peak['rss'] / 1024:.0f} MB "
          f"(VmHWM since start {memory_kb(server.proc.pid, 'VmHWM') / 1024:.0f} MB)")
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
    for page, (path, _) in zip(pages, photos):  # all eight uploads in flight together
        upload_photo(page, path)
    for page in pages:
        wait_for_result(page)
    # Downloads one after another once every page is idle: a deferred download's file is dropped by
    # Streamlit after two script runs of *any* session, so clicks racing other pages' runs can 404.
    for i, (page, (path, grey)) in enumerate(zip(pages, photos)):
        name, data = download(page, "Colorized PNG")
        image = Image.open(io.BytesIO(data))
        assert name == f"page{i}_colorized.png"
        assert image.size == (sizes[i][1], sizes[i][0])
        assert np.abs(lightness_of(image) - rgb_to_lab(grey)[..., 0]).mean() < 2.0
    for page in pages:
        page.close()


@pytest.mark.skipif(not SCREENSHOTS, reason="set COLORIZE_SCREENSHOTS=1 to write the README screenshots")
def test_readme_screenshots(server, browser, tmp_path):
    page = open_page(browser, server, 1400, 1500)
    page.get_by_role("button", name="Astronaut").click()
    wait_for_result(page)
    page.wait_for_timeout(500)
    screenshot(page, "screenshot-photo.png")
    page.get_by_role("tab", name="How it works").click()
    page.get_by_text("Taking apart astronaut.jpg").wait_for()
    page.wait_for_timeout(800)
    screenshot(page, "screenshot-teaching.png")
    page.get_by_role("tab", name="Video").click()
    clip = make_video(tmp_path / "street.mp4", w=320, h=240, frames=30, fps=15)
    page.locator(".st-key-video input[type=file]").set_input_files(str(clip))
    page.get_by_role("button", name="Colorize video").click()
    page.locator("video").wait_for(state="visible")
    wait_idle(page)
    page.wait_for_function("() => document.querySelector('video').readyState >= 2")
    screenshot(page, "screenshot-video.png")
    page.close()
