"""Hostile and careless inputs (issue 11): nothing may stall the server, fool the probe, come out
silently wrong, or be left behind. Every file here is made by the test itself.

1. cost: refused from the file's structure before decoding; decoding never waits behind a render
2. video probing: titles and tags that look like ffmpeg's own lines change nothing
3. silent wrong output: NaN / out-of-range floats, JPEGs far shorter than their header, ICC profiles
4. metadata: the original's dates and dpi carried into PNG, JPEG and TIFF outputs
5. leftovers: SIGTERM / SIGHUP clean up like Ctrl-C; zip entry and display names made safe
"""

import io
import itertools
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time
import unicodedata
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

from colorize import ColorizeError, load_image
from colorize.decode import PhotoMeta, image_size
from colorize.encode import encode_image
from colorize.page import names
from colorize.page import photo as page_photo
from colorize.precheck import MAX_JPEG_SCANS
from colorize.video import VideoLimits, colorize_video, probe_video
from helpers import FFMPEG, ROOT, cli_env, encoded, ffmpeg, noise_rgb8, parse_probe, stray_temp_files


def one_line_error(excinfo, name, words):
    msg = str(excinfo.value)
    assert "\n" not in msg and msg.startswith(f"{name}: ") and words in msg, msg
    return msg


@pytest.fixture
def no_decoding(monkeypatch):
    """Any attempt to decode pixels fails the test: refusals must come before decoding."""

    def refuse(self, *a, **k):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", refuse)


# ------------------------------------------------------------------ JPEG byte-stream surgery


def scans_of(jpeg):
    """[(start, end)] of each scan (SOS segment + its entropy-coded data) in a JPEG."""
    starts = [m.start() for m in re.finditer(rb"\xff\xda", jpeg)]
    return list(itertools.pairwise([*starts, len(jpeg) - 2]))


def progressive_jpeg(h, w, grey=False, **kw):
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    g = (40 + 170 * x / w * (0.6 + 0.4 * y / h)).astype(np.uint8)
    im = Image.fromarray(g, "L") if grey else Image.fromarray(np.dstack([g, g, g]))
    return encoded(im, "JPEG", quality=75, progressive=True, **kw)


def with_repeated_scan(jpeg, times, which="smallest"):
    """The JPEG with one of its scans (by default its smallest) repeated `times` more times at the end,
    so that the file's last scan is repeated thousands of times, as in the issue."""
    scans = scans_of(jpeg)
    start, end = min(scans, key=lambda s: s[1] - s[0]) if which == "smallest" else scans[which]
    return jpeg[:-2] + jpeg[start:end] * times + jpeg[-2:]


def with_header_size(jpeg, width, height):
    """The JPEG with its start-of-frame saying width x height (the data stays as it was)."""
    data = bytearray(jpeg)
    sof = re.search(rb"\xff[\xc0-\xc2]", data).start()
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


# ------------------------------------------------------------------ 1. cost


def test_progressive_jpeg_with_thousands_of_scans_is_refused_before_decoding(no_decoding):
    base = progressive_jpeg(2990, 4000, subsampling=0)
    hostile = with_repeated_scan(base, 3000)
    assert len(scans_of(hostile)) == 3010 and len(hostile) < 400_000
    with pytest.raises(ColorizeError) as e:
        load_image("hostile.jpg", hostile)
    one_line_error(e, "hostile.jpg", f"more than {MAX_JPEG_SCANS} scans")


def test_scans_going_over_the_image_too_often_are_refused(no_decoding):
    """Below the scan count limit, but each repeat is a full pass over every component's blocks."""
    base = progressive_jpeg(300, 400, subsampling=0)
    dc_first = 0  # libjpeg's first scan: the DC of all three components
    hostile = with_repeated_scan(base, 40, which=dc_first)
    assert len(scans_of(hostile)) == 50 < MAX_JPEG_SCANS
    with pytest.raises(ColorizeError) as e:
        load_image("passes.jpg", hostile)
    one_line_error(e, "passes.jpg", "go over the image")


