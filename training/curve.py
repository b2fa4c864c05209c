"""The learning curve: quality on a fixed part of the broad held-out split, measured during training.

A quick in-process proxy of benchmarks/quality.py (which measures the exported ONNX model through the
project's pipeline): PSNR of the colorized photo at the default vividness with no hints and with 10
hints taken from the true colours, and the mean chroma, on 120 held-out photos at 224 px. It decodes
as the shipped model will: the annealed mean at 0.7 (the first model's) or, given a model.json
vividness block with `"decode": "scaled-mean"`, that decode at vividness 1 (colorize.model.MeanDecode).
"""

from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

SIDE, N_PHOTOS, N_HINTS, PATCH = 224, 120, 10, 3
VIVIDNESS = 0.7


def lab_of(rgb_float):
    return cv2.cvtColor(rgb_float, cv2.COLOR_RGB2Lab)


def psnr(a, b):
    return float(10 * np.log10(1.0 / max(np.mean((a - b) ** 2), 1e-10)))


class HeldOut:
    def __init__(self, folder, bins, rebalance_weights, n=N_PHOTOS, vividness_block=None):
        paths = sorted(p for p in Path(folder).rglob("*") if p.is_file())
        block = vividness_block or {}
        self.scaled_mean = (block["temperature"], block["gain"]) if block.get("decode") == "scaled-mean" else None
        paths = paths[:: max(1, len(paths) // n)][:n]
        self.bins = torch.from_numpy(np.asarray(bins, np.float32))
        self.log_w = torch.from_numpy(np.log(np.asarray(rebalance_weights, np.float32)))
        self.items = []
        rng = np.random.default_rng(0)
        for p in paths:
            bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if bgr is None:
                continue
            h, w = bgr.shape[:2]
            s = SIDE / max(h, w)
            nh, nw = max(32, round(h * s / 32) * 32), max(32, round(w * s / 32) * 32)
            rgb = cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (nw, nh), interpolation=cv2.INTER_AREA)
            rgb = rgb.astype(np.float32) / 255.0
            lab = lab_of(rgb)
            hint_ab = np.zeros((2, nh, nw), np.float32)
            mask = np.zeros((1, nh, nw), np.float32)
            for _ in range(N_HINTS):
                y, x = int(rng.integers(0, nh - PATCH + 1)), int(rng.integers(0, nw - PATCH + 1))
                hint_ab[:, y : y + PATCH, x : x + PATCH] = lab[y : y + PATCH, x : x + PATCH, 1:].mean((0, 1))[
                    :, None, None
                ]
                mask[:, y : y + PATCH, x : x + PATCH] = 1.0
            self.items.append((rgb, lab, hint_ab, mask))

    def _rgb(self, logits, lab):
        if self.scaled_mean:
            (t, gain), corr = self.scaled_mean, 1.0
        else:
            t, corr, gain = 0.45**VIVIDNESS, 1.0 - VIVIDNESS, 1.0
        z = (logits[0].float() - corr * self.log_w[:, None, None]) / t
        p = torch.softmax(z, 0)
        ab = gain * torch.einsum("qhw,qc->chw", p, self.bins)[None]
        ab = F.interpolate(ab, size=lab.shape[:2], mode="bilinear", align_corners=False)[0].numpy()
        out = np.dstack([lab[..., 0], ab[0], ab[1]]).astype(np.float32)
        return np.clip(cv2.cvtColor(out, cv2.COLOR_Lab2RGB), 0, 1), ab

    @torch.no_grad()
    def measure(self, model):
        was_training = model.training
        model.eval()
        scores = {"psnr": [], "psnr_hints10": [], "psnr_grey": [], "chroma": []}
        for rgb, lab, hint_ab, mask in self.items:
            L = torch.from_numpy(lab[..., 0])[None, None]
            pred, ab = self._rgb(model(L), lab)
            scores["psnr"].append(psnr(pred, rgb))
            scores["chroma"].append(float(np.hypot(ab[0], ab[1]).mean()))
            grey = np.clip(
                cv2.cvtColor(np.dstack([lab[..., 0], 0 * lab[..., 1:]]).astype(np.float32), cv2.COLOR_Lab2RGB), 0, 1
            )
            scores["psnr_grey"].append(psnr(grey, rgb))
            if getattr(model, "takes_hints", False):
                gain = (
                    self.scaled_mean[1] if self.scaled_mean else 1.0
                )  # hints enter divided by it, as in ColorModel.run
                pred_h, _ = self._rgb(
                    model(L, torch.from_numpy(hint_ab / gain)[None], torch.from_numpy(mask)[None]), lab
                )
                scores["psnr_hints10"].append(psnr(pred_h, rgb))
        model.train(was_training)
        return {k: round(float(np.mean(v)), 3) for k, v in scores.items() if v}
