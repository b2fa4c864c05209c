"""training/quantize.py: a model folder quantized to 8-bit integers in place, checked before it is written."""

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from colorize import ColorModel, Hint, colorize
from colorize.model import sha256_of
from colorize.pipeline import predict
from helpers import ROOT, gradient_photo
from tiny_model import build_tiny_hint_model, build_tiny_model, nearest_bin

sys.path.insert(0, str(ROOT / "training"))
import quantize


@pytest.fixture
def calibration_folder(tmp_path):
    folder = tmp_path / "calib"
    folder.mkdir()
    for i in range(6):
        rgb = gradient_photo(72 + 8 * i, 96, seed=i)
        Image.fromarray((rgb * 255 + 0.5).astype(np.uint8)).save(folder / f"photo{i}.png")
    return folder


@pytest.fixture
def float_folder(tmp_path):
    return build_tiny_model(tmp_path / "model", scaled_mean=(0.8, 1.8))


def test_quantized_model_runs_in_the_engine_like_the_float_one(float_folder, calibration_folder):
    photo = gradient_photo(96, 128, seed=9)
    want = colorize(ColorModel(float_folder), photo)
    error = quantize.quantize_folder(float_folder, calibration_folder)
    meta = json.loads((float_folder / "model.json").read_text())
    assert meta["precision"]["weights"] == "int8" and meta["precision"]["mean_ab_error"] == round(error, 3)
    assert meta["sha256"] == sha256_of(float_folder / "model.onnx")  # the engine's checksum holds
    graph = onnx.load(float_folder / "model.onnx").graph
    ops = {node.op_type for node in graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert any(i.data_type == onnx.TensorProto.INT8 for i in graph.initializer)  # the weights are 8-bit now
    got = colorize(ColorModel(float_folder), photo)
    assert np.abs(got - want).mean() < 0.01
    assert error < quantize.MAX_AB_ERROR


def test_hint_inputs_are_calibrated_on_real_hints(tmp_path, calibration_folder, monkeypatch):
    """Half the calibration photos carry hints, so the hint inputs get a real range (calibrated on
    none, every hint would round to zero). The tiny hint model's huge hint logits swamp its plain
    ones in 8 bits, so its colour check is lifted here: this is about the hints alone."""
    folder = build_tiny_hint_model(tmp_path / "hints", scaled_mean=(0.8, 1.8))
    monkeypatch.setattr(quantize, "MAX_AB_ERROR", float("inf"))
    quantize.quantize_folder(folder, calibration_folder)
    model = ColorModel(folder)
    photo = gradient_photo(64, 64, seed=3)
    colour = (40, 160, 60)  # a green the plain model never makes
    raw = predict(model, [photo], [[(32, 32, colour)]])[0].pinned.raw
    wanted = nearest_bin(np.array(Hint(32, 32, colour).ab) / 1.8)  # a hint enters divided by the gain
    assert wanted not in (1, 2) and int(raw[:, 8, 8].argmax()) == wanted


def test_nothing_is_written_when_the_colours_move_too_far(float_folder, calibration_folder, monkeypatch):
    before = {p.name: p.read_bytes() for p in Path(float_folder).iterdir()}
    monkeypatch.setattr(quantize, "MAX_AB_ERROR", -1.0)
    with pytest.raises(SystemExit, match="not written"):
        quantize.quantize_folder(float_folder, calibration_folder)
    assert {p.name: p.read_bytes() for p in Path(float_folder).iterdir()} == before


def test_a_quantized_model_is_not_quantized_twice(float_folder, calibration_folder):
    quantize.quantize_folder(float_folder, calibration_folder)
    with pytest.raises(SystemExit, match="already quantized"):
        quantize.quantize_folder(float_folder, calibration_folder)


def hint_input_scale(folder):
    """The 8-bit step of the quantized network's hint_ab input (its calibrated range / 255)."""
    graph = onnx.load(folder / "model.onnx").graph
    node = next(n for n in graph.node if n.op_type == "QuantizeLinear" and n.input[0] == "hint_ab")
    return float(next(onnx.numpy_helper.to_array(i) for i in graph.initializer if i.name == node.input[1]))


def test_a_calibration_decode_sets_the_hint_range_and_leaves_the_shipped_decode(tmp_path, calibration_folder):
    """A hint enters divided by the gain: calibrated under half model.json's gain, the hint input's
    range doubles, while model.json keeps its own decode and says which one calibration used."""
    shipped = build_tiny_hint_model(tmp_path / "shipped", scaled_mean=(0.8, 1.8))
    other = build_tiny_hint_model(tmp_path / "other", scaled_mean=(0.8, 1.8))
    vividness = json.loads((other / "model.json").read_text())["vividness"]
    for folder, decode in ((shipped, None), (other, (0.8, 0.9))):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(quantize, "MAX_AB_ERROR", float("inf"))  # the tiny hint model's rounding: see above
            quantize.quantize_folder(folder, calibration_folder, calib_decode=decode)
    assert hint_input_scale(other) == pytest.approx(2 * hint_input_scale(shipped), rel=0.01)
    meta = json.loads((other / "model.json").read_text())
    assert meta["vividness"] == vividness
    assert "under the decode T 0.8, gain 0.9" in meta["precision"]["calibration"]


def test_a_calibration_decode_needs_the_scaled_mean(tmp_path, calibration_folder):
    folder = build_tiny_model(tmp_path / "annealed")
    with pytest.raises(SystemExit, match="does not use the scaled-mean decode"):
        quantize.quantize_folder(folder, calibration_folder, calib_decode=(0.7, 1.7))
