"""Video in and out through the ffmpeg binary bundled with imageio-ffmpeg (there is no ffprobe).

`probe_video` parses what `ffmpeg -i` prints. `FrameReader` streams upright RGB frames out of one
ffmpeg process; `FrameWriter` streams RGB frames into another that encodes browser-playable H.264
(yuv420p, BT.709 tags, +faststart) and muxes the source's audio. Both keep only a few frames in
memory, drain ffmpeg's stderr so it can never block, and kill their process on any failure.

Sizes: frames come out of the reader already turned upright (ffmpeg applies the display matrix),
so `VideoInfo.width/height` are the upright size. yuv420p needs even sizes, so the writer repeats
the last column/row of an odd-sized frame (161x97 becomes 162x98) rather than dropping content.
"""
import os
import re
import subprocess
import threading
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from queue import Full, Queue

import numpy as np

from .errors import ColorizeError

MAX_FPS = 240.0


def ffmpeg_exe():
    try:
        import imageio_ffmpeg
        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as e:  # noqa: BLE001 - a missing binary is one problem whatever the cause
        raise ColorizeError("ffmpeg", f"the bundled ffmpeg binary is unavailable ({e})") from None


@dataclass(frozen=True)
class VideoInfo:
    """What `ffmpeg -i` says about a file's first real video stream (cover art is skipped)."""
    path: str
    width: int              # upright (after rotation) size of the frames the reader delivers
    height: int
    fps: float              # frames per second (the stream's average rate)
    rate: Fraction          # the same as an exact fraction (29.97 -> 30000/1001), given to ffmpeg
    duration: float | None  # seconds, None when the container does not say
    frames: int | None      # estimate: duration x fps
    has_audio: bool
    rotation: int           # 0/90/180/270: degrees clockwise a player turns the stored frames
    codec: str = ""         # e.g. "h264"
    pix_fmt: str = ""       # e.g. "yuv420p"
    audio_codec: str = ""   # e.g. "aac"; "" without audio
    stream: int = 0         # index of the video stream in the file

    @property
    def pixels(self):
        return self.width * self.height


def probe_video(path):
    """Width, height (upright), fps, duration, frame estimate, audio, rotation of a video file.

    Raises ColorizeError with a one-line reason for anything that is not a readable video."""
    name = os.fspath(path)
    if not os.path.exists(name):
        raise ColorizeError(name, "no such file")
    if os.path.isdir(name):
        raise ColorizeError(name, "is a folder, not a video file")
    if os.path.getsize(name) == 0:
        raise ColorizeError(name, "the file is empty (0 bytes)")
    try:
        proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", local(name)], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise ColorizeError(name, "ffmpeg took too long to read the file header") from None
    return parse_probe(name, proc.stderr.decode("utf-8", "replace"))


