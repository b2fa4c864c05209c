"""Export a training checkpoint to the engine's model folder: ONNX (dynamic batch and size) + model.json.

    python training/export.py --ckpt ~/colorize-work/last.pt --out models/colorize-lite0

The ONNX Runtime output is checked against torch before anything is written.
"""
import argparse
import hashlib
import json
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bins import rebalance_weights  # noqa: E402
from network import ColorNet  # noqa: E402


def export(ckpt_path, out_dir, name, long_side, vividness, extra_meta=None):
    ck = torch.load(ckpt_path, weights_only=False, map_location="cpu")
    bins = np.asarray(ck["bins"], np.float32)
    prior_path = os.path.join(os.path.dirname(ckpt_path), "bins.json")
    prior = np.asarray(json.load(open(prior_path))["prior"], np.float32)
    log_weights = np.log(rebalance_weights(prior, ck["args"]["rebalance"]))
    model = ColorNet(len(bins), pretrained=False)
    model.load_state_dict(ck["model"])
    model.eval()
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, "model.onnx")
    x = torch.rand(2, 1, 224, 160) * 100
    with tempfile.TemporaryDirectory() as tmp:
        tmp_onnx = os.path.join(tmp, "model.onnx")
        torch.onnx.export(model, (x,), tmp_onnx, input_names=["L"], output_names=["ab_logits"],
                          dynamic_axes={"L": {0: "batch", 2: "height", 3: "width"},
                                        "ab_logits": {0: "batch", 2: "h4", 3: "w4"}},
                          opset_version=17, dynamo=False)
        import onnxruntime as ort
        sess = ort.InferenceSession(tmp_onnx, providers=["CPUExecutionProvider"])
        for shape in [(2, 1, 224, 160), (1, 1, 256, 192), (3, 1, 96, 256)]:
            xs = torch.rand(*shape) * 100
            with torch.no_grad():
                ref = model(xs).numpy()
            got = sess.run(None, {"L": xs.numpy()})[0]
            err = float(np.abs(ref - got).max())
            assert got.shape == ref.shape and err < 1e-2, f"ONNX Runtime differs from torch at {shape}: {err}"
            print(f"checked {shape}: max |torch - onnxruntime| = {err:.2e}")
        os.replace(tmp_onnx, onnx_path)
    sha = hashlib.sha256(open(onnx_path, "rb").read()).hexdigest()
    meta_path = os.path.join(out_dir, "model.json")
    meta = json.load(open(meta_path)) if os.path.exists(meta_path) else {}
    meta.update({
        "name": name,
        "description": "EfficientNet-Lite0 encoder (ImageNet-pretrained) + U-Net decoder; predicts a distribution "
                       "over quantized a/b bins from L (Zhang et al. 2016 style, class-rebalanced).",
        "onnx": "model.onnx",
        "sha256": sha,
        "input": {"name": "L", "range": [0, 100], "long_side": long_side, "multiple": 32},
        "output": {"kind": "ab_logits", "stride": 4, "bins": bins.tolist(),
                   "log_rebalance_weights": [round(float(x), 5) for x in log_weights]},
        "vividness": {"default": vividness,
                      "meaning": "0 = mean of the posterior (rebalancing divided out: accurate, muted); "
                                 "1 = rebalanced distribution at temperature 0.45 (vivid); "
                                 "2 = temperature 0.25 and saturation x1.2"},
        "license": "model weights: MIT (this project); encoder initialised from EfficientNet-Lite0, Apache-2.0",
        "training_data": "34,414 photos at 144 px: Imagenette (ImageNet subset), Intel scenes, UTKFace, "
                         "flowers, mixed objects, BSDS500 (research-use terms; not redistributed)",
        "training": ck.get("state", {}),
    })
    meta.update(extra_meta or {})
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=1)
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.1f} MB) and {meta_path}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.expanduser("~/colorize-work/last.pt"))
    ap.add_argument("--out", default="models/colorize-lite0")
    ap.add_argument("--name", default="colorize-lite0")
    ap.add_argument("--long-side", type=int, default=256)
    ap.add_argument("--vividness", type=float, default=1.0)
    args = ap.parse_args()
    export(args.ckpt, args.out, args.name, args.long_side, args.vividness)


if __name__ == "__main__":
    main()
