"""One uploaded photo, for an interactive front end: analysed once, then previewed and downloaded.

`analyse_photo` decodes and runs the network once (the expensive, cacheable step). Everything after
that is cheap and repeatable at any vividness: `preview` renders at screen size, `full_resolution`
renders the download at the photo's own size. The library works on full-size images in strips
(colorize.strips), straight into 8-bit for downloads; on top of that, so that a shared server never
holds several photos' worth of working memory at once, the full-size steps take turns (one at a time)
and give freed memory back to the OS after each.
"""
import io
import threading
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

import cv2
import numpy as np

from .decode import load_image
from .encode import encode_image, to_uint8
from .lab import gray_rgb, lightness
from .pipeline import Prediction, predict_L, render

PAGE_MAX_PIXELS = 12_000_000  # a 12 MP phone photo fits; the CLI takes bigger ones
PREVIEW_SIDE = 1200           # long side of what is sent to the browser

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
    alpha: np.ndarray | None      # transparency (uint8), put back into PNG downloads
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
        L = lightness(photo.rgb)
        alpha = None if photo.alpha is None else to_uint8(photo.alpha)  # a quarter of the float's size
        note = photo.note
        del photo
        prediction = predict_L(model, [L])[0]
        _give_back_memory()
    return AnalysedPhoto(name, prediction, alpha, note, original)


def preview_prediction(prediction, max_side=PREVIEW_SIDE):
    """The same network output with L at screen size: renders in milliseconds."""
    return Prediction(shrink(prediction.L, max_side), prediction.raw)


def preview(model, analysed, vividness=None, max_side=PREVIEW_SIDE):
    """Colorized photo at screen size, uint8 RGB."""
    return render(model, preview_prediction(analysed.prediction, max_side), vividness, dtype=np.uint8)


def gray_preview(analysed, max_side=PREVIEW_SIDE):
    """What the network sees (the photo's lightness as neutral grey), uint8 RGB at screen size."""
    return to_uint8(gray_rgb(shrink(analysed.prediction.L, max_side)))


def full_resolution(model, analysed, vividness=None, fmt="png"):
    """The download: encoded colorized photo at full size (PNG keeps transparency)."""
    with _full_size_turn:
        try:
            return encode_image(render(model, analysed.prediction, vividness, dtype=np.uint8), analysed.alpha, fmt)
        finally:
            _give_back_memory()


def output_name(name, fmt="png"):
    """'holiday/photo.jpg' -> 'photo_colorized.png' (or .jpg, .mp4: the suffix of `fmt`)."""
    stem = PurePath(str(name).replace("\\", "/")).stem or "photo"
    return f"{stem}_colorized.{'jpg' if fmt.lower() == 'jpeg' else fmt.lower()}"


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
