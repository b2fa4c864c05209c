"""What a colorized file says about itself: the original's descriptive fields, and a record that its
colours were added by this program.

Read (`descriptive_fields`, used by colorize.decode): the title, description, artist, copyright,
keywords and comment of the original, from its EXIF (ImageDescription, Artist, Copyright, the
Windows XP* fields, DocumentName, UserComment), its XMP (dc:title, dc:description, dc:creator,
dc:rights, dc:subject) and a PNG's text chunks (Title, Author, Description, Copyright, Comment).
EXIF wins where both say something. Nothing else: no GPS position, no camera serial number.

Written (colorize.encode): the same fields as EXIF (UTF-8 text, as exiftool reads it) and as XMP,
plus the colourisation record: EXIF Software, an ImageDescription when the original had none, and
in XMP the IPTC digital source type for media edited with a trained model
(Iptc4xmpExt:DigitalSourceType = `COLOURISED`), xmp:CreatorTool and an xmpMM:History entry naming
the model. No time stamp goes in, so the same photo always gives the same bytes.

The EXIF block and the TIFF file are written by `tiff_structure`, a small little-endian TIFF
writer, so text is UTF-8 and a TIFF can be 16 bits per channel with its EXIF sub-directory.
"""

from __future__ import annotations

import re
import struct
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from xml.sax.saxutils import escape

# https://cv.iptc.org/newscodes/digitalsourcetype/ : "composite with trained algorithmic media", the
# code for captured media edited with a trained model (inpainting, and here colourisation)
COLOURISED = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
MAX_TEXT = 2000  # characters kept of any one field: a hostile file cannot bloat every output
MAX_XMP = 256 * 1024  # bytes of an original's XMP that are read at all

# TIFF/EXIF tags
IMAGE_DESCRIPTION, DOCUMENT_NAME, SOFTWARE, DATETIME, ARTIST = 0x010E, 0x010D, 0x0131, 0x0132, 0x013B
XMP_TAG, COPYRIGHT, EXIF_IFD, ICC_TAG = 700, 0x8298, 0x8769, 34675
DATETIME_ORIGINAL, USER_COMMENT = 0x9003, 0x9286
X_RESOLUTION, Y_RESOLUTION, RESOLUTION_UNIT = 282, 283, 296
EXIF_VERSION, FLASHPIX_VERSION, COLOR_SPACE = 0x9000, 0xA000, 0xA001
XP_TITLE, XP_COMMENT, XP_AUTHOR, XP_KEYWORDS = 0x9C9B, 0x9C9C, 0x9C9D, 0x9C9E
BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED = 1, 2, 3, 4, 5, 7

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
}


@dataclass(frozen=True)
class Descriptive:
    """The original's descriptive fields (empty: it had none)."""

    title: str = ""
    description: str = ""
    artist: str = ""  # several creators joined by "; "
    copyright: str = ""
    keywords: tuple[str, ...] = ()
    comment: str = ""

    def __bool__(self) -> bool:
        return any((self.title, self.description, self.artist, self.copyright, self.keywords, self.comment))


