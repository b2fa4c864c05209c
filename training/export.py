"""Export a training checkpoint to the engine's model folder: ONNX (dynamic batch and size) + model.json.

    python training/export.py --ckpt ~/colorize-work/last.pt --out models/colorize-lite0 --vividness 1 \
        --decode scaled-mean --temperature 1.0 --gain 1.5 --int8-calib ../shared/data/train --calib-decode 0.7,1.7

--decode scaled-mean (the bundled model's; see colorize.model.MeanDecode) scales the posterior mean by
--gain, chosen with benchmarks/quality.py's sweep; annealed-mean is the first model's decode.

A checkpoint trained with --hints exports a network with the two colour-hint inputs and a "hints"
block in model.json (see colorize/model.py).

The ONNX Runtime output is checked against torch before anything is written. With --int8-calib the
float network is then quantized in place (training/quantize.py: 8-bit integers, calibrated on those
photos), and its float original is kept beside the checkpoint as model-fp32.onnx. --calib-decode
calibrates under another temperature and gain than the ones model.json ships with: the gain sets the
range of the hint inputs that calibration sees, and so how the 8-bit network rounds them.
"""

import argparse
import json
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bins import rebalance_weights
from network import ColorNet
from quantize import decode_pair, quantize_folder

from colorize.model import sha256_of

HINT_PATCH = 3
DATA_V1 = (
    "34,414 photos at 144 px: Imagenette (ImageNet subset), Intel scenes, UTKFace, flowers, mixed "
    "objects, BSDS500 (research-use terms; not redistributed)"
)
SOURCE_WORDS = {
    "imagenet1k": "all 1,000 ImageNet classes",
    "caltech101": "Caltech-101",
    "catsdogs": "Kaggle cats and dogs",
    "clothing": "clothing (CC0)",
    "corel1k": "Corel-1k",
    "miniplaces": "MiniPlaces scenes",
}


def data_broad(work):
    """What a --broad run trained on, from the sources.py summary beside its checkpoint."""
    summary = json.load(open(os.path.join(work, "broad_sources.json")))
    kept = {name: summary[name]["kept"] for name in SOURCE_WORDS if name in summary}
    return (
        "../shared/data/train (34,414 photos: Imagenette, Intel scenes, UTKFace, flowers, mixed objects, "
        f"BSDS500) plus {sum(kept.values()):,} photos read from pinned public git snapshots (training/sources.py): "
        + ", ".join(f"{SOURCE_WORDS[name]} ({n:,})" for name, n in kept.items())
        + "; weighted by source; research-use terms, not redistributed"
    )


def example_inputs(model, shape):
    L = torch.rand(*shape) * 100
    if not model.takes_hints:
        return (L,)
    n, _, h, w = shape
    mask = (torch.rand(n, 1, h, w) < 0.01).float()
    return L, (torch.rand(n, 2, h, w) * 160 - 80) * mask, mask


def rebalance_log_weights(ck, ckpt_path):
    if "rebalance_weights" in ck:
        return np.log(np.asarray(ck["rebalance_weights"], np.float32))
    prior_path = os.path.join(os.path.dirname(ckpt_path), "bins.json")
    prior = np.asarray(json.load(open(prior_path))["prior"], np.float32)
    return np.log(rebalance_weights(prior, ck["args"]["rebalance"]))


def vividness_block(vividness, decode="annealed-mean", temperature=None, gain=None):
    """model.json's "vividness": the default and how colour is decoded (colorize.model reads it)."""
    if decode == "scaled-mean":
        return {
            "default": vividness,
            "decode": decode,
            "temperature": temperature,
            "gain": gain,
            "meaning": "a/b = gain x vividness x the mean of the posterior (rebalancing divided out, logits / "
            "temperature); 0 = plain grey, 1 = the measured default, above 1 more gently (2 = 1.6 x the "
            "default's colour); a colour hint enters the network divided by gain, so at vividness 1 it "
            "comes out as picked",
        }
    return {
        "default": vividness,
        "meaning": "0 = mean of the posterior (rebalancing divided out: accurate, muted); "
        "1 = rebalanced distribution at temperature 0.45 (vivid); "
        "2 = temperature 0.25 and saturation x1.2",
    }


def training_block(state, previous, run_note):
    """The checkpoint's own state, and, where these weights went through several runs (each started
    from the last one's export), their history: the folder's earlier runs plus this one, described by
    run_note. Exporting the same run again adds nothing."""
    runs = list(previous.get("runs", []))
    if run_note and not (runs and runs[-1]["crops"] == state["seen"]):
        runs.append(
            {"run": len(runs) + 1, "data": run_note, "minutes": round(state["elapsed"] / 60), "crops": state["seen"]}
        )
    if not runs:
        return state
    return {"last_run": state, "crops_total": sum(run["crops"] for run in runs), "runs": runs}


