"""One uploaded photo, for an interactive front end: analysed once, then previewed and downloaded.

`analyse_photo` decodes and runs the network once (the expensive, cacheable step). Everything after
that is cheap and repeatable at any vividness: `preview` renders at screen size, `full_resolution`
renders the download at the photo's own size. A shared server must not hold several full-size
photos' worth of float buffers at once, so the full-size steps take turns (one at a time) and the
download is recombined in strips straight into 8-bit, never as a whole float image.
"""
import io
import threading
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

import cv2
import numpy as np
from PIL import Image

from .decode import load_image
from .encode import FORMATS, to_uint8
from .lab import gray_rgb, lightness, recombine
from .pipeline import Prediction, predict_L, render, render_ab

PAGE_MAX_PIXELS = 12_000_000  # a 12 MP phone photo fits; the CLI takes bigger ones
PREVIEW_SIDE = 1200           # long side of what is sent to the browser
STRIP_ROWS = 256

_full_size_turn = threading.Lock()


def _give_back_memory():
    """Return freed heap memory to the OS (glibc keeps it otherwise, and a server's RSS only grows)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


@dataclass
class AnalysedPhoto:
    """What the network made of one photo: enough to render it again at any vividness."""
    name: str
    prediction: Prediction        # full-resolution L and the raw network output
    alpha: np.ndarray | None      # transparency, put back into PNG downloads
    note: str                     # e.g. "first frame of 12 used"
    original: np.ndarray          # the photo as uploaded, uint8, at preview size

    @property
    def size(self):
        """(width, height) of the photo, i.e. of the downloads."""
        return self.prediction.L.shape[1], self.prediction.L.shape[0]


def fit(width, height, max_side):
    """(w, h) scaled down (never up) so the long side is at most max_side."""
    s = min(1.0, max_side / max(width, height))
    return max(1, round(width * s)), max(1, round(height * s))


def shrink(image, max_side):
    h, w = image.shape[:2]
    tw, th = fit(w, h, max_side)
    if (tw, th) == (w, h):
        return image
    return cv2.resize(image, (tw, th), interpolation=cv2.INTER_AREA)


def analyse_photo(model, name, data, max_pixels=PAGE_MAX_PIXELS, preview_side=PREVIEW_SIDE):
    """Decode `data` and run the network once. Raises ColorizeError for a bad or oversized file."""
    with _full_size_turn:
        photo = load_image(name, data=data, max_pixels=max_pixels)
        original = to_uint8(shrink(photo.rgb, preview_side))
        L = lightness_in_strips(photo.rgb)
        alpha, note = photo.alpha, photo.note
        del photo
        prediction = predict_L(model, [L])[0]
        _give_back_memory()
    return AnalysedPhoto(name, prediction, alpha, note, original)


def lightness_in_strips(rgb):
    """L of a big image without a full-size float Lab copy alongside it."""
    L = np.empty(rgb.shape[:2], np.float32)
    for top in range(0, L.shape[0], STRIP_ROWS):
        L[top:top + STRIP_ROWS] = lightness(rgb[top:top + STRIP_ROWS])
    return L


def preview_prediction(prediction, max_side=PREVIEW_SIDE):
    """The same network output with L at screen size: renders in milliseconds."""
    return Prediction(shrink(prediction.L, max_side), prediction.raw)


def preview(model, analysed, vividness=None, max_side=PREVIEW_SIDE):
    """Colorized photo at screen size, uint8 RGB."""
    return to_uint8(render(model, preview_prediction(analysed.prediction, max_side), vividness))


def gray_preview(analysed, max_side=PREVIEW_SIDE):
    """What the network sees (the photo's lightness as neutral grey), uint8 RGB at screen size."""
    return to_uint8(gray_rgb(shrink(analysed.prediction.L, max_side)))


def full_resolution_rgb(model, analysed, vividness=None):
    """Colorized photo at its own size, uint8 RGB (same pixels as pipeline.render, less memory)."""
    with _full_size_turn:
        L = analysed.prediction.L
        ab = render_ab(model, analysed.prediction, vividness)
        out = np.empty(L.shape + (3,), np.uint8)
        for top in range(0, L.shape[0], STRIP_ROWS):
            rows = slice(top, top + STRIP_ROWS)
            out[rows] = to_uint8(recombine(L[rows], ab[rows]))
        del ab
        _give_back_memory()
        return out


def encode_uint8(rgb, alpha=None, fmt="png", quality=95):
    """uint8 RGB (+ float alpha) -> PNG/JPEG bytes, with encode.encode_image's settings."""
    kind = FORMATS[fmt.lower()]
    if alpha is not None and kind == "PNG":
        im = Image.fromarray(np.dstack([rgb, to_uint8(alpha)]), "RGBA")
    else:
        im = Image.fromarray(rgb, "RGB")
    buf = io.BytesIO()
    if kind == "JPEG":
        im.save(buf, "JPEG", quality=quality, subsampling=0, optimize=True)
    else:
        im.save(buf, "PNG", compress_level=3)
    return buf.getvalue()


def full_resolution(model, analysed, vividness=None, fmt="png"):
    """The download: encoded colorized photo at full size (PNG keeps transparency)."""
    return encode_uint8(full_resolution_rgb(model, analysed, vividness), analysed.alpha, fmt)


def output_name(name, fmt="png"):
    """'holiday/photo.jpg' -> 'photo_colorized.png'."""
    stem = PurePath(str(name).replace("\\", "/")).stem or "photo"
    return f"{stem}_colorized.{'jpg' if fmt.lower() in ('jpg', 'jpeg') else 'png'}"


def unique_names(names):
    """Make file names unique for a zip: the second 'a.png' becomes 'a-2.png'."""
    taken, out = set(), []
    for name in names:
        p, candidate, k = PurePath(name), name, 1
        while candidate.lower() in taken:
            k += 1
            candidate = f"{p.stem}-{k}{p.suffix}"
        taken.add(candidate.lower())
        out.append(candidate)
    return out


def zip_files(named_data):
    """[(file name, bytes)] -> one zip archive (stored: PNG and JPEG are already compressed)."""
    names = unique_names([n for n, _ in named_data])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, (_, data) in zip(names, named_data):
            z.writestr(name, data)
    return buf.getvalue()
