"""The ffmpeg binary bundled with imageio-ffmpeg (there is no ffprobe) and the processes this package
runs on it.

`FrameReader` streams upright RGB frames out of one ffmpeg process; `FrameWriter` streams RGB frames
into another that encodes browser-playable H.264 (yuv420p, BT.709 tags, +faststart) and muxes the
source's audio, cut to the video's length. Both keep only a few frames in memory, drain ffmpeg's
stderr so it can never block, and kill their process on any failure. `cut_preview` cuts the first
seconds of a clip (the page's preview). Every process is registered while it runs, so a job can be
stopped at once from another thread (`stop_processes_using` its folder), and no decoder makes frames
larger than its caller allows (`-max_pixels`: refused from the frame's header, before allocating).

Sizes: frames come out of the reader already turned upright (ffmpeg applies the display matrix),
so `VideoInfo.width/height` are the upright size. yuv420p needs even sizes, so the writer repeats
the last column/row of an odd-sized frame (161x97 becomes 162x98) rather than dropping content.
"""

import io
import os
import re
import subprocess
import threading
from collections import deque
from queue import Full, Queue
from typing import IO

import numpy as np
from numpy.typing import NDArray

from ..errors import ColorizeError

# A decoder never makes a frame larger than this unless its caller allows more: ffmpeg allocates a
# frame at the size its header claims before anything can look at it (a 2 MB MJPEG clip whose frames
# claim 16000x16000 made it take 1.4 GB). 8K UHD.
MAX_DECODE_PIXELS = 7680 * 4320


def decode_limit(pixels):
    """ffmpeg's -max_pixels for frames of `pixels` (a little room for codecs that store padded sizes,
    1920x1088 for 1920x1080)."""
    return str(int(pixels * 1.05) + 4096)


def frame_size_problem(log):
    """A line about frames larger than the decoder's limit from ffmpeg's log (for a message only: the
    refusal itself is the decoder's), or None."""
    m = re.search(r"Picture size (\d+)x(\d+) exceeds specified max pixel count", log)
    if not m:
        return None
    w, h = int(m.group(1)), int(m.group(2))
    return f"its frames are {w}x{h} = {w * h / 1e6:.2f} MP, over the limit of"


# Every ffmpeg process this package runs, with its arguments, until it is reaped: a job's can be
# stopped at once from another thread (`stop_processes_using`), wherever the job is waiting.
_live: dict[subprocess.Popen, tuple[str, ...]] = {}
_live_lock = threading.Lock()


def start_ffmpeg(args, **popen) -> subprocess.Popen:
    """subprocess.Popen(args, **popen), registered until `reaped`."""
    proc = subprocess.Popen(args, **popen)
    with _live_lock:
        _live[proc] = tuple(map(str, args))
    return proc


def reaped(proc):
    with _live_lock:
        _live.pop(proc, None)


def stop_processes_using(path) -> int:
    """Kill every running ffmpeg process of this package whose arguments name `path` or a file under it
    (a job's folder: what it reads and writes); returns how many. Safe from any thread; the threads
    waiting on them see them end as if they had failed."""
    path = os.path.abspath(path)
    with _live_lock:
        procs = [p for p, args in _live.items() if any(path in a for a in args)]
    killed = 0
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            killed += 1
    return killed


def ffmpeg_exe() -> str:
    """The path of the ffmpeg binary that imageio-ffmpeg ships (or the one it finds on the system)."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError, OSError) as e:  # not installed; no binary found; one it cannot run
        raise ColorizeError("ffmpeg", f"the bundled ffmpeg binary is unavailable ({e})") from None


def pipe_of(stream: IO[bytes] | None) -> IO[bytes]:
    """A pipe of an ffmpeg process started with subprocess.PIPE for it (so never None)."""
    if stream is None:
        raise RuntimeError("ffmpeg was started without the pipe this reads or writes")
    return stream


def local(path):
    """A path ffmpeg reads as a plain file, whatever its name (no 'pipe:', 'http:', 'name:with:colons')."""
    return "file:" + os.path.abspath(path)


def _fraction_arg(rate):
    return f"{rate.numerator}/{rate.denominator}"


def short(line, n=160):
    """One line of ffmpeg's log, for a message: its [component] prefixes left out, at most n characters."""
    line = re.sub(r"^(\[[^\]]*\]\s*)+", "", line.strip())
    return line if len(line) <= n else line[: n - 3] + "..."


