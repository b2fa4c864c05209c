"""Video colorization: streaming ffmpeg in and out, faithful L, audio, rotation, stability, bad input.

Every clip is made here with the bundled ffmpeg (lavfi test sources, about a second at low
resolution), and colorized with the tiny test model, so the whole file runs in seconds.
"""

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from colorize import ColorizeError, ColorModel
from colorize.cli import main
from colorize.lab import rgb_to_lab
from colorize.video import VideoCancelled, VideoLimits, colorize_video, probe_video
from colorize.video.probe import exact_rate
from colorize.video.stabilize import TemporalStabilizer, warp_planes
from helpers import decode, ffmpeg, parse_probe
from tiny_model import build_tiny_model


def lab_frames(frames):
    return np.stack([rgb_to_lab(f.astype(np.float32) / 255) for f in frames])


def leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith(".colorize-") or p.suffix == ".part")


def ffmpeg_children():
    """ffmpeg processes that are children of this test process (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{os.getpid()}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:  # a thread that ended between the listing and the read has no children left
            continue
        for pid in children:
            try:
                if "ffmpeg" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                    found.append(pid)
            except OSError:
                pass
    return found


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    c = {
        k: d / v
        for k, v in dict(
            audio="audio.mp4",
            gray="gray.mp4",
            odd="odd:size.mkv",
            rotated="rotated.mp4",
            cut="cut.mp4",
            audio_only="audio.m4a",
            partial="partial.mp4",
            faststart="faststart.mp4",
        ).items()
    }
    # colour test pattern + sine tone, H.264/AAC
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=128x72:rate=25:duration=1",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=1",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        c["audio"],
    )
    # black-and-white zoom, no audio
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=size=96x64:rate=20",
        "-t",
        "1",
        "-vf",
        "format=gray",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        c["gray"],
    )
    # odd size (lossless RGB in Matroska) with PCM audio, which must become AAC
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=161x97:rate=12:duration=1",
        "-f",
        "lavfi",
        "-i",
        "sine=duration=1",
        "-c:v",
        "ffv1",
        "-c:a",
        "pcm_s16le",
        c["odd"],
    )
    # the gray clip stored sideways: players turn it 90 degrees
    ffmpeg("-display_rotation", "90", "-i", c["gray"], "-c", "copy", c["rotated"])
    # a scene cut: test pattern, then a fractal
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=96x64:rate=20:duration=0.6",
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=size=96x64:rate=20",
        "-filter_complex",
        "[1:v]trim=duration=0.6,setpts=PTS-STARTPTS[m];[0:v][m]concat=n=2:v=1[v]",
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        c["cut"],
    )
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", c["audio_only"])
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=96x64:rate=20:duration=2",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        c["faststart"],
    )
    data = c["faststart"].read_bytes()
    c["partial"].write_bytes(data[: len(data) // 2])  # index first, then half the frames
    return c


def assert_faithful(src, out, audio):
    """Same frames, rate and audio; H.264 yuv420p; every frame's L equal to its source frame's L."""
    info_in, info_out = probe_video(src), probe_video(out)
    assert (info_out.codec, info_out.pix_fmt, info_out.rotation) == ("h264", "yuv420p", 0)
    assert info_out.rate == info_in.rate
    assert info_out.has_audio is audio
    if audio:
        assert info_out.audio_codec == "aac"
    a, b = decode(src), decode(out)
    assert len(b) == len(a)
    h, w = a.shape[1:3]
    assert b.shape[1:3] == (h + h % 2, w + w % 2)  # odd sizes gain one repeated row/column
    lab_in, lab_out = lab_frames(a), lab_frames(b)[:, :h, :w]
    dL = np.abs(lab_out[..., 0] - lab_in[..., 0])
    # H.264 in yuv420p stores colour at half resolution: where the tiny test model's saturated, hard-edged
    # colour changes between neighbouring pixels, the shared chroma shifts their L (and darkens on
    # average). Measured on these clips: mean 1.0-1.15, median 0.4-0.9, 99th percentile 6.3-8.3; with
    # lossless 4:4:4 it would be 0.35 / 0.9 at the 99th; the real model's smooth colour on a 640x360
    # film gives mean 0.6, 99th percentile 3.0.
    assert dL.mean() < 1.5 and np.median(dL) < 1.0 and np.percentile(dL, 99) < 10.0, (
        dL.mean(),
        np.median(dL),
        np.percentile(dL, 99),
    )
    chroma = np.hypot(lab_out[..., 1], lab_out[..., 2])
    assert chroma.mean() > 5  # it was colorized, not just copied
    return lab_in, lab_out


@pytest.mark.parametrize("name, audio", [("audio", True), ("gray", False), ("odd", True)])
def test_video_keeps_frames_rate_audio_and_lightness(clips, tiny_model, tmp_path, name, audio):
    out = tmp_path / "out.mp4"
    colorize_video(clips[name], out, tiny_model)
    assert_faithful(clips[name], out, audio)
    assert leftovers(tmp_path) == []


def test_without_stabilisation_too(clips, tiny_model, tmp_path):
    colorize_video(clips["gray"], tmp_path / "on.mp4", tiny_model, stabilize=True)
    colorize_video(clips["gray"], tmp_path / "off.mp4", tiny_model, stabilize=False)
    _, on = assert_faithful(clips["gray"], tmp_path / "on.mp4", False)
    _, off = assert_faithful(clips["gray"], tmp_path / "off.mp4", False)
    assert np.abs(on[..., 1:] - off[..., 1:]).mean() > 0.01  # the switch really changes something


@pytest.mark.parametrize("scaled_mean, warp", [(None, cv2.INTER_CUBIC), ((0.8, 1.8), cv2.INTER_LINEAR)])
def test_the_stabiliser_warps_as_the_models_decode_wants(clips, tmp_path, monkeypatch, scaled_mean, warp):
    """Bicubic for the annealed mean, bilinear for the scaled mean (see colorize.video.stabilize.warp_planes)."""
    import colorize.video.job

    model = ColorModel(build_tiny_model(tmp_path / "m", scaled_mean=scaled_mean))
    made = []

    def recording(**kwargs):
        made.append(kwargs)
        return TemporalStabilizer(**kwargs)

    monkeypatch.setattr(colorize.video.job, "TemporalStabilizer", recording)
    colorize_video(clips["gray"], tmp_path / "out.mp4", model)
    assert [k["interpolation"] for k in made] == [warp]
    assert_faithful(clips["gray"], tmp_path / "out.mp4", False)


def test_rotated_video_comes_out_upright(clips, tiny_model, tmp_path):
    info = probe_video(clips["rotated"])
    assert (info.width, info.height, info.rotation) == (64, 96, 270)
    out = tmp_path / "upright.mp4"
    colorize_video(clips["rotated"], out, tiny_model)
    assert_faithful(clips["rotated"], out, False)
    # the stored clip turned the way the display matrix says (90 degrees counter-clockwise)
    turned = np.rot90(lab_frames(decode(clips["gray"]))[..., 0], 1, axes=(1, 2))
    assert np.abs(lab_frames(decode(out))[..., 0] - turned).mean() < 1.5  # codec tolerance, as above


def test_scene_cut_clip(clips, tiny_model, tmp_path):
    out = tmp_path / "cut.mp4"
    colorize_video(clips["cut"], out, tiny_model)
    assert_faithful(clips["cut"], out, False)


def test_progress_reports_every_batch(clips, tiny_model, tmp_path):
    seen = []
    colorize_video(clips["audio"], tmp_path / "p.mp4", tiny_model, batch_frames=8, progress=seen.append)
    assert [p.done for p in seen[:-1]] == [8, 16, 24, 25]
    assert seen[-1].done == seen[-1].total == 25 and seen[-1].seconds_left == 0
    assert all(p.total >= p.done and p.elapsed >= 0 and p.seconds_left >= 0 for p in seen)


@pytest.mark.parametrize("how", ["return False", "Ctrl-C"])
def test_cancelling_leaves_nothing(clips, tiny_model, tmp_path, how):
    out = tmp_path / "never.mp4"

    def stop(p):
        if how == "Ctrl-C":
            raise KeyboardInterrupt
        return False

    with pytest.raises(VideoCancelled if how == "return False" else KeyboardInterrupt) as e:
        colorize_video(clips["audio"], out, tiny_model, batch_frames=4, progress=stop)
    if how == "return False":
        assert isinstance(e.value, ColorizeError) and "\n" not in str(e.value)
    assert not out.exists() and leftovers(tmp_path) == []
    assert ffmpeg_children() == []


def _bad(clips, tmp_path, kind):
    if kind == "empty":
        p = tmp_path / "empty.mp4"
        p.write_bytes(b"")
    elif kind == "text":
        p = tmp_path / "notes.mp4"
        p.write_text("not a video\n")
    elif kind == "truncated":
        p = tmp_path / "truncated.mp4"
        p.write_bytes(clips["audio"].read_bytes()[:3000])  # the index (at the end) is gone
    elif kind == "partial":
        p = clips["partial"]  # index present, frames missing
    elif kind == "missing":
        p = tmp_path / "nope.mp4"
    else:
        p = clips["audio_only"]
    return p


@pytest.mark.parametrize(
    "kind, words",
    [
        ("empty", "empty"),
        ("text", "not a video"),
        ("truncated", "not a complete"),
        ("partial", "truncated"),
        ("missing", "no such file"),
        ("audio_only", "no video stream"),
    ],
)
def test_bad_videos_are_one_line_errors(clips, tiny_model, tmp_path, kind, words):
    src, out = _bad(clips, tmp_path, kind), tmp_path / "out" / "x.mp4"
    earlier = set(ffmpeg_children())  # an ffmpeg another test left ending is not this call's
    with pytest.raises(ColorizeError) as e:
        colorize_video(src, out, tiny_model)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(str(src)) and words in msg, msg
    assert not out.parent.exists()  # not even the output folder
    assert set(ffmpeg_children()) - earlier == set()


@pytest.mark.parametrize(
    "limits, words",
    [
        (VideoLimits(max_seconds=0.5), "over the limit of 0.5 s"),
        (VideoLimits(max_pixels=5000), "over the limit of 0.01 MP"),
    ],
)
def test_limits(clips, tiny_model, tmp_path, limits, words):
    with pytest.raises(ColorizeError) as e:
        colorize_video(clips["audio"], tmp_path / "x.mp4", tiny_model, limits=limits)
    assert str(e.value).startswith(str(clips["audio"])) and words in str(e.value)
    assert list(tmp_path.iterdir()) == []


def test_never_overwrites_the_input(clips, tiny_model, tmp_path):
    src = tmp_path / "in.mp4"
    src.write_bytes(clips["gray"].read_bytes())
    with pytest.raises(ColorizeError, match="overwrite the input"):
        colorize_video(src, src, tiny_model)
    assert src.read_bytes() == clips["gray"].read_bytes() and leftovers(tmp_path) == []


def test_encoder_failure_is_one_line_naming_the_output(clips, tiny_model, tmp_path):
    out = tmp_path / "enc.mp4"
    with pytest.raises(ColorizeError) as e:
        colorize_video(clips["gray"], out, tiny_model, preset="no-such-preset")
    assert str(e.value).startswith(f"{out}: ") and "preset" in str(e.value) and "\n" not in str(e.value), str(e.value)
    assert list(tmp_path.iterdir()) == [] and ffmpeg_children() == []


def test_bad_vividness_is_refused_up_front(clips, tiny_model, tmp_path):
    with pytest.raises(ColorizeError, match="vividness"):
        colorize_video(clips["gray"], tmp_path / "v.mp4", tiny_model, vividness=7)
    assert list(tmp_path.iterdir()) == []


def test_failed_job_replaces_nothing(clips, tiny_model, tmp_path):
    """An existing destination survives a failed job untouched."""
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"previous result")
    with pytest.raises(ColorizeError):
        colorize_video(clips["partial"], out, tiny_model)
    assert out.read_bytes() == b"previous result" and leftovers(tmp_path) == []


def test_cli_video(clips, tiny_model_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COLORIZE_MODELS", str(tiny_model_dir))
    out = tmp_path / "cli.mp4"
    assert main(["video", str(clips["audio"]), "-o", str(out), "--vividness", "1.5", "--no-stabilize"]) == 0
    assert probe_video(out).has_audio and len(decode(out)) == 25
    capsys.readouterr()
    assert main(["video", str(clips["audio_only"]), "-o", str(tmp_path / "y.mp4")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"{clips['audio_only']}: has no video stream (audio only?)"
    assert main(["video", str(clips["partial"]), "-o", str(tmp_path / "z.mp4")]) == 1
    last = capsys.readouterr().err.strip().split("\r")[-1].strip()
    assert last.startswith(f"{clips['partial']}: is truncated or damaged") and "\n" not in last
    assert not (tmp_path / "z.mp4").exists() and leftovers(tmp_path) == []


# --- probing: pure parsing of the probe's framecrc data (and of ffmpeg's log, for messages) -------------

PHONE = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'fire.mp4':
  Duration: 00:00:02.38, start: 0.000000, bitrate: 5996 kb/s
  Stream #0:0[0x1](eng): Video: h264 (Baseline) (avc1 / 0x31637661), yuv420p(progressive), 1280x720, 4513 kb/s, SAR 1:1 DAR 16:9, 10.51 fps, 90k tbr, 90k tbn (default)
    Side data:
      Display Matrix: rotation of -90.00 degrees
  Stream #0:1[0x2](eng): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, mono, fltp, 128 kb/s (default)
Stream mapping:
"""  # noqa: E501 - ffmpeg's log, verbatim


