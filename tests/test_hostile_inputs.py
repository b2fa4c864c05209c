"""What a file system or a container can hold, tried as a hostile or just unlucky user would (issue 27):
a family archive copied from an old NAS (names that are not UTF-8), a folder shared by strangers
(symbolic link loops, named pipes, a link to /dev/zero, sockets, names that are formulas or
terminal escape sequences) and a clip from the web (a 2-second video carrying an hour of sound).

Every folder and clip is made here; the command line runs as users run it, on the tiny test model,
with its address space capped so that a run reading /dev/zero fails instead of filling the machine.
"""

import csv
import os
import resource
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from helpers import ROOT, cli_env, encoded, ffmpeg, gradient_photo, stray_temp_files

RUN_TIMEOUT = 120  # against hangs only (a named pipe used to block a batch forever)
ADDRESS_SPACE = 3 << 30  # bytes a command-line run may map: reading /dev/zero would hit it


def limited():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_python(args, models, cwd, timeout=RUN_TIMEOUT):
    """`python ARGS` in `cwd`, its address space capped: (CompletedProcess, seconds it took). One
    that runs past `timeout` is killed with its worker processes (one blocked on a pipe, say)."""
    start = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, *map(str, args)],
        cwd=cwd,
        env=cli_env(models),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="surrogateescape",
        preexec_fn=limited,
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), time.perf_counter() - start


def colorize(args, models, cwd, timeout=RUN_TIMEOUT):
    """`python -m colorize ARGS`, as run_python runs it."""
    return run_python(["-m", "colorize", *args], models, cwd, timeout)


def photo_png(seed=0, h=24, w=32):
    grey = Image.fromarray((gradient_photo(h, w, seed) * 255).astype(np.uint8)).convert("L")
    return encoded(grey, "PNG")


def write(folder, name, data):
    """Write `data` under a name given as str or bytes (bytes: any name the file system takes)."""
    path = os.path.join(os.fsencode(folder), os.fsencode(name))
    with open(path, "wb") as f:
        f.write(data)


def make_socket(folder, name):
    """A Unix socket file (bound from inside the folder: socket paths are short)."""
    here = os.getcwd()
    os.chdir(folder)
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(name)
    finally:
        os.chdir(here)


NOT_UTF8 = b"caf\xe9.png"
GOOD = [
    "good.png",
    "album/old.png",
    NOT_UTF8,
    "=cmd|' -C calc'!A0.png",
    '=HYPERLINK("https:x.example","click").png',
    "+1.png",
    "-2.png",
    "@SUM(1).png",
    "\tTAB.png",
    "title\x1b]0;pwned\x07\x1b[2J\x1b[31mred.png",
    "photo\u202egnp.exe.png",
    "new\nline.png",
]
# bad entry -> what its one line says
BAD = {
    "loop.jpg": "is a symbolic link that loops",
    "pipe.jpg": "is a named pipe (FIFO), not an image file",
    "zero.jpg": "is a device, not an image file",
    "sock.png": "is a socket, not an image file",
    "gone.png": "is a symbolic link to nothing",
    "bad\x1b[2J\x1b]0;owned\x07\nname.jpg": "is not an image Colorize can read",
    b"bad\xff\xfe.png": "is not an image Colorize can read",
}


def make_entry(folder, name):
    """One bad entry of BAD, by name."""
    path = os.path.join(os.fsencode(folder), os.fsencode(name))
    kind = os.fsencode(name)
    if kind == b"loop.jpg":
        os.symlink(b"loop.jpg", path)
    elif kind == b"pipe.jpg":
        os.mkfifo(path)
    elif kind == b"zero.jpg":
        os.symlink("/dev/zero", path)
    elif kind == b"sock.png":
        make_socket(folder, "sock.png")
    elif kind == b"gone.png":
        os.symlink(b"nowhere.png", path)
    else:
        write(folder, name, b"this is not an image")


