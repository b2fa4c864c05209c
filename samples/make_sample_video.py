"""Render the sample video (samples/rocket-pan.mp4) from the public-domain sample photo rocket.jpg.

A slow pan and zoom across the photo, in black and white, so the page's Video tab can be tried
with one click. Its credit is the photo's (see CREDITS.md). Run from the repository root:

    python samples/make_sample_video.py
"""

import sys
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


def main(out=OUTPUT):
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
    print(f"wrote {out} ({Path(out).stat().st_size / 1e3:.0f} kB, {SECONDS:g} s, {WIDTH}x{HEIGHT}, {FPS} fps)")


if __name__ == "__main__":
    main(*(sys.argv[1:2] or [OUTPUT]))