class _Ffmpeg:
    """One ffmpeg child process whose stderr is drained (last lines kept) and which is always reaped."""

    def __init__(self, args, stdin=None, stdout=None):
        self.proc = start_ffmpeg(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", *args],
            stdin=stdin or subprocess.DEVNULL,
            stdout=stdout or subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        self.errors: deque[str] = deque(maxlen=20)
        self.first = ""  # the first complaint is the cause; later ones are consequences
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()

    def _read_stderr(self):
        for raw in iter(pipe_of(self.proc.stderr).readline, b""):
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self.first = self.first or line
                self.errors.append(line)

    def wait(self, timeout=None):
        rc = self.proc.wait(timeout)
        reaped(self.proc)
        self._drain.join(5)
        return rc

    def reason(self):
        """' (what ffmpeg said first)', or '' when it said nothing."""
        return f" ({short(self.first)})" if self.first else ""

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe:
                try:
                    pipe.close()
                except OSError:
                    pass
        try:
            self.proc.wait(10)
            reaped(self.proc)
        except subprocess.TimeoutExpired:
            pass
        self._drain.join(5)
        pipe_of(self.proc.stderr).close()


class FrameReader:
    """Upright uint8 RGB frames (H x W x 3) from a video, decoded ahead in a thread, a few at a time.

    Constant frame rate at `info.rate` (variable-rate sources are resampled to their average rate,
    so the output keeps the source's duration and stays in sync with its audio)."""

    def __init__(self, info, queue_frames=16):
        self.info = info
        self.frame_bytes = info.width * info.height * 3
        self.count = 0
        self._queue: Queue[NDArray[np.uint8] | None] = Queue(maxsize=max(2, queue_frames))  # None: the end
        self._stop = threading.Event()
        # The stream the probe measured (the first video that is not cover art), turned upright the
        # same way; `-s` holds every frame to the size the probe saw decoded, so that a stream whose
        # size changes midway is scaled, never read as garbled rows.
        self._ff = _Ffmpeg(
            [
                # one decoding thread (frame threads each hold frames; decoding is never the slow
                # step), and no frame larger than a few times the probed one (a stream that grows
                # midway is scaled to it anyway)
                "-threads",
                "1",
                "-max_pixels",
                decode_limit(min(MAX_DECODE_PIXELS, max(4 * info.pixels, 1920 * 1080))),
                "-i",
                local(info.path),
                "-map",
                "0:V:0",
                "-an",
                "-sn",
                "-dn",
                "-fps_mode",
                "cfr",
                "-r",
                _fraction_arg(info.rate),
                "-s",
                f"{info.width}x{info.height}",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgb24",
                "pipe:1",
            ],
            stdout=subprocess.PIPE,
        )
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self):
        out = self._ff.proc.stdout
        if not isinstance(out, io.RawIOBase):  # started with bufsize=0: an unbuffered pipe we read into
            raise RuntimeError("ffmpeg's output is not an unbuffered pipe")
        try:
            while not self._stop.is_set():
                buf = bytearray(self.frame_bytes)
                view, got = memoryview(buf), 0
                while got < self.frame_bytes:
                    n = out.readinto(view[got:])
                    if not n:
                        break
                    got += n
                if got < self.frame_bytes:
                    break  # end of stream (a partial last frame is dropped)
                frame = np.frombuffer(buf, np.uint8).reshape(self.info.height, self.info.width, 3)
                if not self._put(frame):
                    return
        except (OSError, ValueError):
            pass  # the process was killed under us: the consumer already knows why
        self._put(None)

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def batches(self, size):
        """Lists of up to `size` frames until the video ends (then checks that it ended well)."""
        batch = []
        while True:
            frame = self._queue.get()
            if frame is None:
                break
            self.count += 1
            batch.append(frame)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch
        self._finish()

    def _finish(self):
        rc = self._ff.wait()
        name, expected = self.info.path, self.info.frames
        if self.count == 0:
            raise ColorizeError(name, "is truncated or damaged: no frame could be decoded" + self._ff.reason())
        if rc != 0:
            raise ColorizeError(
                name, "the video could not be decoded to the end" + (self._ff.reason() or f" (ffmpeg exit code {rc})")
            )
        if self._ff.first and expected and self.count < 0.9 * expected - 1:
            raise ColorizeError(
                name,
                f"is truncated or damaged: only {self.count} of about {expected} frames "
                "could be decoded" + self._ff.reason(),
            )

    def close(self):
        self._stop.set()
        self._ff.kill()
        self._thread.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FrameWriter:
    """Encodes uint8 RGB frames to H.264 yuv420p MP4 at `path`, muxing the source's first audio track.

    Frames are written to ffmpeg's stdin from a thread, so encoding overlaps colorizing."""

    def __init__(self, path, info, audio=True, crf=18, preset="veryfast", queue_frames=8, name=None):
        self.info, self.path = info, os.fspath(path)
        self.name = name or self.path  # for messages: the file the user asked for, not a temporary one
        self.width, self.height = info.width + info.width % 2, info.height + info.height % 2
        self.error: ColorizeError | None = None
        self._queue: Queue[NDArray[np.uint8] | None] = Queue(maxsize=max(2, queue_frames))  # None: the end
        args = [
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{self.width}x{self.height}",
            "-framerate",
            _fraction_arg(info.rate),
            "-i",
            "pipe:0",
        ]
        if audio and info.has_audio:
            video_seconds = info.duration if info.video_duration is None else info.video_duration
            args += [
                # the sound is cut to the video's length: a long track never makes a longer output
                *(["-t", f"{video_seconds:.6f}"] if video_seconds else []),
                "-i",
                local(info.path),
                "-map",
                "0:v:0",
                "-map",
                "1:a:0",
                *(["-c:a", "copy"] if info.audio_codec == "aac" else ["-c:a", "aac", "-b:a", "160k"]),
            ]
        else:
            args += ["-map", "0:v:0"]
        # Tag BT.709 (and convert with it: ffmpeg negotiates the matrix from -colorspace), so browsers
        # and ffmpeg decode the colours the way they were encoded.
        args += [
            "-vf",
            "setparams=color_primaries=bt709:color_trc=bt709",
            "-colorspace",
            "bt709",
            "-color_range",
            "tv",
            "-c:v",
            "libx264",
            "-preset",
            preset,
            "-crf",
            str(crf),
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            "-y",
            local(self.path),
        ]
        self._ff = _Ffmpeg(args, stdin=subprocess.PIPE)
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def write(self, frame):
        """Queue one uint8 RGB frame of the source's (upright) size."""
        if self.error:
            raise self.error
        if frame.shape[:2] != (self.height, self.width):
            frame = np.pad(
                frame, ((0, self.height - frame.shape[0]), (0, self.width - frame.shape[1]), (0, 0)), mode="edge"
            )
        while True:
            try:
                self._queue.put(np.ascontiguousarray(frame), timeout=0.1)
                return
            except Full:
                if self.error:
                    raise self.error from None

    def _pump(self):
        stdin = pipe_of(self._ff.proc.stdin)
        while True:
            frame = self._queue.get()
            if frame is None:
                break
            if self.error:
                continue  # keep draining so write() never blocks
            try:
                stdin.write(frame.data.cast("B"))
            except (OSError, ValueError):
                try:
                    self._ff.wait(5)  # it is exiting: let its last words reach the message
                except subprocess.TimeoutExpired:
                    pass
                self.error = ColorizeError(self.name, "the video encoder stopped" + self._ff.reason())
        try:
            stdin.close()
        except OSError:
            pass

    def finish(self):
        """Flush, close the encoder's input and wait until the file is complete."""
        self._queue.put(None)
        self._thread.join()
        rc = self._ff.wait()
        if self.error or rc != 0:
            raise ColorizeError(
                self.name, "the video could not be encoded" + (self._ff.reason() or f" (ffmpeg exit code {rc})")
            )

    def close(self):
        """Stop everything now (no-op after a successful finish)."""
        self._ff.kill()
        if self._thread.is_alive():
            self.error = self.error or ColorizeError(self.name, "aborted")
            while self._thread.is_alive():  # the pump drains the queue once writes fail
                try:
                    self._queue.put(None, timeout=0.1)
                    break
                except Full:
                    continue
            self._thread.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def cut_preview(src, dst, seconds, max_pixels=MAX_DECODE_PIXELS):
    """Write the first `seconds` of the video `src` (with its sound) to `dst`, re-encoded so the cut
    is exact; raises ColorizeError naming `src` if ffmpeg cannot (or its frames exceed `max_pixels`)."""
    src, dst = os.fspath(src), os.fspath(dst)
    args = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-max_pixels",
        decode_limit(max_pixels),
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
    proc = start_ffmpeg(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise ColorizeError(src, "cutting a preview took too long") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reaped(proc)
    if proc.returncode != 0 or not os.path.isfile(dst) or os.path.getsize(dst) == 0:
        reason = " ".join(err.decode("utf-8", "replace").split())[:160] or f"exit status {proc.returncode}"
        raise ColorizeError(src, f"a preview could not be cut ({reason})")
    return dst