@pytest.mark.parametrize("kind", ["colour", "grey", "colour 4:4:4", "a few repeats"])
def test_real_progressive_jpegs_still_decode(kind):
    base = progressive_jpeg(60, 80, grey=kind == "grey", **({"subsampling": 0} if "4:4:4" in kind else {}))
    data = with_repeated_scan(base, 3) if kind == "a few repeats" else base
    photo = load_image("p.jpg", data)
    assert photo.size == (80, 60) and 0.1 < photo.rgb.mean() < 0.9


def test_png_of_a_million_tiny_chunks_is_refused_before_pillow_reads_them(no_decoding):
    tiny = encoded(Image.new("L", (1, 1)), "PNG")
    chunk = struct.pack(">I", 0) + b"abCd" + struct.pack(">I", zlib.crc32(b"abCd"))
    data = tiny[:33] + chunk * 200_000 + tiny[33:]
    with pytest.raises(ColorizeError) as e:
        load_image("chunks.png", data)
    one_line_error(e, "chunks.png", "PNG chunks")
    assert image_size(data) is None and image_size(tiny) == (1, 1)  # the page's size peek is as careful


def test_gif_of_tiny_sub_blocks_is_refused(no_decoding):
    gif = encoded(Image.new("P", (4, 4)), "GIF")
    comment = b"\x21\xfe" + b"\x01x" * 200_000 + b"\x00"  # a comment in 1-byte sub-blocks
    data = gif[:-1] + comment + gif[-1:]
    with pytest.raises(ColorizeError) as e:
        load_image("blocks.gif", data)
    one_line_error(e, "blocks.gif", "tiny blocks")


def many_page_tiff(pages):
    """A 1x1 grey TIFF followed by `pages` more one-pixel pages (Pillow counts them quadratically)."""
    data = bytearray(encoded(Image.new("L", (1, 1), 200), "TIFF"))
    first = struct.unpack("<I", data[4:8])[0]
    tags = struct.unpack("<H", data[first : first + 2])[0]
    struct.pack_into("<I", data, first + 2 + 12 * tags, len(data))
    entries = [(256, 3, 1, 1), (257, 3, 1, 1), (258, 3, 1, 8), (262, 3, 1, 1), (273, 4, 1, 8), (279, 4, 1, 1)]
    for i in range(pages):
        nxt = len(data) + 2 + 12 * len(entries) + 4 if i < pages - 1 else 0
        data += struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries)
        data += struct.pack("<I", nxt)
    return bytes(data)


def test_tiff_pages_are_counted_without_pillow_walking_them_all(monkeypatch):
    def slow(self):
        raise AssertionError("Pillow's n_frames walks every page (50,000 pages: 25 s)")

    monkeypatch.setattr("PIL.TiffImagePlugin.TiffImageFile.n_frames", property(slow))
    photo = load_image("pages.tif", many_page_tiff(5000))
    assert photo.size == (1, 1) and abs(photo.rgb.mean() - 200 / 255) < 1e-6
    assert photo.note == "first frame of more than 1,000 used"
    assert load_image("two.tif", many_page_tiff(2)).note == "first frame of 3 used"


