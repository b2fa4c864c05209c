"""Colorization models: a folder holding an ONNX file and `model.json`, checked and run on ONNX Runtime.

The network maps L (N x 1 x H x W, 0..100) to either logits over a/b bins ("ab_logits") or a/b
directly ("ab"), at 1/stride of the input's side. `to_ab` turns that raw output into a/b for a
vividness setting, so changing vividness never re-runs the network. How it does is model.json's
"vividness.decode" (see `MeanDecode`): the scaled posterior mean, or (older models, the default) the
annealed mean of Zhang et al. 2016.

A model whose model.json has a "hints" block also takes colour hints: two more inputs, Lab a/b at
hinted pixels (N x 2 x H x W) and a mask of where they are (N x 1 x H x W), named in that block
(see colorize.hints). All-zero hint inputs mean "no hints"; a model without the block takes L only.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .errors import ColorizeError

if TYPE_CHECKING:
    import onnxruntime

METADATA = "model.json"
REQUIRED = ("name", "onnx", "sha256", "input", "output", "vividness")
VIVIDNESS_MAX = 2.0


def models_dir() -> Path:
    """Where models live: $COLORIZE_MODELS, else the installed package's colorize/models (pyproject.toml
    ships the checkout's models/ there as package data), else the checkout's models/."""
    env = os.environ.get("COLORIZE_MODELS")
    if env:
        return Path(env)
    package = Path(__file__).resolve().parent
    installed = package / "models"
    return installed if installed.is_dir() else package.parent / "models"


@dataclass(frozen=True)
class HintInputs:
    """model.json's "hints" block: the names of the two hint inputs and the painted square's side."""

    ab_input: str  # N x 2 x H x W, Lab a/b at hinted pixels, 0 elsewhere
    mask_input: str  # N x 1 x H x W, 1 where a hint is, 0 elsewhere
    patch: int  # side, in network-input pixels, of the square painted around each hint (odd)
    meaning: str = ""


@dataclass(frozen=True)
class MeanDecode:
    """model.json's `"vividness": {"decode": "scaled-mean", "temperature": T, "gain": k}`.

    The network's posterior over a/b (class rebalancing divided out, sharpened by 1/T) has a mean
    that is accurate but muted wherever several colours are likely; its hue is the consensus of
    all of them, so scaling it up brings colour back without the blotches of a single rare colour
    that picking a mode (the annealed mean) makes where the network is unsure. Vividness v scales
    it by k * v up to 1 (0 is plain grey, 1 the measured default) and more gently beyond (2 gives
    1.6 k). A colour hint enters the network divided by k, so that at vividness 1 the hinted colour
    comes out as it was picked."""

    temperature: float
    gain: float

    def chroma_gain(self, vividness: float) -> float:
        v = float(vividness)
        return self.gain * (v if v <= 1.0 else 1.0 + 0.6 * (v - 1.0))


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
    bins: np.ndarray | None  # Q x 2 a/b bin centres ("ab_logits"); None when the network gives a/b itself
    default_vividness: float
    prior_correction: np.ndarray | None = None  # per-bin log class-rebalancing weights the network was trained with
    meta: dict = field(repr=False, default_factory=dict)
    hints: HintInputs | None = None  # None: the network takes L only
    mean_decode: MeanDecode | None = None  # None: the annealed mean (vividness_params)

    @property
    def onnx_path(self) -> Path:
        return self.folder / self.onnx

    def weights_intact(self) -> bool:
        """Whether the weights file's SHA-256 is the one model.json gives (reads the whole file)."""
        return sha256_of(self.onnx_path) == self.sha256

    def check_weights(self, checksum: bool = True) -> None:
        """ColorizeError (one line naming the weights file) when it is missing or, with `checksum`,
        its SHA-256 is not the one model.json gives."""
        if not self.onnx_path.is_file():
            raise ColorizeError(self.onnx_path, "model weights file is missing")
        if checksum and not self.weights_intact():
            raise ColorizeError(self.onnx_path, "model weights are corrupt (SHA-256 does not match model.json)")

    @property
    def takes_hints(self) -> bool:
        """Whether the network takes colour hints besides L."""
        return self.hints is not None

    @property
    def grey_at_zero(self) -> bool:
        """Whether vividness 0 is plain grey (the scaled mean) rather than the annealed mean's most
        cautious colour."""
        return self.mean_decode is not None


