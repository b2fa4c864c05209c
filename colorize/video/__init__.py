"""Videos: probe a file, stream its frames through ffmpeg, colorize them in batches with the colour
carried along optical flow, and encode a browser-playable H.264 file with the source's audio.

    probe.py      what a file holds, read from ffmpeg's structured output (VideoInfo, probe_video)
    ffmpeg.py     the bundled ffmpeg and its processes: FrameReader, FrameWriter, cut_preview (and
                  stop_processes_using, which ends a job's processes from any thread)
    stabilize.py  temporal stability: the colour carried along optical flow between frames
    job.py        colorize_video, which ties them together
"""

from .ffmpeg import MAX_DECODE_PIXELS, FrameReader, FrameWriter, cut_preview, ffmpeg_exe, stop_processes_using
from .job import VIDEO_NETWORK_SIDE, VideoCancelled, VideoLimits, VideoProgress, colorize_video
from .probe import VideoInfo, exact_rate, probe_video
from .stabilize import TemporalStabilizer

__all__ = [
    "MAX_DECODE_PIXELS",
    "VIDEO_NETWORK_SIDE",
    "FrameReader",
    "FrameWriter",
    "TemporalStabilizer",
    "VideoCancelled",
    "VideoInfo",
    "VideoLimits",
    "VideoProgress",
    "colorize_video",
    "cut_preview",
    "exact_rate",
    "ffmpeg_exe",
    "probe_video",
    "stop_processes_using",
]