def test_pillow_process_wide_bomb_limit_is_left_alone(monkeypatch):
    fresh = subprocess.run(
        [
            sys.executable,
            "-c",
            "from PIL import Image; a = Image.MAX_IMAGE_PIXELS; "
            "import colorize, colorize.decode, colorize.page.photo; print(a == Image.MAX_IMAGE_PIXELS)",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert fresh.stdout.strip() == "True", fresh.stderr
    # Our own limit decides, whatever Pillow's is set to
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    assert load_image("ok.png", encoded(Image.fromarray(noise_rgb8(100, 100)), "PNG")).size == (100, 100)
    assert Image.MAX_IMAGE_PIXELS == 1000


def png_photo(h=120, w=160, seed=0):
    return encoded(Image.fromarray(noise_rgb8(h, w, seed)), "PNG")


def run_in_thread(fn, timeout=60):
    """fn() in a thread; (finished within the timeout, result or exception)."""
    out = []
    thread = threading.Thread(target=lambda: out.append(_call(fn)), daemon=True)
    thread.start()
    thread.join(timeout)
    return (not thread.is_alive()), (out[0] if out else None)


def _call(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - handed back to the test
        return e


def test_decoding_does_not_wait_for_a_full_size_render(tiny_model):
    """A long download render in one session must not hold up another session's upload."""
    with page_photo._full_size_turn:  # someone's 12 MP download is rendering
        done, analysed = run_in_thread(lambda: page_photo.analyse_photo(tiny_model, "u.png", png_photo()), 20)
    assert done, "analyse_photo waited for the full-size render's turn"
    assert analysed.prediction.L.shape == (120, 160)


def test_a_slow_decode_does_not_hold_up_downloads_or_other_decodes(tiny_model):
    analysed = page_photo.analyse_photo(tiny_model, "u.png", png_photo())
    page_photo._decode_turns.acquire()  # one visitor's photo is (slowly) decoding
    try:
        done, data = run_in_thread(lambda: page_photo.full_resolution(tiny_model, analysed, 1.0, "png"), 20)
        assert done and data.startswith(b"\x89PNG"), "the download waited for a decode"
        done, other = run_in_thread(lambda: page_photo.analyse_photo(tiny_model, "v.png", png_photo(seed=1)), 20)
        assert done and other.prediction.L.shape == (120, 160), "a second decode waited for the first"
    finally:
        page_photo._decode_turns.release()


# ------------------------------------------------------------------ 2. video probing


ROTATION_TITLE = "displaymatrix: rotation of -90.00 degrees"
DURATION_TITLE = "Duration: 00:00:01.00"
# A tag *name* with line breaks, written so that ffmpeg's listing shows lines of its own
FORGED_LINES = (
    "x\n  Duration: 00:00:01.00, start: 0.000000, bitrate: 1 kb/s\n"
    "  Stream #0:0: Video: h264, yuv420p, 48x64, 50 fps, 50 tbr\n"
    "    Side data:\n      displaymatrix: rotation of -90.00 degrees\n"
)


@pytest.fixture(scope="module")
def titled_clips(tmp_path_factory):
    """2.4 s, 64x48, 25 fps clips whose titles and tags read like ffmpeg's own lines."""
    d = tmp_path_factory.mktemp("titled")
    source = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=2.4"]
    titles = [
        "-metadata",
        f"title={DURATION_TITLE}",
        "-metadata:s:v:0",
        f"title={ROTATION_TITLE}",
        "-metadata",
        f"comment={ROTATION_TITLE}\n{DURATION_TITLE}",
    ]
    clips = {"titled.mp4": d / "titled.mp4", "titled.mkv": d / "titled.mkv", "forged.mp4": d / "forged.mp4"}
    ffmpeg(*source, *titles, "-c:v", "libx264", "-pix_fmt", "yuv420p", clips["titled.mp4"])
    ffmpeg(*source, *titles, "-c:v", "libx264", "-pix_fmt", "yuv420p", clips["titled.mkv"])
    # MP4 keeps free-form tag names as they are: ffmpeg's listing then shows the forged lines as its own
    ffmpeg(
        *source,
        "-metadata",
        f"{FORGED_LINES}=1",
        "-movflags",
        "use_metadata_tags",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        clips["forged.mp4"],
    )
    return clips


@pytest.mark.parametrize("name", ["titled.mp4", "titled.mkv", "forged.mp4"])
def test_titles_that_look_like_ffmpeg_lines_change_nothing(titled_clips, name):
    path = titled_clips[name]
    listing = subprocess.run([FFMPEG, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    assert "rotation of -90.00 degrees" in listing and "Duration: 00:00:01.00" in listing  # the bait is there
    if name == "forged.mp4":  # a line of its own, as ffmpeg prints the real ones
        assert "\n  Duration: 00:00:01.00, start:" in listing and "\n      displaymatrix: rotation" in listing
    info = probe_video(path)
    assert (info.width, info.height, info.rotation) == (64, 48, 0)
    assert info.duration == pytest.approx(2.4, abs=0.01) and info.frames == 60 and info.rate == 25


def test_the_length_limit_sees_the_real_length(titled_clips, tiny_model, tmp_path):
    with pytest.raises(ColorizeError) as e:
        colorize_video(titled_clips["titled.mp4"], tmp_path / "x.mp4", tiny_model, limits=VideoLimits(max_seconds=2))
    one_line_error(e, str(titled_clips["titled.mp4"]), "is 2.4 s long, over the limit of 2 s")
    assert list(tmp_path.iterdir()) == []


def test_titled_clip_comes_out_with_its_own_size_and_frames(titled_clips, tiny_model, tmp_path):
    out = tmp_path / "out.mp4"
    colorize_video(titled_clips["forged.mp4"], out, tiny_model)
    info = probe_video(out)
    assert (info.width, info.height, info.frames) == (64, 48, 60)
    raw = subprocess.run(
        [FFMPEG, "-nostdin", "-loglevel", "error", "-i", str(out), "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"],
        capture_output=True,
        check=True,
    ).stdout
    src = subprocess.run(
        [
            FFMPEG,
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            str(titled_clips["forged.mp4"]),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "gray",
            "pipe:1",
        ],
        capture_output=True,
        check=True,
    ).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, 48, 64).astype(float)
    source = np.frombuffer(src, np.uint8).reshape(-1, 48, 64).astype(float)
    assert len(frames) == len(source) == 60
    # not garbled: each frame's brightness pattern is its source frame's (colour changes it a little)
    assert np.corrcoef(frames.ravel(), source.ravel())[0, 1] > 0.9


def test_probe_stops_reading_a_file_of_countless_packets(titled_clips, monkeypatch):
    from colorize.video import probe

    monkeypatch.setattr(probe, "MAX_PROBE_PACKETS", 50)  # the clip has 60 frames
    with pytest.raises(ColorizeError) as e:
        probe_video(titled_clips["titled.mp4"])
    one_line_error(e, str(titled_clips["titled.mp4"]), "has more than 50 packets")


CRC = (
    """#tb 0: 1/12800
#media_type 0: video
#codec_id 0: h264
#dimensions 0: 64x48
#sar 0: 1/1
#tb 1: 1/25
#media_type 1: video
#codec_id 1: rawvideo
#dimensions 1: 64x48
#sar 1: 1/1
"""
    + "".join(f"0, {512 * i}, {512 * i}, 512, 100, 0x0\n" for i in range(60))
    + "1, 0, 0, 1, 4608, 0x0\n"
)

LOG = """Input #0, matroska,webm, from 'file:/x.mkv':
  Metadata:
    title           : Duration: 00:00:01.00
  Duration: 00:00:01.00, start: 0.000000, bitrate: 5 kb/s
  Stream #0:0: Video: h264 (High), yuv420p(progressive), 64x48, 25 fps, 25 tbr, 1k tbn
    Metadata:
      title           : displaymatrix: rotation of -90.00 degrees
Stream mapping:
"""


def test_probe_takes_sizes_and_times_from_the_data_only():
    info = parse_probe("x.mkv", LOG, CRC)
    assert (info.width, info.height, info.rotation, info.duration, info.frames) == (64, 48, 0, 2.4, 60)
    assert info.codec == "h264" and info.pix_fmt == "yuv420p" and not info.has_audio
    # a rotation under "Side data:" is believed only when the decoded frame agrees
    side_data = "    Side data:\n      displaymatrix: rotation of -90.00 degrees\n"
    sideways = LOG.replace("    Metadata:\n      title", side_data + "    Metadata:\n      title")
    assert parse_probe("x.mkv", sideways, CRC).rotation == 0
    turned = CRC.replace("#dimensions 1: 64x48", "#dimensions 1: 48x64")
    assert (lambda i: (i.width, i.height, i.rotation))(parse_probe("x.mkv", sideways, turned)) == (48, 64, 90)
    with pytest.raises(ColorizeError, match="no frame could be decoded"):
        parse_probe("x.mkv", LOG, CRC.replace("1, 0, 0, 1, 4608, 0x0\n", ""))


# ------------------------------------------------------------------ 3. silent wrong output


def float_tiff(values):
    return encoded(Image.fromarray(np.asarray(values, np.float32), "F"), "TIFF")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_float_tiff_with_nan_or_infinity_is_refused(bad):
    values = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    values[2, 3] = bad
    with pytest.raises(ColorizeError) as e:
        load_image("f.tif", float_tiff(values))
    one_line_error(e, "f.tif", "1 pixel that is not a number")


def test_float_tiff_beyond_one_is_stretched_with_a_note():
    values = np.linspace(0, 1000, 64, dtype=np.float32).reshape(8, 8)
    photo = load_image("f.tif", float_tiff(values))
    np.testing.assert_allclose(photo.rgb[..., 1], values / 1000, atol=1e-6)
    assert photo.note == "its values (0 to 1000) were stretched to black..white"
    inside = load_image("g.tif", float_tiff(values / 1000))  # the usual [0, 1] stays as it is
    np.testing.assert_allclose(inside.rgb[..., 0], values / 1000, atol=1e-6)
    assert inside.note == ""


def test_jpeg_far_shorter_than_its_header_is_refused(no_decoding):
    small = encoded(Image.fromarray(noise_rgb8(240, 240)), "JPEG", quality=85)
    lying = with_header_size(small, 6000, 6000)
    assert 20_000 < len(lying) < 100_000
    with pytest.raises(ColorizeError) as e:
        load_image("lying.jpg", lying)
    msg = one_line_error(e, "lying.jpg", "is truncated: its header says 6000x6000")
    assert f"but the file holds {len(lying) // 1000 - 1}" in msg or f"holds {round(len(lying) / 1000)}" in msg


# ICC profiles, written by hand (ICC v2 matrix/TRC): a linear-gamma grey and a linear-gamma RGB
def _s15(x):
    return struct.pack(">i", round(x * 65536))


def icc_profile(space="GRAY", gamma=1.0, name="Linear"):
    def tag_xyz(x, y, z):
        return b"XYZ " + bytes(4) + _s15(x) + _s15(y) + _s15(z)

    text = name.encode() + b"\0"
    tags = [
        (b"desc", b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(4 + 4 + 2 + 1 + 67)),
        (b"cprt", b"text" + bytes(4) + b"public domain\0"),
        (b"wtpt", tag_xyz(0.9642, 1.0, 0.8249)),
    ]
    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256)) + bytes(2)
    if space == "GRAY":
        tags.append((b"kTRC", curve))
    else:
        primaries = {
            b"rXYZ": (0.4361, 0.2225, 0.0139),
            b"gXYZ": (0.3851, 0.7169, 0.0971),
            b"bXYZ": (0.1431, 0.0606, 0.7141),
        }
        tags += [(k, tag_xyz(*v)) for k, v in primaries.items()] + [(k, curve) for k in (b"rTRC", b"gTRC", b"bTRC")]
    offset, table, body = 128 + 4 + 12 * len(tags), struct.pack(">I", len(tags)), b""
    for sig, data in tags:
        data += bytes(-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    header = (
        struct.pack(">I", offset + len(body))
        + bytes(4)
        + struct.pack(">I", 0x02100000)
        + b"mntr"
        + (b"GRAY" if space == "GRAY" else b"RGB ")
        + b"XYZ "
        + bytes(12)
        + b"acsp"
        + bytes(28)
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
        + bytes(48)
    )
    return header + table + body


def srgb_encode(linear):
    linear = np.asarray(linear, np.float64)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


LINEAR_RAMP = np.tile(np.arange(256, dtype=np.uint8), (4, 1))


@pytest.mark.parametrize("kind", ["grey PNG", "grey JPEG", "RGB JPEG", "RGBA PNG", "16-bit grey PNG"])
def test_photos_with_a_linear_profile_are_converted_to_srgb(kind):
    if kind == "16-bit grey PNG":
        im, ramp = Image.fromarray(LINEAR_RAMP.astype(np.uint16) * 257), LINEAR_RAMP / 255
        im = im.convert("I;16")
    elif kind.startswith("grey"):
        im, ramp = Image.fromarray(LINEAR_RAMP, "L"), LINEAR_RAMP / 255
    else:
        im, ramp = Image.fromarray(np.dstack([LINEAR_RAMP] * 3), "RGB"), LINEAR_RAMP / 255
        if kind == "RGBA PNG":
            im = Image.fromarray(np.dstack([LINEAR_RAMP] * 3 + [np.full_like(LINEAR_RAMP, 128)]), "RGBA")
    profile = icc_profile("GRAY" if "grey" in kind else "RGB")
    fmt = "PNG" if "PNG" in kind else "JPEG"
    data = encoded(im, fmt, icc_profile=profile, **({"quality": 100, "subsampling": 0} if fmt == "JPEG" else {}))
    photo = load_image("linear." + fmt.lower(), data)
    tolerance = 1.6 / 255 if fmt == "PNG" else 4 / 255
    np.testing.assert_allclose(photo.rgb[..., 1], srgb_encode(ramp), atol=tolerance)
    assert np.abs(photo.rgb - photo.rgb[..., 1:2]).max() < 2 / 255  # grey stays grey
    assert photo.note == ""
    # without the profile, the same pixels are read as sRGB: the "19 L* darker" case
    plain = load_image("plain.png", encoded(im, "PNG"))
    assert np.abs(plain.rgb[..., 1] - ramp).max() < 1e-6
    if kind == "RGBA PNG":
        assert np.allclose(photo.alpha, 128 / 255)


def test_a_damaged_profile_is_ignored_with_a_note():
    photo = load_image("bad.png", encoded(Image.fromarray(LINEAR_RAMP, "L"), "PNG", icc_profile=b"not a profile" * 20))
    np.testing.assert_allclose(photo.rgb[..., 0], LINEAR_RAMP / 255, atol=1e-6)
    assert "colour profile is damaged" in photo.note


def test_a_profile_for_other_colours_is_ignored_with_a_note():
    rgb8 = noise_rgb8(10, 12)
    photo = load_image("odd.png", encoded(Image.fromarray(rgb8), "PNG", icc_profile=icc_profile("GRAY")))
    np.testing.assert_allclose(photo.rgb, rgb8 / 255, atol=1e-6)
    assert photo.note == "its colour profile (GRAY) does not fit its RGB pixels and was ignored"


def test_an_srgb_profile_changes_nothing():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    rgb8 = noise_rgb8(10, 12)
    photo = load_image("s.png", encoded(Image.fromarray(rgb8), "PNG", icc_profile=srgb))
    np.testing.assert_allclose(photo.rgb, rgb8 / 255, atol=1e-6)


def profile_description(data):
    icc = Image.open(io.BytesIO(data)).info.get("icc_profile")
    assert icc, "no ICC profile in the output"
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    return ImageCms.getProfileDescription(profile).strip()


@pytest.mark.parametrize("fmt", ["png", "jpg", "tif"])
@pytest.mark.parametrize("alpha", [False, True])
def test_every_output_carries_the_srgb_profile(fmt, alpha):
    rgb = noise_rgb8(12, 16)
    data = encode_image(rgb, np.full((12, 16), 200, np.uint8) if alpha else None, fmt)
    assert profile_description(data).startswith("sRGB")
    back = Image.open(io.BytesIO(data))
    assert back.format == {"png": "PNG", "jpg": "JPEG", "tif": "TIFF"}[fmt]
    if fmt != "jpg":
        assert np.array_equal(np.asarray(back.convert("RGB")), rgb)  # lossless formats: the same pixels
        assert back.mode == ("RGBA" if alpha else "RGB")


# ------------------------------------------------------------------ 4. metadata


def dated_jpeg(dpi=(300, 300)):
    exif = Image.Exif()
    exif[0x0132] = "2001:02:03 04:05:06"
    exif[0x0112] = 6  # stored sideways: the output is upright, so this must not be copied
    exif.get_ifd(0x8769)[0x9003] = "1931:07:14 15:16:17"
    return encoded(Image.fromarray(noise_rgb8(20, 30)), "JPEG", quality=90, exif=exif.tobytes(), dpi=dpi)


def test_photo_carries_dates_and_dpi():
    photo = load_image("dated.jpg", dated_jpeg((300, 150)))
    assert photo.meta == PhotoMeta((150.0, 300.0), "1931:07:14 15:16:17", "2001:02:03 04:05:06")  # turned: x, y swap
    assert photo.exif_date == "1931:07:14 15:16:17" and photo.dpi == (150.0, 300.0)
    bare = load_image("bare.png", encoded(Image.fromarray(noise_rgb8(4, 4)), "PNG"))
    assert bare.meta == PhotoMeta() and bare.exif_date is None and bare.dpi is None


def test_malformed_dates_are_dropped():
    exif = Image.Exif()
    exif[0x0132] = "yesterday <script>"
    photo = load_image("d.jpg", encoded(Image.fromarray(noise_rgb8(4, 4)), "JPEG", exif=exif.tobytes()))
    assert photo.meta.date is None


@pytest.mark.parametrize("fmt", ["png", "jpg", "tif"])
def test_outputs_keep_the_date_and_dpi(fmt):
    photo = load_image("dated.jpg", dated_jpeg())
    data = encode_image(photo.rgb, None, fmt, meta=photo.meta)
    back = Image.open(io.BytesIO(data))
    exif = back.getexif()
    assert tuple(round(v) for v in back.info["dpi"]) == (300, 300)
    assert exif.get(0x0112) is None  # no orientation: the pixels are already upright
    assert exif.get(0x0132) == "2001:02:03 04:05:06"  # TIFF too: an EXIF sub-directory holds when it was taken
    assert exif.get_ifd(0x8769).get(0x9003) == "1931:07:14 15:16:17"
    assert load_image("again." + fmt, data).exif_date == "1931:07:14 15:16:17"


def test_page_downloads_keep_the_date(tiny_model):
    analysed = page_photo.analyse_photo(tiny_model, "dated.jpg", dated_jpeg())
    for fmt in ("png", "jpg", "tiff"):
        data = page_photo.full_resolution(tiny_model, analysed, 1.0, fmt)
        assert load_image("d." + fmt, data).exif_date == "1931:07:14 15:16:17"
        assert profile_description(data).startswith("sRGB")


def test_cli_writes_tiff_keeping_the_date(tiny_model_dir, tmp_path):
    src = tmp_path / "scan.jpg"
    src.write_bytes(dated_jpeg())  # 30x20 stored sideways: 20x30 upright
    for args, out in (
        (["-o", tmp_path / "one.tif"], tmp_path / "one.tif"),
        (["-o", tmp_path / "out", "--format", "tiff"], tmp_path / "out" / "scan_colorized.tif"),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "colorize", "image", str(src), *map(str, args)],
            cwd=tmp_path,
            env=cli_env(tiny_model_dir),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        back = Image.open(out)
        assert back.format == "TIFF" and back.size == (20, 30)
        assert profile_description(out.read_bytes()).startswith("sRGB")
        assert load_image(out).exif_date == "1931:07:14 15:16:17"


def test_encode_image_keeps_its_old_signature():
    data = encode_image(np.zeros((4, 5, 3), np.float32))
    assert data.startswith(b"\x89PNG") and Image.open(io.BytesIO(data)).size == (5, 4)


# ------------------------------------------------------------------ 5. leftovers: signals


def ffmpeg_processes_writing(folder):
    found = []
    for cmdline in os.listdir("/proc"):
        try:
            text = open(f"/proc/{cmdline}/cmdline", "rb").read().decode(errors="replace")
        except OSError:
            continue
        if "ffmpeg" in text and str(folder) in text:
            found.append(cmdline)
    return found


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x120:rate=25:duration=60",
        "-f",
        "lavfi",
        "-i",
        "sine=duration=60",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        path,
    )
    return path


def wait_for(condition, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_video_stopped_by_a_signal_leaves_nothing(long_clip, tiny_model_dir, tmp_path, sig):
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "colorize", "video", str(long_clip), "-o", str(out / "x.mp4")],
        cwd=tmp_path,
        env=cli_env(tiny_model_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: stray_temp_files(out) or proc.poll() is not None), "no temporary file appeared"
        time.sleep(0.5)  # well into the clip (60 s of video: far from finished)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + getattr(signal, sig)
    assert err.strip().splitlines()[-1].strip() == f"stopped by {sig}"
    assert "Traceback" not in err
    assert list(out.iterdir()) == []
    assert wait_for(lambda: not ffmpeg_processes_writing(out), 10), "an ffmpeg process was left running"


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
def test_image_batch_stopped_by_sigterm_leaves_no_partial_file(tiny_model_dir, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    big = png_photo(1500, 2000)
    for i in range(60):
        (src / f"p{i:02d}.png").write_bytes(big)
    proc = subprocess.Popen(
        [sys.executable, "-m", "colorize", "image", str(src), "-o", str(out), "--workers", "1"],
        cwd=tmp_path,
        env=cli_env(tiny_model_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(
            lambda: out.is_dir() and any(p.suffix == ".png" for p in out.iterdir()) or proc.poll() is not None
        )
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM and "Traceback" not in err
    assert err.strip().splitlines()[-1].strip() == "stopped by SIGTERM"
    assert stray_temp_files(out) == []
    for p in out.iterdir():  # what was written is complete
        assert Image.open(p).size == (2000, 1500)


# ------------------------------------------------------------------ 5. leftovers: names

HOSTILE_NAMES = [
    'holiday<1>:"draft"|?*.png',
    "photo\u202egnp.exe",
    "a\u2066b\u2069c\u200e\u200f\u061c.png",
    "x" * 300 + ".png",
    "tab\tand\nnewline.png",
    "CON.png",
    "../../etc/passwd",
    "\ufeffbom.png",
    "zero\u200bwidth.png",
    "ends with dots....png",
    "",
]
WINDOWS_ILLEGAL = set('<>:"/\\|?*')


def is_bad_char(ch):
    return ch in WINDOWS_ILLEGAL or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def test_file_names_are_safe_unique_and_short():
    made = names.unique_names([names.safe_file_name(n) for n in [*HOSTILE_NAMES, "a.png", "A.png"]])
    assert len(made) == len(set(n.lower() for n in made)) == len(HOSTILE_NAMES) + 2
    for name in made:
        assert not any(is_bad_char(ch) for ch in name), repr(name)
        assert 0 < len(name) <= 120 and name == name.strip(" .") and name.split(".")[0].upper() != "CON"
    assert made[0] == "holiday_1___draft____.png"
    assert made[1] == "photognp.exe"  # the override is gone: it shows as what it is
    assert made[3] == "x" * 116 + ".png"
    assert made[6] == "passwd"


def test_output_names_stay_safe_and_keep_their_ending():
    for name in HOSTILE_NAMES:
        out = names.output_name(name, "png")
        assert out.endswith("_colorized.png") and len(out) <= 120, out
        assert not any(is_bad_char(ch) for ch in out)
    assert names.output_name("holiday/beach.photo.JPG") == "beach.photo_colorized.png"


def test_display_names_are_one_plain_line():
    assert names.display_name("photo\u202egnp.exe") == "photognp.exe"
    assert names.display_name("tab\tand\nnewline.png") == "tab and newline.png"
    long = names.display_name("x" * 300 + ".jpeg", limit=40)
    assert len(long) == 40 and long.endswith("x.jpeg") and "…" in long
    assert names.display_name("") == "photo"
    for name in HOSTILE_NAMES:
        shown = names.display_name(name)
        assert len(shown) <= 80 and not any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in shown)