def parse_probe(name, text):
    """Turn `ffmpeg -i` output into a VideoInfo (a pure function, so it is testable on its own)."""
    if "Input #0" not in text:
        raise ColorizeError(name, _open_problem(text))
    fmt = re.search(r"Input #0, ([\w,]+), from", text)
    if fmt and (fmt.group(1) == "image2" or fmt.group(1).endswith("_pipe")):
        raise ColorizeError(name, "is a still image, not a video (colorize it with `colorize image`)")
    blocks = re.split(r"\n(?=\s*Stream #0:)", text)
    video = next((b for b in blocks if re.match(r"\s*Stream #0:\d+\S*: Video:", b)
                  and "(attached pic)" not in b.split("\n")[0]), None)
    audio = next((b for b in blocks if re.match(r"\s*Stream #0:\d+\S*: Audio:", b)), None)
    if video is None:
        raise ColorizeError(name, "has no video stream (audio only?)" if audio else "has no video stream")
    head = video.strip().split("\n")[0]
    index = int(re.match(r"\s*Stream #0:(\d+)", head).group(1))
    parts = _top_level_split(head.split(": Video:", 1)[1])
    codec = parts[0].split()[0] if parts and parts[0].split() else ""
    pix_fmt = re.match(r"\s*(\w*)", parts[1]).group(1) if len(parts) > 1 else ""
    size = next((m for m in (re.match(r"\s*(\d+)x(\d+)", p) for p in parts[1:]) if m), None)
    if size is None or int(size.group(1)) < 1 or int(size.group(2)) < 1:
        raise ColorizeError(name, "the video stream has no frame size (damaged file?)")
    width, height = int(size.group(1)), int(size.group(2))
    fps = _rate(parts, "fps") or _rate(parts, "tbr")
    if not fps:
        raise ColorizeError(name, "the video's frame rate is unknown or implausible")
    m = re.search(r"rotation of (-?[\d.]+) degrees", video, re.IGNORECASE)
    # ffmpeg prints the display matrix's counter-clockwise angle; report the clockwise turn, like
    # the old `rotate` tag (a phone's portrait video says 90).
    rotation = int(round(-float(m.group(1)) / 90.0)) * 90 % 360 if m else 0
    if rotation in (90, 270):
        width, height = height, width
    d = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", text)
    duration = int(d.group(1)) * 3600 + int(d.group(2)) * 60 + float(d.group(3)) if d else None
    rate = exact_rate(fps)
    audio_codec = ""
    if audio:
        am = re.match(r"\s*Stream #0:\d+\S*: Audio: (\w+)", audio)
        audio_codec = am.group(1) if am else "unknown"
    return VideoInfo(path=name, width=width, height=height, fps=float(rate), rate=rate, duration=duration,
                     frames=int(round(duration * float(rate))) if duration else None, has_audio=audio is not None,
                     rotation=rotation, codec=codec, pix_fmt=pix_fmt, audio_codec=audio_codec, stream=index)


def exact_rate(fps):
    """ffmpeg prints rates rounded to 2 decimals; recover NTSC rates (29.97 -> 30000/1001)."""
    ntsc = round(fps * 1.001)
    if abs(fps - round(fps)) > 0.005 and abs(fps * 1.001 - ntsc) < 0.01:
        return Fraction(ntsc * 1000, 1001)
    return Fraction(fps).limit_denominator(100)


def _rate(parts, unit):
    for p in parts:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)(k?) " + unit + r"\b.*", p)
        if m:
            v = float(m.group(1)) * (1000 if m.group(2) else 1)
            return v if 0 < v <= MAX_FPS else None
    return None


def _top_level_split(s):
    """Split on commas that are not inside parentheses or brackets."""
    parts, depth, cur = [], 0, ""
    for ch in s:
        depth += ch in "([" and 1 or ch in ")]" and -1 or 0
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return parts + [cur]


def _open_problem(text):
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    low = text.lower()
    if "no such file" in low:
        return "no such file"
    if "permission denied" in low:
        return "cannot be read (permission denied)"
    if "moov atom not found" in low:
        return "is not a complete video (truncated, or not a video file at all: no 'moov' index found)"
    if "invalid data found" in low:
        return "is not a video this app can read (ffmpeg found no valid media data)"
    return "cannot be opened as a video" + (f" ({_short(lines[-1])})" if lines else "")


def _short(line, n=160):
    line = re.sub(r"^(\[[^\]]*\]\s*)+", "", line.strip())
    return line if len(line) <= n else line[: n - 3] + "..."


