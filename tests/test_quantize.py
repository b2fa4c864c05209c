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
from conftest import ROOT, gradient_photo
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
    raw = predict(model, [photo], [[(32, 32, colour)]])[0].raw
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
