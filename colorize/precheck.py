"""Cheap checks on an image file's bytes, before any decoder sees them: what would it cost to read?

The pixel limit (checked from the header) bounds memory, not time. A few kinds of file cost far
more time than their size suggests; each is recognised here from the file's structure alone, in
milliseconds, and refused:

- a progressive JPEG with thousands of scans: each scan is one more pass over its components' 8x8
  blocks, so a 250 kB 4000x2990 file whose last scan is repeated a few thousand times takes many
  seconds (half a minute on a slow server) to decode. Real encoders write 1 to 12 scans (libjpeg's
  progressive script: 10 for colour, 6 for grey) that go over the image 5 or 6 times in all; a
  file is refused above MAX_JPEG_SCANS scans or MAX_JPEG_PASSES passes, so decoding costs at most
  a few times what a normal progressive JPEG of its size costs.
- a JPEG whose compressed data is far too short for the size its header claims: the decoder fills
  the missing part with grey and reports success. Every Huffman-coded block takes at least one bit,
  so less than one bit per 8x8 block cannot be a complete image.
- a PNG, GIF or TIFF made of a huge number of tiny chunks, sub-blocks or pages, which Pillow walks
  one by one in Python (a 4 MB TIFF of 50,000 pages took 25 s just to count them).

The same walks tell how many frames a GIF or TIFF has, without asking Pillow to count them.
Real files pass with a wide margin; anything the walks do not understand is left to the decoder.
"""

import re

MAX_JPEG_SCANS = 100  # ten times what real encoders write
MAX_JPEG_PASSES = 30  # blocks visited by all scans / blocks in the image (libjpeg's scripts: 5-6)
MAX_JPEG_MARKERS = 5_000  # segments between SOI and EOI (real files: tens; an ICC profile: up to 255)
MAX_PNG_CHUNKS = 50_000  # plus one per 2 kB of file: encoders write IDAT chunks of 8-64 kB
MAX_GIF_SUBBLOCKS = 10_000  # plus one per 128 bytes: encoders write full 255-byte sub-blocks
MAX_TIFF_PAGES = 1_000  # counted; more is reported as "more than"
MAX_TIFF_TAGS = 4_096  # per directory (real files: tens)

_SOF_HUFFMAN = {0xC0, 0xC1, 0xC2, 0xC3}  # baseline, extended, progressive, lossless
_SOF_ANY = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# A marker: 0xFF (any number of fill bytes) then a code that is not a stuffed zero or a restart
# marker (those two occur inside a scan's data). libjpeg finds markers the same way. (Written with a
# literal first byte, the search skips ahead at memory speed: 15 ms for a 14 MB JPEG, not 250.)
_NEXT_MARKER = re.compile(rb"\xff\xff*([^\x00\xff\xd0-\xd7])")


class Refused(ValueError):
    """The file is refused; the message says why, for the person who supplied it."""


