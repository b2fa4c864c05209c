"""Community Cloud in a box: the page in a 1 GiB memory cap for its whole process tree, attacked in real
browsers while a victim colorizes a 1 MP photo every few seconds (prints figures; asserts nothing).

    python benchmarks/cloud_box.py mix [--minutes 10] [--cap-mb 1024]
    python benchmarks/cloud_box.py attack NAME [--tree DIR] [--cap-mb 0]

The server (`streamlit run app.py`, and every ffmpeg it starts) runs in a cgroup v1 memory group of
--cap-mb (memory.limit_in_bytes; the swap limit too where the kernel has one); where the memory
controller cannot be used, `ulimit -v` on the server is the fallback (per process, not the tree: the
figures say which). Memory is sampled every 50 ms: the tree's RSS (the server and its children,
from /proc) and the group's own count (which also holds the page cache of files the server read).

mix: the victim alone first (its median and slowest upload-to-result time for a 1 MP photo), then
for --minutes every attack below at once, each in its own browser, over and over, while the victim
goes on; then every page closes and after 60 s the memory is compared with the start. Figures: was
the server killed (the group's OOM kills), every victim photo accepted and finished, its median and
slowest time against alone (goals: 1.5x and 3x), peak memory, memory 60 s after (goal: within
100 MB of the start).

attack NAME: one attack alone, with its figure (run with --tree on an older checkout for "before"):
  lockout      one visitor, three tabs, 9 scans of 45 MB (400 MB), tabs kept open; then another
               visitor uploads every 10 s for 2 minutes: how long is it refused?
  mjpeg        a 2 MB MJPEG clip whose frames are 16000x16000: peak memory, time to the refusal
  uploads      five 150 MB uploads at once from five browsers: peak memory
  video-cancel a 105 MB clip uploaded, colorized and cancelled: peak memory; ffmpeg processes and
               job folders left right after the Cancel
  pins         100 pins on a photo: memory before and after, and 90 s after the page closed
  flood        another visitor's 20 MP photo alone, then while two browsers upload 20 MP photos
               over and over
  audio-hour   a clip of 4 s of video and an hour of sound: how long until it is refused or done
  closed-tab   a clip's job, its tab closed midway: how long its ffmpeg processes live on

The attacks' files are made once in --work (default ~/.cache/colorize-cloud-box, about 2 GB).
Needs Chromium and playwright (requirements-test.txt). Shares two cores with whatever else runs:
compare the figures of one run with each other.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from checkout import ROOT
from PIL import Image

sys.path.insert(0, str(ROOT / "tests"))
from page_memory import CHROMIUM_ARGS, photo

from helpers import make_video, mjpeg_bomb

CGROUP_ROOT = Path("/sys/fs/cgroup/memory")
WAIT_MS = 600_000
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
ATTACKS = ["lockout", "mjpeg", "uploads", "video-cancel", "pins", "flood", "audio-hour", "closed-tab"]
MB = 1 << 20


# ---------------------------------------------------------------- the box


class Box:
    """The page's server in a memory cap, with its memory sampled every 50 ms."""

    def __init__(self, tree, work, cap_mb, env=()):
        self.tree, self.cap_mb, self.group = Path(tree), cap_mb, None
        self.limit = "none"
        preexec = None
        if cap_mb:
            try:
                self.group = CGROUP_ROOT / f"colorize-cloud-box-{os.getpid()}"
                self.group.mkdir(exist_ok=True)
                (self.group / "memory.limit_in_bytes").write_text(str(cap_mb * MB))
                swap = self.group / "memory.memsw.limit_in_bytes"
                if swap.exists():
                    swap.write_text(str(cap_mb * MB))
                procs = str(self.group / "cgroup.procs")
                self.limit = f"cgroup v1 memory group of {cap_mb} MiB (the whole process tree)"

                def preexec():
                    with open(procs, "w") as f:
                        f.write(str(os.getpid()))

            except OSError as e:
                self.group = None
                self.limit = f"ulimit -v {cap_mb} MiB on the server only (fallback: no cgroup, {e.strerror})"

                def preexec():
                    resource.setrlimit(resource.RLIMIT_AS, (cap_mb * MB, cap_mb * MB))

        tmp = Path(work) / "server-tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        port = free_port()
        environ = {k: v for k, v in os.environ.items() if not k.startswith("COLORIZE_")}
        environ.update({"PYTHONPATH": str(self.tree), "TMPDIR": str(tmp), **dict(env)})
        args = [f"--server.{k}={v}" for k, v in {"address": "127.0.0.1", "port": port, "headless": "true"}.items()]
        self.log = open(Path(work) / "server.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", *args, "--server.fileWatcherType=none"],
            cwd=self.tree,
            env=environ,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec,
        )
        self.url = f"http://127.0.0.1:{port}/"
        self.tmp = tmp
        wait_healthy(self.url, self.proc)
        self.peak_rss = self.peak_group = 0.0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self):
        while not self._stop.wait(0.05):
            self.peak_rss = max(self.peak_rss, self.rss())
            self.peak_group = max(self.peak_group, self.group_mb())

    def reset_peaks(self):
        self.peak_rss, self.peak_group = self.rss(), self.group_mb()

    def tree_pids(self):
        parents = {}
        for entry in Path("/proc").iterdir():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
        tree, grown = {self.proc.pid}, True
        while grown:
            more = {pid for pid, parent in parents.items() if parent in tree} - tree
            grown, tree = bool(more), tree | more
        return tree

    def rss(self):
        """MB: the RSS of the server and all its descendants."""
        total = 0
        for pid in self.tree_pids():
            try:
                for line in open(f"/proc/{pid}/status"):
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                continue
        return total / 1024

    def group_mb(self):
        if self.group is None:
            return 0.0
        try:
            return int((self.group / "memory.usage_in_bytes").read_text()) / MB
        except OSError:
            return 0.0

    def oom_kills(self):
        if self.group is None:
            return 0
        for line in (self.group / "memory.oom_control").read_text().splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
        return 0

    def ffmpeg(self):
        """Command lines of the tree's live ffmpeg processes."""
        found = []
        for pid in self.tree_pids() - {self.proc.pid}:
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "ffmpeg" in cmd:
                found.append(cmd)
        return found

    def job_folders(self):
        return [p for p in self.tmp.rglob("colorize-video-*") if p.is_dir()]

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        self._stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        if self.group is not None:
            time.sleep(0.5)
            try:
                self.group.rmdir()
            except OSError:
                pass


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url, proc):
    import urllib.request

    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode} (see server.log)")
        try:
            if urllib.request.urlopen(url + "_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not start")


