"""How far one colour hint spreads: the bundled model's colour with and without a hint, on photos you name.

    python benchmarks/hint_spread.py PHOTO X,Y,#RRGGBB [PHOTO X,Y,#RRGGBB ...] [--out sheet.png]

For each photo and hint it prints the a/b the network gives around the hint before and after, the
hinted colour's own a/b, and the share of the photo whose colour moved by more than 10 (clearly
changed) and more than 3 (just visible, CIE76 on a/b): a hint should turn the object it lands on
and leave the rest of the photo alone. --out writes one row per photo: without the hint, with it,
and (as the page's How it works tab shows it) only what changed, outlined.
"""

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from colorize import load_default_model, load_image
from colorize.hints import parse_hint_arg
from colorize.lab import to_uint8
from colorize.page.teaching import hint_change
from colorize.pipeline import predict, render, render_ab

ROW_HEIGHT = 300


def ab_text(ab):
    return f"({ab[0]:+.1f}, {ab[1]:+.1f})"


def spread(model, path, hint):
    """(printed line, row of pictures) for one photo and one hint."""
    photo = load_image(path)
    plain, hinted = predict(model, [photo.rgb])[0], predict(model, [photo.rgb], [[hint]])[0]
    before, after = render_ab(model, plain), render_ab(model, hinted)
    r = max(3, min(before.shape[:2]) // 60)
    near = (slice(max(0, hint.y - r), hint.y + r + 1), slice(max(0, hint.x - r), hint.x + r + 1))
    moved = np.hypot(*(after - before).transpose(2, 0, 1))
    line = (
        f"{Path(path).name}: hint {hint.hex} at ({hint.x}, {hint.y}), a/b {ab_text(hint.ab)}; "
        f"there before {ab_text(before[near].reshape(-1, 2).mean(0))}, "
        f"after {ab_text(after[near].reshape(-1, 2).mean(0))}; "
        f"colour moved by > 10 on {(moved > 10).mean():.1%} of the photo, > 3 on {(moved > 3).mean():.1%}"
    )
    changed, _ = hint_change(model, hinted)
    cells = []
    for image in (to_uint8(render(model, plain)), to_uint8(render(model, hinted)), changed):
        image = np.ascontiguousarray(image)
        cv2.circle(image, (hint.x, hint.y), max(4, image.shape[0] // 80), (255, 255, 255), 2)
        s = ROW_HEIGHT / image.shape[0]
        cells += [cv2.resize(image, (round(image.shape[1] * s), ROW_HEIGHT), interpolation=cv2.INTER_AREA)]
        cells += [np.full((ROW_HEIGHT, 4, 3), 255, np.uint8)]
    return line, np.concatenate(cells, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pairs", nargs="+", help="PHOTO X,Y,#RRGGBB, repeated")
    ap.add_argument("--out", default="", help="write the pictures here (PNG)")
    args = ap.parse_args()
    if len(args.pairs) % 2:
        ap.error("give each photo with one hint: PHOTO X,Y,#RRGGBB")
    model = load_default_model()
    rows = []
    for path, text in zip(args.pairs[::2], args.pairs[1::2], strict=True):
        line, row = spread(model, path, parse_hint_arg(text))
        print(line)
        rows.append(row)
    if args.out:
        width = max(r.shape[1] for r in rows)
        rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
        cv2.imwrite(args.out, cv2.cvtColor(np.concatenate(rows), cv2.COLOR_RGB2BGR))


if __name__ == "__main__":
    main()
