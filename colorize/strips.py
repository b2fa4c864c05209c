"""Full-resolution work in horizontal strips of rows.

One float32 plane of a 12 MP photo is 48 MB, and the Lab conversions, the a/b upsampling and the
recombination each need several. Done about a megapixel at a time they need a few MB instead: a
shared server's memory stays flat, and each strip's planes stay in the CPU cache between steps.
Every step done this way is per pixel or per row, so strips give the whole-image result.
"""

import itertools

STRIP_PIXELS = 1 << 20  # about 1 MP per strip: 4 MB per float32 plane


def row_strips(height, width):
    """Slices of consecutive rows covering all `height` rows, about STRIP_PIXELS each.

    No strip is a single row (unless the image is): cv2.resize takes a less precise path for one
    row, and upsampled strips must match a whole-image resize."""
    step = max(2, STRIP_PIXELS // max(1, width))
    tops = list(range(0, height, step))
    if len(tops) > 1 and height - tops[-1] == 1:
        tops.pop()
    return [slice(top, end) for top, end in itertools.pairwise([*tops, height])]