# ---------------------------------------------------------------- the attacks' files


def make_files(work):
    """Every file the attacks upload, made once (~2 GB)."""
    work = Path(work)
    files = work / "files"
    files.mkdir(parents=True, exist_ok=True)
    ff = __import__("imageio_ffmpeg").get_ffmpeg_exe()

    def once(name, make):
        path = files / name
        if not path.exists():
            part = path.with_name(path.name + ".part")
            make(part)
            part.rename(path)
        return path

    def scan(seed):
        def make(path):
            rng = np.random.default_rng(seed)
            small = rng.random((200, 219)).astype(np.float32)
            import cv2

            grey = np.clip(cv2.resize(small, (7000, 6400)) * 200 + 30, 0, 255).astype(np.uint8)
            Image.fromarray(grey, "L").save(path, "TIFF")  # 45 MB, uncompressed

        return make

    def filler(mb):  # a black-and-white photo of grain: `mb` MB that PNG cannot shrink
        side = int((mb * MB) ** 0.5)
        return lambda path: Image.fromarray(
            np.random.default_rng(int(mb * 8)).integers(0, 256, (side, side), np.uint8)
        ).save(path, "PNG")

    def ffmpeg(*args):
        return lambda path: subprocess.run(
            [ff, "-nostdin", "-loglevel", "error", *map(str, args), "-f", "mp4", str(path), "-y"], check=True
        )

    out = {
        "scans": [once(f"scan-{i}.tif", scan(i)) for i in range(9)],
        "junk": [once(f"junk-{i}.png", lambda p, i=i: p.write_bytes(os.urandom(150_000_000))) for i in range(5)],
        "fillers": [
            once(f"fill-{kb}-kb.png", filler(kb / 1024)) for kb in (16384, 8192, 4096, 2048, 1024, 512, 256, 128)
        ],
        "bomb": once("bomb.avi", lambda p: mjpeg_bomb(p).rename(p)),
        "big_clip": once(
            "noise-720p.mp4",
            ffmpeg(
                "-f",
                "lavfi",
                "-i",
                "nullsrc=s=1280x720:r=25,geq=lum='random(1)*255':cb=128:cr=128",
                "-t",
                "3.2",
                "-c:v",
                "libx264",
                "-qp",
                "0",
                "-pix_fmt",
                "yuv420p",
            ),
        ),
        "hour": once(
            "four-seconds-and-an-hour.mp4",
            ffmpeg(
                "-f",
                "lavfi",
                "-i",
                "testsrc=s=320x240:r=15:d=4",
                "-f",
                "lavfi",
                "-i",
                "sine=f=440:d=3600",
                "-c:v",
                "libx264",
                "-c:a",
                "aac",
                "-b:a",
                "32k",
            ),
        ),
        "clip": once("twenty-seconds.mp4", lambda p: make_video(p.with_suffix(".mp4"), 320, 240, 300, 15).rename(p)),
        "flood": [
            once(f"flood-{i}.jpg", lambda p, i=i: photo(p.with_suffix(".jpg"), 500 + i, 5472, 3648).rename(p))
            for i in range(12)
        ],
    }
    return out


