"""The page's video settings, preview and job, without Streamlit.

A hosted page shares one small CPU and about 1 GB among its visitors, so it colorizes shorter and
smaller clips than the command line: `page_limits` (set with COLORIZE_VIDEO_SECONDS and
COLORIZE_VIDEO_MEGAPIXELS) are shown before upload and checked before any work. A clip lives on disk
(`ShelfVideo`: the upload is written there as it arrives, never kept in memory) and counts in the
page's budget with its result. `preview_clip` cuts the first seconds of a clip so a visitor sees the
colours at their vividness before the whole clip is rendered, and `colorize_clip` does either job in
a folder the page removes afterwards. Jobs take turns (colorize.page.memory.WorkTurns: one or two at
once, the others wait in line) and reserve the memory they need (`job_bytes`); a `JobControl` stops
one from any thread at once, ffmpeg processes included (Cancel, or a page that closed).
"""

import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from ..video import MAX_DECODE_PIXELS, VideoInfo, VideoLimits, colorize_video, cut_preview, stop_processes_using
from .gallery import SAMPLES_DIR
from .memory import MB, env_number
from .names import display_name, output_name
from .vividness import for_vividness

PAGE_VIDEO_SECONDS = 30.0  # about a minute of work on two shared cores at 1280x720
PAGE_VIDEO_PIXELS = 1280 * 720
PREVIEW_SECONDS = 3.0
SAMPLE_VIDEO = SAMPLES_DIR / "rocket-pan.mp4"
VIDEO_SUFFIXES = ("mp4", "mov", "m4v", "avi", "mkv", "webm")
# What a job takes at its peak, its two ffmpeg processes included: at 1280x720, in batches of
# JOB_BATCH frames, the Python side about 130 MB, the decoder and the encoder 40 and 100 of their own
# (their RSS, 100 and 160 MB, includes the ffmpeg binary, which they share).
JOB_BYTES = 40 * MB
JOB_BYTES_PER_PIXEL = 330
JOB_BATCH = 4  # frames per network run: half the command line's 8, half the frames in flight


@dataclass
class VideoResult:
    """A colorized clip (or its preview) as the page offers it: an H.264 MP4 file on disk."""

    path: Path
    vividness: float  # the page's vividness it was made at
    preview: bool  # only the first PREVIEW_SECONDS
    file_name: str

    @property
    def nbytes(self):
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def read(self):
        return self.path.read_bytes()

    @property
    def data(self):
        """The MP4's bytes (read from disk)."""
        return self.read()

    def discard(self):
        self.path.unlink(missing_ok=True)


@dataclass
class ShelfVideo:
    """A visitor's clip on the shelf (colorize.page.memory): a file on disk, never its bytes in memory."""

    name: str
    path: Path
    size: int  # the file's bytes, as counted in the page's budget
    owned: bool = True  # the page wrote this file (an upload) and deletes it with the clip; not the sample
    info: VideoInfo | None = None  # once probed
    result: VideoResult | None = None  # the latest one made
    busy: bool = False  # a job is running on it (it cannot give way meanwhile)

    @property
    def nbytes(self):
        """What the clip holds: its file and its latest result."""
        return self.size + (self.result.nbytes if self.result else 0)

    def set_result(self, result):
        if self.result is not None and (result is None or self.result.path != result.path):
            self.result.discard()
        self.result = result

    def discard(self):
        """Delete the files this clip owns (its upload and result)."""
        self.set_result(None)
        if self.owned:
            self.path.unlink(missing_ok=True)


def page_limits():
    """The clips this page agrees to colorize (environment variables override the defaults)."""
    seconds = env_number("COLORIZE_VIDEO_SECONDS", PAGE_VIDEO_SECONDS, 0.1)
    megapixels = env_number("COLORIZE_VIDEO_MEGAPIXELS", PAGE_VIDEO_PIXELS / 1e6, 0.01)
    return VideoLimits(max_seconds=float(seconds), max_pixels=int(round(megapixels * 1e6)))


def describe_limits(limits):
    """'30 seconds and 1280×720 (0.92 megapixels) per frame' for the page."""
    pixels = limits.max_pixels
    common = {1280 * 720: "1280×720", 1920 * 1080: "1920×1080", 854 * 480: "854×480", 640 * 360: "640×360"}
    size = common.get(pixels, f"{pixels / 1e6:.2f} megapixels")
    return f"{limits.max_seconds:g} seconds", size


def describe_video(info):
    """'4.0 s, 480×320, 25 frames per second, no sound.' for the page."""
    length = "unknown length" if info.duration is None else f"{info.duration:.1f} s"
    sound = "with sound" if info.has_audio else "no sound"
    return f"{length}, {info.width}×{info.height}, {info.fps:.3g} frames per second, {sound}."


def is_video_name(name):
    """Whether an upload's name says it is a clip (the page's video uploader takes only these)."""
    return Path(display_name(name)).suffix.lower().lstrip(".") in VIDEO_SUFFIXES


def clip_suffix(name):
    """The suffix a clip's file gets on disk: its own if it is a video's, else none (no part of the
    visitor's name is ever used as a path)."""
    suffix = Path(display_name(name)).suffix.lower()
    return suffix if suffix.lstrip(".") in VIDEO_SUFFIXES else ""


def sample_video():
    """The sample clip's path, or None where it is not installed."""
    return SAMPLE_VIDEO if SAMPLE_VIDEO.is_file() else None


def job_bytes(info):
    """The memory a job on this clip takes at its peak, its ffmpeg processes included (what its turn reserves)."""
    return JOB_BYTES + JOB_BYTES_PER_PIXEL * info.pixels


def preview_clip(src, dst, seconds=PREVIEW_SECONDS, max_pixels=MAX_DECODE_PIXELS):
    """Write the first `seconds` of the video `src` (with its sound) to `dst`, re-encoded so the cut
    is exact; raises ColorizeError naming `src` if ffmpeg cannot."""
    return cut_preview(src, dst, seconds, max_pixels)


class JobControl:
    """Stops a running job from any thread: `stop()` makes its progress callback say stop, and ends at
    once every ffmpeg process working on a file in its folder (a job blocked inside ffmpeg, muxing or
    cutting, never reaches a progress callback)."""

    def __init__(self, folder):
        self.folder = str(folder)
        self.stopped = threading.Event()

    def stop(self):
        self.stopped.set()
        stop_processes_using(self.folder)

    def go_on(self, _progress=None):
        """A progress callback's answer: False once stopped."""
        return not self.stopped.is_set()


def colorize_clip(video, folder, model, vividness, limits, preview, progress, keep_in):
    """Colorize the clip (or its first PREVIEW_SECONDS) inside `folder` at the page's vividness;
    `progress` is colorize_video's. The result is moved into the folder `keep_in`. Returns the
    VideoResult (colorize.video.VideoCancelled when `progress` stops it)."""
    src = video.path
    if preview:
        src = preview_clip(src, Path(folder) / "preview.mp4", max_pixels=limits.max_pixels)
    dst = Path(folder) / "colorized.mp4"
    render_model, v = for_vividness(model, vividness)
    colorize_video(src, dst, render_model, vividness=v, progress=progress, limits=limits, batch_frames=JOB_BATCH)
    name = output_name(video.name, "mp4")
    kept = Path(keep_in) / f"result-{os.urandom(6).hex()}.mp4"
    shutil.move(dst, kept)
    return VideoResult(
        path=kept,
        vividness=vividness,
        preview=preview,
        file_name=name.replace("_colorized.", "_preview.") if preview else name,
    )
