"""Colorization models: a folder holding an ONNX file and `model.json`, checked and run on ONNX Runtime.

The network maps L (N x 1 x H x W, 0..100) to either logits over a/b bins ("ab_logits") or a/b
directly ("ab"), at 1/stride of the input's side. `to_ab` turns that raw output into a/b for a
vividness setting, so changing vividness never re-runs the network.
"""
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ColorizeError

METADATA = "model.json"
REQUIRED = ("name", "onnx", "sha256", "input", "output", "vividness")


def models_dir():
    """Where models live: $COLORIZE_MODELS, the checkout's models/, or the installed copy."""
    env = os.environ.get("COLORIZE_MODELS")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent / "models"
    if here.is_dir():
        return here
    import importlib.util
    spec = importlib.util.find_spec("colorize_models")
    if spec and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return here


@dataclass
class ModelInfo:
    """What model.json says about a model."""
    folder: Path
    name: str
    onnx: str
    sha256: str
    long_side: int
    multiple: int
    output_kind: str
    stride: int
    bins: np.ndarray | None
    default_vividness: float
    meta: dict = field(repr=False, default_factory=dict)

    @property
    def onnx_path(self):
        return self.folder / self.onnx


def read_info(folder):
    """Parse and validate a model folder's metadata (does not load the network)."""
    folder = Path(folder)
    meta_path = folder / METADATA
    if not folder.is_dir():
        raise ColorizeError(folder, "model folder not found")
    if not meta_path.is_file():
        raise ColorizeError(meta_path, "model metadata is missing")
    try:
        meta = json.loads(meta_path.read_text())
    except (ValueError, OSError) as e:
        raise ColorizeError(meta_path, f"model metadata is not valid JSON ({e})") from None
    missing = [k for k in REQUIRED if k not in meta]
    if missing:
        raise ColorizeError(meta_path, f"model metadata lacks {', '.join(missing)}")
    out = meta["output"]
    kind = out.get("kind")
    if kind not in ("ab_logits", "ab"):
        raise ColorizeError(meta_path, f"unknown output kind {kind!r} (expected 'ab_logits' or 'ab')")
    bins = None
    if kind == "ab_logits":
        bins = np.asarray(out.get("bins", []), np.float32)
        if bins.ndim != 2 or bins.shape[1] != 2 or len(bins) < 2:
            raise ColorizeError(meta_path, "output.bins must list the a/b bin centres as [a, b] pairs")
    return ModelInfo(folder=folder, name=meta["name"], onnx=meta["onnx"], sha256=meta["sha256"],
                     long_side=int(meta["input"]["long_side"]), multiple=int(meta["input"].get("multiple", 32)),
                     output_kind=kind, stride=int(out.get("stride", 4)), bins=bins,
                     default_vividness=float(meta["vividness"]["default"]), meta=meta)


def list_models(root=None):
    """ModelInfo of every valid model folder under root, and one-line problems for the others."""
    root = Path(root) if root else models_dir()
    found, problems = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        if not (folder / METADATA).exists() and not any(folder.glob("*.onnx")):
            continue
        try:
            found.append(read_info(folder))
        except ColorizeError as e:
            problems.append(str(e))
    return found, problems


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def vividness_params(vividness):
    """One user number -> (annealed-mean temperature, saturation gain).

    0 gives the plain mean of the predicted distribution (muted), 1 the paper's temperature 0.38,
    above 1 colder temperatures and then extra saturation, up to 2.
    """
    v = float(np.clip(vividness, 0.0, 2.0))
    temperature = max(0.15, 0.38 ** v)
    gain = 1.0 + 0.25 * max(0.0, v - 1.0)
    return temperature, gain


class ColorModel:
    """A loaded model. One ONNX Runtime session, safe to share between threads."""

    def __init__(self, folder, threads=0, verify=True):
        import onnxruntime as ort
        self.info = read_info(folder)
        path = self.info.onnx_path
        if not path.is_file():
            raise ColorizeError(path, "model weights file is missing")
        if verify and sha256_of(path) != self.info.sha256:
            raise ColorizeError(path, "model weights are corrupt (SHA-256 does not match model.json)")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - ORT raises its own types for bad files
            raise ColorizeError(path, f"model weights cannot be loaded ({str(e).splitlines()[0]})") from None
        self.input_name = self.session.get_inputs()[0].name

    @property
    def name(self):
        return self.info.name

    def network_size(self, height, width):
        """Network input (h, w) for an image: long side to `long_side`, both multiples of `multiple`."""
        m, s = self.info.multiple, self.info.long_side / max(height, width)
        return (max(m, int(round(height * s / m)) * m), max(m, int(round(width * s / m)) * m))

    def run(self, L_batch):
        """L (N x H x W float32, 0..100, one size) -> raw network output (N x C x H/stride x W/stride)."""
        x = np.ascontiguousarray(L_batch, np.float32)[:, None]
        return self.session.run(None, {self.input_name: x})[0]

    def to_ab(self, raw, vividness=None):
        """Raw output (N x C x h x w) -> a/b (N x 2 x h x w) at the given vividness."""
        v = self.info.default_vividness if vividness is None else vividness
        temperature, gain = vividness_params(v)
        if self.info.output_kind == "ab":
            return raw.astype(np.float32) * float(np.clip(v, 0, 2))
        z = raw.astype(np.float32) / temperature
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        ab = np.einsum("nqhw,qc->nchw", z, self.info.bins, optimize=True)
        return ab * gain
