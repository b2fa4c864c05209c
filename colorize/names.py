"""File names as a file system can hold them, made safe to save under and to print.

`safe_file_name` makes any name fit to save under on any system (no folder part, nothing Windows
refuses, no control, bidi or invisible character that could disguise an extension, a length
limit); the page names its downloads with it and the command line its outputs. `printable` makes
any text fit for one terminal line: a name's escape sequences, line breaks, bidi overrides and bytes
that are not UTF-8 are shown as backslash escapes instead of acting on the terminal.

Names that are not UTF-8 (a folder copied from an old NAS) arrive from the file system as Python
does it (PEP 383): each byte that is not UTF-8 as a lone surrogate U+DC80..U+DCFF. `printable` shows
such a byte as \\xNN, `safe_file_name` as %NN (so two such names stay apart).
"""

import unicodedata

# Characters Windows refuses in file names (zip extractors there fail or rename), and its device names.
WINDOWS_ILLEGAL = frozenset('<>:"/\\|?*')
WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
)
MAX_NAME = 120  # characters in a zip entry or download name, extension included


def undecodable_byte(ch):
    """The byte a lone surrogate U+DC80..U+DCFF stands for (os.fsdecode's surrogateescape), else None."""
    code = ord(ch)
    return code - 0xDC00 if 0xDC80 <= code <= 0xDCFF else None


def visible_text(text):
    """Text with no control, formatting or invisible characters: line breaks and tabs become spaces;
    bidi controls (U+202A-202E, U+2066-2069, U+200E/F, U+061C), zero-width characters and other
    format, private-use or unassigned code points are dropped, and a byte that is not UTF-8 becomes
    %NN. NFC, whitespace runs collapsed."""
    out = []
    for ch in unicodedata.normalize("NFC", str(text)):
        category = unicodedata.category(ch)
        byte = undecodable_byte(ch)
        if byte is not None:
            out.append(f"%{byte:02X}")
        elif category in ("Cc", "Zl", "Zp", "Zs"):
            out.append(" ")
        elif category not in ("Cf", "Cs", "Co", "Cn"):
            out.append(ch)
    return " ".join("".join(out).split())


def split_extension(text):
    """('name', '.ext') when the text ends in a plausible extension (1-10 letters or digits)."""
    stem, dot, ext = text.rpartition(".")
    if dot and stem.strip(" .") and 1 <= len(ext) <= 10 and ext.isalnum():
        return stem, "." + ext
    return text, ""


def safe_file_name(name, limit=MAX_NAME, fallback="photo"):
    """A file name fit to save under on any system, made from any name.

    No folder part; no characters Windows refuses (<>:"/\\|?* become _) or device names (CON...);
    no control, bidi or invisible characters (so 'photo\u202egpj.exe' cannot pose as a .jpg); no
    leading or trailing dots or spaces; at most `limit` characters, shortened before the extension."""
    text = visible_text(str(name).replace("\\", "/").rsplit("/", 1)[-1])
    text = "".join("_" if ch in WINDOWS_ILLEGAL else ch for ch in text)
    stem, ext = split_extension(text.strip(" ."))
    stem = stem[: max(1, limit - len(ext))].strip(" .") or fallback
    if stem.split(".")[0].upper() in WINDOWS_DEVICES:
        stem = "_" + stem[: max(1, limit - len(ext)) - 1]
    return stem + ext


def safe_output_name(stem, ending, limit=MAX_NAME, fallback="photo"):
    """`stem` + `ending` ('.png', '_colorized.jpg'), both made safe (see safe_file_name): the ending
    is kept whole, the stem shortened to fit."""
    return safe_file_name(safe_file_name(stem, limit - len(ending), fallback) + ending, limit, fallback)


COLORIZED = "_colorized"  # what a result's name adds to its photo's, on the page and the command line
SUFFIXES = {"jpeg": "jpg", "tiff": "tif"}  # one suffix per format


def colorized_name(stem, fmt, limit=MAX_NAME):
    """A result's file name: 'photo' + 'png' -> 'photo_colorized.png' ('jpeg' -> .jpg, 'tiff' -> .tif),
    made safe (see safe_file_name). The page's downloads and the command line's outputs both."""
    fmt = fmt.lower()
    return safe_output_name(stem, f"{COLORIZED}.{SUFFIXES.get(fmt, fmt)}", limit)


_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})  # control, format (bidi), surrogate, line breaks
_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def unprintable(ch):
    """Whether a character would act on a terminal or hide in text: a control, format (bidi,
    zero-width), line or paragraph separator character, or a lone surrogate (a byte not UTF-8)."""
    return unicodedata.category(ch) in _UNPRINTABLE


def _escaped(ch):
    byte = undecodable_byte(ch)
    if byte is not None:
        return f"\\x{byte:02x}"
    if not unprintable(ch):
        return ch
    code = ord(ch)
    if ch in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[ch]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text):
    """Text fit for one line of a terminal: control characters (escape sequences, line breaks, tabs,
    DEL and C1), bidi and invisible format characters, line and paragraph separators and lone
    surrogates are shown as backslash escapes (\\x1b, \\n, \\u202e); a byte that is not UTF-8
    as \\xNN. Everything else is left as it is."""
    text = str(text)
    if text.isprintable():  # the common case: nothing to escape (isprintable is False for all of the above)
        return text
    return "".join(map(_escaped, text))
