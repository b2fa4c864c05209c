"""One uploaded photo, for an interactive front end: analysed once, then previewed and downloaded.

`analyse_photo` decodes and runs the network once (the expensive, cacheable step). Everything after
that is cheap and repeatable at any vividness: `preview` renders at screen size, `full_resolution`
renders the download at the photo's own size. The library works on full-size images in strips
(colorize.strips), straight into 8-bit for downloads; on top of that, so that a shared server never
holds many photos' worth of working memory at once, decoding takes turns (DECODES_AT_ONCE at a
time) and full-size renders take turns (one at a time), and each gives freed memory back to the OS.
The two are separate, and neither holds a turn while the network runs: a photo that is slow to
decode never makes another visitor's download wait (decoding's cost is bounded anyway: see
colorize.precheck).

Names: `safe_file_name` makes any uploaded name fit for a zip entry or a download (Windows can
extract it, no bidi control can disguise its extension, 120 characters at most), and
`display_name` makes it fit to show as plain text.
"""

import io
import threading
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath

import cv2
import numpy as np

from . import strips
from .decode import PhotoMeta, load_image
from .encode import encode_image
from .lab import gray_rgb, lightness, to_uint8, unit_float, unit_rgb
from .pipeline import Prediction, predict_L, preview_prediction, render
from .upsample import fit, shrink

PAGE_MAX_PIXELS = 12_000_000  # a 12 MP phone photo fits; the CLI takes bigger ones
PREVIEW_SIDE = 1200  # long side of what is sent to the browser
DECODES_AT_ONCE = 2  # one per core of a small server: more would only share the same CPU

_full_size_turn = threading.Lock()  # a full-size render + encode
_decode_turns = threading.BoundedSemaphore(DECODES_AT_ONCE)  # decoding a photo into its L and preview


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
    prediction: Prediction  # full-resolution L and the raw network output
    alpha: np.ndarray | None  # transparency (uint8), put back into PNG downloads
    note: str  # e.g. "first frame of 12 used"
    original: np.ndarray  # the photo as uploaded, uint8 at preview size: H x W if grey, else H x W x 3
    meta: PhotoMeta = field(default_factory=PhotoMeta)  # the original's dates and dpi, for downloads

    @property
    def size(self):
        """(width, height) of the photo, i.e. of the downloads."""
        return self.prediction.L.shape[1], self.prediction.L.shape[0]