def crc_text(streams, packets):
    """framecrc output: streams = [(kind, codec, time base, size or None)], packets = [(stream, pts, duration)]."""
    lines = []
    for i, (kind, codec, tb, size) in enumerate(streams):
        lines += [f"#tb {i}: {tb}", f"#media_type {i}: {kind}", f"#codec_id {i}: {codec}"]
        if size:
            lines.append(f"#dimensions {i}: {size}")
    lines += [f"{st}, {pts}, {pts}, {dur}, 1000, 0x12345678" for st, pts, dur in packets]
    return "\n".join(lines) + "\n"


# 25 frames over 2.38 s at varying intervals (a phone's variable rate), stored landscape, shown portrait
PHONE_PTS = [round(i * 2.38 / 25 * 90000 + (1500 if i % 3 == 1 else 0)) for i in range(25)]
PHONE_CRC = crc_text(
    [
        ("video", "h264", "1/90000", "1280x720"),
        ("video", "rawvideo", "1/30", "720x1280"),
        ("audio", "aac", "1/48000", None),
    ],
    [(0, pts, 8568) for pts in PHONE_PTS] + [(1, 0, 1), (2, 0, 1024)],
)

COVER = """Input #0, matroska,webm, from 'x.mkv':
  Duration: N/A, start: 0.000000, bitrate: N/A
  Stream #0:0: Video: mjpeg (Baseline), yuvj420p(pc, bt470bg/unknown/unknown), 300x300, 90k tbr, 90k tbn (attached pic)
  Stream #0:1: Video: h264 (High), yuv420p(tv, bt709, progressive), 720x480 [SAR 8:9 DAR 4:3], 29.97 fps, 29.97 tbr, 1k tbn
  Stream #0:2: Audio: mp3 (mp3float), 44100 Hz, stereo, fltp
"""  # noqa: E501 - ffmpeg's log, verbatim
COVER_CRC = crc_text(
    [
        ("video", "h264", "1/1000", "720x480"),
        ("video", "rawvideo", "1001/30000", "720x480"),
        ("audio", "mp3", "1/44100", None),
    ],
    [(0, round(i * 1001 / 30), 33) for i in range(300)] + [(1, 0, 1), (2, 0, 1152)],
)


