"""Helpers the test files share: paths, generated photos, image files and clips, the command line
run as users run it, and model folders edited on purpose.

Every test file imports what it shares from here (pytest puts tests/ on sys.path), never from another
test_*.py; fixtures stay in conftest.py and the tiny test networks in tiny_model.py.
"""

import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from colorize import ColorizeError, ColorModel
from colorize.lab import rgb_to_lab
from colorize.video import probe as video_probe

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "models" / "colorize-lite0"


# ---------------------------------------------------------------- photos as arrays


def gradient_photo(h=96, w=128, seed=0):
    """A smooth colour test photo: sky-like top, dark bottom, a bright disc."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.zeros((h, w, 3), np.float32)
    rgb[..., 0] = 0.3 + 0.4 * x / w
    rgb[..., 1] = 0.2 + 0.5 * (1 - y / h)
    rgb[..., 2] = 0.8 * (1 - y / h)
    disc = (x - w * 0.6) ** 2 + (y - h * 0.4) ** 2 < (min(h, w) * 0.2) ** 2
    rgb[disc] = [0.95, 0.9, 0.3]
    rgb += rng.normal(0, 0.01, rgb.shape).astype(np.float32)
    return np.clip(rgb, 0, 1)


def mean_chroma(rgb_uint8):
    lab = rgb_to_lab(np.asarray(rgb_uint8, np.float32) / 255.0)
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


# ---------------------------------------------------------------- image files: each built in memory


def encoded(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def noise_rgb8(h, w, seed=0):
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


def png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def insert_png_chunk(png, kind, payload):
    """Put a chunk right after IHDR (eXIf must come before IDAT)."""
    end_of_ihdr = 8 + 8 + 13 + 4
    return png[:end_of_ihdr] + png_chunk(kind, payload) + png[end_of_ihdr:]


def truncated_jpeg():
    data = encoded(Image.fromarray(noise_rgb8(48, 64)), "JPEG", quality=90)
    return data[: len(data) // 2]


def truncated_png():
    data = encoded(Image.fromarray(noise_rgb8(48, 64)), "PNG")
    return data[: len(data) // 2]


def text_as_jpeg():
    return b"This is a shopping list, not a photo.\nmilk\neggs\n"


def huge_png_patched(width=20000, height=20000):
    """A 1x1 PNG whose header claims width x height (CRC fixed): only a header check can refuse it
    cleanly, since its pixel data is far too short for the claimed size."""
    tiny = encoded(Image.new("L", (1, 1)), "PNG")
    ihdr_payload = struct.pack(">II", width, height) + tiny[24:29]
    return tiny[:8] + png_chunk(b"IHDR", ihdr_payload) + tiny[33:]


def huge_png_real(width=20000, height=20000):
    """A valid 1-bit black PNG of width x height, built row by row (a ~50 KB decompression bomb)."""
    row = b"\0" + bytes((width + 7) // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row * 1000) for _ in range(height // 1000)) + comp.compress(row * (height % 1000))
    body += comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b"")


def gray16_png(h=12, w=10):
    g = (np.random.default_rng(1).random((h, w)) * 65535).astype(np.uint16)
    ok, buf = cv2.imencode(".png", g)
    return buf.tobytes(), g


def rgb16_png(h=12, w=10, alpha=False):
    """16-bit RGB(A) PNG; returns the bytes and the RGB(A) uint16 array it holds."""
    arr = (np.random.default_rng(2).random((h, w, 4 if alpha else 3)) * 65535).astype(np.uint16)
    bgr = arr[..., [2, 1, 0, 3]] if alpha else arr[..., ::-1]
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(bgr))
    return buf.tobytes(), arr


def cmyk_jpeg(h=16, w=24):
    """Left half white (no ink), right half black (full K)."""
    cmyk = np.zeros((h, w, 4), np.uint8)
    cmyk[:, w // 2 :, 3] = 255
    return encoded(Image.fromarray(cmyk, "CMYK"), "JPEG", quality=95)


def la_png(h=12, w=16):
    lum = np.tile(np.linspace(0, 255, w).astype(np.uint8), (h, 1))
    alpha = np.zeros((h, w), np.uint8)
    alpha[:, w // 2 :] = 255
    return encoded(Image.fromarray(np.dstack([lum, alpha]), "LA"), "PNG"), lum, alpha


def palette_png_with_transparency(h=12, w=16):
    """Palette PNG whose index 0 is fully transparent (the top half)."""
    idx = np.ones((h, w), np.uint8)
    idx[: h // 2] = 0
    idx[:, w // 2 :] += 1
    im = Image.fromarray(idx, "P")
    im.putpalette([0, 0, 0, 90, 90, 90, 200, 200, 200] + [0] * (256 * 3 - 9))
    return encoded(im, "PNG", transparency=0), idx


def animated_gif(frames=3, h=10, w=12):
    ims = [Image.fromarray(np.full((h, w, 3), v, np.uint8)) for v in np.linspace(40, 220, frames).astype(int)]
    return encoded(ims[0], "GIF", save_all=True, append_images=ims[1:], duration=100, loop=0)


def marked_landscape(h=20, w=40):
    """Grey landscape with a white bar down the left edge: the marker shows where 'left' went."""
    g = np.full((h, w), 60, np.uint8)
    g[:, :5] = 250
    return g


def exif_rotated_jpeg(orientation=6, h=20, w=40):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded(Image.fromarray(marked_landscape(h, w)), "JPEG", quality=95, exif=exif.tobytes())


def exif_block(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def marker_side(gray):
    """Which edge of a 2-D image holds the bright marker: 'top', 'bottom', 'left' or 'right'."""
    edges = {
        "top": gray[:3].mean(),
        "bottom": gray[-3:].mean(),
        "left": gray[:, :3].mean(),
        "right": gray[:, -3:].mean(),
    }
    return max(edges, key=edges.get)


BAD_FILES = {  # name -> (bytes, words the message must contain)
    "empty.jpg": (b"", "empty"),
    "truncated.jpg": (truncated_jpeg(), "truncated"),
    "damaged.png": (truncated_png(), "truncated"),  # base names differ: one output name per input
    "notes.jpg": (text_as_jpeg(), "not an image"),
    "bomb.png": (huge_png_patched(), "20000x20000"),
}


# ---------------------------------------------------------------- the command line, run as users run it

CLI_TIMEOUT = 120


def cli_env(models_root):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "COLORIZE"))}
    env.update(COLORIZE_MODELS=str(models_root), PYTHONPATH=str(ROOT))
    return env


def run_cli(args, models_root, cwd):
    return subprocess.run(
        [sys.executable, "-m", "colorize", *map(str, args)],
        cwd=cwd,
        env=cli_env(models_root),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )


def stray_temp_files(*folders):
    return [p for f in folders for p in f.rglob("*") if p.name.endswith(".part") or p.name.startswith(".colorize-")]


# ---------------------------------------------------------------- model folders


def one_line_naming(excinfo, path, words):
    msg = str(excinfo.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}: "), msg
    assert words in msg, msg


def loading_fails(folder, path, words):
    """Loading the model in `folder` raises one line naming `path` and saying `words`."""
    with pytest.raises(ColorizeError) as excinfo:
        ColorModel(folder)
    one_line_naming(excinfo, path, words)


def edit_meta(folder, **changes):
    """Rewrite keys of a model's model.json (None deletes the key)."""
    meta = json.loads((folder / "model.json").read_text())
    for k, v in changes.items():
        if v is None:
            del meta[k]
        else:
            meta[k] = v
    (folder / "model.json").write_text(json.dumps(meta))


