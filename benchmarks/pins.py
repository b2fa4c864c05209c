"""Do pins behave? Two measurements of colour hints through the bundled model and the pipeline.

    python benchmarks/pins.py --own ~/colorize-work/broad-holdout --segments BSDS_TEST

--own FOLDER: a pin that carries the network's own colour (as one placed before a colour is picked)
at a random point of each of 100 photos (every k-th of the folder, seeded): the mean CIE76 colour
difference it makes over the photo. Goal: median at most 0.5, every photo at most 1.5.

--segments FOLDER: FOLDER/images/*.jpg and FOLDER/groundTruth/*.mat of BSDS500's test split (human
segmentations; ../shared/data/SOURCES.md says where). In each of 50 photos one pin goes at the
deepest point of the first annotator's segmentation (the pixel farthest from any segment edge),
with the colour of a fixed palette farthest from the network's own there. Of the pixels whose
colour moves by more than 10 (CIE76), the share inside the pinned segment (goal: median at least
95 %), and the share of the photo that moves outside it (goal: at most 3 % in 9 photos of 10);
also how much of the segment the pin coloured, so that a pin that does nothing cannot pass.
--sheet PNG writes the segment pins side by side (without, with, the segment) to look at.
--set EDGE=6 (repeatable) tries other constants of colorize.reach.
"""

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from colorize import load_default_model, load_image, reach
from colorize.decode import IMAGE_SUFFIXES
from colorize.hints import Hint
from colorize.lab import rgb_to_lab
from colorize.pipeline import predict, render

PALETTE = ("#d02828", "#28a040", "#2850d8", "#e8c818", "#a038c8", "#18b8c8", "#e87018", "#e050a0")
MOVED = 10.0


def lab_of(rgb8):
    return rgb_to_lab(rgb8.astype(np.float32) / np.float32(255))


def delta_e(a8, b8):
    return np.linalg.norm(lab_of(a8) - lab_of(b8), axis=-1)


def pinned(model, rgb, hints):
    """(without, with) the hints, as 8-bit renders at the default vividness."""
    plain, hinted = predict(model, [rgb, rgb], [None, hints])
    return render(model, plain, dtype=np.uint8), render(model, hinted, dtype=np.uint8)


def own_colour(model, folder, n=100, seed=0):
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    paths = paths[:: max(1, len(paths) // n)][:n]
    rng = np.random.default_rng(seed)
    out = []
    for p in paths:
        rgb = load_image(p).rgb
        h, w = rgb.shape[:2]
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        plain = render(model, predict(model, [rgb])[0], dtype=np.uint8)
        hint = Hint(x, y, tuple(int(c) for c in plain[y, x]))
        after = render(model, predict(model, [rgb], [[hint]])[0], dtype=np.uint8)
        out.append(float(delta_e(plain, after).mean()))
    out = np.array(out)
    print(
        f"own-colour pin, {len(out)} photos of {folder}: mean dE76 over the photo median {np.median(out):.3f}, "
        f"90th pct {np.percentile(out, 90):.3f}, max {out.max():.3f} (goal: median <= 0.5, max <= 1.5)"
    )
    return out


def deepest_point(seg):
    """(x, y, label) of the pixel farthest from any segment edge."""
    edges = np.zeros(seg.shape, np.uint8)
    edges[:, 1:] |= seg[:, 1:] != seg[:, :-1]
    edges[1:, :] |= seg[1:, :] != seg[:-1, :]
    inside = (1 - edges).astype(np.uint8)
    inside[0, :] = inside[-1, :] = inside[:, 0] = inside[:, -1] = 0
    dist = cv2.distanceTransform(inside, cv2.DIST_L2, 5)
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return int(x), int(y), int(seg[y, x])


def farthest_colour(own_rgb8):
    own = lab_of(np.array([[own_rgb8]], np.uint8))[0, 0, 1:]
    labs = [lab_of(np.array([[Hint(0, 0, _rgb(c)).rgb]], np.uint8))[0, 0, 1:] for c in PALETTE]
    return PALETTE[int(np.argmax([np.hypot(*(lab - own)) for lab in labs]))]


def _rgb(hex_colour):
    h = hex_colour.lstrip("#")
    return tuple(int(h[i : i + 2], 16) for i in (0, 2, 4))


def segments(model, folder, n=50, sheet=None):
    from scipy.io import loadmat  # benchmarks/requirements-bench.txt

    folder = Path(folder)
    images = sorted((folder / "images").glob("*.jpg"))[:n]
    rows, precision, outside, covered = [], [], [], []
    for p in images:
        seg = loadmat(folder / "groundTruth" / f"{p.stem}.mat")["groundTruth"][0, 0]["Segmentation"][0, 0]
        rgb = load_image(p).rgb
        x, y, label = deepest_point(seg)
        plain = render(model, predict(model, [rgb])[0], dtype=np.uint8)
        colour = farthest_colour(plain[y, x])
        _, after = pinned(model, rgb, [(x, y, colour)])
        moved = delta_e(plain, after) > MOVED
        inside = seg == label
        n_moved = int(moved.sum())
        precision.append(float((moved & inside).sum() / n_moved) if n_moved else 1.0)
        outside.append(float((moved & ~inside).mean()))
        covered.append(float((moved & inside).sum() / inside.sum()))
        if sheet:
            mask = np.where(inside[..., None], after, (after * 0.35).astype(np.uint8))
            cv2.circle(after, (x, y), 6, (255, 255, 255), 2)
            rows.append(np.concatenate([plain, after, mask], 1))
    precision, outside, covered = map(np.array, (precision, outside, covered))
    print(
        f"one far pin in a segment, {len(images)} BSDS500 test photos: moved pixels inside the segment "
        f"median {100 * np.median(precision):.1f} % (goal >= 95 %); photo moved outside it: "
        f"90th pct {100 * np.percentile(outside, 90):.2f} %, photos within 3 %: "
        f"{int((outside <= 0.03).sum())}/{len(outside)} (goal 9 in 10); segment coloured: median "
        f"{100 * np.median(covered):.1f} %"
    )
    if sheet:
        rows = [cv2.resize(r, (r.shape[1] * 240 // r.shape[0], 240)) for r in rows[:12]]
        width = max(r.shape[1] for r in rows)
        rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]
        cv2.imwrite(sheet, cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR))
    return precision, outside, covered


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--own", help="folder of colour photos (e.g. the broad held-out split)")
    ap.add_argument("--segments", help="BSDS500 test split: images/ and groundTruth/")
    ap.add_argument("--model", help="model folder (default: the bundled model)")
    ap.add_argument("--sheet", help="write the segment pins to this PNG")
    ap.add_argument("--set", action="append", default=[], help="NAME=VALUE: try another colorize.reach constant")
    args = ap.parse_args()
    for item in args.set:
        name, value = item.split("=")
        setattr(reach, name, float(value))
        print(f"colorize.reach.{name} = {value}")
    from colorize import ColorModel

    model = ColorModel(Path(args.model)) if args.model else load_default_model()
    print(f"model {model.name}")
    if args.own:
        own_colour(model, args.own)
    if args.segments:
        segments(model, args.segments, sheet=args.sheet)


if __name__ == "__main__":
    main()
