"""The hosted page under attack (issue 26): no lock-outs, nothing held outside the page's budget, work
in turns, crafted widget values ignored, hostile clips refused before ffmpeg allocates them, and a
cancelled or abandoned job gone at once.

The page's memory classes are tested on their own (byte counts stand for photos), the page itself
through Streamlit's AppTest on the tiny test models, the video engine on generated clips. The browser
test at the end (marked `browser`) runs the page as a hosted one: several tabs of one browser, a
second browser, real uploads and a real Cancel.
"""

import logging
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFileRec

from colorize import ColorizeError
from colorize.page import memory
from colorize.page.video import JobControl, colorize_clip, page_limits
from colorize.video import VideoCancelled, probe_video
from helpers import (
    ROOT,
    chromium_or_skip,
    encoded,
    ffmpeg,
    make_video,
    mjpeg_bomb,
    noise_rgb8,
    streamlit_server,
)
from tiny_model import build_tiny_hint_model

APP = str(ROOT / "app.py")


# ---------------------------------------------------------------- lock-out and fairness


def visitor_tabs(shelves, visitor, *tabs, now=0.0):
    return [shelves.get(tab, visitor, now=now) for tab in tabs]


def test_one_visitor_with_three_tabs_cannot_lock_the_others_out():
    """The issue's lock-out: one visitor's tabs hold the page's memory and keep it. Now a visitor is
    bounded in all their tabs together, and their photos give way before another visitor is refused:
    an active visitor's beyond a fair share, an idle visitor's first; they are told, and their pins
    come back with the photo."""
    budget = memory.PageBudget(
        photos_per_session=48, upload_bytes_per_session=150, upload_bytes_all_sessions=300, idle_seconds=60
    )
    shelves = memory.Shelves(budget)
    t1, t2, t3 = visitor_tabs(shelves, "browser:attacker", "t1", "t2", "t3")
    shelves.add(t1, "a1", "a1.tif", b"a" * 90, now=0.0)
    shelves.add(t2, "a2", "a2.tif", b"b" * 50, now=0.0)
    with pytest.raises(memory.OverBudget, match="at most 0 MB of uploads per visitor") as refused:
        shelves.add(t3, "a3", "a3.tif", b"c" * 20, now=0.0)  # a third tab of the same browser: the same visitor
    assert "command line" in refused.value.advice
    t1.photos["a1"].add_pin(3, 4, (10, 20, 30))
    (other,) = visitor_tabs(shelves, "browser:second-identity", "o1")
    shelves.add(other, "o1", "o1.tif", b"o" * 150, now=0.0)
    assert shelves.upload_bytes() == 290  # the page is nearly full

    (victim,) = visitor_tabs(shelves, "browser:victim", "v1", now=2.0)
    photo = shelves.add(victim, "v1", "v1.jpg", b"v" * 40, now=2.0)  # the largest active holder gives way
    assert photo.name == "v1.jpg" and shelves.upload_bytes() == 180
    assert not other.photos and other.take_gave_way() == ["o1.tif"]
    assert set(t1.photos) == {"a1"} and set(t2.photos) == {"a2"}

    # the attacker goes idle: their photos give way first, the oldest first, with their pins kept
    (third,) = visitor_tabs(shelves, "browser:third", "x1", now=100.0)
    shelves.add(third, "x1", "x1.png", b"x" * 100, now=100.0)
    shelves.add(shelves.get("v1", "browser:victim", now=100.0), "v2", "v2.jpg", b"w" * 100, now=100.0)
    assert "a1" not in t1.photos and set(t2.photos) == {"a2"} and set(third.photos) == {"x1"}
    assert t1.take_gave_way() == ["a1.tif"] and t1.take_gave_way() == []
    victim.remove("v2")
    again = shelves.add(shelves.get("t1", "browser:attacker", now=101.0), "a1", "a1.tif", b"a" * 90, now=101.0)
    assert [(p.x, p.y) for p in again.pins] == [(3, 4)]  # uploaded again, with its pin


def test_an_upload_is_refused_only_when_everyone_holds_a_fair_share():
    budget = memory.PageBudget(upload_bytes_per_session=200, upload_bytes_all_sessions=300, idle_seconds=60)
    shelves = memory.Shelves(budget)
    (x,) = visitor_tabs(shelves, "browser:x", "x")
    (y,) = visitor_tabs(shelves, "browser:y", "y")
    shelves.add(x, "x1", "x1.png", b"x" * 150, now=1.0)
    shelves.add(y, "y1", "y1.png", b"y" * 150, now=1.0)
    with pytest.raises(memory.OverBudget, match="other visitors hold no more than you") as refused:
        shelves.add(x, "x2", "x2.png", b"x" * 10, now=1.0)
    assert "try again in a few minutes" in refused.value.advice
    assert set(y.photos) == {"y1"}  # nothing gave way for nothing


