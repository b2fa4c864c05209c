"""Shared fixtures: a tiny ONNX model the tests build, the bundled model, and generated images."""

import os
from pathlib import Path

import numpy as np
import pytest

from tiny_model import build_tiny_model  # tests/ is on sys.path: pytest puts a rootless conftest's folder there

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "models" / "colorize-lite0"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A models/ folder holding only the tiny test model."""
    root = tmp_path_factory.mktemp("models")
    build_tiny_model(root / "tiny-test")
    return root


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    from colorize import ColorModel

    return ColorModel(tiny_model_dir / "tiny-test")


@pytest.fixture(scope="session")
def bundled_model():
    from colorize import ColorModel

    assert (BUNDLED / "model.json").is_file(), "the bundled model is missing from models/"
    return ColorModel(BUNDLED)


def gradient_photo(h=96, w=128, seed=0):
    """A smooth colour test photo: sky-like top, dark bottom, a bright disc."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.zeros((h, w, 3), np.float32)
    rgb[..., 0] = 0.3 + 0.4 * x / w
    rgb[..., 1] = 0.2 + 0.5 * (1 - y / h)
    rgb[..., 2] = 0.8 * (1 - y / h)
    disc = (x - w * 0.6) ** 2 + (y - h * 0.4) ** 2 < (min(h, w) * 0.2) ** 2
    rgb[disc] = [0.95, 0.9, 0.3]
    rgb += rng.normal(0, 0.01, rgb.shape).astype(np.float32)
    return np.clip(rgb, 0, 1)


@pytest.fixture
def photo_rgb():
    return gradient_photo()


@pytest.fixture(autouse=True)
def _no_network_models(monkeypatch):
    """Tests never depend on a user's COLORIZE_MODELS setting."""
    monkeypatch.delenv("COLORIZE_MODELS", raising=False)
    yield


os.environ.setdefault("OMP_NUM_THREADS", "2")
