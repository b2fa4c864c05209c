"""Hostile photos against the page's engine: what they cost, and how much they delay another visitor.

    python benchmarks/hostile.py [--repeats 3000] [--runs 5] [--before]

1. The issue's progressive JPEG: a 4000x2990 photo saved progressive, then its last scan repeated
   `--repeats` times (the JPEG byte stream rewritten: copies of its smallest scan appended before
   EOI, so the file's last scan is repeated). Figures: its size, the time load_image takes to refuse
   it, and (with --before) the time Pillow alone takes to decode it, which is what the page spent.
2. The costliest JPEGs still accepted: the same photo with scans repeated up to the limits
   (colorize.precheck: MAX_JPEG_SCANS scans, MAX_JPEG_PASSES passes over the blocks), repeating
   either the all-components DC scan or the smallest scan. Figure: load_image's time for each.
3. Another visitor's 1 MP photo through the page's path (colorize.page.photo: analyse_photo, then
   full_resolution as PNG: the upload, then the download), with the bundled model: its median time
   alone, then while another thread submits the hostile JPEG (and then the costliest accepted one)
   to analyse_photo over and over. The delay is the difference of medians.
   With --before, the same while the other thread decodes the hostile JPEG inside the full-size
   lock, as the page did before issue 11 (Pillow decoding while holding the full-size turn).

Timings are wall clock on this machine (2 cores, shared with whatever else runs): compare the
figures of one run with each other.
"""

import argparse
import functools
import io
import itertools
import re
import statistics
import threading
import time

import numpy as np
from checkout import ROOT
from PIL import Image

from colorize import ColorizeError, ColorModel, load_image
from colorize.model import models_dir
from colorize.page import photo as page_photo
from colorize.precheck import MAX_JPEG_PASSES, MAX_JPEG_SCANS, Refused, check_jpeg

SAMPLE = ROOT / "samples" / "astronaut.jpg"


