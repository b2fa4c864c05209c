"""Colorize: black-and-white photos and videos to colour with a small neural network, on a CPU, offline.

The engine (decode, lab, model, pipeline, hints, upsample, encode ...) imports nothing above it;
colorize.batch (whole collections) and colorize.video (clips) are built on it, colorize.page holds
the web page's Streamlit-free work, and the command line (`python -m colorize`) uses all but the page.
Nothing here imports Streamlit.
"""

from importlib import metadata

from .atomic import write_atomic
from .decode import Photo, PhotoMeta, load_image
from .encode import encode_image
from .errors import ColorizeError
from .hints import Hint
from .model import ColorModel, list_models, load_default_model, models_dir
from .pipeline import colorize, predict, render
from .video import VideoLimits, colorize_video, probe_video


def _version() -> str:
    """The installed distribution's version (pyproject.toml's, the one place it is written); a
    checkout that was never installed reads pyproject.toml itself."""
    try:
        return metadata.version("colorize")
    except metadata.PackageNotFoundError:
        import tomllib
        from pathlib import Path

        try:
            pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text("utf-8"))
            return str(pyproject["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "0+unknown"


__version__ = _version()

__all__ = [
    "ColorModel",
    "ColorizeError",
    "Hint",
    "Photo",
    "PhotoMeta",
    "VideoLimits",
    "__version__",
    "colorize",
    "colorize_video",
    "encode_image",
    "list_models",
    "load_default_model",
    "load_image",
    "models_dir",
    "predict",
    "probe_video",
    "render",
    "write_atomic",
]
