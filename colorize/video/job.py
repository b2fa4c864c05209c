"""Colorize a video: stream frames out of ffmpeg, colorize them in batches, stream them into a second ffmpeg.

decode (ffmpeg, upright RGB) -> L -> model (one run per batch) -> temporal stabilisation of the colour
-> recombine with each frame's own L -> encode (H.264 yuv420p + the source's audio, ffmpeg).
Memory holds a few batches of frames whatever the video's length. The output is written to a
temporary file next to the destination and renamed at the very end: a failure, a cancellation or
Ctrl-C leaves no output, no temporary file and no ffmpeg process behind.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
from numpy.typing import NDArray

from ..atomic import open_temp, remove_stale_temps, temp_suffix
from ..errors import ColorizeError
from ..lab import lightness
from ..model import check_vividness
from ..pipeline import Prediction, render
from ..upsample import resize
from .ffmpeg import FrameReader, FrameWriter
from .probe import VideoInfo, probe_video
from .stabilize import TemporalStabilizer

if TYPE_CHECKING:
    from ..model import ColorModel

BATCH_FRAMES = 8
RENDER_THREADS = 1  # rendering overlaps the next batch's flow and network (a second thread only adds
# contention on two cores: measured slower and more CPU per frame)
# The network sees each frame at this long side (the model's own default, 256, is for photos): video
# needs ~30 frames/s on two cores, colour is smooth and low-resolution anyway (guided upsampling
# restores the edges from each frame's full L), and the bundled model was trained on 144 px photos.
VIDEO_NETWORK_SIDE = 160


class VideoCancelled(ColorizeError):
    """The progress callback asked to stop; nothing was written."""


@dataclass(frozen=True)
class VideoLimits:
    """What this installation agrees to colorize (the page keeps jobs short; the CLI can raise them)."""

    max_seconds: float = 120.0
    max_pixels: int = 1920 * 1080

    def check(self, info: VideoInfo) -> None:
        name = info.path
        if info.pixels > self.max_pixels:
            raise ColorizeError(
                name,
                f"is {info.width}x{info.height} = {info.pixels / 1e6:.2f} MP per frame, over the "
                f"limit of {self.max_pixels / 1e6:.2f} MP",
            )
        # The longest stream counts: a 2 s clip may carry hours of sound, which would be encoded too.
        if info.duration is not None and info.duration > self.max_seconds:
            video = info.video_duration
            which = (
                f" (its audio track; the video alone is {video:.1f} s)"
                if video is not None and video < info.duration and video <= self.max_seconds
                else ""
            )
            raise ColorizeError(name, f"is {info.duration:.1f} s long{which}, over the limit of {self.max_seconds:g} s")


@dataclass(frozen=True)
class VideoProgress:
    """What a progress callback receives after each batch of frames."""

    done: int  # frames colorized so far
    total: int  # frames expected (an estimate from the duration until the end)
    elapsed: float  # seconds since the job started
    seconds_left: float  # estimate

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0


def colorize_video(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    model: ColorModel,
    vividness: float | None = None,
    stabilize: bool = True,
    progress: Callable[[VideoProgress], bool | None] | None = None,
    limits: VideoLimits = VideoLimits(),
    batch_frames: int = BATCH_FRAMES,
    network_side: int | None = VIDEO_NETWORK_SIDE,
    upsample: str = "guided",
    crf: int = 18,
    preset: str = "veryfast",
) -> VideoInfo:
    """Colorize the video file `src` into the MP4 file `dst`; returns the source's VideoInfo.

    `progress(p)` is called with a VideoProgress after each batch; returning False cancels the job
    (VideoCancelled is raised). Bad input, limits and ffmpeg failures raise ColorizeError.
    `network_side` is the long side of the network's input (None: the model's own size)."""
    src, dst = os.fspath(src), os.fspath(dst)
    if vividness is not None:
        vividness = check_vividness(vividness)  # before any work starts
    info = probe_video(src, max_pixels=limits.max_pixels)
    limits.check(info)
    _check_destination(src, dst)
    folder = os.path.dirname(os.path.abspath(dst))
    made_folder = not os.path.isdir(folder)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise ColorizeError(folder, f"cannot create the output folder ({e.strerror or e})") from None
    # the scaled-mean decode wants the carried estimate warped bilinearly (see stabilize.warp_planes)
    warp = cv2.INTER_LINEAR if model.info.mean_decode is not None else cv2.INTER_CUBIC
    stabilizer = TemporalStabilizer(interpolation=warp) if stabilize else None
    max_frames = int(limits.max_seconds * info.fps) + 2
    net_h, net_w = model.network_size(info.height, info.width, network_side)
    start = time.monotonic()
    tmp = _reserve_temp(folder)  # right before the `try` whose clean-up removes it (a signal can come anywhere)
    try:
        with (
            FrameReader(info, queue_frames=2 * batch_frames) as reader,
            FrameWriter(tmp, info, crf=crf, preset=preset, queue_frames=batch_frames, name=dst) as writer,
            ThreadPoolExecutor(RENDER_THREADS, thread_name_prefix="colorize-render") as pool,
        ):
            # futures of finished frames, in order; at most a batch waits
            rendered: deque[Future[NDArray[np.uint8]]] = deque()

            def write_ready(keep):
                while len(rendered) > keep:
                    writer.write(rendered.popleft().result())

            try:
                for frames in reader.batches(batch_frames):
                    if reader.count > max_frames:
                        raise ColorizeError(src, f"is longer than the limit of {limits.max_seconds:g} s")
                    Ls = [frame_lightness(f) for f in frames]
                    motions = [stabilizer.track(L) for L in Ls] if stabilizer else None
                    keys = [i for i in range(len(Ls)) if motions is None or motions[i].key]
                    raws = {}
                    if keys:  # one network run per batch
                        net_in = np.stack([resize(Ls[i], net_w, net_h) for i in keys])
                        raws = dict(zip(keys, model.run(net_in), strict=True))
                    for i, L in enumerate(Ls):
                        if stabilizer is not None and motions is not None:
                            raw = stabilizer.apply(motions[i], raws.get(i))
                        else:
                            raw = raws[i]
                        rendered.append(pool.submit(_render_frame, model, L, raw, vividness, upsample))
                        write_ready(batch_frames)
                    _report(progress, src, reader.count, info, start)
                write_ready(0)
            finally:
                for f in rendered:
                    f.cancel()
            writer.finish()
        _report(progress, src, reader.count, info, start, final=True)
        os.replace(tmp, dst)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if made_folder:
            try:
                os.rmdir(folder)  # only if still empty
            except OSError:
                pass
        raise
    return info


def _render_frame(model, L, raw, vividness, upsample):
    """Full-resolution uint8 RGB with the frame's own L (runs in the render threads)."""
    return render(model, Prediction(L, raw), vividness, upsample, dtype=np.uint8)


