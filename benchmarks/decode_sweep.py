"""Choose the scaled-mean decode (temperature, gain) on two held-out splits at once.

    python benchmarks/decode_sweep.py --split broad=~/colorize-work/broad-holdout \
        --split val=../shared/data/val --temperatures 0.6,0.7,0.8 --gains 1.5,1.6,1.7,1.8 [--limit 400]

The network runs once per photo (its raw output is kept), then every (temperature, gain) pair is
decoded and rendered through the project's pipeline and scored with PSNR and CF (as
benchmarks/quality.py does) against the true colours, with the no-colour PSNR beside it. It needs
only requirements-test.txt; quality.py then measures the chosen setting with LPIPS and FID.
"""

import argparse

import numpy as np
from checkout import ROOT
from metrics import colourfulness
from quality import photo_paths, psnr

from colorize import ColorModel, load_image
from colorize.lab import gray_rgb, to_uint8
from colorize.model import MeanDecode
from colorize.pipeline import predict, render


def floats(text):
    return [float(v) for v in text.split(",") if v]


class Split:
    """One held-out folder, run through the network once: each photo's truth and Prediction, and
    the figures that no decode changes (the true colours' CF, the no-colour PSNR)."""

    def __init__(self, model, folder, limit):
        self.items = []
        for path in photo_paths(folder, limit):
            photo = load_image(path)
            self.items.append((to_uint8(photo.rgb), predict(model, [photo.rgb])[0]))
        self.truth_cf = float(np.mean([colourfulness(t) for t, _ in self.items]))
        self.grey_psnr = float(np.mean([psnr(to_uint8(gray_rgb(p.L)), t) for t, p in self.items]))

    def score(self, model, vividness=1.0):
        """Mean PSNR and CF of the photos rendered with the model's current decode."""
        psnrs, cfs = [], []
        for truth, pred in self.items:
            out = render(model, pred, vividness, dtype=np.uint8)
            psnrs.append(psnr(out, truth))
            cfs.append(colourfulness(out))
        return float(np.mean(psnrs)), float(np.mean(cfs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "colorize-lite0"))
    ap.add_argument("--split", action="append", required=True, help="NAME=FOLDER; repeat for each split")
    ap.add_argument("--temperatures", type=floats, default=[0.6, 0.7, 0.8, 1.0])
    ap.add_argument("--gains", type=floats, default=[1.4, 1.5, 1.6, 1.7, 1.8])
    ap.add_argument("--limit", type=int, default=0, help="at most this many photos per split")
    args = ap.parse_args()
    model = ColorModel(args.model)
    if model.info.mean_decode is None:
        raise SystemExit(f"{model.name} does not use the scaled-mean decode")
    splits = {}
    for spec in args.split:
        name, folder = spec.split("=", 1)
        split = splits[name] = Split(model, folder, args.limit)
        print(f"{name}: {len(split.items)} photos, CF of the true colours {split.truth_cf:.2f}")
    header = "  T     gain | " + " | ".join(f"{n + ' PSNR':>11} {'(grey)':>7} {'CF':>6} {'dCF':>5}" for n in splits)
    print(header)
    for t in args.temperatures:
        for g in args.gains:
            model.info.mean_decode = MeanDecode(temperature=t, gain=g)
            cells = []
            for split in splits.values():
                p, cf = split.score(model)
                cells.append(f"{p:11.3f} {split.grey_psnr:7.3f} {cf:6.2f} {abs(cf - split.truth_cf):5.2f}")
            print(f"  {t:<5g} {g:<5g} | " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