def test_parse_probe():
    info = parse_probe("fire.mp4", PHONE, PHONE_CRC)
    assert (info.width, info.height, info.rotation) == (720, 1280, 90)  # upright size; clockwise turn
    assert info.fps == pytest.approx(10.5, abs=0.01) and info.duration == pytest.approx(2.38, abs=0.001)
    assert info.frames == 25 and info.stream == 0
    assert info.has_audio and info.audio_codec == "aac" and info.codec == "h264" and info.pix_fmt == "yuv420p"
    info = parse_probe("x.mkv", COVER, COVER_CRC)
    assert (info.stream, info.width, info.height, info.codec) == (1, 720, 480, "h264")  # cover art skipped
    assert info.rate == exact_rate(29.97) and info.rate.denominator == 1001  # ffmpeg's exact rate, agreeing
    assert info.duration == pytest.approx(300 * 1001 / 30000, abs=0.002) and info.frames == 300
    assert info.audio_codec == "mp3"
    with pytest.raises(ColorizeError, match="no video stream"):
        parse_probe("a.mkv", COVER.replace("Video: h264", "Subtitle: ass"), "")
    with pytest.raises(ColorizeError, match="still image"):
        parse_probe("a.png", "Input #0, png_pipe, from 'a.png':\n", "")
    assert exact_rate(25.0) == 25 and exact_rate(23.98) * 1001 == 24000


