"""What a video file holds, read as data: `probe_video` runs ffmpeg once and reads its framecrc
output (stream parameters and packet timestamps), never the text ffmpeg prints for people, where a
title or tag can say anything (`Duration: 00:00:01.00`, `displaymatrix: rotation of -90.00 degrees`);
it decodes the first frame to learn the upright size the reader will deliver.
"""

import os
import re
import subprocess
import threading
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..errors import ColorizeError
from ..files import entry_problem
from .ffmpeg import (
    MAX_DECODE_PIXELS,
    decode_limit,
    ffmpeg_exe,
    frame_size_problem,
    local,
    pipe_of,
    reaped,
    short,
    start_ffmpeg,
)

MAX_FPS = 240.0


@dataclass(frozen=True)
class VideoInfo:
    """A file's first real video stream (cover art is skipped), as probe_video measured it."""

    path: str
    width: int  # upright (after rotation) size of the frames the reader delivers
    height: int
    fps: float  # frames per second (the stream's average rate)
    rate: Fraction  # the same as an exact fraction (29.97 -> 30000/1001), given to ffmpeg
    duration: float | None  # seconds: the longest of the streams an output keeps (the video and its
    # first audio track), from the packets' timestamps; None for a single frame of unknown length
    frames: int | None  # what the reader will deliver: video_duration x fps
    has_audio: bool
    rotation: int  # 0/90/180/270: degrees clockwise a player turns the stored frames
    codec: str = ""  # e.g. "h264"
    pix_fmt: str = ""  # e.g. "yuv420p"
    audio_codec: str = ""  # e.g. "aac"; "" without audio
    stream: int = 0  # index of the video stream in the file
    video_duration: float | None = None  # seconds of the video stream alone (None: as `duration`)
    audio_duration: float | None = None  # seconds of the first audio track (None: no audio, or unknown)

    @property
    def pixels(self) -> int:
        return self.width * self.height


# The probe: one ffmpeg run whose answer comes as data, not as text for people. Its framecrc output
# (stdout) lists, per stream, the time base, codec and frame size, then one line per packet:
#   stream 0: the video stream's packets, copied (not decoded): how many frames, over what time
#   stream 1: the same stream's first frame, decoded and turned upright as the reader will get it
#   stream 2: the first audio stream's packets, copied, if there is one
# Nothing a file's author writes (titles, tags, comments) appears there. ffmpeg's log (stderr)
# serves only for error messages, the container's name, and details shown to people (pixel
# format; the rotation, cross-checked against the frame sizes).
PROBE_ARGS = [
    "-map",
    "0:V:0",
    "-map",
    "0:V:0",
    "-c:v:0",
    "copy",
    "-c:v:1",
    "rawvideo",
    "-filter:v:1",
    "trim=end_frame=1",
]
PROBE_AUDIO_ARGS = ["-map", "0:a:0?", "-c:a", "copy"]
PROBE_TIMEOUT = 120
# Packets listed before the probe gives up: 2 hours of 60 fps video with its audio is under a
# million; a file of millions of tiny packets is refused instead of filling memory with the list.
MAX_PROBE_PACKETS = 2_000_000
PROBE_LOG_BYTES = 1 << 20  # ffmpeg's log is kept up to this (its description of the input comes first)
PROBE_READ_BYTES = 1 << 20  # the framecrc output is read in blocks of this, its packet lines parsed together


def probe_video(path: str | os.PathLike[str], max_pixels: int = MAX_DECODE_PIXELS) -> VideoInfo:
    """Width, height (upright), fps, duration, frame estimate, audio, rotation of a video file.

    Raises ColorizeError with a one-line reason for anything that is not a readable video, or whose
    frames are larger than `max_pixels` (refused by the decoder from the frame's header, before it
    allocates the frame)."""
    name = os.fspath(path)
    if not os.path.lexists(name):
        raise ColorizeError(name, "no such file")
    problem = entry_problem(name, "a video file")  # ffmpeg would wait forever on a pipe, read /dev/zero
    if problem:
        raise ColorizeError(name, problem)
    if os.path.getsize(name) == 0:
        raise ColorizeError(name, "the file is empty (0 bytes)")
    log, streams = _run_probe(name, audio=True, max_pixels=max_pixels)
    if not streams and "received no packets" in log:  # an audio track without a single packet
        log, streams = _run_probe(name, audio=False, max_pixels=max_pixels)
    decoded = streams.get(1)
    too_big = frame_size_problem(log)
    if too_big and (decoded is None or not decoded.packets):
        raise ColorizeError(name, f"{too_big} {max_pixels / 1e6:.2f} MP")
    return video_info(name, log, streams)


