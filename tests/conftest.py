"""Shared fixtures: a tiny ONNX model the tests build, the bundled model, and a generated photo.

Shared helpers that are not fixtures live in helpers.py.
"""

import os

import pytest

from helpers import BUNDLED, gradient_photo  # tests/ is on sys.path: pytest puts a rootless conftest's folder there
from tiny_model import build_tiny_model


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


@pytest.fixture
def photo_rgb():
    return gradient_photo()


@pytest.fixture(autouse=True)
def _no_network_models(monkeypatch):
    """Tests never depend on a user's COLORIZE_MODELS setting."""
    monkeypatch.delenv("COLORIZE_MODELS", raising=False)
    yield


os.environ.setdefault("OMP_NUM_THREADS", "2")