class _Ffmpeg:
    """One ffmpeg child process whose stderr is drained (last lines kept) and which is always reaped."""

    def __init__(self, args, stdin=None, stdout=None):
        self.proc = subprocess.Popen([ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
                                      *args], stdin=stdin or subprocess.DEVNULL, stdout=stdout or subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, bufsize=0)
        self.errors = deque(maxlen=20)
        self.first = ""  # the first complaint is the cause; later ones are consequences
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()

    def _read_stderr(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self.first = self.first or line
                self.errors.append(line)

    def wait(self, timeout=None):
        rc = self.proc.wait(timeout)
        self._drain.join(5)
        return rc

    def reason(self):
        """' (what ffmpeg said first)', or '' when it said nothing."""
        return f" ({_short(self.first)})" if self.first else ""

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
        except subprocess.TimeoutExpired:
            pass
        self._drain.join(5)
        self.proc.stderr.close()


class FrameReader:
    """Upright uint8 RGB frames (H x W x 3) from a video, decoded ahead in a thread, a few at a time.

    Constant frame rate at `info.rate` (variable-rate sources are resampled to their average rate,
    so the output keeps the source's duration and stays in sync with its audio)."""

    def __init__(self, info, queue_frames=16):
        self.info = info
        self.frame_bytes = info.width * info.height * 3
        self.count = 0
        self._queue = Queue(maxsize=max(2, queue_frames))
        self._stop = threading.Event()
        self._ff = _Ffmpeg(["-i", local(info.path), "-map", f"0:{info.stream}", "-an", "-sn", "-dn",
                            "-fps_mode", "cfr", "-r", _fraction_arg(info.rate),
                            "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], stdout=subprocess.PIPE)
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self):
        out = self._ff.proc.stdout
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
            raise ColorizeError(name, "the video could not be decoded to the end" +
                                (self._ff.reason() or f" (ffmpeg exit code {rc})"))
        if self._ff.first and expected and self.count < 0.9 * expected - 1:
            raise ColorizeError(name, f"is truncated or damaged: only {self.count} of about {expected} frames "
                                      "could be decoded" + self._ff.reason())

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
        self.error = None
        self._queue = Queue(maxsize=max(2, queue_frames))
        args = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{self.width}x{self.height}",
                "-framerate", _fraction_arg(info.rate), "-i", "pipe:0"]
        if audio and info.has_audio:
            args += ["-i", local(info.path), "-map", "0:v:0", "-map", "1:a:0",
                     *(["-c:a", "copy"] if info.audio_codec == "aac" else ["-c:a", "aac", "-b:a", "160k"])]
        else:
            args += ["-map", "0:v:0"]
        # Tag BT.709 (and convert with it: ffmpeg negotiates the matrix from -colorspace), so browsers
        # and ffmpeg decode the colours the way they were encoded.
        args += ["-vf", "setparams=color_primaries=bt709:color_trc=bt709", "-colorspace", "bt709",
                 "-color_range", "tv", "-c:v", "libx264", "-preset", preset, "-crf", str(crf),
                 "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", "-y", local(self.path)]
        self._ff = _Ffmpeg(args, stdin=subprocess.PIPE)
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def write(self, frame):
        """Queue one uint8 RGB frame of the source's (upright) size."""
        if self.error:
            raise self.error
        if frame.shape[:2] != (self.height, self.width):
            frame = np.pad(frame, ((0, self.height - frame.shape[0]), (0, self.width - frame.shape[1]), (0, 0)),
                           mode="edge")
        while True:
            try:
                self._queue.put(np.ascontiguousarray(frame), timeout=0.1)
                return
            except Full:
                if self.error:
                    raise self.error from None

    def _pump(self):
        stdin = self._ff.proc.stdin
        while True:
            frame = self._queue.get()
            if frame is None:
                break
            if self.error:
                continue  # keep draining so write() never blocks
            try:
                stdin.write(memoryview(frame).cast("B"))
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
            raise ColorizeError(self.name, "the video could not be encoded" +
                                (self._ff.reason() or f" (ffmpeg exit code {rc})"))

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


def local(path):
    """A path ffmpeg reads as a plain file, whatever its name (no 'pipe:', 'http:', 'name:with:colons')."""
    return "file:" + os.path.abspath(path)


def _fraction_arg(rate):
    return f"{rate.numerator}/{rate.denominator}"


__all__ = ["FrameReader", "FrameWriter", "VideoInfo", "exact_rate", "ffmpeg_exe", "parse_probe", "probe_video"]