def check_image_bytes(data):
    """Raise Refused for a file too costly (or too broken) to decode; return its frame count when
    the walk found it (GIF, TIFF), else None."""
    if data[:2] == b"\xff\xd8":
        check_jpeg(data)
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        check_png(data)
    elif data[:6] in (b"GIF87a", b"GIF89a"):
        return gif_frames(data)
    elif data[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        return tiff_pages(data)
    return None


def check_jpeg(data):
    """Walk the markers: count scans and the passes they make over the image's blocks, and weigh
    the compressed data against the header's size. Returns the number of scans."""
    pos, markers, scans, coded, found = 2, 0, 0, 0, None
    frame = None  # (marker, width, height, {component id: 8x8 blocks}) from the start of frame
    visits = 0  # blocks the scans go through (each scan: every block of its components)
    while True:
        m = found or _NEXT_MARKER.search(data, pos)
        found = None
        if m is None:
            break
        marker, pos = m.group(1)[0], m.end()
        markers += 1
        if markers > MAX_JPEG_MARKERS:
            raise Refused(f"has more than {MAX_JPEG_MARKERS:,} JPEG segments (damaged, or made to be slow to read)")
        if marker == 0xD9:  # end of image (an MPO's further views, if any, are not decoded)
            break
        if marker in (0x01, 0xD8) or pos + 2 > len(data):
            continue
        length = int.from_bytes(data[pos : pos + 2], "big")
        segment = data[pos + 2 : pos + length]
        pos += max(length, 2)
        if marker in _SOF_ANY and frame is None:
            frame = (marker, *_jpeg_frame(segment))
        elif marker == 0xDA:
            scans += 1
            if scans > MAX_JPEG_SCANS:
                raise Refused(
                    f"is a progressive JPEG with more than {MAX_JPEG_SCANS} scans (real ones have "
                    "about 10): decoding it would take far too long"
                )
            if frame is not None and segment:
                visits += sum(frame[3].get(c, 0) for c in segment[1 : 1 + 2 * segment[0] : 2])
            found = _NEXT_MARKER.search(data, pos)  # the end of the scan's data: the next marker
            coded += (found.start() if found else len(data)) - pos
    if frame is None or not frame[3]:
        return scans
    kind, width, height, blocks = frame
    total = sum(blocks.values())
    if visits > MAX_JPEG_PASSES * total:
        raise Refused(
            f"is a progressive JPEG whose {scans} scans go over the image {visits / total:.0f} times "
            f"(real ones: about 5): decoding it would take far too long"
        )
    if kind in _SOF_HUFFMAN and coded * 8 < total:
        raise Refused(
            f"is truncated: its header says {width}x{height}, which takes at least "
            f"{_kb(total / 8)} of image data, but the file holds {_kb(coded)}"
        )
    return scans


def _kb(n):
    return f"{n / 1000:,.0f} kB" if n >= 1000 else f"{n:.0f} bytes"


def _jpeg_frame(sof):
    """(width, height, {component id: 8x8 blocks}) from a start-of-frame segment; {} if implausible."""
    if len(sof) < 6:
        return 0, 0, {}
    height, width, count = int.from_bytes(sof[1:3], "big"), int.from_bytes(sof[3:5], "big"), sof[5]
    comps = [(sof[6 + 3 * i], sof[7 + 3 * i] >> 4, sof[7 + 3 * i] & 15) for i in range(count) if 8 + 3 * i < len(sof)]
    if not (width and height and comps) or any(not (1 <= h <= 4 and 1 <= v <= 4) for _, h, v in comps):
        return width, height, {}
    hmax, vmax = max(h for _, h, _ in comps), max(v for _, _, v in comps)
    return (
        width,
        height,
        {c: _ceil_div(_ceil_div(width * h, hmax), 8) * _ceil_div(_ceil_div(height * v, vmax), 8) for c, h, v in comps},
    )


def _ceil_div(a, b):
    return -(-a // b)


def check_png(data):
    """Count chunks (Pillow reads each one in Python)."""
    limit = MAX_PNG_CHUNKS + len(data) // 2048
    pos, chunks = 8, 0
    while pos + 8 <= len(data):
        chunks += 1
        if chunks > limit:
            raise Refused(f"has more than {limit:,} PNG chunks (damaged, or made to be slow to read)")
        if data[pos + 4 : pos + 8] == b"IEND":
            break
        pos += 12 + int.from_bytes(data[pos : pos + 4], "big")
    return chunks


def gif_frames(data):
    """Number of frames, walking the blocks (counting sub-blocks: Pillow reads each in Python)."""
    if len(data) < 13:
        return None
    budget = MAX_GIF_SUBBLOCKS + len(data) // 128
    flags = data[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    frames = 0
    while pos < len(data):
        kind = data[pos]
        if kind == 0x21:  # extension: introducer, label, sub-blocks
            pos += 2
        elif kind == 0x2C:  # image: descriptor (with its own colour table), LZW code size, sub-blocks
            if pos + 10 > len(data):
                break
            frames += 1
            flags = data[pos + 9]
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
        else:  # trailer (0x3B) or something the decoder will judge
            break
        while pos < len(data):
            size = data[pos]
            pos += 1 + size
            budget -= 1
            if budget < 0:
                raise Refused("is a GIF made of too many tiny blocks (damaged, or made to be slow to read)")
            if size == 0:
                break
    return max(frames, 1)


def tiff_pages(data):
    """Number of pages (image file directories), up to MAX_TIFF_PAGES + 1; loops end the count."""
    little = data[:2] == b"II"
    big = data[2:4] in (b"+\0", b"\0+")
    word, entry, count_size = (8, 20, 8) if big else (4, 12, 2)

    def number(at, size):
        return int.from_bytes(data[at : at + size], "little" if little else "big")

    offset = number(8 if big else 4, word)
    seen: set[int] = set()
    while offset and offset not in seen and offset + count_size <= len(data) and len(seen) <= MAX_TIFF_PAGES:
        seen.add(offset)
        tags = number(offset, count_size)
        if tags > MAX_TIFF_TAGS:
            raise Refused(f"has a TIFF directory of {tags:,} tags (damaged, or made to be slow to read)")
        next_at = offset + count_size + entry * tags
        if next_at + word > len(data):
            break
        offset = number(next_at, word)
    return max(len(seen), 1)