def hostile_folder(root):
    folder = root / "in"
    (folder / "album").mkdir(parents=True)
    for i, name in enumerate(GOOD):
        write(folder, name, photo_png(i))
    for name in BAD:
        make_entry(folder, name)
    return folder


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, tiny_model_dir):
    """One batch over the hostile folder, run from inside it (so the manifest's cells start with the
    names themselves), on the default number of worker processes."""
    root = tmp_path_factory.mktemp("hostile")
    folder = hostile_folder(root)
    proc, seconds = colorize(["image", ".", "-o", "../out", "--manifest", "../run.csv"], tiny_model_dir, folder)
    return root, proc, seconds


def shown(name):
    from colorize.names import printable

    return printable(os.fsdecode(name))


def test_a_batch_goes_on_past_every_bad_entry_and_colourises_every_good_photo(hostile):
    from colorize import load_image

    root, proc, seconds = hostile
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "unexpected error" not in proc.stderr
    outputs = sorted(p for p in (root / "out").rglob("*") if p.is_file())
    assert len(outputs) == len(GOOD)
    assert all(load_image(p).size == (32, 24) for p in outputs)
    assert stray_temp_files(root / "out") == []
    assert seconds < 60, f"the batch took {seconds:.1f} s"


def test_one_line_per_bad_entry_naming_it_safely(hostile):
    _, proc, _ = hostile
    lines = proc.stderr.splitlines()
    for name, words in BAD.items():
        naming = [line for line in lines if line.startswith(shown(name) + ": ")]
        assert len(naming) == 1 and words in naming[0], (name, lines)
    assert lines[-1] == f"colorized {len(GOOD)} of {len(GOOD) + len(BAD)} images into ../out ({len(BAD)} failed)"
    assert len(lines) == len(BAD) + 1, lines  # one line each, however many line breaks their names hold
    # nothing from a name acts on the terminal: no escape, bell, carriage return, bidi override
    assert not set(proc.stderr) & {"\x1b", "\x07", "\r", "\u202e"}
    assert r"bad\x1b[2J\x1b]0;owned\x07\nname.jpg: " in proc.stderr and r"bad\xff\xfe.png: " in proc.stderr


def test_the_manifest_is_written_and_round_trips_every_name(hostile):
    from colorize.batch.manifest import read_manifest

    root, _, _ = hostile
    rows = read_manifest(root / "run.csv")
    on_disk = {os.path.join(b"album", n) for n in os.listdir(os.fsencode(root / "in" / "album"))} | {
        n for n in os.listdir(os.fsencode(root / "in")) if n != b"album"
    }
    assert {os.fsencode(r["input"]) for r in rows} == on_disk  # byte for byte, each once
    assert len(rows) == len(GOOD) + len(BAD)
    statuses = {os.fsencode(r["input"]): r["status"] for r in rows}
    assert all(statuses[os.fsencode(n)] == "done" for n in GOOD)
    assert all(statuses[os.fsencode(n)] == "failed" for n in BAD)
    for r in rows:  # every output the manifest names is there, under the name it gives
        if r["status"] == "done":
            assert os.path.isfile(os.path.join(os.fsencode(root / "in"), os.fsencode(r["output"])))
    assert {r["names"] for r in rows} == {"utf-8", "escaped"}  # it says how each row writes its names


