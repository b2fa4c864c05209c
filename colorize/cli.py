"""Command line: `python -m colorize image IN... -o OUT`, `video IN -o OUT.mp4`, `models`.

Every problem with one input is one line on stderr naming the file; the batch goes on, and the
exit status is non-zero if anything failed. Outputs are written atomically and never over an input.
"""
import argparse
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from .decode import DEFAULT_MAX_PIXELS, describe_pixels, load_image, one_line
from .encode import FORMATS, encode_image, write_atomic
from .errors import ColorizeError
from .model import check_vividness, list_models, models_dir, sha256_of
from .pipeline import predict, render
from .progress import ProgressBar
from .upsample import METHODS
from .video import VideoLimits

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


def image_files(folder, skip=None):
    """Image files under folder, recursively and sorted; hidden files and the `skip` folder left out."""
    found = []
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (skip is None or Path(here, d).resolve() != skip))
        found += [Path(here, f) for f in files
                  if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_SUFFIXES]
    return sorted(found)


def suffix_format(path):
    """'png' or 'jpg' when a path ends in an output format's suffix, else None."""
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"jpeg": "jpg"}.get(suffix, suffix) if suffix in FORMATS and not Path(path).is_dir() else None


def collect_jobs(inputs, out, fmt):
    """(input path, output path) pairs: folders recursively, keeping their sub-folder layout.

    Returns the jobs and one-line problems: missing inputs, outputs that would overwrite an
    input, and two inputs that would write the same output."""
    out = Path(out)
    out_resolved = out.resolve()
    single_file_target = len(inputs) == 1 and Path(inputs[0]).is_file() and suffix_format(out) is not None
    jobs, problems = [], []
    for item in map(Path, inputs):
        if item.is_dir():
            # An output folder inside an input folder is not read back as input on a second run.
            inside = out_resolved != item.resolve() and out_resolved.is_relative_to(item.resolve())
            files = image_files(item, skip=out_resolved if inside else None)
            jobs += [(p, out / p.relative_to(item).with_suffix("." + fmt)) for p in files]
        elif item.is_file():
            jobs.append((item, out if single_file_target else out / (item.stem + "." + fmt)))
        elif item.exists():
            problems.append(f"{item}: is neither a file nor a folder")
        else:
            problems.append(f"{item}: no such file or folder")
    inputs_resolved = {p.resolve() for p, _ in jobs}
    claimed = {}
    safe = []
    for src, dst in jobs:
        target = dst.resolve()
        if target in inputs_resolved:
            problems.append(f"{src}: output {dst} would overwrite an input; choose another -o folder")
        elif target in claimed:
            problems.append(f"{src}: output {dst} is already written from {claimed[target]}; "
                            "colorize one of them separately")
        else:
            claimed[target] = src
            safe.append((src, dst))
    return safe, problems


def output_format(args):
    """The output format: --format, else an output file's suffix, else PNG."""
    chosen = {"jpeg": "jpg"}.get(args.format, args.format)
    implied = suffix_format(args.output)
    if implied is None:
        return chosen or "png"
    if not (len(args.inputs) == 1 and Path(args.inputs[0]).is_file()):
        raise ColorizeError(args.output, "names one output file but the inputs are several or a folder; "
                                         "give an output folder instead")
    if chosen and chosen != implied:
        raise ColorizeError(args.output, f"the file name says {implied.upper()} but --format says {chosen.upper()}")
    return implied


def colorize_file(model, src, dst, fmt, args):
    """One input file to one output file; returns a note for the user (or "")."""
    photo = load_image(src, max_pixels=args.max_pixels)
    result = render(model, predict(model, [photo.rgb])[0], args.vividness, args.upsample, dtype=np.uint8)
    data = encode_image(result, photo.alpha, fmt)
    try:
        write_atomic(dst, data)
    except OSError as e:
        raise ColorizeError(dst, f"cannot be written ({e.strerror or one_line(e)})") from None
    return photo.note


def cmd_image(args):
    from . import load_default_model
    if args.vividness is not None:
        args.vividness = check_vividness(args.vividness)
    if args.max_pixels < 1:
        raise ColorizeError("--max-pixels", "must be a positive number of pixels")
    fmt = output_format(args)
    jobs, problems = collect_jobs(args.inputs, args.output, fmt)
    for p in problems:
        print(p, file=sys.stderr)
    if not jobs:
        print("nothing to colorize" + ("" if problems else ": no image files found in the inputs"), file=sys.stderr)
        return 1
    model = load_default_model(args.model)
    bar = ProgressBar(len(jobs), "colorizing", stream=sys.stderr)
    failed = 0
    try:
        for i, (src, dst) in enumerate(jobs):
            bar.update(i, note=src.name)
            try:
                note = colorize_file(model, src, dst, fmt, args)
                if note:
                    bar.message(f"{src}: {note}")
            except ColorizeError as e:
                failed += 1
                bar.message(str(e))
            except MemoryError:
                failed += 1
                bar.message(f"{src}: not enough memory to colorize this image (try a smaller one, "
                            f"or lower --max-pixels from {describe_pixels(args.max_pixels)})")
            except Exception as e:  # noqa: BLE001 - one odd file must not stop the batch
                failed += 1
                bar.message(f"{src}: could not be colorized ({type(e).__name__}: {one_line(e)})")
        bar.update(len(jobs))
    finally:
        bar.close()
    done = len(jobs) - failed
    total = len(jobs) + len(problems)
    print(f"colorized {done} of {total} image{'s' * (total != 1)} into {args.output}"
          + (f" ({total - done} failed)" if total - done else ""), file=sys.stderr)
    return 1 if failed or problems else 0


