"""Uploaded names, made fit for the page: any name a visitor's file has can be shown and saved.

`safe_file_name` (colorize.names, shared with the command line's output names) makes a name fit
for a zip entry or a download (Windows can extract it, no bidi control can disguise its extension,
120 characters at most), `output_name` names a result after its photo, `unique_names` keeps a
zip's entries apart; `display_name` makes a name fit to show as plain text and `markdown_literal`
fit for the page's Markdown.
"""

import re
from pathlib import PurePath

from ..names import MAX_NAME, colorized_name, safe_file_name, split_extension, visible_text

__all__ = ["MAX_NAME", "display_name", "markdown_literal", "output_name", "safe_file_name", "unique_names"]

MAX_SHOWN = 80  # characters of a name shown in the page
MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation mark
WORD_JOINER = "\u2060"  # invisible; inside 'www' and after '.', '@', ':' it keeps an address from matching


def output_name(name, fmt="png"):
    """'holiday/photo.jpg' -> 'photo_colorized.png' (or .jpg, .tif, .mp4: the suffix of `fmt`), made
    safe (see safe_file_name): the command line's output names too (colorize.names.colorized_name)."""
    stem = PurePath(str(name).replace("\\", "/")).stem or "photo"
    return colorized_name(stem, fmt)


def unique_names(names, limit=MAX_NAME):
    """Make file names unique for a zip (ignoring case): the second 'a.png' becomes 'a-2.png'."""
    taken, out = set(), []
    for name in names:
        stem, ext = split_extension(name)
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
    text = visible_text(name) or "photo"
    if len(text) <= limit:
        return text
    stem, ext = split_extension(text)
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
