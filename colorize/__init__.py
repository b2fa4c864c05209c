"""Colorize: black-and-white photos and videos to colour with a small neural network, on a CPU, offline.

The engine (decode, lab, model, pipeline, hints, upsample, encode ...) imports nothing above it;
colorize.batch (whole collections) and colorize.video (clips) are built on it, colorize.page holds
the web page's Streamlit-free work, and the command line (`python -m colorize`) uses all but the page.
Nothing here imports Streamlit.
"""

from .atomic import write_atomic
from .decode import Photo, PhotoMeta, load_image
from .encode import encode_image
from .errors import ColorizeError
from .hints import Hint
from .model import ColorModel, list_models, load_default_model, models_dir
from .pipeline import colorize, predict, render
from .provenance import package_version
from .video import VideoLimits, colorize_video, probe_video

__version__ = package_version()  # what outputs name as their maker (colorize.provenance)

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