# --- temporal stabilisation on its own ------------------------------------------------------------------


def scene(shift=0, h=64, w=96, seed=0):
    """A textured L image (0..100) moved `shift` pixels to the right."""
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.uniform(10, 90, (h, w + 64)).astype(np.float32), (0, 0), 2.0)
    return np.ascontiguousarray(base[:, 32 - shift : 32 - shift + w])


def test_stabiliser_damps_flicker_on_a_still_scene(tiny_model):
    L = scene()
    base = tiny_model.run(L[None])[0]
    rng = np.random.default_rng(1)
    stab = TemporalStabilizer(key_interval=1)
    naive, steady = [], []
    for _ in range(20):
        raw = base + rng.normal(0, 3, base.shape).astype(np.float32)  # an unsure network
        naive.append(tiny_model.to_ab(raw[None])[0])
        steady.append(tiny_model.to_ab(stab.apply(stab.track(L), raw)[None])[0])
    flicker = [np.abs(np.diff(np.stack(x[5:]), axis=0)).mean() for x in (naive, steady)]
    assert flicker[1] < 0.5 * flicker[0], flicker
    assert stab.cuts == 0 and stab.predicted == 20


def test_stabiliser_follows_motion_without_smearing(tiny_model):
    """A pattern sliding right: carried colour stays on the moved content, not where it was."""
    stab = TemporalStabilizer(key_interval=1)
    for t in range(12):
        L = scene(2 * t)
        fresh = tiny_model.run(L[None])[0]
        out = stab.apply(stab.track(L), fresh)
        assert stab.cuts == 0
    got, want = tiny_model.to_ab(out[None])[0], tiny_model.to_ab(fresh[None])[0]
    still = tiny_model.to_ab(tiny_model.run(scene(2 * 11 - 8)[None]))[0]  # where colour would be if it lagged
    err = np.abs(got - want)[:, :, 2:-2].mean()
    assert err < 0.25 * np.abs(still - want)[:, :, 2:-2].mean(), err


