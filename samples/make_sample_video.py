"""Render the sample video (samples/rocket-pan.mp4) from the public-domain sample photo rocket.jpg.

A slow pan and zoom across the photo, in black and white, with a sound track made here (a few soft
synthesised notes over a low rumble, by ffmpeg's own sound generators: no recording), so the
page's Video tab can be tried with one click and shows that the sound is kept. Its credit is the
photo's (see CREDITS.md). Run from the repository root:

    python samples/make_sample_video.py
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "rocket.jpg"
OUTPUT = HERE / "rocket-pan.mp4"
WIDTH, HEIGHT, FPS, SECONDS = 480, 320, 15, 4.0
ZOOM_START, ZOOM_END = 1.0, 1.45  # the crop shrinks to 1/1.45 of the photo's height
CENTRE_START, CENTRE_END = (0.5, 0.5), (0.56, 0.42)  # ...while drifting up towards the rocket
NOTES = (220.0, 277.18, 329.63, 440.0, 329.63, 277.18, 220.0, 164.81)  # A major arpeggio, half a second each
# The sound: each note a sine that fades out over its half second, over brown-ish noise (a rumble),
# as one ffmpeg aevalsrc expression of t.
NOTE = "0.22*sin(2*PI*{f}*t)*exp(-5*mod(t,0.5))*between(t,{start},{end})"
RUMBLE = "0.04*sin(2*PI*41*t)*sin(2*PI*0.5*t)"


def ease(t):
    """Slow in, slow out."""
    return 0.5 - 0.5 * np.cos(np.pi * t)


def frames(photo):
    """uint8 grey frames (HEIGHT x WIDTH) of the pan and zoom."""
    h, w = photo.shape
    n = int(round(SECONDS * FPS))
    for i in range(n):
        t = ease(i / max(1, n - 1))
        zoom = ZOOM_START + (ZOOM_END - ZOOM_START) * t
        crop_h = min(h, w * HEIGHT / WIDTH) / zoom
        crop_w = crop_h * WIDTH / HEIGHT
        cx = (CENTRE_START[0] + (CENTRE_END[0] - CENTRE_START[0]) * t) * w
        cy = (CENTRE_START[1] + (CENTRE_END[1] - CENTRE_START[1]) * t) * h
        x0 = min(max(cx - crop_w / 2, 0), w - crop_w)
        y0 = min(max(cy - crop_h / 2, 0), h - crop_h)
        # Sub-pixel crop by an affine warp: smooth motion without jitter from whole-pixel steps.
        s = WIDTH / crop_w
        matrix = np.float32([[s, 0, -x0 * s], [0, s, -y0 * s]])
        yield cv2.warpAffine(
            photo,
            matrix,
            (WIDTH, HEIGHT),
            flags=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC,
            borderMode=cv2.BORDER_REFLECT,
        )


def sound_expression():
    notes = [NOTE.format(f=f, start=i * 0.5, end=(i + 1) * 0.5 - 1e-6) for i, f in enumerate(NOTES)]
    return "+".join([*notes, RUMBLE])


def add_sound(silent, out):
    """`silent` (an MP4 without sound) with the synthesised track as 48 kbit/s mono AAC, into `out`."""
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-y",
            "-i",
            str(silent),
            "-f",
            "lavfi",
            "-i",
            f"aevalsrc=exprs='{sound_expression()}':s=22050:d={SECONDS:g}",
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-c:v",
            "copy",
            "-c:a",
            "aac",
            "-b:a",
            "48k",
            "-ac",
            "1",
            "-shortest",
            "-movflags",
            "+faststart",
            "-metadata",
            "title=Launch of DSCOVR on Falcon 9 (SpaceX, public domain): pan and zoom, with a made-up tune",
            str(out),
        ],
        check=True,
    )


def main(out=OUTPUT):
    with tempfile.TemporaryDirectory() as folder:
        silent = Path(folder) / "silent.mp4"
        render_frames(silent)
        add_sound(silent, out)
    print(f"wrote {out} ({Path(out).stat().st_size / 1e3:.0f} kB, {SECONDS:g} s, {WIDTH}x{HEIGHT}, {FPS} fps, sound)")


def render_frames(out):
    photo = np.asarray(Image.open(SOURCE).convert("L"))
    writer = imageio_ffmpeg.write_frames(
        str(out),
        (WIDTH, HEIGHT),
        fps=FPS,
        codec="libx264",
        quality=None,
        output_params=[
            "-crf",
            "26",
            "-preset",
            "veryslow",
            "-tune",
            "film",
            "-threads",
            "1",
            "-movflags",
            "+faststart",
            "-metadata",
            "title=Launch of DSCOVR on Falcon 9 (SpaceX, public domain): pan and zoom",
        ],
        pix_fmt_out="yuv420p",
        macro_block_size=16,
        ffmpeg_log_level="error",
    )
    writer.send(None)
    for frame in frames(photo):
        writer.send(np.repeat(frame[..., None], 3, axis=2).tobytes())
    writer.close()


if __name__ == "__main__":
    main(*(sys.argv[1:2] or [OUTPUT]))
