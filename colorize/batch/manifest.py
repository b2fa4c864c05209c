"""The manifest: a CSV record of a batch, every input once, kept whole even when the run is killed.

Safe to open in a spreadsheet, and exact about names (`read_manifest` reads it back):

- A cell that begins with =, +, -, @, a tab, a carriage return or a line feed would be taken for a
  formula by a spreadsheet (CSV injection: a file named =HYPERLINK(...).jpg): such a cell is written
  with a ' in front, as OWASP advises, and so is a cell that begins with ' itself, so a reader takes
  one leading ' off every cell to get its text back.
- Names are UTF-8 text, as they are, in rows whose `names` column says "utf-8". A file system can
  hold names that are not UTF-8 (a folder copied from an old NAS) or that hold escape sequences and
  line breaks: a row with such a name says "escaped", and its input and output are written with
  \\xNN for each byte that is not UTF-8, \\uXXXX for a control, format (bidi) or line-break
  character and \\\\ for a backslash, so the name's bytes come back exactly (unescape_name).
- error and note are for people: written as the command line prints them (colorize.names.printable:
  escape sequences, line breaks and bytes that are not UTF-8 shown as backslash escapes).
"""

import csv
import io
import re
import time

from ..atomic import write_atomic
from ..decode import one_line
from ..errors import ColorizeError
from ..names import printable, undecodable_byte, unprintable

MANIFEST_EVERY_S = 2.0  # how often a running batch rewrites its manifest
MANIFEST_FIELDS = ("input", "output", "status", "error", "note", "seconds", "names")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "'")  # the first characters a cell must not keep bare
TEXT_NAMES, ESCAPED_NAMES = "utf-8", "escaped"  # the `names` column: how a row writes its input and output


def sheet_cell(text):
    """A cell a spreadsheet shows as text, never runs as a formula: ' in front of a risky start."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _plain(name):
    return not any(map(unprintable, name))


def escape_name(name):
    """A name as UTF-8 text that shows the same everywhere and that unescape_name turns back into it:
    a byte that is not UTF-8 (a lone surrogate, as os.fsdecode gives it) as \\xNN, a control, format
    or line-break character as \\uXXXX (\\UXXXXXXXX above U+FFFF), a backslash as \\\\."""
    out = []
    for ch in name:
        byte = undecodable_byte(ch)
        if ch == "\\":
            out.append("\\\\")
        elif byte is not None:
            out.append(f"\\x{byte:02x}")
        elif unprintable(ch):
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return "".join(out)


_NAME_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")


def _unescape(m):
    code = m.group(1)
    if code == "\\":
        return "\\"
    return chr(0xDC00 + int(code[1:], 16)) if code[0] == "x" else chr(int(code[1:], 16))


def unescape_name(cell):
    """escape_name undone: the name as os.fsdecode gives it (os.fsencode turns it into its bytes)."""
    return _NAME_ESCAPE.sub(_unescape, cell)


def manifest_row(outcome):
    """One outcome as the manifest's cells (see the module's docstring)."""
    r = outcome
    paths = (r.source, r.output)
    escaped = not all(map(_plain, paths))
    source, output = (escape_name(p) if escaped else p for p in paths)
    return [
        sheet_cell(source),
        sheet_cell(output),
        r.status,
        sheet_cell(printable(r.error)),
        sheet_cell(printable(r.note)),
        f"{r.seconds:.3f}" if r.status in ("done", "failed") and r.seconds else "",
        ESCAPED_NAMES if escaped else TEXT_NAMES,
    ]


def read_manifest(path):
    """The rows of a manifest as dicts, with every cell's text back (the leading ' off) and input and
    output as the file system names them (os.fsencode gives their bytes)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for key, value in row.items():
            if isinstance(value, str) and value.startswith("'"):
                row[key] = value[1:]
        if row.get("names") == ESCAPED_NAMES:
            row["input"], row["output"] = unescape_name(row["input"]), unescape_name(row["output"])
    return rows


class Manifest:
    """The CSV record of a batch: every input once, in plan order, with its output, status, error,
    note, seconds and how its names are written. Rewritten atomically (at most every MANIFEST_EVERY_S
    while the batch runs, and at its end), so even a killed run leaves a whole, valid file."""

    def __init__(self, path, rows, every=MANIFEST_EVERY_S):
        self.path, self.rows, self.every = path, rows, every
        self.written_at = 0.0

    def record(self, outcome):
        self.rows[outcome.index] = outcome
        if self.path and time.monotonic() - self.written_at >= self.every:
            self.write()

    def write(self):
        if not self.path:
            return
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator="\n")
        out.writerow(MANIFEST_FIELDS)
        out.writerows(manifest_row(r) for r in self.rows)
        try:
            write_atomic(self.path, buf.getvalue().encode("utf-8"))
        except OSError as e:
            raise ColorizeError(self.path, f"manifest cannot be written ({e.strerror or one_line(e)})") from None
        self.written_at = time.monotonic()
