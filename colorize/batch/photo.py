"""One photo, the same everywhere: every path of a batch (this process, a pool worker, a Dask worker)
loads the model once with `worker_model` and colorizes each photo with `run_job`, so a photo's output
bytes are the same whichever path made them. Temporary files are tagged with host and process
(colorize.atomic's temp_suffix), so the leftovers of a killed worker can be told from files that a
live one is still writing (remove_stale_temps)."""

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import TEMP_SUFFIX, remove_stale_temps, temp_suffix, write_atomic
from ..decode import DEFAULT_MAX_PIXELS, describe_pixels, load_image, one_line
from ..encode import DEEP_FORMATS, FORMATS, encode_image, render_16_bits
from ..errors import ColorizeError
from ..model import ColorModel, find_model
from ..pipeline import predict, render
from .plan import Outcome

__all__ = [
    "MAX_ATTEMPTS",
    "PhotoSettings",
    "colorize_photo",
    "error_from_message",
    "remove_stale_temps",
    "run_job",
    "temp_suffix",
    "worker_model",
]

MAX_ATTEMPTS = 3  # a photo whose worker process dies this often is reported failed (Dask's default too)


@dataclass(frozen=True)
class PhotoSettings:
    """How every photo of a batch is made; sent to every worker, so all make the same bytes."""

    model_folder: str  # absolute; a worker without it loads the model of the same name from its models/
    model_name: str
    model_sha256: str  # every worker checks that its model has these weights
    fmt: str = "png"
    vividness: float | None = None
    upsample: str = "guided"
    max_pixels: int = DEFAULT_MAX_PIXELS
    hints: tuple = ()  # colour hints (colorize.hints), for a batch of one photo

    @classmethod
    def for_model(cls, info, **settings):
        return cls(str(Path(info.folder).resolve()), info.name, info.sha256, **settings)


_models: dict[tuple[str, str, int], ColorModel] = {}
_models_lock = threading.Lock()


def worker_model(settings, threads=0, verify=True):
    """This process's model for the batch, loaded once and kept (pool workers and Dask workers
    call this for every photo). threads: ONNX Runtime and OpenCV threads (0: their defaults)."""
    key = (settings.model_sha256, settings.model_folder, threads)
    with _models_lock:
        if key not in _models:
            folder = Path(settings.model_folder)
            if not (folder / "model.json").is_file():  # another machine: its own copy of the model
                folder = find_model(settings.model_name, verify=False).folder
            model = ColorModel(folder, threads, verify=verify)
            if model.info.sha256 != settings.model_sha256:
                raise ColorizeError(
                    model.info.onnx_path,
                    f"has other weights than the batch's model "
                    f"{settings.model_name}; install the same model everywhere",
                )
            if threads:
                import cv2

                cv2.setNumThreads(threads)
            _models[key] = model
        return _models[key]


def error_from_message(message):
    """The ColorizeError of a worker's one-line message (an exception may not survive pickling)."""
    return ColorizeError(*message.split(": ", 1)) if ": " in message else ColorizeError("worker", message)


def colorize_photo(model, src, dst, settings, temp_suffix=TEMP_SUFFIX):
    """One input file to one output file, written atomically; returns a note for the user (or "")."""
    photo = load_image(src, max_pixels=settings.max_pixels)
    if settings.hints:
        from ..hints import check_hints

        hints = [check_hints(settings.hints, photo.rgb.shape[1], photo.rgb.shape[0], source=src)]
        prediction = predict(model, [photo.rgb], hints)[0]
    else:
        prediction = predict(model, [photo.rgb])[0]
    if photo.meta.bits > 8 and FORMATS[settings.fmt] in DEEP_FORMATS:  # a 16-bit scan stays 16-bit
        result = render_16_bits(model, prediction, settings.vividness, settings.upsample)
    else:
        result = render(model, prediction, settings.vividness, settings.upsample, dtype=np.uint8)
    data = encode_image(result, photo.alpha, settings.fmt, meta=photo.meta, model=model)
    try:
        write_atomic(dst, data, temp_suffix)
    except OSError as e:
        raise ColorizeError(dst, f"cannot be written ({e.strerror or one_line(e)})") from None
    return photo.note


def run_job(model, job, settings, temp_suffix=TEMP_SUFFIX):
    """(index, source, output) -> Outcome. Never raises for a bad photo: one odd file must not
    stop the batch (KeyboardInterrupt still stops it)."""
    index, src, dst = job
    t0, c0 = time.perf_counter(), time.thread_time()
    try:
        note = colorize_photo(model, src, dst, settings, temp_suffix)
        return Outcome(
            index, src, dst, "done", note=note or "", seconds=time.perf_counter() - t0, cpu=time.thread_time() - c0
        )
    except ColorizeError as e:
        error = str(e)
    except MemoryError:
        error = (
            f"{src}: not enough memory to colorize this image (try a smaller one, "
            f"or lower --max-pixels from {describe_pixels(settings.max_pixels)})"
        )
    except Exception as e:  # noqa: BLE001 - any failure of one photo is that photo's, and the batch goes on
        error = f"{src}: could not be colorized ({type(e).__name__}: {one_line(e)})"
    return Outcome(
        index, src, dst, "failed", error=error, seconds=time.perf_counter() - t0, cpu=time.thread_time() - c0
    )