def photo_jpeg(width, height, progressive=False):
    """A smooth black-and-white photo-like picture as JPEG bytes (4:4:4, quality 75)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    g = 40 + 150 * x / width * (0.6 + 0.4 * y / height) + 20 * np.sin(x / 97) * np.cos(y / 61)
    g = np.clip(g, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(np.dstack([g, g, g])).save(buf, "JPEG", quality=75, progressive=progressive, subsampling=0)
    return buf.getvalue()


def scans_of(jpeg):
    """[(start, end)] of each scan (SOS header + entropy-coded data)."""
    starts = [m.start() for m in re.finditer(rb"\xff\xda", jpeg)]
    return list(itertools.pairwise([*starts, len(jpeg) - 2]))


def repeat_scan(jpeg, scan, times):
    start, end = scan
    return jpeg[:-2] + jpeg[start:end] * times + jpeg[-2:]


def costliest_accepted(base):
    """{label: JPEG bytes} with a scan repeated as often as the checks still accept."""
    scans = scans_of(base)
    choices = {
        "DC scan (all components) repeated": scans[0],
        "smallest scan repeated": min(scans, key=lambda s: s[1] - s[0]),
    }
    found = {}
    for label, scan in choices.items():
        times = 0
        while True:
            try:
                check_jpeg(repeat_scan(base, scan, times + 1))
            except Refused:
                break
            times += 1
        found[f"{label} {times}x ({len(scans) + times} scans)"] = repeat_scan(base, scan, times)
    return found


def seconds(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def refuse_time(data):
    t = time.perf_counter()
    try:
        load_image("hostile.jpg", data)
        outcome = "accepted"
    except ColorizeError as e:
        outcome = f"refused: {e.problem}"
    return time.perf_counter() - t, outcome


def one_mp_photo():
    if SAMPLE.is_file():
        im = Image.open(SAMPLE).convert("L")
        s = (1e6 / (im.width * im.height)) ** 0.5
        im = im.resize((round(im.width * s), round(im.height * s)), Image.LANCZOS)
    else:
        im = Image.open(io.BytesIO(photo_jpeg(1155, 866)))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue(), im.size


def page_path(model, data):
    """What the page does with an upload, then a download."""
    analysed = page_photo.analyse_photo(model, "visitor.jpg", data)
    return page_photo.full_resolution(model, analysed, None, "png")


def timed_runs(fn, runs):
    fn()  # warm-up
    return [seconds(fn) for _ in range(runs)]


def while_busy(background, fn, runs):
    """Times of fn() while `background` runs over and over in another thread."""
    stop = threading.Event()
    rounds = []

    def loop():
        while not stop.is_set():
            rounds.append(seconds(background))

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    time.sleep(0.2)  # let it start
    try:
        return [seconds(fn) for _ in range(runs)], rounds
    finally:
        stop.set()
        thread.join()


def analyse_quietly(model, data):
    def run():
        try:
            page_photo.analyse_photo(model, "hostile.jpg", data)
        except ColorizeError:
            pass

    return run


def decode_inside_lock(data):
    """The page before issue 11: the upload decoded while holding the process-wide full-size lock."""

    def run():
        with page_photo._full_size_turn:
            Image.open(io.BytesIO(data)).load()

    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3000, help="how often the last scan is repeated")
    ap.add_argument("--runs", type=int, default=5, help="timed runs of the 1 MP photo per situation")
    ap.add_argument(
        "--before",
        action="store_true",
        help="also measure the unguarded decode and the old decode-inside-the-lock page (slow)",
    )
    args = ap.parse_args()

    base = photo_jpeg(4000, 2990, progressive=True)
    smallest = min(scans_of(base), key=lambda s: s[1] - s[0])
    hostile = repeat_scan(base, smallest, args.repeats)
    print(
        f"hostile JPEG: 4000x2990, {len(scans_of(hostile))} scans (last one repeated {args.repeats}x), "
        f"{len(hostile) / 1000:.0f} kB (the photo itself, 10 scans: {len(base) / 1000:.0f} kB)"
    )
    t, outcome = refuse_time(hostile)
    print(f"  load_image: {t * 1000:.1f} ms, {outcome}")
    print(f"  decoding the photo itself (10 scans): {seconds(lambda: load_image('base.jpg', base)) * 1000:.0f} ms")
    if args.before:
        t = seconds(lambda: Image.open(io.BytesIO(hostile)).load())
        print(f"  Pillow alone decoding it (what the page did before): {t:.1f} s")

    print(f"costliest accepted (limits: {MAX_JPEG_SCANS} scans, {MAX_JPEG_PASSES} passes):")
    worst, worst_time = None, -1.0
    for label, data in costliest_accepted(base).items():
        t = min(seconds(functools.partial(load_image, "worst.jpg", data)) for _ in range(3))
        print(f"  {label}: load_image {t * 1000:.0f} ms")
        if t > worst_time:
            worst, worst_time = data, t

    model = ColorModel(models_dir() / "colorize-lite0")
    photo, size = one_mp_photo()
    alone = timed_runs(lambda: page_path(model, photo), args.runs)
    base_ms = statistics.median(alone) * 1000
    print(f"another visitor's {size[0]}x{size[1]} photo (upload + PNG download), median of {args.runs}:")
    print(f"  alone: {base_ms:.0f} ms (max {max(alone) * 1000:.0f})")
    situations = [
        ("while the hostile JPEG is uploaded over and over", analyse_quietly(model, hostile)),
        ("while the costliest accepted JPEG is uploaded over and over", analyse_quietly(model, worst)),
    ]
    if args.before:
        situations.append(
            ("BEFORE: hostile JPEG decoded inside the full-size lock, over and over", decode_inside_lock(hostile))
        )
    for label, background in situations:
        times, rounds = while_busy(background, lambda: page_path(model, photo), args.runs)
        ms = statistics.median(times) * 1000
        per_round = f"{statistics.median(rounds) * 1000:.0f} ms each" if rounds else "none finished"
        print(
            f"  {label} ({len(rounds)} rounds, {per_round}): {ms:.0f} ms (max {max(times) * 1000:.0f}), "
            f"delay {ms - base_ms:+.0f} ms"
        )


if __name__ == "__main__":
    main()
