"""Quantize an exported model folder to 8-bit integers (ONNX QDQ), in place: 1.4-2x faster on a CPU.

    python training/quantize.py --model models/colorize-lite0 --calib ../shared/data/train \
        [--keep-fp32 ~/colorize-work/model-fp32.onnx] [--calib-decode 0.7,1.7]

Static quantization with ONNX Runtime's own tool: weights per output channel, activations per
tensor, their ranges calibrated on real photos fed through the engine exactly as the app feeds them
(colorize.pipeline.predict: its resize, its L, and, for half of them, colour hints taken from the
true colours, so the hint inputs get a real range too; --calib-decode feeds them under another
scaled-mean temperature and gain than model.json's, since a hint enters divided by the gain).
Weights use 7 of their 8 bits (`reduce_range`): x86 CPUs without VNNI multiply u8 x s8 pairs into a
16-bit sum that full-range weights can overflow, which would make the output depend on the
processor. ONNX Runtime fuses each QuantizeLinear/DequantizeLinear pair around a convolution into
one integer convolution.

The stem and the first four encoder blocks (FLOAT_LAYERS) stay float: they see the photo at full
and half network resolution, and on the bundled network their rounding moved the colours most
(mean |a/b| error 3.6 with them quantized, 1.2 without, for 2.3x against 2.0x the float speed).

The quantized network's a/b must stay within MAX_AB_ERROR (mean over the calibration photos, in Lab
units) of the float network's, or nothing is written; model.json gets the new checksum and a
"precision" block.
"""

import argparse
import contextlib
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from colorize import ColorModel, load_image, write_atomic  # noqa: E402
from colorize.decode import image_files  # noqa: E402
from colorize.model import MeanDecode, onnx_session, sha256_of  # noqa: E402
from colorize.pipeline import predict  # noqa: E402

N_CALIB = 64
FLOAT_LAYERS = re.compile(r"^/(stem|blocks\.[0-3])/")  # ONNX node names (the exporter's module scopes)
MAX_AB_ERROR = 2.0  # mean |a/b (int8) - a/b (float)|, Lab units: under the just-noticeable 2.3 (CIE76)


class RecordingSession:
    """Wraps an ONNX Runtime session and keeps a copy of every feed it runs (the calibration data)
    with the network's raw output for it (what the quantized network is compared against)."""

    def __init__(self, session):
        self.session, self.runs = session, []

    def run(self, outputs, feed):
        result = self.session.run(outputs, feed)
        self.runs.append(({k: np.array(v) for k, v in feed.items()}, result[0]))
        return result

    def __getattr__(self, name):
        return getattr(self.session, name)