# ---------------------------------------------------------------- browsers


class Browser:
    """One Chromium for an actor; contexts are visitors (each has its own cookie), pages their tabs."""

    def __init__(self):
        from playwright.sync_api import sync_playwright

        self._p = sync_playwright().start()
        chromium = os.environ.get("COLORIZE_CHROMIUM", "/usr/bin/chromium")
        self.browser = self._p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)

    def visitor(self):
        return self.browser.new_context(viewport={"width": 1300, "height": 900})

    def close(self):
        self.browser.close()
        self._p.stop()


def open_tab(visitor, url, tab=None):
    page = visitor.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(url)
    page.get_by_text("Black-and-white photos:").wait_for()
    if tab:
        page.get_by_role("tab", name=tab).click()
        page.wait_for_selector(IDLE)
    return page


def choose(page, where, paths):
    page.locator(f".st-key-{where} input[type=file]").set_input_files([str(p) for p in paths])


def settle(page):
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE)


def answered(page, name=""):
    """Wait until the page has answered an upload (whose name contains `name`): a result, or a line
    about it. (The uploader lists a chosen file at once, before it has even been sent.)"""
    alert = page.locator("[data-testid='stAlert']").filter(has_text=name)
    page.locator(".st-key-result h3").filter(has_text=name).or_(alert).first.wait_for()
    settle(page)


def say(**event):
    print(json.dumps(event), flush=True)


# ---------------------------------------------------------------- actors (each runs in its own process)


