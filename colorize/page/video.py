"""The page's video settings, preview and job, without Streamlit.

A hosted page shares one small CPU among its visitors, so it colorizes shorter and smaller clips
than the command line: `page_limits` (set with COLORIZE_VIDEO_SECONDS and COLORIZE_VIDEO_MEGAPIXELS)
are shown before upload and checked before any work. `preview_clip` cuts the first seconds of a
clip so a visitor sees the colours at their vividness before the whole clip is rendered, and
`colorize_clip` does either job in a folder the page removes afterwards.
"""

from dataclasses import dataclass
from pathlib import Path

from ..video import VideoInfo, VideoLimits, colorize_video, cut_preview
from .gallery import SAMPLES_DIR
from .memory import env_number
from .names import display_name, output_name
from .vividness import for_vividness

PAGE_VIDEO_SECONDS = 30.0  # about a minute of work on two shared cores at 1280x720
PAGE_VIDEO_PIXELS = 1280 * 720
PREVIEW_SECONDS = 3.0
SAMPLE_VIDEO = SAMPLES_DIR / "rocket-pan.mp4"


@dataclass
class VideoResult:
    """A colorized clip (or its preview) as the page offers it."""

    data: bytes  # H.264 MP4
    vividness: float  # the page's vividness it was made at
    preview: bool  # only the first PREVIEW_SECONDS
    file_name: str


@dataclass
class ShelfVideo:
    """A visitor's clip on the shelf (colorize.page.memory): its bytes, the only copy the server keeps."""

    name: str
    data: bytes
    info: VideoInfo | None = None  # once probed
    result: VideoResult | None = None  # the latest one made


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


def sample_video():
    """The sample clip's path, or None where it is not installed."""
    return SAMPLE_VIDEO if SAMPLE_VIDEO.is_file() else None


def write_clip(video, folder):
    """The clip's bytes as a file in `folder` (named after no part of the upload but its suffix)."""
    path = Path(folder) / "upload" / ("clip" + Path(display_name(video.name)).suffix.lower()[:6])
    path.parent.mkdir()
    path.write_bytes(video.data)
    return path


def preview_clip(src, dst, seconds=PREVIEW_SECONDS):
    """Write the first `seconds` of the video `src` (with its sound) to `dst`, re-encoded so the cut
    is exact; raises ColorizeError naming `src` if ffmpeg cannot."""
    return cut_preview(src, dst, seconds)


def colorize_clip(video, src, folder, model, vividness, limits, preview, progress):
    """Colorize the clip at `src` (or its first PREVIEW_SECONDS) inside `folder` at the page's
    vividness; `progress` is colorize_video's. Returns the VideoResult (colorize.video.VideoCancelled
    when `progress` stops it)."""
    if preview:
        src = preview_clip(src, Path(folder) / "preview.mp4")
    dst = Path(folder) / "colorized.mp4"
    render_model, v = for_vividness(model, vividness)
    colorize_video(src, dst, render_model, vividness=v, progress=progress, limits=limits)
    name = output_name(video.name, "mp4")
    return VideoResult(
        data=dst.read_bytes(),
        vividness=vividness,
        preview=preview,
        file_name=name.replace("_colorized.", "_preview.") if preview else name,
    )