def cmd_video(args):
    from . import load_default_model
    from .video import colorize_video
    model = load_default_model(args.model)
    bar = ProgressBar(1, "colorizing video", stream=sys.stderr)

    def on_progress(p):
        bar.update(p.done, p.total, note=f"{p.elapsed:.0f}s elapsed")
        return True

    limits = VideoLimits(max_seconds=args.max_seconds, max_pixels=args.max_pixels)
    try:
        info = colorize_video(args.input, args.output, model, vividness=args.vividness,
                              stabilize=not args.no_stabilize, progress=on_progress, limits=limits)
    except BaseException:
        bar.clear()  # so the one-line error (printed by main) stands alone
        raise
    bar.close()
    print(f"wrote {args.output} ({info.width}x{info.height}, {info.fps:g} fps"
          f"{', with audio' if info.has_audio else ''})", file=sys.stderr)
    return 0


def describe_value(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def cmd_models(args):
    """List every model with its metadata; a broken one is listed with what is wrong."""
    root = Path(args.dir) if args.dir else models_dir()
    infos, problems = list_models(root)
    print(f"models in {root}:")
    usable = 0
    for info in infos:
        m = info.meta
        ok = sha256_of(info.onnx_path) == info.sha256
        usable += ok
        print(f"  {info.name}  ({info.folder.name}/{info.onnx}, {info.onnx_path.stat().st_size / 1e6:.1f} MB, "
              f"{'checksum OK' if ok else 'CORRUPT: SHA-256 does not match model.json'})")
        if info.output_kind == "ab_logits":
            print(f"    output: distribution over {len(info.bins)} a/b bins at 1/{info.stride} of the input side")
        else:
            print(f"    output: a/b at 1/{info.stride} of the input side")
        print(f"    input: L, long side {info.long_side} (multiple of {info.multiple}); "
              f"default vividness {info.default_vividness:g}")
        for key, label in (("description", ""), ("license", "licence: "), ("training_data", "trained on: ")):
            if m.get(key):
                print(f"    {label}{m[key]}")
        quality = m.get("quality")
        if isinstance(quality, dict) and quality:
            flat = [f"{k} {describe_value(v)}" for k, v in quality.items() if not isinstance(v, (dict, list))]
            if flat:
                print("    quality: " + ", ".join(flat))
    for p in problems:
        print(f"  unusable: {p}")
    if not infos and not problems:
        print("  (none)")
    return 0 if usable else 1


def build_parser():
    ap = argparse.ArgumentParser(prog="colorize", description="Colorize black-and-white photos and videos, offline.")
    sub = ap.add_subparsers(dest="command", required=True)
    im = sub.add_parser("image", help="colorize image files or folders (recursively)",
                        description="Colorize image files, or every image in folders (recursively). "
                                    "Each output has its input's base name; inputs are never overwritten.")
    im.add_argument("inputs", nargs="+", help="image files or folders")
    im.add_argument("-o", "--output", required=True,
                    help="output folder (or, for one input file, an output file name ending in .png/.jpg)")
    im.add_argument("--format", choices=["png", "jpg", "jpeg"], default=None,
                    help="output format (default: PNG, or the output file name's)")
    im.add_argument("--vividness", type=float, default=None, help="0 (muted) .. 2 (vivid); default from the model")
    im.add_argument("--model", default=None, help="model name or folder name (see `colorize models`)")
    im.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                    help=f"refuse images larger than this (default {DEFAULT_MAX_PIXELS:,})")
    im.add_argument("--upsample", choices=METHODS, default="guided", help="how colour is brought to full size")
    im.set_defaults(func=cmd_image)
    vi = sub.add_parser("video", help="colorize a video into a browser-playable H.264 mp4 with its audio")
    vi.add_argument("input")
    vi.add_argument("-o", "--output", required=True)
    vi.add_argument("--vividness", type=float, default=None)
    vi.add_argument("--model", default=None)
    vi.add_argument("--no-stabilize", action="store_true", help="colorize each frame on its own (flickers)")
    vi.add_argument("--max-seconds", type=float, default=VideoLimits.max_seconds,
                    help=f"refuse videos longer than this (default {VideoLimits.max_seconds:g})")
    vi.add_argument("--max-pixels", type=int, default=VideoLimits.max_pixels,
                    help=f"refuse videos with larger frames (default {VideoLimits.max_pixels:,})")
    vi.set_defaults(func=cmd_video)
    mo = sub.add_parser("models", help="list the models and their metadata")
    mo.add_argument("--dir", default=None)
    mo.set_defaults(func=cmd_models)
    return ap


def main(argv=None):
    args = build_parser().parse_args(argv)
    # Decoders warn about oddities of files they still read; on the command line that would be
    # stray lines, while real problems already arrive as one-line errors.
    warnings.simplefilter("ignore")
    try:
        return args.func(args)
    except ColorizeError as e:
        print(str(e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - a command line tool answers in one line, not a traceback
        if os.environ.get("COLORIZE_DEBUG"):
            raise
        print(f"colorize: unexpected error ({type(e).__name__}: {one_line(e)}); "
              "set COLORIZE_DEBUG=1 for details", file=sys.stderr)
        return 2
