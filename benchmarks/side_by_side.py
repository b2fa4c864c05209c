"""Two models side by side on the same photos and video frames, to look at (a person judges colour).

    python benchmarks/side_by_side.py --a OLD_MODEL_DIR --b models/colorize-lite0 --out sheet.png \
        ../shared/samples/bw/*.jpg samples/*.jpg ../shared/samples/video/chaplin.mp4@2.0

Each row: the input's grey, model A, model B, at the default vividness of each. A `clip.mp4@SECONDS`
argument takes that clip's frame at that time. Rows are scaled to one height.
"""

import argparse
import subprocess

import cv2
import numpy as np
from checkout import ROOT  # noqa: F401  (puts the checkout first on sys.path)

from colorize import ColorModel, load_image
from colorize.lab import gray_rgb, lightness, to_uint8
from colorize.pipeline import predict, render
from colorize.video import ffmpeg_exe

ROW = 320


def frame_at(spec):
    """'clip.mp4@2.5' -> that frame as float RGB in [0, 1]."""
    path, seconds = spec.rsplit("@", 1)
    out = subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-ss",
            seconds,
            "-i",
            path,
            "-frames:v",
            "1",
            "-f",
            "image2pipe",
            "-c:v",
            "png",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    bgr = cv2.imdecode(np.frombuffer(out, np.uint8), cv2.IMREAD_COLOR)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255


def row(models, spec):
    rgb = frame_at(spec) if "@" in spec else load_image(spec).rgb
    tiles = [to_uint8(gray_rgb(lightness(rgb)))]
    tiles += [render(m, predict(m, [rgb])[0], dtype=np.uint8) for m in models]
    h, w = tiles[0].shape[:2]
    size = (max(1, w * ROW // h), ROW)
    return np.concatenate([cv2.resize(t, size, interpolation=cv2.INTER_AREA) for t in tiles], 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--a", required=True, help="model folder shown second")
    ap.add_argument("--b", required=True, help="model folder shown third")
    ap.add_argument("--out", required=True, help="PNG to write")
    ap.add_argument("inputs", nargs="+", help="photos, or clip.mp4@SECONDS")
    args = ap.parse_args()
    models = [ColorModel(args.a), ColorModel(args.b)]
    rows = [row(models, spec) for spec in args.inputs]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    cv2.imwrite(args.out, cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR))
    print(f"{args.out}: {len(rows)} rows, grey | {models[0].name} | {models[1].name}")


if __name__ == "__main__":
    main()
