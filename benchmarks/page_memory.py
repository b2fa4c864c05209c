"""The page's server memory under a long session and under a crowd (prints figures; asserts nothing).

1. One browser session uploads 40 different 2 MP photos one after another, then closes the page:
   the server's RSS after the first upload, after the 40th, and a minute after the page closed.
2. Twelve pages at once each upload a 2 MP photo and download its full-size PNG, then close:
   the server's RSS before, at its peak, and a minute after they closed.

Goals (issue 11): the end of (1) within 150 MB of its first upload; (2) back within 150 MB of its
start. Needs Debian's chromium and playwright (requirements-test.txt). Run from the repository root:

    python benchmarks/page_memory.py [--photos 40] [--pages 12] [--settle 60]
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 600_000
LOG = subprocess.DEVNULL


def rss_mb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


class Peak:
    def __init__(self, pid):
        self.pid, self.peak, self._stop = pid, rss_mb(pid), threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self):
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_mb(self.pid))

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak


def photo(path, seed, width=1732, height=1155):
    """A different 2 MP black-and-white 'photo' for each seed: smooth shapes and grain, as JPEG."""
    import cv2

    rng = np.random.default_rng(seed)
    small = rng.random((height // 32, width // 32)).astype(np.float32)
    grey = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    grey = np.clip(grey * 200 + 30 + rng.normal(0, 5, (height, width)), 0, 255).astype(np.uint8)
    Image.fromarray(grey, "L").save(path, "JPEG", quality=90)
    return path


def start_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "COLORIZE_MODELS"}
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
        stdout=LOG,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    for _ in range(400):
        try:
            if urllib.request.urlopen(url + "_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("streamlit did not start")


def open_page(browser, url):
    page = browser.new_page(viewport={"width": 1300, "height": 900}, accept_downloads=True)
    page.set_default_timeout(WAIT_MS)
    page.goto(url)
    page.get_by_text("Black-and-white photos:").wait_for()
    return page


def upload_and_wait(page, path):
    page.locator(".st-key-photos input[type=file]").set_input_files(str(path))
    page.locator(".st-key-result h3").filter(has_text=path.stem.split("-")[-1]).first.wait_for()
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')


def settle(pid, seconds):
    """RSS after waiting `seconds` (the page's memory is released by a sweep every 5 s)."""
    time.sleep(seconds)
    return rss_mb(pid)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--pages", type=int, default=12)
    parser.add_argument("--settle", type=float, default=60.0, help="seconds to wait after pages close")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    proc, url = start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
            tmp = Path(tmp)
            chromium = os.environ.get("COLORIZE_CHROMIUM", "/usr/bin/chromium")
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            print(f"server started: RSS {rss_mb(proc.pid):.0f} MB")

            # 1. one long session
            page = open_page(browser, url)
            peak = Peak(proc.pid)
            times = []
            for i in range(args.photos):
                path = photo(tmp / f"long-{i:02d}.jpg", seed=i)
                t = time.monotonic()
                upload_and_wait(page, path)
                times.append(time.monotonic() - t)
                if i == 0:
                    first = settle(proc.pid, 1.0)
                    print(f"after the first 2 MP upload: RSS {first:.0f} MB")
                elif (i + 1) % 10 == 0:
                    print(f"after {i + 1} uploads: RSS {rss_mb(proc.pid):.0f} MB")
            last = settle(proc.pid, 1.0)
            page.close()
            closed = settle(proc.pid, args.settle)
            top = peak.stop()
            print(
                f"[1] {args.photos} sequential uploads in one session: first {first:.0f} MB, after the last "
                f"{last:.0f} MB (+{last - first:.0f}), peak {top:.0f} MB, {args.settle:.0f} s after closing "
                f"{closed:.0f} MB (+{closed - first:.0f}; goal +150); median upload-to-result "
                f"{np.median(times):.2f} s"
            )

            # 2. a crowd
            start = rss_mb(proc.pid)
            paths = [photo(tmp / f"crowd-{i:02d}.jpg", seed=1000 + i) for i in range(args.pages)]
            pages = [open_page(browser, url) for _ in range(args.pages)]
            peak = Peak(proc.pid)
            for pg, path in zip(pages, paths, strict=False):
                pg.locator(".st-key-photos input[type=file]").set_input_files(str(path))
            for pg, path in zip(pages, paths, strict=False):
                pg.locator(".st-key-result h3").filter(has_text=path.stem.split("-")[-1]).first.wait_for()
                pg.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
            busy = rss_mb(proc.pid)
            for pg in pages:
                with pg.expect_download(timeout=WAIT_MS) as info:
                    pg.get_by_role("button", name="Colorized PNG").first.click()
                info.value.path()
            for pg in pages:
                pg.close()
            top = peak.stop()
            after = settle(proc.pid, args.settle)
            print(
                f"[2] {args.pages} pages at once: start {start:.0f} MB, all shown {busy:.0f} MB, peak {top:.0f} MB, "
                f"{args.settle:.0f} s after they closed {after:.0f} MB ({after - start:+.0f}; goal within 150)"
            )
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