def test_stabiliser_restarts_at_a_scene_cut(tiny_model):
    stab = TemporalStabilizer()
    for t in range(6):
        m = stab.track(scene(t))
        stab.apply(m, tiny_model.run(scene(t)[None])[0] if m.key else None)
    other = 100 - scene(seed=7) * 0.5  # a different, much brighter picture
    raw = tiny_model.run(other[None])[0]
    m = stab.track(other)
    assert m.cut and m.key and stab.cuts == 1
    np.testing.assert_allclose(tiny_model.to_ab(stab.apply(m, raw)[None]), tiny_model.to_ab(raw[None]), atol=1e-3)


def test_key_frames(tiny_model):
    stab = TemporalStabilizer(key_interval=2)
    keys = []
    for t in range(6):
        m = stab.track(scene(t))
        keys.append(m.key)
        if m.key:
            stab.apply(m, tiny_model.run(scene(t)[None])[0])
        else:
            assert stab.apply(m).shape == tiny_model.run(scene(t)[None])[0].shape
    assert keys == [True, False, True, False, True, False]
    with pytest.raises(ValueError):
        TemporalStabilizer().apply(TemporalStabilizer().track(scene()))


def test_warp_planes_moves_every_plane():
    rng = np.random.default_rng(0)
    planes = rng.random((7, 5, 6)).astype(np.float32)
    flow = np.zeros((5, 6, 2), np.float32)
    flow[..., 0] = 1  # each pixel takes the value one to its right
    out = warp_planes(planes, flow)
    np.testing.assert_allclose(out[:, :, :-1], planes[:, :, 1:], atol=1e-6)