def test_no_manifest_cell_can_run_as_a_formula(hostile):
    root, _, _ = hostile
    with open(root / "run.csv", newline="", encoding="utf-8") as f:  # valid UTF-8 CSV
        cells = [cell for row in csv.reader(f) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r", "\n")]
    assert "'=cmd|' -C calc'!A0.png" in cells and "'+1.png" in cells  # OWASP: a ' before such a cell
    text = (root / "run.csv").read_text("utf-8")
    assert not set(text) & {"\x1b", "\x07", "\r", "\u202e"}  # `cat run.csv` is safe too


def test_output_names_are_safe_on_any_system(hostile):
    import unicodedata

    root, _, _ = hostile
    names = sorted(os.listdir(root / "out"))
    for name in names:
        assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in name), repr(name)
        assert not set(name) & set('<>:"\\|?*'), name
    assert "photognp.exe_colorized.png" in names  # the override is gone: the name shows what it is
    assert "caf%E9_colorized.png" in names and "new line_colorized.png" in names
    assert "title ]0;pwned [2J [31mred_colorized.png" in names


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", list(BAD)[:5] + [NOT_UTF8], ids=["loop", "fifo", "dev-zero", "socket", "gone", "latin-1"]
)
def test_each_entry_alone_with_a_manifest(tiny_model_dir, tmp_path, name):
    """Each case on its own (a named pipe used to hang the run, /dev/zero to fill memory, a loop or a
    name that is not UTF-8 to stop the batch with no output and no manifest)."""
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder, "good.png", photo_png())
    if name == NOT_UTF8:
        write(folder, name, photo_png(1))
    else:
        make_entry(folder, name)
    proc, seconds = colorize(
        ["image", folder, "-o", tmp_path / "out", "--manifest", tmp_path / "m.csv"], tiny_model_dir, tmp_path
    )
    assert "Traceback" not in proc.stderr and "unexpected error" not in proc.stderr, proc.stderr
    assert (tmp_path / "out" / "good_colorized.png").is_file()
    assert len((tmp_path / "m.csv").read_text("utf-8").splitlines()) == 3
    if name == NOT_UTF8:
        assert proc.returncode == 0 and (tmp_path / "out" / "caf%E9_colorized.png").is_file(), proc.stderr
    else:
        assert proc.returncode == 1 and proc.stderr.startswith(f"{folder / name}: {BAD[name]}"), proc.stderr
    assert seconds < 60


def test_a_folder_that_cannot_be_listed_is_one_problem(tmp_path, monkeypatch):
    from colorize.batch.plan import collect_jobs

    (tmp_path / "in" / "locked").mkdir(parents=True)
    (tmp_path / "in" / "a.png").write_bytes(photo_png())
    (tmp_path / "in" / "locked" / "b.png").write_bytes(photo_png(1))
    real = os.scandir

    def scandir(path="."):  # what a folder without read permission answers (root reads it anyway)
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    jobs, problems = collect_jobs([str(tmp_path / "in")], str(tmp_path / "out"), "png")
    assert [str(src) for src, _ in jobs] == [str(tmp_path / "in" / "a.png")]
    assert [str(p) for p in problems] == [f"{tmp_path / 'in' / 'locked'}: cannot be read (Permission denied)"]


READ = """
import sys
from colorize import ColorizeError, load_image
for path in sys.argv[1:]:
    try:
        load_image(path)
    except ColorizeError as e:
        print(e)
"""


def test_special_files_are_refused_before_reading(tiny_model_dir, tmp_path):
    from colorize import ColorizeError
    from colorize.video import probe_video

    os.mkfifo(tmp_path / "pipe.mp4")
    os.symlink("/dev/zero", tmp_path / "zero.jpg")
    os.symlink("loop.mp4", tmp_path / "loop.mp4")
    # load_image in a process of its own: were it to read /dev/zero or wait on the pipe, the cap on
    # its memory or the timeout ends it, not this machine
    proc, _ = run_python(["-c", READ, "zero.jpg", "pipe.mp4"], tiny_model_dir, tmp_path, timeout=60)
    assert proc.stdout.splitlines() == [
        "zero.jpg: is a device, not an image file",
        "pipe.mp4: is a named pipe (FIFO), not an image file",
    ], proc.stderr
    for path, words in [
        (tmp_path / "pipe.mp4", "is a named pipe (FIFO), not a video file"),
        (tmp_path / "zero.jpg", "is a device, not a video file"),
        (tmp_path / "loop.mp4", "is a symbolic link that loops"),
    ]:
        with pytest.raises(ColorizeError) as e:
            probe_video(path)
        assert str(e.value).startswith(f"{path}: {words}")


