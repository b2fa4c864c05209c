"""Uploaded names, made fit for the page: any name a visitor's file has can be shown and saved.

`safe_file_name` makes a name fit for a zip entry or a download (Windows can extract it, no bidi
control can disguise its extension, 120 characters at most), `output_name` names a result after its
photo, `unique_names` keeps a zip's entries apart; `display_name` makes a name fit to show as plain
text and `markdown_literal` fit for the page's Markdown.
"""

import re
import unicodedata
from pathlib import PurePath

# Characters Windows refuses in file names (zip extractors there fail or rename), and its device names.
WINDOWS_ILLEGAL = frozenset('<>:"/\\|?*')
WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
)
MAX_NAME = 120  # characters in a zip entry or download name, extension included
MAX_SHOWN = 80  # characters of a name shown in the page
MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation mark
WORD_JOINER = "\u2060"  # invisible; inside 'www' and after '.', '@', ':' it keeps an address from matching


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


def display_name(name, limit=MAX_SHOWN):
    """A name to show as plain text: one line, no control, bidi or invisible characters, at most
    `limit` characters (the middle shortened, the extension kept). For the page's Markdown, see
    `markdown_literal`."""
    text = _visible(name) or "photo"
    if len(text) <= limit:
        return text
    stem, ext = _split_extension(text)
    keep = max(2, limit - len(ext) - 1)  # characters of the stem around the "…"
    tail = keep // 3
    return stem[: keep - tail] + "…" + (stem[-tail:] if tail else "") + ext


def markdown_literal(name, limit=MAX_SHOWN):
    """`display_name` escaped for Markdown: every punctuation mark backslashed, so nothing in a file
    name becomes formatting or maths; and an invisible word joiner after each '.', '@' and ':', since
    the page's Markdown turns bare web and e-mail addresses into links after escapes are resolved."""
    text = MARKDOWN_PUNCTUATION.sub(r"\\\1", display_name(name, limit))
    text = re.sub(r"(?i)(w)(ww)", r"\1" + WORD_JOINER + r"\2", text)  # 'www.' starts a link by itself
    return re.sub(r"(\\[.@:])", r"\1" + WORD_JOINER, text)