def preview_pixels(pixels, max_side=PREVIEW_SIDE):
    """A decoded photo's pixels (colorize.decode.Photo.pixels) at screen size, uint8: one plane for
    a grey photo, else RGB. The same values as to_uint8(shrink(photo.rgb)), without that whole
    float RGB: a photo shrunk by whole factors goes in strips of whole groups of rows (each strip
    shrinks exactly as the whole would), any other a plane at a time (OpenCV's area averaging by
    fractional factors treats each channel alike)."""
    h, w = pixels.shape[:2]
    tw, th = fit(w, h, max_side)
    if (tw, th) == (w, h):
        return to_uint8(unit_float(pixels))
    if (w / tw).is_integer() and (h / th).is_integer():
        group = h // th
        rows = group * max(1, strips.STRIP_PIXELS // (w * group))
        out = np.empty((th, tw, *pixels.shape[2:]), np.uint8)
        for top in range(0, h, rows):
            # as three channels even for grey: OpenCV's whole-factor path may round one plane
            # a float step differently from three, and these must be photo.rgb's values
            part = cv2.resize(
                unit_rgb(pixels[top : top + rows]), (tw, min(rows, h - top) // group), interpolation=cv2.INTER_AREA
            )
            out[top // group : (top + rows) // group] = to_uint8(part if pixels.ndim == 3 else part[..., 0])
        return out
    if pixels.ndim == 2:
        return to_uint8(shrink(unit_float(pixels), max_side))
    return np.dstack([to_uint8(shrink(unit_float(pixels[..., c]), max_side)) for c in range(pixels.shape[2])])


def analyse_photo(model, name, data, max_pixels=PAGE_MAX_PIXELS, preview_side=PREVIEW_SIDE):
    """Decode `data` and run the network once. Raises ColorizeError for a bad or oversized file.

    Works from the photo's pixels as decoded (one 8-bit plane for a grey scan), never its whole
    float RGB: a 40 MP grey scan needs its pixels (40 MB) and its L (160 MB) at most, not 640 MB."""
    with _decode_turns:
        try:
            photo = load_image(name, data=data, max_pixels=max_pixels)
            original = preview_pixels(photo.pixels, preview_side)
            L = lightness(photo.pixels)
            alpha = None if photo.alpha is None else to_uint8(photo.alpha)  # a quarter of the float's size
            note, meta = photo.note, photo.meta
            del photo
        finally:
            _give_back_memory()
    prediction = predict_L(model, [L])[0]  # the network's input is small: no turn needed
    return AnalysedPhoto(name, prediction, alpha, note, original, meta)


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
            return encode_image(
                render(model, analysed.prediction, vividness, dtype=np.uint8),
                analysed.alpha,
                fmt,
                meta=getattr(analysed, "meta", None),
                reuse_rgb=True,
            )
        finally:
            _give_back_memory()


# Characters Windows refuses in file names (zip extractors there fail or rename), and its device names.
WINDOWS_ILLEGAL = frozenset('<>:"/\\|?*')
WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
)
MAX_NAME = 120  # characters in a zip entry or download name, extension included
MAX_SHOWN = 80  # characters of a name shown in the page


def _visible(text):
    """Text with no control, formatting or invisible characters: line breaks and tabs become spaces;
    bidi controls (U+202A-202E, U+2066-2069, U+200E/F, U+061C), zero-width characters and other
    format, surrogate, private-use or unassigned code points are dropped. NFC, whitespace runs
    collapsed."""
    out = []
    for ch in unicodedata.normalize("NFC", str(text)):
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp", "Zs"):
            out.append(" ")
        elif category not in ("Cf", "Cs", "Co", "Cn"):
            out.append(ch)
    return " ".join("".join(out).split())


def _split_extension(text):
    """('name', '.ext') when the text ends in a plausible extension (1-10 letters or digits)."""
    stem, dot, ext = text.rpartition(".")
    if dot and stem.strip(" .") and 1 <= len(ext) <= 10 and ext.isalnum():
        return stem, "." + ext
    return text, ""


def safe_file_name(name, limit=MAX_NAME, fallback="photo"):
    """A file name fit for a zip entry or a download on any system, made from any uploaded name.

    No folder part; no characters Windows refuses (<>:"/\\|?* become _) or device names (CON...);
    no control, bidi or invisible characters (so 'photo\u202egpj.exe' cannot pose as a .jpg); no
    leading or trailing dots or spaces; at most `limit` characters, shortened before the extension."""
    text = _visible(str(name).replace("\\", "/").rsplit("/", 1)[-1])
    text = "".join("_" if ch in WINDOWS_ILLEGAL else ch for ch in text)
    stem, ext = _split_extension(text.strip(" ."))
    stem = stem[: max(1, limit - len(ext))].strip(" .") or fallback
    if stem.split(".")[0].upper() in WINDOWS_DEVICES:
        stem = "_" + stem[: max(1, limit - len(ext)) - 1]
    return stem + ext


def display_name(name, limit=MAX_SHOWN):
    """A name to show as plain text: one line, no control, bidi or invisible characters, at most
    `limit` characters (the middle shortened, the extension kept). Escaping for Markdown or HTML
    is the page's business."""
    text = _visible(name) or "photo"
    if len(text) <= limit:
        return text
    stem, ext = _split_extension(text)
    keep = max(2, limit - len(ext) - 1)  # characters of the stem around the "…"
    tail = keep // 3
    return stem[: keep - tail] + "…" + (stem[-tail:] if tail else "") + ext


def output_name(name, fmt="png"):
    """'holiday/photo.jpg' -> 'photo_colorized.png' (or .jpg, .tiff, .mp4: the suffix of `fmt`), made
    safe (see safe_file_name)."""
    stem = PurePath(str(name).replace("\\", "/")).stem or "photo"
    ending = f"_colorized.{'jpg' if fmt.lower() == 'jpeg' else fmt.lower()}"
    return safe_file_name(safe_file_name(stem, MAX_NAME - len(ending)) + ending)


def unique_names(names, limit=MAX_NAME):
    """Make file names unique for a zip (ignoring case): the second 'a.png' becomes 'a-2.png'."""
    taken, out = set(), []
    for name in names:
        stem, ext = _split_extension(name)
        candidate, k = name, 1
        while candidate.lower() in taken:
            k += 1
            tag = f"-{k}"
            candidate = stem[: max(1, limit - len(ext) - len(tag))] + tag + ext
        taken.add(candidate.lower())
        out.append(candidate)
    return out


def zip_files(named_data):
    """[(file name, bytes)] -> one zip archive (stored: PNG and JPEG are already compressed), every
    entry name safe (safe_file_name) and unique."""
    names = unique_names([safe_file_name(n) for n, _ in named_data])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, (_, data) in zip(names, named_data, strict=False):
            z.writestr(name, data)
    return buf.getvalue()