def calibration_photos(folder, n=N_CALIB):
    """n of the folder's photos, spread evenly over them in sorted order."""
    paths = image_files(Path(folder).expanduser())
    return paths[:: max(1, len(paths) // n)][:n]


def engine_runs(model, paths, seed=0):
    """(network input, raw output) pairs the engine makes for these photos; every second photo with
    1-12 true-colour hints."""
    recorder = RecordingSession(model.session)
    model.session = recorder
    rng = np.random.default_rng(seed)
    for i, path in enumerate(paths):
        rgb = load_image(path).rgb
        hints = None
        if model.takes_hints and i % 2:
            h, w = rgb.shape[:2]
            n = int(rng.integers(1, 13))
            ys, xs = rng.integers(0, h, n), rng.integers(0, w, n)
            colours = (np.clip(rgb[ys, xs], 0, 1) * 255 + 0.5).astype(int)
            hints = [[(int(x), int(y), tuple(map(int, c))) for x, y, c in zip(xs, ys, colours, strict=True)]]
        predict(model, [rgb], hints=hints)
    model.session = recorder.session
    return recorder.runs


def mean_ab_error(model, runs, session):
    """Mean |a/b| difference, at the default vividness, between the recorded outputs and those of
    another session of the same network (model.to_ab decodes both)."""
    errors = [np.abs(model.to_ab(raw) - model.to_ab(session.run(None, feed)[0])).mean() for feed, raw in runs]
    return float(np.mean(errors))


def quantize_folder(folder, calib, keep_fp32=None, calib_decode=None):
    """Quantize `folder`'s model.onnx in place (see the module docstring); returns the mean a/b error,
    measured under calib_decode ((temperature, gain) of the scaled mean) where one is given."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    folder = Path(folder).expanduser().resolve()  # absolute: the quantizer runs in a temporary folder
    meta_path = folder / "model.json"
    meta = json.loads(meta_path.read_text())
    if meta.get("precision", {}).get("weights") == "int8":
        raise SystemExit(f"{folder} is already quantized")
    float_model = ColorModel(folder)
    if calib_decode:
        if float_model.info.mean_decode is None:
            raise SystemExit(f"{folder} does not use the scaled-mean decode: --calib-decode does not apply")
        float_model.info.mean_decode = MeanDecode(*calib_decode)
    runs = engine_runs(float_model, calibration_photos(calib))
    feeds = [feed for feed, _ in runs]
    keep_fp32 = keep_fp32 and Path(keep_fp32).expanduser().resolve()

    class Feeds(CalibrationDataReader):
        def __init__(self):
            self.it = iter(feeds)

        def get_next(self):
            return next(self.it, None)

    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):  # ORT's tools leave files in the working folder
        pre, out = os.path.join(tmp, "pre.onnx"), os.path.join(tmp, "model.onnx")
        # The exporter's dynamic shapes defeat symbolic shape inference; ONNX's own inference suffices.
        quant_pre_process(str(float_model.info.onnx_path.resolve()), pre, skip_symbolic_shape=True)
        keep_float = [n.name for n in onnx.load(pre).graph.node if FLOAT_LAYERS.match(n.name)]
        quantize_static(
            pre,
            out,
            Feeds(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=keep_float,
        )
        error = mean_ab_error(float_model, runs, onnx_session(out))
        print(f"{len(feeds)} calibration photos; mean |a/b int8 - a/b float| = {error:.3f}")
        if error > MAX_AB_ERROR:
            raise SystemExit(f"the quantized network's colours differ by {error:.2f} > {MAX_AB_ERROR}: not written")
        if keep_fp32:
            write_atomic(keep_fp32, float_model.info.onnx_path.read_bytes())
        write_atomic(float_model.info.onnx_path, Path(out).read_bytes())
    meta["sha256"] = sha256_of(float_model.info.onnx_path)
    under = ""
    if calib_decode:
        under = f", under the decode T {calib_decode[0]:g}, gain {calib_decode[1]:g}; mean_ab_error measured there"
    meta["precision"] = {
        "weights": "int8",
        "activations": "uint8",
        "format": "ONNX QDQ, weights per output channel in 7 bits (reduce_range), static ranges",
        "float_layers": f"{len(keep_float)} nodes of the stem and encoder blocks 0-3",
        "calibration": f"{len(feeds)} photos of {Path(calib).name}/, half with colour hints{under}",
        "mean_ab_error": round(error, 3),
    }
    write_atomic(meta_path, json.dumps(meta, indent=1).encode())
    size = os.path.getsize(float_model.info.onnx_path) / 1e6
    print(f"wrote {float_model.info.onnx_path} ({size:.1f} MB) and {meta_path}")
    return error


def decode_pair(text):
    """'0.7,1.7' -> (temperature, gain)."""
    temperature, gain = (float(v) for v in text.split(","))
    return temperature, gain


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "colorize-lite0"))
    ap.add_argument("--calib", default=str(ROOT.parent / "shared" / "data" / "train"), help="photos to calibrate on")
    ap.add_argument("--keep-fp32", help="also keep the float network here (to warm-start training from exactly)")
    ap.add_argument(
        "--calib-decode", type=decode_pair, metavar="T,GAIN", help="calibrate under this scaled-mean decode"
    )
    args = ap.parse_args()
    quantize_folder(args.model, args.calib, args.keep_fp32, args.calib_decode)


if __name__ == "__main__":
    main()