# ---------------------------------------------------------------- clips, with the bundled ffmpeg

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*args):
    subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", *map(str, args), "-y"], check=True)


def decode(path):
    """All frames of a video as uint8 RGB (N x H x W x 3), upright, as ffmpeg delivers them."""
    info = video_probe.probe_video(path)
    out = subprocess.run(
        [FFMPEG, "-nostdin", "-loglevel", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(out, np.uint8).reshape(-1, info.height, info.width, 3)


def parse_probe(name, log, crc):
    """What probe_video makes of ffmpeg's log and framecrc output (text), without running ffmpeg."""
    streams = {}
    for line in crc.splitlines():
        video_probe.read_crc_line(line, streams)
    return video_probe.video_info(name, log, streams)


def make_video(path, w=96, h=64, frames=12, fps=10):
    """A short grey H.264 clip with a moving bright disc, written with the bundled ffmpeg."""
    writer = imageio_ffmpeg.write_frames(
        str(path), (w, h), fps=fps, codec="libx264", macro_block_size=1, ffmpeg_log_level="error"
    )
    writer.send(None)
    y, x = np.mgrid[0:h, 0:w]
    for i in range(frames):
        g = (60 + 120 * y / h).astype(np.uint8)
        g[(x - 10 - 6 * i) ** 2 + (y - h // 2) ** 2 < (h // 5) ** 2] = 230
        writer.send(np.repeat(g[..., None], 3, axis=2).tobytes())
    writer.close()
    return path


def video_info(data, tmp_path):
    """(codec name, first frame as HxWx3 uint8) of mp4 bytes, decoded with the bundled ffmpeg."""
    path = tmp_path / "check.mp4"
    path.write_bytes(data)
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    frame = np.frombuffer(next(reader), np.uint8).reshape(h, w, 3)
    reader.close()
    return meta["codec"], frame


# ---------------------------------------------------------------- hostile clips, built byte by byte


def uniform_jpeg(width, height):
    """A baseline black-and-white JPEG of width x height in which every 8x8 block is mid-grey, at two
    bits a block (one-symbol Huffman tables): a 16000x16000 frame is 1 MB that decodes to 256 MB."""

    def segment(marker, payload):
        return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload

    one_code = bytes([1] + [0] * 15)  # a single code of length 1
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    return (
        b"\xff\xd8"
        + segment(0xDB, b"\x00" + bytes([1] * 64))
        + segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
        + segment(0xC4, b"\x00" + one_code + b"\x00" + b"\x10" + one_code + b"\x00")  # DC: category 0; AC: EOB
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + bytes((2 * blocks + 7) // 8)
        + b"\xff\xd9"
    )


def mjpeg_avi(path, frame, count, width, height, fps=10):
    """A minimal AVI holding `count` copies of the JPEG `frame` as its MJPEG video (no ffmpeg involved:
    writing a hostile clip must not cost what reading it would)."""

    def chunk(fourcc, data):
        return fourcc + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")

    def listed(kind, data):
        return chunk(b"LIST", kind + data)

    avih = struct.pack("<10I4I", 1_000_000 // fps, 0, 0, 0x10, count, 0, 1, 0, width, height, 0, 0, 0, 0)
    strh = b"vidsMJPG" + struct.pack(
        "<IHHIIIIIIIIhhhh", 0, 0, 0, 0, 1, fps, 0, count, 0, 0xFFFFFFFF, 0, 0, 0, width, height
    )
    strf = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 24, b"MJPG", width * height * 3, 0, 0, 0, 0)
    header = listed(b"hdrl", chunk(b"avih", avih) + listed(b"strl", chunk(b"strh", strh) + chunk(b"strf", strf)))
    frames = chunk(b"00dc", frame) * count
    index = b"".join(
        b"00dc" + struct.pack("<III", 0x10, 4 + i * (len(frames) // count), len(frame)) for i in range(count)
    )
    body = b"AVI " + header + listed(b"movi", frames) + chunk(b"idx1", index)
    Path(path).write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return Path(path)


def mjpeg_bomb(path, claimed=16000, frames=2):
    """An MJPEG clip of 2 MB whose frames really are claimed x claimed pixels (decoded: 256 MB each)."""
    return mjpeg_avi(path, uniform_jpeg(claimed, claimed), frames, claimed, claimed)


# ---------------------------------------------------------------- the page served, for browser tests


def chromium_or_skip():
    """A function that launches Playwright's Chromium (Debian's, or COLORIZE_CHROMIUM) as a context
    manager yielding the browser; skips the test without one (fails under CI)."""
    import contextlib
    import importlib.util

    chromium = Path(os.environ.get("COLORIZE_CHROMIUM", "/usr/bin/chromium"))
    if importlib.util.find_spec("playwright") is None or not chromium.exists():
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"no playwright or no {chromium}")

    @contextlib.contextmanager
    def launch():
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"])
            try:
                yield browser
            finally:
                browser.close()

    return launch


def streamlit_server(folder, models, env=()):
    """`streamlit run app.py` on a free port with COLORIZE_MODELS=models and `env`, as a context
    manager yielding (process, url); its log goes to folder/streamlit.log."""
    import contextlib
    import socket
    import time
    import urllib.request

    @contextlib.contextmanager
    def serve():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        flags = {"address": "127.0.0.1", "port": port, "headless": "true", "fileWatcherType": "none"}
        args = [f"--server.{k}={v}" for k, v in flags.items()] + ["--browser.gatherUsageStats=false"]
        log = open(folder / "streamlit.log", "wb")  # closed below, after the process
        environ = {**os.environ, "COLORIZE_MODELS": str(models), **dict(env)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", *args],
            cwd=ROOT,
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}/"
        try:
            for _ in range(400):
                with contextlib.suppress(OSError):
                    if urllib.request.urlopen(url + "_stcore/health", timeout=2).read() == b"ok":
                        break
                assert proc.poll() is None, (folder / "streamlit.log").read_text(errors="replace")[-2000:]
                time.sleep(0.3)
            yield proc, url
        finally:
            for stop in (proc.terminate, proc.kill):  # politely first
                stop()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(15)
                    break
            log.close()

    return serve()


def colorized(path, fmt="png"):
    """Where the command line writes an input's result: photo.jpg -> photo_colorized.png (its folder
    kept), as the page names its downloads."""
    path = Path(path)
    return path.with_name(f"{path.stem}_colorized.{fmt}")