def read_info(folder: str | os.PathLike[str]) -> ModelInfo:
    """Parse and validate a model folder's metadata (does not load the network)."""
    folder = Path(folder)
    meta_path = folder / METADATA
    if not folder.is_dir():
        raise ColorizeError(folder, "model folder not found")
    if not meta_path.is_file():
        raise ColorizeError(meta_path, "model metadata is missing")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as e:
        raise ColorizeError(meta_path, f"model metadata is not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise ColorizeError(meta_path, "model metadata must be a JSON object")
    missing = [k for k in REQUIRED if k not in meta]
    if missing:
        raise ColorizeError(meta_path, f"model metadata lacks {', '.join(missing)}")
    try:
        return _info_from_meta(folder, meta)
    except ColorizeError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        what = f"lacks {e}" if isinstance(e, KeyError) else f"has a field of the wrong type ({e})"
        raise ColorizeError(meta_path, f"model metadata {what}") from None


def _info_from_meta(folder: Path, meta: dict[str, Any]) -> ModelInfo:
    meta_path = folder / METADATA
    out, inp = meta["output"], meta["input"]
    kind = out.get("kind")
    if kind not in ("ab_logits", "ab"):
        raise ColorizeError(meta_path, f"unknown output kind {kind!r} (expected 'ab_logits' or 'ab')")
    bins = correction = None
    if kind == "ab_logits":
        bins = np.asarray(out.get("bins", []), np.float32)
        if bins.ndim != 2 or bins.shape[1] != 2 or len(bins) < 2:
            raise ColorizeError(meta_path, "output.bins must list the a/b bin centres as [a, b] pairs")
        if "log_rebalance_weights" in out:
            correction = np.asarray(out["log_rebalance_weights"], np.float32)
            if correction.shape != (len(bins),):
                raise ColorizeError(meta_path, "output.log_rebalance_weights must hold one number per bin")
    long_side, multiple = int(inp["long_side"]), int(inp.get("multiple", 32))
    if long_side < 1 or multiple < 1:
        raise ColorizeError(meta_path, "input.long_side and input.multiple must be positive")
    sha = str(meta["sha256"]).strip().lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ColorizeError(meta_path, "sha256 must be the 64 hex digits of the ONNX file's SHA-256")
    default_vividness = float(meta["vividness"]["default"])
    if not 0.0 <= default_vividness <= VIVIDNESS_MAX:
        raise ColorizeError(meta_path, f"vividness.default must be from 0 to {VIVIDNESS_MAX:g}")
    return ModelInfo(
        folder=folder,
        name=str(meta["name"]),
        onnx=str(meta["onnx"]),
        sha256=sha,
        long_side=long_side,
        multiple=multiple,
        output_kind=kind,
        stride=int(out.get("stride", 4)),
        bins=bins,
        default_vividness=default_vividness,
        prior_correction=correction,
        meta=meta,
        hints=_hint_inputs(meta_path, meta),
        mean_decode=_mean_decode(meta_path, meta["vividness"], bins is not None and correction is not None),
    )


def _mean_decode(meta_path: Path, block: dict[str, Any], has_prior: bool) -> MeanDecode | None:
    """model.json's vividness.decode: "annealed-mean" (the default) or "scaled-mean" with its numbers."""
    decode = block.get("decode", "annealed-mean")
    if decode == "annealed-mean":
        return None
    if decode != "scaled-mean":
        raise ColorizeError(
            meta_path, f"unknown vividness.decode {decode!r} (expected 'scaled-mean' or 'annealed-mean')"
        )
    temperature, gain = float(block["temperature"]), float(block["gain"])
    if not (0.05 <= temperature <= 5.0 and 0.1 <= gain <= 5.0):
        raise ColorizeError(meta_path, "vividness.temperature must be from 0.05 to 5 and vividness.gain from 0.1 to 5")
    if not has_prior:
        raise ColorizeError(meta_path, "vividness.decode 'scaled-mean' needs output bins and log_rebalance_weights")
    return MeanDecode(temperature, gain)


def _hint_inputs(meta_path: Path, meta: dict[str, Any]) -> HintInputs | None:
    """model.json's optional "hints" block, checked, or None when there is none."""
    if "hints" not in meta:
        return None
    block = meta["hints"]
    if not isinstance(block, dict):
        raise ColorizeError(
            meta_path, 'hints must be an object like {"ab_input": "hint_ab", "mask_input": "hint_mask", "patch": 3}'
        )
    names = []
    for key in ("ab_input", "mask_input"):
        name = block.get(key)
        if not isinstance(name, str) or not name.strip():
            raise ColorizeError(meta_path, f"hints.{key} must name one of the network's inputs")
        names.append(name)
    if names[0] == names[1]:
        raise ColorizeError(meta_path, "hints.ab_input and hints.mask_input must name two different inputs")
    patch = block.get("patch")
    if isinstance(patch, bool) or not isinstance(patch, int) or patch < 1 or patch % 2 == 0:
        raise ColorizeError(meta_path, f"hints.patch must be an odd whole number of pixels (1, 3, 5...), not {patch!r}")
    return HintInputs(ab_input=names[0], mask_input=names[1], patch=patch, meaning=str(block.get("meaning", "")))


def list_models(root: str | os.PathLike[str] | None = None) -> tuple[list[ModelInfo], list[str]]:
    """ModelInfo of every valid model folder under root, and one-line problems for the others.

    Cheap: the weights' checksum is checked when a model is loaded, not here."""
    root = Path(root) if root else models_dir()
    found, problems = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        if not (folder / METADATA).exists() and not any(folder.glob("*.onnx")):
            continue
        try:
            info = read_info(folder)
            info.check_weights(checksum=False)
            found.append(info)
        except ColorizeError as e:
            problems.append(str(e))
    return found, problems


def sha256_of(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_vividness(vividness: float) -> float:
    """A finite number in 0..2 (the user-facing range), or a ColorizeError saying so."""
    try:
        v = float(vividness)
    except (TypeError, ValueError):
        v = float("nan")
    if not np.isfinite(v) or not -1e-6 <= v <= VIVIDNESS_MAX + 1e-6:
        raise ColorizeError("vividness", f"must be a number from 0 to {VIVIDNESS_MAX:g}, not {vividness!r}")
    return min(max(v, 0.0), VIVIDNESS_MAX)


def vividness_params(vividness: float) -> tuple[float, float, float]:
    """One user number -> (annealed-mean temperature, prior correction, saturation gain).

    A network trained with class rebalancing (Zhang et al. 2016) predicts p(colour | L) multiplied
    by the rebalancing weights; a correction of 1 divides them out again (the true posterior: its
    mean is the most accurate, muted colour), 0 keeps them (rare, vivid colours favoured).
    0 = posterior mean; 1 = rebalanced distribution at temperature 0.45; up to 2 = temperature 0.25
    and saturation x1.2. Between those points everything moves smoothly (measured trade-off: see
    the model card's vividness sweep).
    """
    v = float(vividness)
    if v <= 1.0:
        return 0.45**v, 1.0 - v, 1.0
    return 0.45 * (0.25 / 0.45) ** (v - 1.0), 0.0, 1.0 + 0.2 * (v - 1.0)


def onnx_session(model: str | bytes | os.PathLike[str], threads: int = 0) -> onnxruntime.InferenceSession:
    """An ONNX Runtime session on the CPU with this project's options, from an .onnx path or its bytes.

    The one place those options are set: ColorModel uses it, and so does benchmarks/speed.py for the
    networks it compares with, so a comparison runs under exactly the same options."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads  # 0: one thread per core
    # Idle worker threads sleep instead of spinning: on a shared 2-core machine (a Streamlit server,
    # a video job with ffmpeg beside it) spinning halved throughput.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3  # errors only: ORT's warnings would break the CLI's one-line messages
    source = model if isinstance(model, bytes) else os.fspath(model)
    return ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])


def session_load_errors() -> tuple[type[Exception], ...]:
    """What ONNX Runtime raises for a file it cannot load: its own exception types (a missing file,
    bytes that are no ONNX model, a graph it cannot run), none of which derive from OSError."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    own = "Fail InvalidArgument NoSuchFile NoModel InvalidProtobuf InvalidGraph NotImplemented RuntimeException EPFail"
    return (OSError, RuntimeError, ValueError, *(getattr(state, name) for name in own.split()))


def find_model(name: str | None = None, verify: bool = True) -> ModelInfo:
    """The named model (by name or folder name) in models_dir(), or the first one there, its weights
    checked when `verify`: the one lookup of the library, the command line and the batch workers."""
    infos, problems = list_models()
    found = [i for i in infos if not name or name in (i.name, i.folder.name)]
    if not found:
        why = f" ({problems[0]})" if problems else ""
        what, message = (name, f"no such model in {models_dir()}") if name else (models_dir(), "no model found")
        raise ColorizeError(what, message + why)
    found[0].check_weights(verify)
    return found[0]


def load_default_model(name: str | None = None, threads: int = 0) -> ColorModel:
    """The named model (by name or folder name) from models_dir(), or the first one there, loaded."""
    return ColorModel(find_model(name, verify=False).folder, threads)


class ColorModel:
    """A loaded model. One ONNX Runtime session, safe to share between threads."""

    def __init__(self, folder: str | os.PathLike[str], threads: int = 0, verify: bool = True) -> None:
        self.info = read_info(folder)
        self.info.check_weights(verify)
        path = self.info.onnx_path
        try:
            self.session = onnx_session(path, threads)
        except session_load_errors() as e:
            raise ColorizeError(path, f"model weights cannot be loaded ({str(e).splitlines()[0]})") from None
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        self.input_name, self.hint_names = self._check_inputs(path, inputs)
        channels = outputs[0].shape[1] if len(outputs[0].shape) == 4 else None
        expected = 2 if self.info.bins is None else len(self.info.bins)  # no bins: a/b itself
        if isinstance(channels, int) and channels != expected:
            raise ColorizeError(path, f"the network outputs {channels} channels but model.json describes {expected}")

    def _check_inputs(self, path: Path, inputs: list[Any]) -> tuple[str, tuple[str, str] | None]:
        """The L input's name and the (hint_ab, hint_mask) names (or None), checked against model.json."""
        hints = self.info.hints
        names = [i.name for i in inputs]
        if hints is None:
            if len(inputs) == 3:
                raise ColorizeError(
                    path,
                    f"the network takes 3 inputs ({', '.join(names)}) but model.json "
                    "has no hints block describing the colour hint inputs",
                )
            if len(inputs) != 1 or len(inputs[0].shape) != 4:
                raise ColorizeError(path, "the network must take one N x 1 x H x W input (L)")
            return inputs[0].name, None
        wanted = (hints.ab_input, hints.mask_input)
        if len(inputs) != 3 or not set(wanted) <= set(names):
            raise ColorizeError(
                path,
                f"model.json describes hint inputs {wanted[0]} and {wanted[1]} besides L, "
                f"but the network's inputs are {', '.join(names)}",
            )
        by_name = {i.name: i for i in inputs}
        L_name = next(n for n in names if n not in wanted)
        for name, channels in ((L_name, 1), (hints.ab_input, 2), (hints.mask_input, 1)):
            shape = by_name[name].shape
            if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != channels):
                raise ColorizeError(path, f"the network's input {name} must be N x {channels} x H x W")
        return L_name, wanted

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def takes_hints(self) -> bool:
        """Whether this model takes colour hints (model.json has a "hints" block)."""
        return self.hint_names is not None

    @property
    def hint_patch(self) -> int | None:
        """Side, in network-input pixels, of the square painted around each hint (None: no hints)."""
        return self.info.hints.patch if self.info.hints else None

    def network_size(self, height: int, width: int, long_side: int | None = None) -> tuple[int, int]:
        """Network input (h, w) for an image: long side to `long_side` (default: the model's own),
        both multiples of `multiple`."""
        m, s = self.info.multiple, (long_side or self.info.long_side) / max(height, width)
        return (max(m, int(round(height * s / m)) * m), max(m, int(round(width * s / m)) * m))

    def run(
        self,
        L_batch: NDArray[np.floating],
        hint_ab: NDArray[np.floating] | None = None,
        hint_mask: NDArray[np.floating] | None = None,
    ) -> NDArray[np.float32]:
        """L (N x H x W float32, 0..100, one size) -> raw network output (N x C x H/stride x W/stride).

        A hint-taking model also gets hint_ab (N x 2 x H x W, Lab a/b) and hint_mask (N x 1 x H x W);
        left out, they are zeros (no hints). Giving them to a model without hint inputs is a ColorizeError."""
        x = np.ascontiguousarray(L_batch, np.float32)[:, None]
        feed = {self.input_name: x}
        if (hint_ab is None) != (hint_mask is None):
            raise ValueError("give both hint_ab and hint_mask, or neither")
        if self.hint_names is None:
            if hint_ab is not None:
                raise ColorizeError("hints", f"model {self.name} does not take colour hints")
            return self.session.run(None, feed)[0]
        n, h, w = x.shape[0], x.shape[2], x.shape[3]
        if hint_ab is None:
            hint_ab, hint_mask = np.zeros((n, 2, h, w), np.float32), np.zeros((n, 1, h, w), np.float32)
        hint_ab = np.ascontiguousarray(hint_ab, np.float32)
        if self.info.mean_decode is not None:  # the decode multiplies colour by its gain (MeanDecode)
            hint_ab = hint_ab * np.float32(1.0 / self.info.mean_decode.gain)
        hint_mask = np.ascontiguousarray(hint_mask, np.float32)
        if hint_ab.shape != (n, 2, h, w) or hint_mask.shape != (n, 1, h, w):
            raise ValueError(
                f"hint maps must be {n} x 2 x {h} x {w} and {n} x 1 x {h} x {w}, "
                f"not {hint_ab.shape} and {hint_mask.shape}"
            )
        feed[self.hint_names[0]], feed[self.hint_names[1]] = hint_ab, hint_mask
        return self.session.run(None, feed)[0]

    def to_ab(self, raw: NDArray[np.floating], vividness: float | None = None) -> NDArray[np.float32]:
        """Raw output (N x C x h x w) -> a/b (N x 2 x h x w) at the given vividness."""
        v = self.info.default_vividness if vividness is None else check_vividness(vividness)
        bins, mean = self.info.bins, self.info.mean_decode
        if bins is None:  # output kind "ab": the network gives a/b itself
            return raw.astype(np.float32) * float(np.clip(v, 0, 2))
        if mean is not None:
            temperature, correction, gain = mean.temperature, 1.0, mean.chroma_gain(v)
        else:
            temperature, correction, gain = vividness_params(v)
        n, q, h, w = raw.shape
        z: NDArray[np.floating] = np.asarray(raw, np.float32).reshape(n, q, h * w)
        if self.info.prior_correction is not None and correction > 0:
            z = z - np.float32(correction) * self.info.prior_correction[None, :, None]
        z = z * np.float32(1.0 / temperature)
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        ab = np.matmul(bins.T[None], z)  # softmax-weighted bin centres (a matmul: ~10x an einsum)
        ab *= np.float32(gain) / z.sum(axis=1, keepdims=True)
        return ab.reshape(n, 2, h, w)
