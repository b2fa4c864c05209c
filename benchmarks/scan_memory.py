"""A 40 MP scan through the real page: the server's peak memory (prints figures; asserts nothing).

Starts `streamlit run app.py`, opens it in headless Chromium, uploads a generated 7300x5480 scan,
waits for the colorized result, downloads the full-size PNG and checks its size. The server's RSS
(its own and any child processes', summed) is sampled from /proc every 50 ms: before the upload,
the peak while the photo is decoded and shown, the peak while the download is made, and after;
then the server's own high-water mark (VmHWM), which no sampling gap can miss. On a machine busy
with training the page may need more than the 180 s Streamlit's page gives a download made on
click: this browser's copy of the page gets --download-seconds instead (see DEFERRED_REQUEST).

Goal (issue 10): peak at most 900 MB. Needs Debian's chromium and playwright (requirements-test.txt).
Run from the repository root:

    python benchmarks/scan_memory.py [--kind grey|rgb-grey|colour] [--width 7300] [--height 5480]

--kind grey (default) is a one-channel JPEG, as a scanner set to greyscale writes; rgb-grey the same
picture saved as a three-channel JPEG whose channels are equal (a B&W scan saved as colour);
colour a tinted three-channel scan (the decoder's colour path).
"""

import argparse
import io
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import page_memory
from page_memory import CHROMIUM_ARGS, start_server

WAIT_MS = 1_800_000  # generous: on a machine busy with training the server gets a few % of a core
# Streamlit's page gives a download made on click 180 s (the `nv=18e4` its script passes for
# `deferredFile` requests). On a machine busy with training, where this server gets a few per cent
# of a core, the 40 MP download can take longer, and the browser would give up while the server
# still works. The benchmark measures memory, so it gives the page more time: only that time limit
# in the page's script is changed, as it is served to this browser.
DEFERRED_REQUEST = re.compile(
    r"(requestDeferredFile\(\w+,\w+\)\{return this\.request\(`deferredFile`,"
    r"\{fileId:\w+\},\w+\?\?)\w+\)"
)


def open_page(browser, url, download_seconds):
    """The page in a new tab whose deferred downloads may take `download_seconds`."""
    page = browser.new_page(viewport={"width": 1300, "height": 900}, accept_downloads=True)
    page.set_default_timeout(WAIT_MS)
    patched = []

    def longer_wait(route):
        response = route.fetch()
        body, n = DEFERRED_REQUEST.subn(lambda m: f"{m.group(1)}{int(download_seconds * 1000)})", response.text())
        patched.append(n)
        route.fulfill(response=response, body=body)

    page.route(re.compile(r"/static/js/index\.[\w-]+\.js$"), longer_wait)
    page.goto(url)
    page.get_by_text("Black-and-white photos:").wait_for()
    if sum(patched) != 1:
        print("note: the page's download time limit was not found (Streamlit changed?); it stays 180 s")
    return page


def _children(pid):
    """Every descendant process id of `pid` (from /proc/*/stat)."""
    parent_of = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            parent_of[int(entry)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, parent in parent_of.items() if parent == p]
        found += kids
        todo += kids
    return found