def _clean(value) -> str:
    """A field's text: bytes as UTF-8 (else Latin-1), NULs and surrounding space gone, at most MAX_TEXT."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            value = value.decode("latin-1")
    if not isinstance(value, str):
        return ""
    if any(127 < ord(c) < 256 for c in value):  # UTF-8 that a reader took for Latin-1 (Pillow does)
        try:
            value = value.encode("latin-1").decode("utf-8")
        except UnicodeError:
            pass
    return value.replace("\0", "").strip()[:MAX_TEXT]


def _xp(value) -> str:
    """A Windows XP* field (UTF-16LE bytes, or a tuple of byte values) -> text."""
    try:
        raw = bytes(value) if not isinstance(value, bytes) else value
        return _clean(raw.decode("utf-16-le"))
    except (TypeError, ValueError):
        return ""


def _user_comment(value) -> str:
    """EXIF UserComment: 8 bytes naming the character code, then the text."""
    if not isinstance(value, bytes) or len(value) < 8:
        return _clean(value) if isinstance(value, str) else ""
    code, text = value[:8], value[8:]
    if code.startswith(b"UNICODE"):  # UTF-16 in the block's byte order, which Pillow does not pass on
        big = len(text) > 1 and text[0] == 0 and text[1] != 0
        return _clean(text.decode("utf-16-be" if big else "utf-16-le", "replace"))
    return _clean(text)


def _keywords(text: str) -> tuple[str, ...]:
    return tuple(k.strip()[:200] for k in re.split(r"[;,]", text) if k.strip())[:100]


def _xmp_fields(xmp) -> dict[str, object]:
    """dc:title, description, creator, rights and subject of an XMP packet; {} when there is none or
    it is not plain XML (a document type, which could declare entities, is never parsed)."""
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8", "replace")
    if not isinstance(xmp, bytes) or not xmp or len(xmp) > MAX_XMP or b"<!" in xmp:
        return {}
    start, end = xmp.find(b"<x:xmpmeta"), xmp.rfind(b"</x:xmpmeta>")
    if start < 0 or end < 0:
        start, end = xmp.find(b"<rdf:RDF"), xmp.rfind(b"</rdf:RDF>")
        if start < 0 or end < 0:
            return {}
        end += len(b"</rdf:RDF>")
    else:
        end += len(b"</x:xmpmeta>")
    try:
        root = ET.fromstring(xmp[start:end])
    except ET.ParseError:
        return {}
    out: dict[str, object] = {}
    for name in ("title", "description", "creator", "rights", "subject"):
        items = [_clean(li.text) for el in root.iter(f"{{{NS['dc']}}}{name}") for li in el.iter(f"{{{NS['rdf']}}}li")]
        items = [i for i in items if i]
        if items:
            out[name] = items
    return out


def descriptive_fields(exif, info: dict | None = None, xmp=None) -> Descriptive:
    """The descriptive fields of an original: `exif` a PIL Image.Exif (or {}), `info` its PIL info
    dict (PNG text chunks), `xmp` its XMP packet (bytes or str) if any. Damaged fields are skipped."""
    info = info or {}

    def tag(number, ifd=None):
        try:
            value = exif.get_ifd(ifd).get(number) if ifd else exif.get(number)
        except Exception:  # noqa: BLE001 - a broken EXIF block must not stop a good image
            return None
        return value

    fields = _xmp_fields(xmp)

    def first(*values):
        return next((v for v in values if v), "")

    def xmp_text(name, join="; "):
        value = fields.get(name)
        return join.join(value)[:MAX_TEXT] if isinstance(value, list) else ""

    keywords = first(_xp(tag(XP_KEYWORDS)) if tag(XP_KEYWORDS) else "", xmp_text("subject"))
    return Descriptive(
        title=first(
            _xp(tag(XP_TITLE)) if tag(XP_TITLE) else "",
            _clean(tag(DOCUMENT_NAME)),
            xmp_text("title"),
            _clean(info.get("Title")),
        ),
        description=first(
            _clean(tag(IMAGE_DESCRIPTION)), xmp_text("description", " "), _clean(info.get("Description"))
        ),
        artist=first(
            _clean(tag(ARTIST)),
            _xp(tag(XP_AUTHOR)) if tag(XP_AUTHOR) else "",
            xmp_text("creator"),
            _clean(info.get("Author")),
        ),
        copyright=first(_clean(tag(COPYRIGHT)), xmp_text("rights", " "), _clean(info.get("Copyright"))),
        keywords=_keywords(keywords),
        comment=first(
            _xp(tag(XP_COMMENT)) if tag(XP_COMMENT) else "",
            _user_comment(tag(USER_COMMENT, EXIF_IFD)),
            _clean(info.get("Comment")),
        ),
    )


@dataclass(frozen=True)
class Record:
    """Who added the colours: this package's version and the model (name and weights checksum)."""

    version: str
    model: str = ""  # e.g. "colorize-lite0-v2 (weights SHA-256 264c7e514dc4)"

    @property
    def software(self) -> str:
        return f"Colorize {self.version}" + (f", model {self.model}" if self.model else "")

    @property
    def sentence(self) -> str:
        return (
            f"Colours added by {self.software}: the colours are the network's guess from the "
            "black-and-white original, not a record of the real ones."
        )


def model_label(model) -> str:
    """A model's name and the start of its weights' SHA-256 (a ColorModel or a ModelInfo)."""
    info = getattr(model, "info", model)
    name, sha = getattr(info, "name", ""), getattr(info, "sha256", "")
    return f"{name} (weights SHA-256 {sha[:12]})" if sha else str(name)