def victim(url, work, seconds, side=(1224, 816), pause=3.0, tag="victim"):
    """Upload a new photo, wait for its result, clear, every few seconds; one line per photo."""
    b = Browser()
    page = open_tab(b.visitor(), url)
    end, n = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        path = photo(
            Path(work) / f"{tag}-{os.getpid()}-{n:04d}.jpg",
            seed=10_000 + n + 1000 * os.getpid(),
            width=side[0],
            height=side[1],
        )
        start = time.monotonic()
        choose(page, "photos", [path])
        result = page.locator(".st-key-result h3").filter(has_text=path.stem)
        refused = page.get_by_text("not added")
        try:
            result.or_(refused).first.wait_for(timeout=180_000)
            settle(page)
            finished = result.count() > 0
        except Exception:  # noqa: BLE001 - a photo that never came back counts as not finished
            finished = False
        say(actor=tag, seconds=round(time.monotonic() - start, 3), accepted=refused.count() == 0, finished=finished)
        path.unlink(missing_ok=True)
        n += 1
        clear = page.get_by_role("button", name="Clear all")
        if clear.count():
            clear.first.click()
            settle(page)
        time.sleep(pause)
    b.close()


def rounds(seconds, pause, one_round):
    """`one_round(visitor)` over and over for `seconds`, `pause` seconds apart, each by a new visitor
    (a browser context: its own cookie) closed afterwards."""
    b = Browser()
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            visitor = b.visitor()
            try:
                one_round(visitor)
            finally:
                visitor.close()
            time.sleep(min(pause, max(0.0, end - time.monotonic())))
    finally:
        b.close()


def lockout(url, files, seconds, keep=120):
    def one_round(visitor):
        tabs = [open_tab(visitor, url) for _ in range(3)]
        for i, tab in enumerate(tabs):  # 400 MB in all: scans, then smaller photos up to the brim
            choose(tab, "photos", files["scans"][3 * i : 3 * i + 3])
            answered(tab)
        for filler in files["fillers"]:
            choose(tabs[-1], "photos", [filler])
            answered(tabs[-1], filler.stem)
        say(actor="lockout", event="holding", tabs=3)
        time.sleep(keep)

    rounds(seconds, 0, one_round)


def clip_answer(visitor, url, clip, *answers):
    """A tab on the Video tab that chose `clip`, and the seconds until one of the texts `answers` showed."""
    page = open_tab(visitor, url, "Video")
    start = time.monotonic()
    choose(page, "video", [clip])
    shown = page.get_by_text(answers[0])
    for answer in answers[1:]:
        shown = shown.or_(page.get_by_text(answer))
    shown.first.wait_for()
    return page, round(time.monotonic() - start, 2)


def mjpeg(url, files, seconds, pause=20):
    def one_round(visitor):
        say(actor="mjpeg", refused_after=clip_answer(visitor, url, files["bomb"], "over the limit", "no frame")[1])

    rounds(seconds, pause, one_round)


def uploads(url, files, seconds, pause=60):
    def one_round(visitor):
        others = [visitor.browser.new_context() for _ in files["junk"][1:]]  # five visitors at once
        pages = [open_tab(v, url) for v in [visitor, *others]]
        start = time.monotonic()
        for page, junk in zip(pages, files["junk"], strict=True):
            choose(page, "photos", [junk])
        for page in pages:
            answered(page, "junk-")
        say(actor="uploads", answered_after=round(time.monotonic() - start, 2))
        for other in others:
            other.close()

    rounds(seconds, pause, one_round)


def start_clip(visitor, url, clip, size):
    """A tab on the Video tab with `clip` chosen and Colorize pressed, once the job is under way."""
    page = open_tab(visitor, url, "Video")
    choose(page, "video", [clip])
    page.get_by_text(size).first.wait_for()
    page.get_by_role("button", name="Colorize video").click()
    page.get_by_text(" frames, about ").or_(page.get_by_text("Waiting for")).first.wait_for()
    return page


def video_cancel(url, files, seconds, pause=45):
    def one_round(visitor):
        page = start_clip(visitor, url, files["big_clip"], "1280×720")
        page.get_by_role("button", name="Cancel").click()
        page.get_by_text("Cancelled").first.wait_for()
        say(actor="video-cancel", event="cancelled")

    rounds(seconds, pause, one_round)