def tree_rss_mb(pid):
    """VmRSS of a process and all its descendants, in MB (a process that is gone counts 0)."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total / 1024


def vm_hwm_mb(pid):
    """The kernel's record of a process's highest RSS since it started, in MB (no sampling gaps)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid):
    """CPU time (user + system) a process has used, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class TreePeak:
    """The highest summed RSS of a process tree while running; polled every 50 ms."""

    def __init__(self, pid):
        self.pid, self.peak, self._stop = pid, tree_rss_mb(pid), threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self):
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, tree_rss_mb(self.pid))

    def stop(self):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss_mb(self.pid))
        return self.peak


def scan(path, width, height, kind, seed=7):
    """A generated scan: smooth shapes, paper grain and film noise, as JPEG (quality 88)."""
    import cv2

    rng = np.random.default_rng(seed)
    small = rng.random((height // 64 + 2, width // 64 + 2)).astype(np.float32)
    grey = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    grey *= np.float32(190)
    grey += np.float32(35)
    grey += rng.normal(0, 6, (height, width)).astype(np.float32)
    grey = np.clip(grey, 0, 255).astype(np.uint8)
    if kind == "grey":
        Image.fromarray(grey, "L").save(path, "JPEG", quality=88)
    elif kind == "rgb-grey":
        Image.fromarray(grey, "L").convert("RGB").save(path, "JPEG", quality=88)
    else:  # a sepia-ish tint: a real colour image
        tint = np.stack(
            [grey, (grey * np.float32(0.92)).astype(np.uint8), (grey * np.float32(0.78)).astype(np.uint8)], axis=2
        )
        Image.fromarray(tint, "RGB").save(path, "JPEG", quality=88)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("grey", "rgb-grey", "colour"), default="grey")
    parser.add_argument("--width", type=int, default=7300)
    parser.add_argument("--height", type=int, default=5480)
    parser.add_argument(
        "--download-seconds",
        type=float,
        default=WAIT_MS / 1000,
        help="how long the page waits for the server to make the download (Streamlit: 180)",
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with open("/proc/loadavg") as f:
        print(f"load average: {' '.join(f.read().split()[:3])} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        path = scan(Path(tmp) / f"scan-{args.kind}.jpg", args.width, args.height, args.kind)
        print(
            f"{args.kind} scan {args.width}x{args.height} = {args.width * args.height / 1e6:.1f} MP, "
            f"{path.stat().st_size / 1e6:.1f} MB JPEG"
        )
        log = open(Path(tmp) / "streamlit.log", "wb")
        page_memory.LOG = log  # the server's output, shown if anything goes wrong
        proc, url = start_server()
        try:
            with sync_playwright() as p:
                chromium = os.environ.get("COLORIZE_CHROMIUM", "/usr/bin/chromium")
                browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
                page = open_page(browser, url, args.download_seconds)
                print("page open; uploading", flush=True)
                time.sleep(1.0)
                before = tree_rss_mb(proc.pid)
                whole = TreePeak(proc.pid)
                shown_peak = TreePeak(proc.pid)
                start, cpu = time.monotonic(), cpu_seconds(proc.pid)
                page.locator(".st-key-photos input[type=file]").set_input_files(str(path))
                page.locator(".st-key-result h3").filter(has_text=path.stem).first.wait_for()
                page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
                shown = time.monotonic() - start
                shown_top = shown_peak.stop()
                print(f"result shown after {shown:.1f} s; downloading", flush=True)
                between = tree_rss_mb(proc.pid)
                download_peak = TreePeak(proc.pid)
                with page.expect_download(timeout=WAIT_MS) as info:
                    page.get_by_role("button", name="Colorized PNG").first.click()
                data = Path(info.value.path()).read_bytes()
                total = time.monotonic() - start
                download_top = download_peak.stop()
                top = max(whole.stop(), shown_top, download_top)  # samplers may each miss a brief spike
                with Image.open(io.BytesIO(data)) as im:
                    size, fmt = im.size, im.format
                    im.verify()  # every chunk's checksum, without holding the pixels
                ok = fmt == "PNG" and size == (args.width, args.height)
                print(
                    f"full-size PNG ({len(data) / 1e6:.1f} MB, {fmt} "
                    f"{size[0]}x{size[1]}: {'right size' if ok else 'WRONG SIZE'}) downloaded after {total:.1f} s "
                    f"(the server used {cpu_seconds(proc.pid) - cpu:.1f} s of CPU)"
                )
                time.sleep(2.0)
                print(
                    f"server RSS (with children): before upload {before:.0f} MB, peak while shown "
                    f"{shown_top:.0f} MB, after {between:.0f} MB, peak while downloading {download_top:.0f} MB, "
                    f"2 s after {tree_rss_mb(proc.pid):.0f} MB"
                )
                print(
                    f"PEAK {top:.0f} MB sampled every 50 ms (goal 900 MB); the server process's own high-water "
                    f"mark since it started (VmHWM, exact): {vm_hwm_mb(proc.pid):.0f} MB"
                )
                browser.close()
                if not ok:
                    sys.exit(1)
        except BaseException:
            log.flush()
            print("server log (end):\n" + (Path(tmp) / "streamlit.log").read_text(errors="replace")[-3000:])
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except Exception:  # noqa: BLE001 - a server that will not stop is killed
                proc.kill()
            log.close()


if __name__ == "__main__":
    main()