# ---------------------------------------------------------------- names: printed, saved, in the manifest


def test_printable_escapes_what_would_act_on_a_terminal():
    from colorize.names import printable

    assert printable("plain é 東京.jpg") == "plain é 東京.jpg"
    assert printable("a\x1b[2Jb\x07\r\n\t") == r"a\x1b[2Jb\x07\r\n\t"
    assert printable("photo\u202egnp.exe\u2066") == r"photo\u202egnp.exe\u2066"
    assert printable(os.fsdecode(b"caf\xe9")) == r"caf\xe9"


def test_the_progress_bar_shows_names_safely():
    import io

    from colorize.progress import ProgressBar

    out = io.StringIO()
    bar = ProgressBar(2, "colorizing", stream=out, interactive=True)
    bar.update(1, note="x\x1b]0;title\x07.png")
    bar.message("y\x1b[2J\nz.png: broken")
    assert "\x07" not in out.getvalue() and "\x1b]" not in out.getvalue() and "\x1b[2J" not in out.getvalue()
    assert r"y\x1b[2J\nz.png: broken" + "\n" in out.getvalue()


def test_manifest_names_round_trip_whatever_their_bytes():
    from colorize.batch.manifest import escape_name, manifest_row, sheet_cell, unescape_name
    from colorize.batch.plan import Outcome

    rng = np.random.default_rng(0)
    names = [bytes(rng.integers(1, 256, int(rng.integers(1, 40))).tolist()).replace(b"/", b"_") for _ in range(500)]
    names += [b"a\\x41", b"\\\\", b"\\u0041", "\U0001f600".encode(), b"\xed\xa0\x80"]  # escapes' look-alikes
    for raw in names:
        name = os.fsdecode(raw)
        cell = escape_name(name)
        cell.encode("utf-8")  # always valid UTF-8
        assert os.fsencode(unescape_name(cell)) == raw
    assert sheet_cell("=1+1") == "'=1+1" and sheet_cell("'quoted") == "''quoted" and sheet_cell("a=1") == "a=1"
    row = manifest_row(Outcome(0, "-2.png", "out/-2.png", "failed", error="-2.png: \x1b[2J"))
    assert row == ["'-2.png", "out/-2.png", "failed", r"'-2.png: \x1b[2J", "", "", "utf-8"]


# ---------------------------------------------------------------- outputs are never inputs


def test_earlier_outputs_inside_the_input_folder_are_not_colourised_again(tiny_model_dir, tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.png").write_bytes(photo_png())
    first, _ = colorize(["image", "photos", "-o", "photos/colour", "--workers", "1"], tiny_model_dir, tmp_path)
    assert first.returncode == 0, first.stderr
    second, _ = colorize(["image", "photos", "-o", "photos/colour2", "--workers", "1"], tiny_model_dir, tmp_path)
    assert second.returncode == 0, second.stderr
    files = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "photos").rglob("*") if p.is_file())
    assert files == ["photos/a.png", "photos/colour/a_colorized.png", "photos/colour2/a_colorized.png"]
    earlier = "photos/colour/a_colorized.png"
    assert f"photos: 1 image made by colorize (outputs of an earlier run, such as {earlier}) left out" in (
        second.stderr
    )


@pytest.mark.parametrize("fmt", ["png", "jpg", "tif"])
def test_outputs_are_told_from_photos(tmp_path, fmt):
    from colorize.decode import PhotoMeta
    from colorize.encode import encode_image, made_by_colorize

    rgb = gradient_photo(40, 60)
    meta = PhotoMeta(dpi=(300, 300), date_original="1950:06:01 12:00:00")
    (tmp_path / f"ours.{fmt}").write_bytes(encode_image(rgb, np.ones((40, 60), np.float32), fmt, meta=meta))
    Image.fromarray((rgb * 255).astype(np.uint8)).save(tmp_path / f"photo.{fmt}")
    assert made_by_colorize(tmp_path / f"ours.{fmt}") and not made_by_colorize(tmp_path / f"photo.{fmt}")
    os.mkfifo(tmp_path / f"pipe.{fmt}")
    assert not made_by_colorize(tmp_path / f"pipe.{fmt}")  # and does not wait on it