def closed_tab(url, files, seconds, pause=60):
    def one_round(visitor):
        start_clip(visitor, url, files["clip"], "320×240").close()
        say(actor="closed-tab", event="closed")

    rounds(seconds, pause, one_round)


def pins(url, work, seconds, count=100, pause=60):
    rng = np.random.default_rng(os.getpid())

    def one_round(visitor):
        page = open_tab(visitor, url)
        path = photo(Path(work) / f"pins-{os.getpid()}.jpg", seed=int(rng.integers(1 << 30)), width=1224, height=816)
        choose(page, "photos", [path])
        page.locator(".st-key-result h3").first.wait_for()
        settle(page)
        placed = 0
        page.wait_for_timeout(1500)  # the click component listens once its frame has loaded
        for _ in range(count):
            page.locator(".st-key-result iframe").first.wait_for()
            picture = page.frame_locator(".st-key-result iframe").first.locator("img#image")
            picture.wait_for()
            box = picture.bounding_box()
            if box is None:
                break
            x, y = rng.uniform(0.05, 0.95, 2)
            picture.click(position={"x": x * box["width"], "y": y * box["height"]})
            swatch = page.locator(".st-key-swatch-0 button").first
            try:  # a page with a chooser: the pin's colour is picked; an older page pinned on the click
                swatch.wait_for(timeout=3_000)
                swatch.click()
            except Exception:  # noqa: BLE001 - no chooser: an older page, or the photo has all its pins
                pass
            placed += 1
            settle(page)
        say(actor="pins", placed=placed)
        time.sleep(10)  # the page stays open a moment: its memory is measured now

    rounds(seconds, pause, one_round)


def flood(url, files, seconds):
    def one_round(visitor):
        page = open_tab(visitor, url)
        start = time.monotonic()
        choose(page, "photos", files["flood"][:6])
        page.locator(".st-key-result h3").first.wait_for()
        settle(page)
        say(actor="flood", batch_seconds=round(time.monotonic() - start, 2))

    rounds(seconds, 0, one_round)


def audio_hour(url, files, seconds, pause=60):
    def one_round(visitor):
        start = time.monotonic()
        page, _ = clip_answer(visitor, url, files["hour"], "over the limit", "frames per second")
        refused = page.get_by_text("over the limit").count() > 0
        if not refused:  # the page took it: colorize it, as the attacker did
            page.get_by_role("button", name="Colorize video").click()
            page.locator("video").or_(page.locator("[data-testid='stAlert']")).first.wait_for()
        say(actor="audio-hour", refused=refused, seconds=round(time.monotonic() - start, 2))

    rounds(seconds, pause, one_round)


def run_actor(name, url, work, seconds):
    if not name.startswith("victim"):
        os.nice(19)  # an attacker's browser is on the attacker's machine, not on the page's CPU
    files = make_files(work)
    actors = {
        "victim": lambda: victim(url, work, seconds),
        "victim20": lambda: victim(url, work, seconds, side=(5472, 3648), tag="victim20"),
        "lockout": lambda: lockout(url, files, seconds),
        "mjpeg": lambda: mjpeg(url, files, seconds),
        "uploads": lambda: uploads(url, files, seconds),
        "video-cancel": lambda: video_cancel(url, files, seconds),
        "pins": lambda: pins(url, work, seconds),
        "flood": lambda: flood(url, files, seconds),
        "audio-hour": lambda: audio_hour(url, files, seconds),
        "closed-tab": lambda: closed_tab(url, files, seconds),
    }
    actors[name]()