@cache
def package_version() -> str:
    """The installed distribution's version (pyproject.toml's, the one place it is written); a
    checkout that was never installed reads pyproject.toml itself."""
    try:
        return metadata.version("colorize")
    except metadata.PackageNotFoundError:
        try:
            pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text("utf-8"))
            return str(pyproject["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "0+unknown"


def record(model=None) -> Record:
    """The record of this package's version and `model` (a ColorModel, a ModelInfo, a label or None)."""
    label = model if isinstance(model, str) else model_label(model) if model is not None else ""
    return Record(package_version(), label)


# --- writing -----------------------------------------------------------------------------------


Entry = tuple[int, int, int, bytes]  # tag, type, count, value bytes (little-endian)


def ascii_entry(tag: int, text: str) -> Entry:
    data = text.encode("utf-8") + b"\0"
    return (tag, ASCII, len(data), data)


def short_entry(tag: int, *values: int) -> Entry:
    return (tag, SHORT, len(values), struct.pack(f"<{len(values)}H", *values))


def long_entry(tag: int, *values: int) -> Entry:
    return (tag, LONG, len(values), struct.pack(f"<{len(values)}I", *values))


def bytes_entry(tag: int, data: bytes, kind: int = BYTE) -> Entry:
    return (tag, kind, len(data), data)


def rational_entry(tag: int, value: float) -> Entry:
    den = 10_000
    return (tag, RATIONAL, 1, struct.pack("<II", max(1, round(value * den)), den))


def _xp_entry(tag: int, text: str) -> Entry:
    return bytes_entry(tag, text.encode("utf-16-le") + b"\0\0")


def _ifd(entries: Sequence[Entry], start: int, first: tuple[int, ...] = ()) -> bytes:
    """One IFD at offset `start`, its values that do not fit in 4 bytes right after it (tags in
    `first` before the others, each at an even offset)."""
    entries = sorted(entries)
    table = bytearray(struct.pack("<H", len(entries)))
    values = bytearray()
    data_at = start + 2 + 12 * len(entries) + 4
    order = sorted(range(len(entries)), key=lambda i: (entries[i][0] not in first, i))
    offsets = {}
    for i in order:
        payload = entries[i][3]
        if len(payload) > 4:
            if (data_at + len(values)) % 2:
                values += b"\0"
            offsets[i] = data_at + len(values)
            values += payload
    for i, (tag, kind, count, payload) in enumerate(entries):
        if i in offsets:
            table += struct.pack("<HHII", tag, kind, count, offsets[i])
        else:
            table += struct.pack("<HHI", tag, kind, count) + payload.ljust(4, b"\0")
    table += struct.pack("<I", 0)
    return bytes(table + values)


def tiff_structure(ifd0: list[Entry], exif: list[Entry], first=(ICC_TAG,)) -> tuple[bytes, int]:
    """A little-endian TIFF header, IFD0 (with a pointer to the EXIF IFD when `exif` is not empty)
    and the EXIF IFD, with their values (the tags in `first` first: the ICC profile right after
    IFD0, where colorize.encode.made_by_colorize looks): (bytes, their length, where data appended
    to them starts). The length does not depend on the entries' values, so a caller that appends
    pixel strips builds it once with zero offsets to learn where they go, then with the real ones."""
    head = b"II*\0" + struct.pack("<I", 8)
    entries = list(ifd0) + ([long_entry(EXIF_IFD, 0)] if exif else [])
    block0 = _ifd(entries, 8, first)
    if exif:
        at = 8 + len(block0) + (len(block0) % 2)
        entries[-1] = long_entry(EXIF_IFD, at)
        block0 = _ifd(entries, 8, first)
        block0 += b"\0" * (len(block0) % 2) + _ifd(exif, at)
    out = head + block0
    out += b"\0" * (len(out) % 2)
    return out, len(out)


def _iso(date: str | None) -> str:
    """EXIF 'YYYY:MM:DD HH:MM:SS' -> XMP's 'YYYY-MM-DDTHH:MM:SS' ('' for none)."""
    if not date:
        return ""
    return date[:10].replace(":", "-") + "T" + date[11:]


def exif_entries(meta, rec: Record, windows_fields: bool = True) -> tuple[list[Entry], list[Entry]]:
    """IFD0 and EXIF-IFD entries for an output: the original's dates and descriptive fields, and the
    colourisation record (Software; the record's sentence as ImageDescription if there was none).
    windows_fields: also the XP* title, comment and keywords (not in a TIFF file's own IFD0, where
    libtiff warns of them; its XMP holds them)."""
    fields = getattr(meta, "descriptive", None) or Descriptive()
    ifd0 = [
        ascii_entry(IMAGE_DESCRIPTION, fields.description or rec.sentence),
        ascii_entry(SOFTWARE, rec.software),
    ]
    if getattr(meta, "date", None):
        ifd0.append(ascii_entry(DATETIME, meta.date))
    dpi = getattr(meta, "dpi", None)
    if dpi:
        ifd0 += [rational_entry(X_RESOLUTION, dpi[0]), rational_entry(Y_RESOLUTION, dpi[1])]
        ifd0.append(short_entry(RESOLUTION_UNIT, 2))
    for tag, text in ((ARTIST, fields.artist), (COPYRIGHT, fields.copyright)):
        if text:
            ifd0.append(ascii_entry(tag, text))
    windows = ((XP_TITLE, fields.title), (XP_COMMENT, fields.comment), (XP_KEYWORDS, "; ".join(fields.keywords)))
    ifd0 += [_xp_entry(tag, text) for tag, text in windows if text and windows_fields]
    exif = [  # EXIF 2.32, and the colour space: sRGB
        bytes_entry(EXIF_VERSION, b"0232", UNDEFINED),
        bytes_entry(FLASHPIX_VERSION, b"0100", UNDEFINED),
        short_entry(COLOR_SPACE, 1),
    ]
    if getattr(meta, "date_original", None):
        exif.append(ascii_entry(DATETIME_ORIGINAL, meta.date_original))
    if fields.comment:  # UTF-16 in the block's (little-endian) byte order
        exif.append(bytes_entry(USER_COMMENT, b"UNICODE\0" + fields.comment.encode("utf-16-le"), UNDEFINED))
    return ifd0, exif


def exif_block(meta, rec: Record) -> bytes:
    """The EXIF block ('Exif\\0\\0' + a TIFF structure) of an output (PNG eXIf drops the prefix)."""
    ifd0, exif = exif_entries(meta, rec)
    return b"Exif\0\0" + tiff_structure(ifd0, exif)[0]


def _alt(name: str, text: str) -> str:
    return f'<{name}><rdf:Alt><rdf:li xml:lang="x-default">{escape(text)}</rdf:li></rdf:Alt></{name}>'


def _list(name: str, kind: str, items: Sequence[str]) -> str:
    lis = "".join(f"<rdf:li>{escape(i)}</rdf:li>" for i in items)
    return f"<{name}><rdf:{kind}>{lis}</rdf:{kind}></{name}>"


def xmp_packet(meta, rec: Record) -> bytes:
    """The XMP packet of an output: the colourisation record and the original's descriptive fields."""
    fields = getattr(meta, "descriptive", None) or Descriptive()
    parts = [
        f"<Iptc4xmpExt:DigitalSourceType>{COLOURISED}</Iptc4xmpExt:DigitalSourceType>",
        f"<xmp:CreatorTool>{escape(rec.software)}</xmp:CreatorTool>",
        "<xmpMM:History><rdf:Seq><rdf:li rdf:parseType='Resource'><stEvt:action>edited</stEvt:action>"
        f"<stEvt:softwareAgent>{escape(rec.software)}</stEvt:softwareAgent>"
        "<stEvt:changed>colour</stEvt:changed>"
        f"<stEvt:parameters>{escape(rec.sentence)}</stEvt:parameters></rdf:li></rdf:Seq></xmpMM:History>",
        _alt("dc:description", fields.description or rec.sentence),
    ]
    if fields.title:
        parts.append(_alt("dc:title", fields.title))
    if fields.artist:
        parts.append(_list("dc:creator", "Seq", [a.strip() for a in fields.artist.split(";") if a.strip()]))
    if fields.copyright:
        parts.append(_alt("dc:rights", fields.copyright))
    if fields.keywords:
        parts.append(_list("dc:subject", "Bag", fields.keywords))
    taken = _iso(getattr(meta, "date_original", None))
    if taken:
        parts.append(f"<photoshop:DateCreated>{taken}</photoshop:DateCreated>")
    body = "\n   ".join(parts)
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        '    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"\n'
        '    xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/">\n'
        f"   {body}\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    ).encode()