def test_uploads_count_the_moment_they_arrive_in_streamlits_store(tmp_path, monkeypatch):
    """Five big uploads used to sit in Streamlit's store before the page's budget saw them. Now each is
    counted as it arrives: one that does not fit is dropped at once (an empty record tells the page
    why), a clip goes to disk, and a file removed from the store stops counting."""
    import streamlit as st

    from tabs import server

    monkeypatch.setenv("COLORIZE_PAGE_SESSION_MB", "1")
    st.cache_resource.clear()
    page = server.page_memory()
    try:
        store = MemoryUploadedFileManager("/_stcore/upload_file")
        server.watch_upload_store(page, store)
        page.shelves.get("tab", "browser:b")
        for i in range(5):
            store.add_file("tab", UploadedFileRec(f"f{i}", f"scan{i}.tif", "image/tiff", bytes(400_000)))
        kept = store.get_files("tab", [f"f{i}" for i in range(5)])
        assert [len(f.data) for f in kept] == [400_000, 400_000, 0, 0, 0]
        assert page.shelves.upload_bytes() == 800_000
        store.remove_file("tab", "f0")
        assert page.shelves.upload_bytes() == 400_000
        store.add_file("tab", UploadedFileRec("c", "clip.mp4", "video/mp4", bytes(300_000)))
        (clip,) = store.get_files("tab", ["c"])
        assert clip.data == b""  # not held in memory...
        shelf = page.shelves.sessions()["tab"]
        assert shelf.spooled["c"].stat().st_size == 300_000  # ...but on disk, and counted
        assert page.shelves.upload_bytes() == 700_000
        with pytest.raises(memory.OverBudget, match="per visitor"):
            page.shelves.add(shelf, "x", "scan2.tif", b"", upload_id="f2")
    finally:
        st.cache_resource.clear()


# ---------------------------------------------------------------- work in turns


def test_work_takes_turns_within_memory_and_a_flood_goes_behind_a_newcomer():
    turns = memory.WorkTurns(slots=2, max_bytes=100)
    flood = [turns.join("browser:flood", 50) for _ in range(4)]
    assert turns.wait(flood[0], 0)
    victim = turns.join("browser:victim", 10)
    assert turns.place(victim) == 1 and turns.place(flood[1]) == 2  # served least recently goes first
    assert not turns.wait(flood[1], 0) and turns.wait(victim, 0)
    assert not turns.wait(flood[1], 0)  # two slots taken
    turns.leave(victim)
    big = turns.join("browser:big", 90)
    assert turns.place(big) == 1 and not turns.wait(big, 0)  # 50 + 90 is over the 100 bytes
    turns.leave(flood[0])
    assert turns.wait(big, 0) and turns.busy() == (1, 3, 90)
    for t in [big, *flood]:
        turns.leave(t)


def test_big_jobs_leave_a_turn_to_a_small_photo():
    turns = memory.WorkTurns(slots=2, max_bytes=1000, big_bytes=100)
    first, second = turns.join("browser:flood", 300), turns.join("browser:other-flood", 300)
    assert turns.wait(first, 0) and not turns.wait(second, 0)  # one big job at a time of two slots
    small = turns.join("browser:victim", 20)
    assert turns.wait(small, 0)  # the small photo passes the big job waiting before it
    turns.leave(first)
    assert turns.wait(second, 0)
    for t in (second, small):
        turns.leave(t)


