"""Colorize: black-and-white photos and videos to colour with a small neural network, on a CPU, offline.

The library never imports Streamlit; `app.py` and the CLI (`python -m colorize`) are thin layers on it.
"""
from .decode import Photo, PhotoMeta, load_image
from .encode import encode_image, write_atomic
from .errors import ColorizeError
from .hints import Hint
from .model import ColorModel, list_models, models_dir
from .pipeline import colorize, predict, render
from .video import VideoLimits, colorize_video, probe_video

__version__ = "0.1.0"


def load_default_model(name=None, threads=0):
    """The named model from models_dir(), or the first one there."""
    infos, problems = list_models()
    if name:
        for info in infos:
            if name in (info.name, info.folder.name):
                return ColorModel(info.folder, threads)
        raise ColorizeError(name, "no such model in " + str(models_dir()) + (f" ({problems[0]})" if problems else ""))
    if not infos:
        raise ColorizeError(models_dir(), "no model found" + (f" ({problems[0]})" if problems else ""))
    return ColorModel(infos[0].folder, threads)


__all__ = ["ColorModel", "ColorizeError", "Hint", "Photo", "PhotoMeta", "colorize", "encode_image", "list_models",
           "load_default_model", "load_image", "models_dir", "predict", "render", "write_atomic",
           "VideoLimits", "colorize_video", "probe_video"]