def _run_probe(name, audio, max_pixels=MAX_DECODE_PIXELS):
    """(ffmpeg's log, {stream index: _CrcStream}) of one probe run, read as it comes."""
    args = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-max_pixels",  # the first frame is decoded: never one larger than the caller takes
        decode_limit(max_pixels),
        "-i",
        local(name),
        *PROBE_ARGS,
        *(PROBE_AUDIO_ARGS if audio else []),
        "-flush_packets",  # its lines in full buffers, not one write per packet (half the time for hours of audio)
        "0",
        "-f",
        "framecrc",
        "pipe:1",
    ]
    proc = start_ffmpeg(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = pipe_of(proc.stdout), pipe_of(proc.stderr)
    log = bytearray()

    def keep_log():
        for chunk in iter(lambda: err.read(1 << 16), b""):
            log.extend(chunk[: max(0, PROBE_LOG_BYTES - len(log))])

    drain = threading.Thread(target=keep_log, daemon=True)
    drain.start()
    timer = threading.Timer(PROBE_TIMEOUT, proc.kill)
    timer.start()
    streams: dict[int, _CrcStream] = {}
    packets, rest = 0, b""
    try:
        for chunk in iter(lambda: out.read(PROBE_READ_BYTES), b""):
            block, _, rest = (rest + chunk).rpartition(b"\n")
            packets += read_crc_block(block, streams)
            if packets > MAX_PROBE_PACKETS:
                raise ColorizeError(name, f"has more than {MAX_PROBE_PACKETS:,} packets: far too long to colorize")
        packets += read_crc_block(rest, streams)
    finally:
        timed_out = not timer.is_alive()
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        reaped(proc)
        drain.join(5)
        out.close()
        err.close()
    if timed_out:
        raise ColorizeError(name, "ffmpeg took too long to read the file")
    return log.decode("utf-8", "replace"), streams


@dataclass
class _CrcStream:
    """One stream of the probe's framecrc output: its header, and its packets' timing in brief."""

    kind: str = ""
    codec: str = ""
    time_base: Fraction | None = None
    size: tuple[int, int] | None = None
    packets: int = 0  # with a timestamp
    first: int = 0  # lowest timestamp
    last: int = 0  # highest timestamp
    last_duration: int = 0  # the duration of the packet with the highest timestamp


NO_PTS = -(1 << 63)
_CRC_HEADER = re.compile(r"#(\w+) (\d+): (.*)")
_CRC_PACKET = re.compile(r"\s*(\d+),\s*(-?\d+),\s*(-?\d+),\s*(-?\d+),")


def read_crc_line(line, streams):
    """Add one line of framecrc output to `streams`; returns 1 for a packet line, else 0."""
    if line.startswith("#"):
        m = _CRC_HEADER.fullmatch(line.strip())
        if m:
            st, value = streams.setdefault(int(m.group(2)), _CrcStream()), m.group(3).strip()
            key = m.group(1)
            if key == "tb" and re.fullmatch(r"\d+/[1-9]\d*", value):
                st.time_base = Fraction(value)
            elif key == "media_type":
                st.kind = value
            elif key == "codec_id":
                st.codec = value
            elif key == "dimensions" and re.fullmatch(r"\d+x\d+", value):
                st.size = tuple(int(v) for v in value.split("x"))
        return 0
    m = _CRC_PACKET.match(line)
    if not m:
        return 0
    st = streams.setdefault(int(m.group(1)), _CrcStream())
    dts, pts, duration = int(m.group(2)), int(m.group(3)), int(m.group(4))
    pts = pts if pts != NO_PTS else dts
    if pts != NO_PTS:
        if not st.packets or pts < st.first:
            st.first = pts
        if not st.packets or pts >= st.last:
            st.last, st.last_duration = pts, duration
        st.packets += 1
    return 1


_CRC_PACKETS = re.compile(rb"^\s*(\d+),\s*(-?\d+),\s*(-?\d+),\s*(-?\d+),", re.MULTILINE)


def read_crc_block(block, streams):
    """Add whole lines of framecrc output (bytes) to `streams`, as read_crc_line does one by one, with
    the packet lines taken together (an hour of audio is 170,000 of them); returns how many."""
    for line in block.split(b"\n", 64):  # the headers come first
        if line.startswith(b"#"):
            read_crc_line(line.decode("ascii", "replace"), streams)
    found = _CRC_PACKETS.findall(block)
    if not found:
        return 0
    table = np.array(found).astype(np.int64)  # stream, dts, pts, duration
    pts = np.where(table[:, 2] != NO_PTS, table[:, 2], table[:, 1])
    for index in np.unique(table[:, 0]):
        st = streams.setdefault(int(index), _CrcStream())
        mine = (table[:, 0] == index) & (pts != NO_PTS)
        if not mine.any():
            continue
        times, durations = pts[mine], table[mine, 3]
        last = len(times) - 1 - int(np.argmax(times[::-1]))  # the latest packet holding the highest time
        if not st.packets or times.min() < st.first:
            st.first = int(times.min())
        if not st.packets or times[last] >= st.last:
            st.last, st.last_duration = int(times[last]), int(durations[last])
        st.packets += int(mine.sum())
    return len(found)


def video_info(name, log, streams):
    """Turn the probe's ffmpeg log (text) and its framecrc streams (read_crc_line) into a VideoInfo:
    a pure function. Sizes, rate, duration and codecs come from the framecrc data only."""
    if "Input #0" not in log:
        raise ColorizeError(name, _open_problem(log))
    fmt = re.search(r"^Input #0, ([\w,]+), from", log, re.MULTILINE)
    if fmt and (fmt.group(1) == "image2" or fmt.group(1).endswith("_pipe")):
        raise ColorizeError(name, "is a still image, not a video (colorize it with `colorize image`)")
    described = _describe_streams(log)
    copied, first = streams.get(0), streams.get(1)
    if copied is None or copied.kind != "video":
        if "matches no streams" in log or not any(kind == "Video" for kind, _ in described):
            audio = any(kind == "Audio" for kind, _ in described)
            raise ColorizeError(name, "has no video stream (audio only?)" if audio else "has no video stream")
        raise ColorizeError(name, "is truncated or damaged: no frame could be decoded" + _first_problem(log))
    if first is None or first.size is None or not first.packets:
        raise ColorizeError(name, "is truncated or damaged: no frame could be decoded" + _first_problem(log))
    width, height = first.size
    if width < 1 or height < 1:
        raise ColorizeError(name, "the video stream has no frame size (damaged file?)")
    rate, duration = _timing(copied, first)
    if rate is None:
        raise ColorizeError(name, "the video's frame rate is unknown or implausible")
    audio = streams.get(2)
    has_audio = audio is not None and audio.kind == "audio"
    audio_duration = _span(audio) if has_audio else None
    video_text = next((text for kind, text in described if kind == "Video"), "")
    return VideoInfo(
        path=name,
        width=width,
        height=height,
        fps=float(rate),
        rate=rate,
        duration=max(duration, audio_duration or 0.0) if duration is not None else audio_duration,
        frames=int(round(duration * float(rate))) if duration else None,
        has_audio=has_audio,
        rotation=_rotation(video_text, copied.size, first.size),
        codec=copied.codec,
        pix_fmt=_pix_fmt(video_text),
        audio_codec=audio.codec if has_audio else "",
        stream=_stream_index(video_text),
        video_duration=duration,
        audio_duration=audio_duration,
    )


def _span(st):
    """Seconds from a stream's first packet to the end of its last, or None when they do not say."""
    if st.time_base is None or not st.packets:
        return None
    tail = max(st.last_duration, 0)
    return float((st.last - st.first + tail) * st.time_base)


def _timing(copied, first):
    """(exact frame rate or None, duration in seconds or None) from the copied packets' timestamps.

    N frames at a constant rate span (N - 1) frame intervals from the first to the last timestamp.
    The rate ffmpeg chose for the decoded frames (its time base) is exact (30000/1001, not 29.97)
    and is used when it agrees with the packets' average; a variable-rate video gets its average."""
    tb = copied.time_base
    chosen = 1 / first.time_base if first.time_base else None
    chosen = chosen if chosen is not None and 0 < chosen <= MAX_FPS else None
    if tb is None or not copied.packets:
        return chosen, None
    rate = chosen
    if copied.packets >= 2 and copied.last > copied.first:
        average = Fraction(copied.packets - 1) / ((copied.last - copied.first) * tb)
        if not (chosen and abs(chosen / average - 1) < 0.01):
            rate = exact_rate(float(average)) if 0 < average <= MAX_FPS else None
    if rate is None:
        return None, None
    tail = copied.last_duration * tb if copied.last_duration > 0 else 1 / rate
    return rate, float((copied.last - copied.first) * tb + tail)


def _describe_streams(log):
    """[(kind, text)] for the input's streams as ffmpeg describes them for people, in order; cover
    art ("attached pic") left out. Only the input's section is read, and a stream's own lines end
    where the next stream (or the output's section) begins."""
    section = re.split(r"^(?:Stream mapping:|Output #0)", log, maxsplit=1, flags=re.MULTILINE)[0]
    blocks = re.split(r"\n(?=  Stream #0:)", section)
    found = []
    for block in blocks[1:]:
        head = block.split("\n", 1)[0]
        m = re.match(r"  Stream #0:\d+\S*: (Video|Audio|Subtitle|Data|Attachment):", head)
        if m and "(attached pic)" not in head:
            found.append((m.group(1), block))
    return found


def _pix_fmt(video_text):
    head = video_text.split("\n", 1)[0]
    parts = _top_level_split(head.split(": Video:", 1)[1]) if ": Video:" in head else []
    m = re.match(r"\s*(\w+)", parts[1]) if len(parts) > 1 else None
    return m.group(1) if m else ""


def _stream_index(video_text):
    m = re.match(r"\s*Stream #0:(\d+)", video_text)
    return int(m.group(1)) if m else 0


def _rotation(video_text, stored, upright):
    """Degrees clockwise a player turns the stored frames (0/90/180/270), for people to read.

    Taken only from a line of its own under "Side data:" (a title or tag is printed after its key,
    so it cannot pose as one), and only when it agrees with what the decoder did: a quarter turn
    swaps the frame's sides, anything else does not."""
    rotation = 0
    side = video_text.split("\n    Side data:\n", 1)
    if len(side) == 2:
        m = re.search(
            r"^\s+display ?matrix: rotation of (-?\d+(?:\.\d+)?) degrees\s*$", side[1], re.IGNORECASE | re.MULTILINE
        )
        # ffmpeg prints the display matrix's counter-clockwise angle; report the clockwise turn, like
        # the old `rotate` tag (a phone's portrait video says 90).
        rotation = int(round(-float(m.group(1)) / 90.0)) * 90 % 360 if m else 0
    if stored and upright and stored[0] != stored[1]:
        swapped = (stored[1], stored[0]) == tuple(upright)
        if swapped != (rotation in (90, 270)):
            rotation = 90 if swapped else 0
    return rotation


def _first_problem(log):
    """' (the first thing ffmpeg complained about)', or ''."""
    for line in log.splitlines():
        if line.startswith("[") and not line.startswith("[out#"):
            return f" ({short(line)})"
    return ""


def exact_rate(fps):
    """ffmpeg prints rates rounded to 2 decimals; recover NTSC rates (29.97 -> 30000/1001)."""
    ntsc = round(fps * 1.001)
    if abs(fps - round(fps)) > 0.005 and abs(fps * 1.001 - ntsc) < 0.01:
        return Fraction(ntsc * 1000, 1001)
    return Fraction(fps).limit_denominator(100)


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
        return "is not a video Colorize can read (ffmpeg found no valid media data)"
    return "cannot be opened as a video" + (f" ({short(lines[-1])})" if lines else "")