@pytest.mark.skipif(sys.platform != "linux", reason="a thread's own priority is Linux's")
def test_a_heavy_users_job_yields_the_cpu_to_a_lighter_visitors_beside_it(monkeypatch):
    """Slow victims: a flood of another visitor's photos used to take the CPU from a victim's photo.
    Now the job of a visitor who used clearly more of the page lately runs at a lower priority while a
    lighter visitor's job runs beside it, and gets its priority back after."""
    monkeypatch.setattr(memory, "USAGE_MARGIN", 0.2)
    turns = memory.WorkTurns(slots=2)
    with turns.turn("browser:flood"):
        time.sleep(0.4)  # the flood has used the page lately
    assert turns.usage("browser:flood") > 0.3 and turns.usage("browser:victim") == 0
    flood_running, victim_running, measured, seen = threading.Event(), threading.Event(), threading.Event(), {}

    def priority():
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def flood():
        before = priority()
        with turns.turn("browser:flood"):
            flood_running.set()
            victim_running.wait(10)
            seen["flood beside the victim"] = priority() - before
            measured.set()
        seen["flood after"] = priority() - before
        seen["room"] = 19 - before

    def victim():
        flood_running.wait(10)
        before = priority()
        with turns.turn("browser:victim"):
            seen["victim"] = priority() - before
            victim_running.set()
            measured.wait(10)

    workers = [threading.Thread(target=flood), threading.Thread(target=victim)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(20)
    assert seen["victim"] == 0 and seen["flood beside the victim"] == min(memory.GENTLE_STEP, seen["room"])
    if os.geteuid() == 0:  # only a privileged process may raise a priority again
        assert seen["flood after"] == 0


# ---------------------------------------------------------------- the page (AppTest)


def png_noise(side, seed):
    return encoded(Image.fromarray(noise_rgb8(side, side, seed)), "PNG")


def page(models, monkeypatch, **env):
    """The page on `models` with a fresh page memory (its budget read from `env`); returns the AppTest
    and the page memory it uses."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tabs import server

    monkeypatch.setenv("COLORIZE_MODELS", str(models))
    for k, v in env.items():
        monkeypatch.setenv(k, str(v))
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at, server.page_memory()


def choose(at, prefix, files):
    """Choose files in the uploader whose key starts with `prefix` and run the page."""
    return next(u for u in at.get("file_uploader") if u.key.startswith(prefix)).set_value(files).run()


def plain(text):
    return text.replace("\\", "").replace("\u2060", "")


@pytest.fixture(scope="module")
def hint_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("attack-models")
    build_tiny_hint_model(root / "tiny-hints")
    return root


def test_a_batch_over_the_budget_is_one_line_brought_into_view(hint_models, monkeypatch):
    at, _ = page(hint_models, monkeypatch, COLORIZE_PAGE_PHOTOS=3)
    choose(at, "photos-", [(f"p{i}.png", png_noise(8, i), "image/png") for i in range(100)])
    assert not at.exception
    assert [plain(w.value) for w in at.warning] == [
        "3 of 100 photos added; 97 refused: the page holds at most 3 photos per visitor — remove some "
        "(or Clear all), or use the command line (`python -m colorize image`) for more."
    ]
    scrolls = [h.proto.body for h in at.get("html") if "scrollIntoView" in h.proto.body]
    assert scrolls and ".st-key-upload-note" in scrolls[-1]  # the line comes into view, the result below it


def test_a_clip_counts_in_the_visitors_budget_and_stays_on_disk(hint_models, monkeypatch, tmp_path):
    at, mem = page(hint_models, monkeypatch, COLORIZE_PAGE_SESSION_MB=1)
    choose(at, "photos-", [("noise.png", png_noise(480, 1), "image/png")])  # 0.7 MB
    at.session_state["tab"] = "Video"
    at.run()
    noisy = tmp_path / "noisy.mp4"  # 0.4 MB of grain: together over 1 MB
    grain = "nullsrc=s=160x120:r=10,geq=lum='random(1)*255':cb=128:cr=128"
    ffmpeg("-f", "lavfi", "-i", grain, "-t", "2", "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p", noisy)
    clip = noisy.read_bytes()
    choose(at, "video-", [("clip.mp4", clip, "video/mp4")])
    assert [plain(w.value) for w in at.warning] == [
        "clip.mp4: not added: the page holds at most 1 MB of uploads per visitor — remove some (or Clear "
        "all), or use the command line (`python -m colorize image`) for more."
    ]
    (shelf,) = [s for s in mem.shelves.sessions().values() if s.photos]
    assert shelf.video is None
    shelf.photos.clear()
    choose(at, "video-", [("clip.mp4", clip, "video/mp4")])
    assert not at.warning and shelf.video.path.read_bytes() == clip and not hasattr(shelf.video, "data")
    assert mem.shelves.upload_bytes() == len(clip)


def test_video_jobs_wait_in_line_and_say_their_place(hint_models, monkeypatch):
    from streamlit.delta_generator import DeltaGenerator

    said, info = [], DeltaGenerator.info
    monkeypatch.setattr(DeltaGenerator, "info", lambda self, body, **kw: (said.append(body), info(self, body, **kw))[1])
    at, mem = page(hint_models, monkeypatch)
    at.session_state["tab"] = "Video"
    at.run()
    at.button(key="sample-video").click().run()
    other = mem.videos.join("browser:someone-else")  # another visitor's clip is being colorized
    assert mem.videos.wait(other, 0)
    threading.Timer(3.0, mem.videos.leave, (other,)).start()
    at.button(key="preview-video").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Waiting for other visitors' videos: you are next" in s for s in said)
    (shelf,) = [s for s in mem.shelves.sessions().values() if s.video]
    assert shelf.video.result is not None and shelf.video.result.preview
    assert mem.videos.busy() == (0, 0, 0) and mem.work.busy() == (0, 0, 0)


def test_crafted_widget_values_are_ignored_without_a_traceback(hint_models, monkeypatch, caplog):
    """What a visitor's browser sends for a widget can be anything. Streamlit checks its own widgets'
    values (a slider's range, a colour's form); the click component's value is any JSON, and a click
    that is not a click used to end in a traceback. Now each is ignored (and logged in one line)."""
    at, mem = page(hint_models, monkeypatch)
    choose(at, "photos-", [("p.png", png_noise(64, 3), "image/png")])
    (shelf,) = [s for s in mem.shelves.sessions().values() if s.photos]
    (photo_id,) = shelf.photos
    caplog.set_level(logging.WARNING)
    crafted_clicks = ["a string", [1, 2], 42, {"x": "left", "y": 1, "width": 2, "height": 2, "unix_time": 1}]
    for n, crafted in enumerate([*crafted_clicks, {"x": 5, "y": 5, "width": 64, "height": 64, "unix_time": 9}]):
        at.session_state[f"click-{photo_id}"] = crafted
        at.run()
        assert not at.exception and not at.error, (crafted, [e.value for e in at.error])
        assert bool(at.color_picker) == (n == len(crafted_clicks))  # only the real click asks for a colour
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    assert any("ignored a malformed value" in r.getMessage() for r in caplog.records)


def test_pins_are_bounded_per_photo_and_freed_with_their_page(hint_models, monkeypatch):
    """Each pin used to keep its own hinted result in the cache. Now a photo keeps one (its latest
    pins'), a photo takes at most COLORIZE_PAGE_PINS pins, and a closed page's go with it."""
    import streamlit as st

    from colorize import ColorModel
    from tabs import server

    monkeypatch.setenv("COLORIZE_PAGE_PINS", "5")
    st.cache_resource.clear()
    try:
        mem = server.page_memory()
        model = ColorModel(hint_models / "tiny-hints")
        shelf = mem.shelves.get("tab", "browser:p")
        photo = mem.shelves.add(shelf, "p", "p.png", png_noise(96, 4))
        look = server.look_for(model, "m", photo)
        for i in range(8):
            if photo.pins_full:
                photo.pins.pop(0)
            assert photo.add_pin(10 + i, 20, (200, 30 * i, 40)) is not None
            assert server.pinned_for(model, "m", photo, look) is not None
        assert photo.add_pin(1, 1, (0, 0, 0)) is None  # five at most
        pinned = [k for k in mem.looks._items if k[0] == "p" and "pins" in k]
        assert len(pinned) == 1
        mem.shelves.drop("tab")
        mem.reaper.sweep()
        assert not [k for k in mem.looks._items if k[0] == "p"]
    finally:
        st.cache_resource.clear()


# ---------------------------------------------------------------- hostile clips and jobs


def test_mjpeg_frames_claiming_16000_pixels_are_refused_before_ffmpeg_allocates_them(tmp_path):
    """A 2 MB MJPEG clip whose frames really are 16000x16000 (256 MP each): ffmpeg used to decode one
    to learn its size, growing to the frame's size and more; now its decoder refuses the frame from
    its header. The probe runs in a fresh process so that the largest child it waited for is ffmpeg."""
    bomb = mjpeg_bomb(tmp_path / "bomb.avi")
    code = (
        "import resource, sys\n"
        "from colorize.video import probe_video\n"
        "try:\n    probe_video(sys.argv[1], max_pixels=1280 * 720)\nexcept Exception as e:\n    print(e)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)\n"
    )
    run = subprocess.run([sys.executable, "-c", code, str(bomb)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    message, child_mb = run.stdout.strip().splitlines()
    assert message == f"{bomb}: its frames are 16000x16000 = 256.00 MP, over the limit of 0.92 MP", run.stderr
    assert int(child_mb) < 200  # a 256 MP frame alone is 256 MB


def test_the_page_refuses_the_mjpeg_clip_in_one_line(hint_models, monkeypatch, tmp_path):
    at, _ = page(hint_models, monkeypatch)
    at.session_state["tab"] = "Video"
    at.run()
    choose(at, "video-", [("bomb.avi", mjpeg_bomb(tmp_path / "b.avi").read_bytes(), "video/x-msvideo")])
    assert not at.exception
    assert [plain(e.value) for e in at.error] == [
        "bomb.avi: its frames are 16000x16000 = 256.00 MP, over the limit of 0.92 MP"
    ]


def ffmpeg_children_using(folder):
    """This process's live children whose command line names `folder` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            parent = int((entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[1])
            if parent == os.getpid() and str(folder).encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("preview", [False, True])
def test_stopping_a_job_ends_its_ffmpeg_processes_and_files_at_once(tiny_model, tmp_path, preview):
    """Cancel (or a closed page) stops a job wherever it is: between frames, or inside ffmpeg cutting
    a preview, which never calls back. Right after, no ffmpeg process and no file of the job is left."""
    from colorize.page.video import ShelfVideo

    folder = tmp_path / "tab"
    folder.mkdir()
    clip = make_video(folder / "long.mp4", w=320, h=240, frames=300, fps=15)  # 20 s: time to stop it
    video = ShelfVideo("long.mp4", clip, clip.stat().st_size)
    job, started, outcome = JobControl(folder), threading.Event(), []

    def progress(p):
        started.set()
        return job.go_on()

    def run():  # as the page runs it: in a temporary folder of the tab's folder
        try:
            with tempfile.TemporaryDirectory(dir=folder) as work:
                colorize_clip(video, work, tiny_model, 1.0, page_limits(), preview, progress, folder)
        except (VideoCancelled, ColorizeError) as e:
            outcome.append(e)

    worker = threading.Thread(target=run)
    worker.start()
    if preview:
        deadline = time.monotonic() + 60
        while not ffmpeg_children_using(folder) and time.monotonic() < deadline:
            time.sleep(0.01)  # ffmpeg is cutting the preview
    else:
        assert started.wait(60)
    job.stop()
    worker.join(15)
    assert not worker.is_alive() and outcome
    assert ffmpeg_children_using(folder) == []
    assert [p.name for p in folder.iterdir()] == ["long.mp4"]


def test_a_closed_pages_job_is_stopped_at_the_next_sweep():
    shelves, stopped = memory.Shelves(memory.PageBudget(grace_seconds=45)), []
    shelves.get("open", "browser:a")
    shelves.get("closed", "browser:b")
    reaper = memory.Reaper(
        shelves, memory.LookCache(1 << 20), alive=lambda sid: sid == "open", every=3600, on_gone=stopped.append
    )
    reaper.stop()
    reaper.sweep()
    reaper.sweep()
    assert set(stopped) == {"closed"} and set(shelves.sessions()) == {"open", "closed"}  # its photos: after grace


def test_browser_token_is_the_same_in_every_tab_of_one_browser():
    mask_a, mask_b, token = bytes([1, 2, 3, 4]), bytes([9, 8, 7, 6]), bytes(range(16))

    def cookie(mask):
        return f"2|{mask.hex()}|{bytes(c ^ mask[i % 4] for i, c in enumerate(token)).hex()}|1700000000"

    assert memory.browser_token(cookie(mask_a)) == memory.browser_token(cookie(mask_b)) is not None
    assert memory.browser_token(f'"{cookie(mask_a)}"') == memory.browser_token(cookie(mask_a))
    assert memory.browser_token("2|zz|00|1") is None and memory.browser_token(None) is None


def test_work_bytes_estimate_from_the_header():
    grey = encoded(Image.new("L", (4000, 3000)), "PNG")
    colour = encoded(Image.fromarray(np.zeros((300, 400, 3), np.uint8)), "PNG")
    assert memory.work_bytes(grey) == memory.WORK_FLOOR + len(grey) + int(12e6 * memory.ANALYSIS_GREY)
    assert memory.work_bytes(colour, full_size=True) > memory.work_bytes(colour) > memory.WORK_FLOOR
    assert memory.work_bytes(b"not a photo") == memory.WORK_FLOOR + 11


def test_probe_limit_keeps_ordinary_clips(tmp_path):
    clip = make_video(tmp_path / "ok.mp4", w=96, h=64)
    assert probe_video(clip, max_pixels=96 * 64).pixels == 96 * 64
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0


# ---------------------------------------------------------------- in a real browser, as a hosted page


def server_children(pid):
    """The live child processes of `pid` (from /proc), as (pid, command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if int((entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[1]) == pid:
                found.append((int(entry.name), (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()))
        except (OSError, ValueError, IndexError):
            continue
    return found


@pytest.fixture(scope="module")
def hosted(tmp_path_factory, hint_models):
    """The page as a small hosted one: 3 MB per visitor, 5 MB for everyone; its temporary files in a
    folder of its own. Yields (server process, url, that folder, a Playwright browser)."""
    launch = chromium_or_skip()
    temp = tmp_path_factory.mktemp("hosted-tmp")
    env = {"COLORIZE_PAGE_SESSION_MB": "3", "COLORIZE_PAGE_ALL_MB": "5", "TMPDIR": str(temp)}
    folder = tmp_path_factory.mktemp("hosted")
    with streamlit_server(folder, hint_models, env) as (proc, url), launch() as browser:
        yield proc, url, temp, browser
    assert "Traceback" not in (folder / "streamlit.log").read_text(errors="replace")


def new_tab(context, url):
    tab = context.new_page()
    tab.set_default_timeout(300_000)
    tab.goto(url)
    tab.get_by_text("Black-and-white photos:").wait_for()
    return tab


def upload_files(tab, *paths):
    tab.locator(".st-key-photos input[type=file]").set_input_files([str(p) for p in paths])
    tab.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')


def children_naming(pid, word):
    return [cmd for _, cmd in server_children(pid) if word in cmd]


@pytest.mark.browser
def test_three_tabs_of_one_browser_cannot_lock_out_another_visitor(hosted, tmp_path):
    proc, url, _, browser = hosted
    scans = []
    for i in range(6):  # 1.2 MB each
        scans.append(tmp_path / f"scan{i}.png")
        scans[-1].write_bytes(png_noise(630, 10 + i))
    attacker = [new_tab(context, url) for context in [browser.new_context()] for _ in range(3)]
    upload_files(attacker[0], scans[0], scans[1])
    attacker[0].get_by_text("Colorized (vividness").first.wait_for()
    upload_files(attacker[1], scans[2])  # another tab of the same browser: the same visitor
    attacker[1].get_by_text("not added: the page holds at most 3 MB of uploads per visitor").wait_for()
    other = new_tab(browser.new_context(), url)  # a second browser: another visitor
    upload_files(other, scans[3], scans[4])
    other.get_by_text("Colorized (vividness").first.wait_for()
    victim = new_tab(browser.new_context(), url)
    upload_files(victim, scans[5])  # the page is nearly full: the largest holder gives way
    victim.get_by_text("Colorized (vividness").first.wait_for()
    assert victim.get_by_text("not added").count() == 0


@pytest.mark.browser
def test_cancel_and_a_closed_tab_leave_no_ffmpeg_process_and_no_file(hosted, tmp_path):
    proc, url, temp, browser = hosted
    clip = make_video(tmp_path / "long.mp4", w=320, h=240, frames=300, fps=15)  # 20 s: time to cancel
    tab = new_tab(browser.new_context(), url)
    tab.get_by_role("tab", name="Video").click()
    tab.locator(".st-key-video input[type=file]").set_input_files(str(clip))
    tab.get_by_text("320×240, 15 frames per second").wait_for()

    def start_job():
        tab.get_by_role("button", name="Colorize video").click()
        tab.get_by_text(" frames, about ").first.wait_for()
        assert children_naming(proc.pid, "ffmpeg")

    def left_over():
        return children_naming(proc.pid, "ffmpeg"), list(temp.rglob("colorize-video-*"))

    start_job()
    tab.get_by_role("button", name="Cancel").click()
    tab.get_by_text("Cancelled: nothing was kept.").first.wait_for()
    deadline = time.monotonic() + 2
    while any(left_over()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left_over() == ([], [])
    start_job()
    tab.close()  # the job stops at its next progress report, at the latest at the next sweep (5 s)
    deadline = time.monotonic() + 15
    while any(left_over()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left_over() == ([], [])