# ---------------------------------------------------------------- hints


def hinted(tiny_model_dir, tmp_path, monkeypatch, capsys, hints):
    from colorize.cli import main

    monkeypatch.setenv("COLORIZE_MODELS", str(tiny_model_dir))
    (tmp_path / "in.png").write_bytes(photo_png())
    start = time.perf_counter()
    rc = main(["image", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"), *hints])
    return rc, capsys.readouterr().err.strip(), time.perf_counter() - start


@pytest.mark.parametrize(
    "hints, message",
    [
        (["--hint", "-1,5,#ff0000"], "--hint -1,5,#ff0000: X and Y must be 0 or more"),
        (["--hint", "-1,2,#fff"], "--hint -1,2,#fff: X and Y must be 0 or more"),
        (["--hint=3,-4,#00ff00"], "--hint 3,-4,#00ff00: X and Y must be 0 or more"),
        (["--hin", "1,2,#fff"], "--hint: colour '#fff' is neither #RRGGBB nor three whole numbers from 0 to 255"),
    ],
)
def test_a_hint_names_its_real_problem(tiny_model_dir, tmp_path, monkeypatch, capsys, hints, message):
    rc, err, _ = hinted(tiny_model_dir, tmp_path, monkeypatch, capsys, hints)
    assert (rc, err) == (1, message)


def test_thirty_thousand_hints_are_read_in_linear_time(tiny_model_dir, tmp_path, monkeypatch, capsys):
    hints = [a for i in range(30_000) for a in ("--hint", f"{i % 32},{i % 24},#3366cc")]
    rc, err, seconds = hinted(tiny_model_dir, tmp_path, monkeypatch, capsys, hints)
    assert rc == 1 and err == "--hint: model tiny-test does not take colour hints (see `colorize models`)"
    assert seconds < 5, f"{seconds:.1f} s"  # argparse alone took 21 s


# ---------------------------------------------------------------- videos


@pytest.fixture(scope="module")
def hour_of_sound(tmp_path_factory):
    """A 2-second clip carrying a 1-hour audio track (copies of 10 s of AAC: made in a second)."""
    folder = tmp_path_factory.mktemp("hour")
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "10", "-c:a", "aac", "-b:a", "8k", folder / "ten.m4a")
    clip = folder / "clip.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=10:duration=2",
        "-stream_loop",
        "359",
        "-i",
        folder / "ten.m4a",
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "copy",
        clip,
    )
    return clip


def test_the_probe_measures_the_longest_stream(hour_of_sound):
    from colorize.video import probe_video

    start = time.perf_counter()
    info = probe_video(hour_of_sound)
    seconds = time.perf_counter() - start
    assert info.duration >= 3600 and info.audio_duration == info.duration
    assert info.video_duration == pytest.approx(2.0, abs=0.05) and info.frames == 20
    assert seconds < 5, f"{seconds:.2f} s"


def test_the_command_line_refuses_an_hour_of_sound_at_once(hour_of_sound, tiny_model_dir, tmp_path):
    proc, seconds = colorize(["video", hour_of_sound, "-o", tmp_path / "out.mp4"], tiny_model_dir, tmp_path)
    assert proc.returncode == 1 and not (tmp_path / "out.mp4").exists()
    line = proc.stderr.strip().split("\r")[-1].strip()
    assert line.startswith(f"{hour_of_sound}: is 36") and "\n" not in line
    assert line.endswith(" s long (its audio track; the video alone is 2.0 s), over the limit of 120 s"), line
    assert seconds < 30, f"{seconds:.1f} s"  # the probe alone, not an hour of audio encoded (115 s)