_GRAY_L = lightness(np.repeat(np.arange(256, dtype=np.float32).reshape(256, 1, 1) / 255, 3, axis=2))[:, 0]


def frame_lightness(frame):
    """L (0..100, float32) of a uint8 RGB frame; black-and-white frames (R = G = B) by table look-up."""
    r, g, b = frame[..., 0], frame[..., 1], frame[..., 2]
    if np.array_equal(r, g) and np.array_equal(g, b):
        return _GRAY_L[r]
    return lightness(frame.astype(np.float32) * np.float32(1 / 255))


def _report(progress, src, done, info, start, final=False):
    if progress is None:
        return
    total = done if final else max(done, info.frames or 0) or done
    elapsed = time.monotonic() - start
    left = 0.0 if final or not done else elapsed / done * max(0, total - done)
    if progress(VideoProgress(done, total, elapsed, left)) is False:
        raise VideoCancelled(src, "colorizing was cancelled; nothing was written")


def _reserve_temp(folder):
    """An empty, new file beside the destination, for ffmpeg to write and us to rename at the end;
    tagged with this host and process, so that when this process is killed outright (SIGKILL, a
    lost machine) the next job writing here removes it, as a batch does for photos."""
    remove_stale_temps([folder])
    try:
        fd, path = open_temp(folder, temp_suffix(".mp4"))
    except OSError as e:
        raise ColorizeError(folder, f"cannot write the output video here ({e.strerror or e})") from None
    os.close(fd)
    return path


def _check_destination(src, dst):
    if os.path.isdir(dst):
        raise ColorizeError(dst, "is a folder; give the output video's file name (e.g. out.mp4)")
    same = os.path.abspath(src) == os.path.abspath(dst)
    if not same and os.path.exists(dst):
        try:
            same = os.path.samefile(src, dst)
        except OSError:
            pass
    if same:
        raise ColorizeError(dst, "would overwrite the input video; choose another output name")