class Actor:
    """An actor in a process of its own (this script, `actor NAME`); its event lines are collected."""

    def __init__(self, name, url, work, seconds):
        self.name, self.events = name, []
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "actor", name, "--url", url, "--work", str(work), "--seconds", str(seconds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                pass

    def wait(self, timeout=None):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._thread.join(5)
        return self.events


# ---------------------------------------------------------------- runs


def times(events):
    seconds = [e["seconds"] for e in events if "seconds" in e]
    return (statistics.median(seconds), max(seconds)) if seconds else (float("nan"), float("nan"))


def settle_memory(box, seconds=60):
    time.sleep(seconds)
    return box.rss(), box.group_mb()


def mix(args, work):
    box = Box(args.tree, work, args.cap_mb)
    print(f"limit: {box.limit}; server started, tree RSS {box.rss():.0f} MB", flush=True)
    try:
        warm = Actor("victim", box.url, work, 1).wait()  # the model loaded, one photo
        start_rss, start_group = settle_memory(box)
        print(f"start (a first visit closed, 60 s later): tree RSS {start_rss:.0f} MB, group {start_group:.0f} MB")
        alone = Actor("victim", box.url, work, args.alone_seconds).wait()
        a_med, a_max = times(alone)
        print(f"victim alone: {len(alone)} photos, median {a_med:.2f} s, slowest {a_max:.2f} s", flush=True)
        box.reset_peaks()
        seconds = args.minutes * 60
        attackers = [Actor(name, box.url, work, seconds) for name in ATTACKS]
        victim_run = Actor("victim", box.url, work, seconds)
        t0 = time.monotonic()
        while victim_run.proc.poll() is None:
            time.sleep(30)
            print(
                f"  {time.monotonic() - t0:5.0f} s: tree RSS {box.rss():.0f} MB (peak {box.peak_rss:.0f}), group "
                f"{box.group_mb():.0f} MB (peak {box.peak_group:.0f}), OOM kills {box.oom_kills()}, server "
                f"{'alive' if box.alive() else 'DEAD'}, victim photos {len(victim_run.events)}",
                flush=True,
            )
        mixed = victim_run.wait()
        for actor in attackers:
            actor.wait(300)
        end_rss, end_group = settle_memory(box)
        m_med, m_max = times(mixed)
        accepted = sum(e["accepted"] for e in mixed)
        finished = sum(e["finished"] for e in mixed)
        print(f"\nmix for {args.minutes:g} minutes under {box.limit}:")
        print(f"  server killed: {'no' if box.alive() else 'YES'}; OOM kills in the group: {box.oom_kills()}")
        print(f"  victim: {len(mixed)} photos, {accepted} accepted, {finished} finished")
        print(
            f"  victim median {m_med:.2f} s ({m_med / a_med:.2f}x alone; goal 1.5x), slowest {m_max:.2f} s "
            f"({m_max / a_med:.2f}x alone's median, {m_max / a_max:.2f}x alone's slowest; goal 3x)"
        )
        print(f"  peak: tree RSS {box.peak_rss:.0f} MB, group {box.peak_group:.0f} MB (cap {args.cap_mb} MB)")
        print(
            f"  60 s after every page closed: tree RSS {end_rss:.0f} MB ({end_rss - start_rss:+.0f} MB against the "
            f"start; goal within 100), group {end_group:.0f} MB ({end_group - start_group:+.0f})"
        )
        for actor in attackers:
            print(f"  {actor.name}: {len(actor.events)} rounds; last {actor.events[-1] if actor.events else '-'}")
        del warm
    finally:
        box.stop()


def lockout_alone(box, work):
    attacker = Actor("lockout", box.url, work, 150)
    time.sleep(5)
    while not attacker.events and attacker.proc.poll() is None:
        time.sleep(1)
    b = Browser()
    refused_for, start, accepted = None, time.monotonic(), False
    try:
        page = open_tab(b.visitor(), box.url)
        for n in range(13):
            path = photo(Path(work) / f"lock-{n}.jpg", seed=777 + n, width=1224, height=816)
            choose(page, "photos", [path])
            page.locator(".st-key-result h3").filter(has_text=path.stem).or_(
                page.get_by_text("not added")
            ).first.wait_for()
            settle(page)
            if page.locator(".st-key-result h3").filter(has_text=path.stem).count():
                accepted, refused_for = True, time.monotonic() - start
                break
            time.sleep(10)
    finally:
        b.close()
    attacker.wait(200)
    return (
        f"another visitor accepted after {refused_for:.0f} s"
        if accepted
        else "another visitor refused for 2 minutes and more"
    )


def attack(args, work):
    """One attack alone, and its figure."""
    name = args.name
    box = Box(args.tree, work, args.cap_mb)
    print(f"tree {args.tree}; limit: {box.limit}", flush=True)
    try:
        Actor("victim", box.url, work, 1).wait()  # warm: the model loaded
        base = box.rss()
        box.reset_peaks()
        if name == "lockout":
            figure = lockout_alone(box, work)
        elif name == "flood":
            alone = Actor("victim20", box.url, work, 60).wait()
            floods = [Actor("flood", box.url, work, 100) for _ in range(2)]
            time.sleep(10)
            during = Actor("victim20", box.url, work, 60).wait()
            for f in floods:
                f.wait(300)
            figure = (
                f"another visitor's 20 MP photo: median {times(alone)[0]:.1f} s alone, {times(during)[0]:.1f} s during "
                f"the flood ({len(alone)} and {len(during)} photos)"
            )
        elif name == "pins":
            actor = Actor("pins", box.url, work, 1)
            while not actor.events and actor.proc.poll() is None:
                time.sleep(1)
            pinned = box.rss()
            actor.wait(600)
            later = settle_memory(box, 90)[0]
            figure = (
                f"{actor.events[0]['placed'] if actor.events else 0} pins: tree RSS {base:.0f} -> {pinned:.0f} MB; "
                f"90 s after the page closed {later:.0f} MB"
            )
        elif name in ("video-cancel", "closed-tab"):
            actor = Actor(name, box.url, work, 1)
            while not actor.events and actor.proc.poll() is None:
                time.sleep(0.02)
            start = time.monotonic()
            right_after = (len(box.ffmpeg()), len(box.job_folders()))
            while (box.ffmpeg() or box.job_folders()) and time.monotonic() - start < 180:
                time.sleep(0.1)
            actor.wait(300)
            figure = (
                f"right after: {right_after[0]} ffmpeg processes, {right_after[1]} job folders; all gone after "
                f"{time.monotonic() - start:.1f} s; peak tree RSS {box.peak_rss:.0f} MB (from {base:.0f})"
            )
        else:  # mjpeg, uploads, audio-hour: one round each
            events = Actor(name, box.url, work, 1).wait(900)
            figure = f"{events[-1] if events else 'no answer'}; peak tree RSS {box.peak_rss:.0f} MB (from {base:.0f})"
        print(f"{name}: {figure}; server {'alive' if box.alive() else 'KILLED'}, OOM kills {box.oom_kills()}")
    finally:
        box.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["mix", "attack", "actor"])
    parser.add_argument("name", nargs="?", choices=[*ATTACKS, "victim", "victim20"])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--alone-seconds", type=float, default=90.0, help="the victim alone before the mix")
    parser.add_argument("--cap-mb", type=int, default=None, help="memory cap (mix: 1024; attack: none)")
    parser.add_argument("--tree", default=str(ROOT), help="the checkout to serve (an older one: 'before')")
    parser.add_argument("--work", default=str(Path.home() / ".cache" / "colorize-cloud-box"))
    parser.add_argument("--url")
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if args.mode == "actor":
        run_actor(args.name, args.url, work, args.seconds)
        return
    make_files(work)
    if args.cap_mb is None:
        args.cap_mb = 1024 if args.mode == "mix" else 0
    mix(args, work) if args.mode == "mix" else attack(args, work)


if __name__ == "__main__":
    main()