def export(ckpt_path, out_dir, name, long_side, vividness_meta, run_note=None):
    ck = torch.load(ckpt_path, weights_only=False, map_location="cpu")
    bins = np.asarray(ck["bins"], np.float32)
    log_weights = rebalance_log_weights(ck, ckpt_path)
    hints = bool(ck["args"].get("hints"))
    model = ColorNet(len(bins), pretrained=False, hints=hints)
    model.load_state_dict(ck["model"])
    model.eval()
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, "model.onnx")
    names = ["L", "hint_ab", "hint_mask"] if hints else ["L"]
    axes = {n: {0: "batch", 2: "height", 3: "width"} for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_onnx = os.path.join(tmp, "model.onnx")
        torch.onnx.export(
            model,
            example_inputs(model, (2, 1, 224, 160)),
            tmp_onnx,
            input_names=names,
            output_names=["ab_logits"],
            dynamic_axes={**axes, "ab_logits": {0: "batch", 2: "h4", 3: "w4"}},
            opset_version=17,
            dynamo=False,
        )
        import onnxruntime as ort

        sess = ort.InferenceSession(tmp_onnx, providers=["CPUExecutionProvider"])
        for shape in [(2, 1, 224, 160), (1, 1, 256, 192), (3, 1, 96, 256)]:
            xs = example_inputs(model, shape)
            with torch.no_grad():
                ref = model(*xs).numpy()
            got = sess.run(None, {n: x.numpy() for n, x in zip(names, xs, strict=False)})[0]
            err = float(np.abs(ref - got).max())
            assert got.shape == ref.shape and err < 1e-2, f"ONNX Runtime differs from torch at {shape}: {err}"
            print(f"checked {shape}: max |torch - onnxruntime| = {err:.2e}")
        os.replace(tmp_onnx, onnx_path)
    sha = sha256_of(onnx_path)
    meta_path = os.path.join(out_dir, "model.json")
    meta = json.load(open(meta_path)) if os.path.exists(meta_path) else {}
    meta.update(
        {
            "name": name,
            "description": "EfficientNet-Lite0 encoder (ImageNet-pretrained) + U-Net decoder; predicts a distribution "
            "over quantized a/b bins from L (Zhang et al. 2016 style, class-rebalanced)"
            + ("; optional sparse colour hints enter every decoder level (Zhang et al. 2017)." if hints else "."),
            "onnx": "model.onnx",
            "sha256": sha,
            "input": {"name": "L", "range": [0, 100], "long_side": long_side, "multiple": 32},
            "output": {
                "kind": "ab_logits",
                "stride": 4,
                "bins": bins.tolist(),
                "log_rebalance_weights": [round(float(x), 5) for x in log_weights],
            },
            "vividness": vividness_meta,
            "license": "model weights: MIT (this project); encoder initialised from EfficientNet-Lite0, Apache-2.0",
            "training_data": data_broad(os.path.dirname(ckpt_path)) if ck["args"].get("broad") else DATA_V1,
            "training": training_block(ck.get("state", {}), meta.get("training", {}), run_note),
        }
    )
    meta.pop("hints", None)
    meta.pop("precision", None)  # a float network; quantize.py writes the block when it quantizes
    meta.pop("quality", None)  # measured for the previous network; benchmarks/quality.py --record redoes it
    if hints:
        meta["hints"] = {
            "ab_input": "hint_ab",
            "mask_input": "hint_mask",
            "patch": HINT_PATCH,
            "meaning": "hint_ab: Lab a/b at hinted pixels, 0 elsewhere; hint_mask: 1 at hinted "
            "pixels; each hint is a patch x patch square at the network's input size; "
            "all zeros = no hints",
        }
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=1)
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.1f} MB) and {meta_path}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.expanduser("~/colorize-work/last.pt"))
    ap.add_argument("--out", default="models/colorize-lite0")
    ap.add_argument("--name", default="colorize-lite0")
    ap.add_argument("--long-side", type=int, default=256)
    ap.add_argument("--vividness", type=float, required=True, help="the default vividness model.json ships with")
    ap.add_argument("--decode", choices=("scaled-mean", "annealed-mean"), default="annealed-mean")
    ap.add_argument("--temperature", type=float, default=0.8, help="scaled-mean: logits / temperature")
    ap.add_argument("--gain", type=float, default=1.8, help="scaled-mean: colour gain at vividness 1")
    ap.add_argument("--int8-calib", help="quantize to 8-bit integers, calibrated on the photos in this folder")
    ap.add_argument(
        "--calib-decode",
        type=decode_pair,
        metavar="T,GAIN",
        help="scaled-mean with --int8-calib: calibrate under this temperature and gain "
        "(model.json keeps --temperature and --gain)",
    )
    ap.add_argument("--run-note", help="what this run trained on: adds it to model.json's history of runs")
    args = ap.parse_args()
    if args.calib_decode and not args.int8_calib:
        ap.error("--calib-decode needs --int8-calib")
    vividness_meta = vividness_block(args.vividness, args.decode, args.temperature, args.gain)
    export(args.ckpt, args.out, args.name, args.long_side, vividness_meta, args.run_note)
    if args.int8_calib:
        fp32 = os.path.join(os.path.dirname(args.ckpt), "model-fp32.onnx")
        quantize_folder(args.out, args.int8_calib, fp32, args.calib_decode)


if __name__ == "__main__":
    main()