def test_a_long_track_is_cut_to_the_video(hour_of_sound, tiny_model, tmp_path):
    from colorize.video import VideoLimits, colorize_video, probe_video

    out = tmp_path / "out.mp4"
    colorize_video(hour_of_sound, out, tiny_model, limits=VideoLimits(max_seconds=4000))
    made = probe_video(out)
    assert made.has_audio and made.video_duration == pytest.approx(2.0, abs=0.05)
    assert made.duration < 2.3 and out.stat().st_size < 50_000  # seconds of sound, not an hour


def test_the_page_refuses_an_hour_of_sound_too(hour_of_sound, tiny_model_dir, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("COLORIZE_MODELS", str(tiny_model_dir))
    st.cache_resource.clear()
    page = AppTest.from_file(str(ROOT / "app.py"), default_timeout=RUN_TIMEOUT).run()
    page.session_state["tab"] = "Video"
    page.run()
    uploader = next(u for u in page.get("file_uploader") if u.key.startswith("video-"))
    start = time.perf_counter()
    uploader.set_value(("clip.mp4", hour_of_sound.read_bytes(), "video/mp4")).run()
    seconds = time.perf_counter() - start
    assert not page.exception, [e.value for e in page.exception]
    errors = [e.value.replace("\\", "").replace("\u2060", "") for e in page.error]
    assert len(errors) == 1 and errors[0].startswith("clip.mp4: is 36"), errors
    assert "its audio track" in errors[0] and "over the limit of 30 s" in errors[0]
    assert "colorize-video" not in {b.key for b in page.button}  # nothing to start
    assert seconds < 30, f"{seconds:.1f} s"


@pytest.mark.slow
def test_a_killed_video_job_leaves_a_part_file_that_the_next_job_sweeps(tiny_model_dir, tmp_path):
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=96x64:rate=25:duration=8", "-c:v", "libx264", tmp_path / "clip.mp4")
    out = tmp_path / "out" / "colour.mp4"
    args = [sys.executable, "-m", "colorize", "video", tmp_path / "clip.mp4", "-o", out]
    job = subprocess.Popen(args, env=cli_env(tiny_model_dir), stderr=subprocess.DEVNULL, start_new_session=True)
    end = time.monotonic() + RUN_TIMEOUT
    while not list(out.parent.glob(".colorize-*.part")) and job.poll() is None and time.monotonic() < end:
        time.sleep(0.01)
    os.killpg(job.pid, signal.SIGKILL)  # the whole job, ffmpeg included, as a lost machine would
    job.wait()
    assert len(list(out.parent.glob(".colorize-*.part"))) == 1 and not out.exists()
    proc, _ = colorize(["video", tmp_path / "clip.mp4", "-o", out], tiny_model_dir, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and stray_temp_files(out.parent) == []


def test_the_probe_reads_packets_in_blocks_as_line_by_line():
    from colorize.video.probe import NO_PTS, read_crc_block, read_crc_line

    rng = np.random.default_rng(1)
    lines = ["#tb 0: 1/90000", "#media_type 0: video", "#tb 2: 1/48000", "#media_type 2: audio"]
    for _ in range(3000):
        stream = int(rng.choice([0, 1, 2]))
        pts = int(rng.integers(-5, 400)) if rng.random() > 0.05 else NO_PTS
        dts = int(rng.integers(-5, 400)) if rng.random() > 0.3 else NO_PTS
        lines.append(f"{stream}, {dts:>10}, {pts:>10}, {int(rng.integers(0, 9)):>6}, 1000, 0x12345678")
    one_by_one, blocks = {}, {}
    for line in lines:
        read_crc_line(line, one_by_one)
    text = "\n".join(lines).encode()
    cuts = [-1, text.rfind(b"\n", 0, len(text) // 3), text.rfind(b"\n", 0, 2 * len(text) // 3), len(text)]
    assert sum(read_crc_block(text[a + 1 : b], blocks) for a, b in zip(cuts, cuts[1:], strict=False)) == 3000
    assert blocks == one_by_one
