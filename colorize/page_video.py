"""The page's video settings and preview, without Streamlit.

A hosted page shares one small CPU among its visitors, so it colorizes shorter and smaller clips
than the command line: `page_limits` (set with COLORIZE_VIDEO_SECONDS and COLORIZE_VIDEO_MEGAPIXELS)
are shown before upload and checked before any work. `preview_clip` cuts the first seconds of a
clip so a visitor sees the colours at their vividness before the whole clip is rendered.
"""

import os
import subprocess
from pathlib import Path

from .errors import ColorizeError
from .page_memory import _env_number
from .video import VideoLimits
from .videoio import ffmpeg_exe, local

PAGE_VIDEO_SECONDS = 30.0  # about a minute of work on two shared cores at 1280x720
PAGE_VIDEO_PIXELS = 1280 * 720
PREVIEW_SECONDS = 3.0
SAMPLE_VIDEO = Path(__file__).resolve().parent.parent / "samples" / "rocket-pan.mp4"


def page_limits():
    """The clips this page agrees to colorize (environment variables override the defaults)."""
    seconds = _env_number("COLORIZE_VIDEO_SECONDS", PAGE_VIDEO_SECONDS, 0.1)
    megapixels = _env_number("COLORIZE_VIDEO_MEGAPIXELS", PAGE_VIDEO_PIXELS / 1e6, 0.01)
    return VideoLimits(max_seconds=float(seconds), max_pixels=int(round(megapixels * 1e6)))


def describe_limits(limits):
    """'30 seconds and 1280×720 (0.92 megapixels) per frame' for the page."""
    pixels = limits.max_pixels
    common = {1280 * 720: "1280×720", 1920 * 1080: "1920×1080", 854 * 480: "854×480", 640 * 360: "640×360"}
    size = common.get(pixels, f"{pixels / 1e6:.2f} megapixels")
    return f"{limits.max_seconds:g} seconds", size


def sample_video():
    """The sample clip's path, or None where it is not installed."""
    return SAMPLE_VIDEO if SAMPLE_VIDEO.is_file() else None


def preview_clip(src, dst, seconds=PREVIEW_SECONDS):
    """Write the first `seconds` of the video `src` (with its sound) to `dst`, re-encoded so the cut
    is exact; raises ColorizeError naming `src` if ffmpeg cannot."""
    src, dst = os.fspath(src), os.fspath(dst)
    args = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-i",
        local(src),
        "-t",
        f"{seconds:.3f}",
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "12",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        local(dst),
    ]
    try:
        proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        raise ColorizeError(src, "cutting a preview took too long") from None
    if proc.returncode != 0 or not os.path.isfile(dst) or os.path.getsize(dst) == 0:
        reason = " ".join(proc.stderr.decode("utf-8", "replace").split())[:160] or f"exit status {proc.returncode}"
        raise ColorizeError(src, f"a preview could not be cut ({reason})")
    return dst
