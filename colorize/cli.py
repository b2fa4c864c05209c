"""Command line: `python -m colorize image IN... -o OUT`, `video IN -o OUT.mp4`, `models`."""
import argparse
import os
import sys
from pathlib import Path

from .decode import DEFAULT_MAX_PIXELS, load_image
from .encode import FORMATS, encode_image, write_atomic
from .errors import ColorizeError
from .model import list_models, models_dir
from .pipeline import predict, render
from .progress import ProgressBar
from .upsample import METHODS

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


def collect_jobs(inputs, out, fmt):
    """(input path, output path) pairs: folders recursively, keeping their sub-folder layout."""
    out = Path(out)
    single_file_target = len(inputs) == 1 and Path(inputs[0]).is_file() and out.suffix.lower().lstrip(".") in FORMATS
    jobs, problems = [], []
    for item in map(Path, inputs):
        if item.is_dir():
            files = sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            jobs += [(p, out / p.relative_to(item).with_suffix("." + fmt)) for p in files]
        elif item.is_file():
            jobs.append((item, out if single_file_target else out / (item.stem + "." + fmt)))
        else:
            problems.append(f"{item}: no such file or folder")
    inputs_resolved = {p.resolve() for p, _ in jobs}
    safe = []
    for src, dst in jobs:
        if dst.resolve() in inputs_resolved:
            problems.append(f"{src}: output {dst} would overwrite an input; choose another -o folder")
        else:
            safe.append((src, dst))
    return safe, problems


def cmd_image(args):
    from . import load_default_model
    fmt = "jpg" if args.format in ("jpg", "jpeg") else "png"
    jobs, problems = collect_jobs(args.inputs, args.output, fmt)
    for p in problems:
        print(p, file=sys.stderr)
    if not jobs:
        print("nothing to colorize", file=sys.stderr)
        return 1 if problems else 0
    model = load_default_model(args.model)
    bar = ProgressBar(len(jobs), "colorizing", stream=sys.stderr)
    failed = len(problems)
    for i, (src, dst) in enumerate(jobs):
        bar.update(i, note=src.name)
        try:
            photo = load_image(src, max_pixels=args.max_pixels)
            result = render(model, predict(model, [photo.rgb])[0], args.vividness, args.upsample)
            write_atomic(dst, encode_image(result, photo.alpha, fmt))
        except ColorizeError as e:
            failed += 1
            sys.stderr.write("\r" + " " * 100 + "\r" + str(e) + "\n")
        except MemoryError:
            failed += 1
            sys.stderr.write(f"\r{src}: not enough memory to colorize this image\n")
    bar.update(len(jobs))
    bar.close()
    print(f"{len(jobs) - (failed - len(problems))} of {len(jobs)} colorized into {args.output}", file=sys.stderr)
    return 1 if failed else 0


def cmd_video(args):
    from . import load_default_model
    from .video import VideoLimits, colorize_video
    model = load_default_model(args.model)
    bar = ProgressBar(1, "colorizing video", stream=sys.stderr)

    def on_progress(p):
        bar.update(p.done, p.total)
        return True

    limits = VideoLimits(max_seconds=args.max_seconds, max_pixels=args.max_pixels)
    colorize_video(args.input, args.output, model, vividness=args.vividness,
                   stabilize=not args.no_stabilize, progress=on_progress, limits=limits)
    bar.close()
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def cmd_models(args):
    infos, problems = list_models(args.dir)
    print(f"models in {args.dir or models_dir()}:")
    for info in infos:
        m = info.meta
        q = m.get("quality", {})
        print(f"  {info.name}  ({info.folder.name}/{info.onnx}, {info.onnx_path.stat().st_size / 1e6:.1f} MB)")
        print(f"    output: {info.output_kind}, input long side {info.long_side}, default vividness {info.default_vividness}")
        if m.get("description"):
            print(f"    {m['description']}")
        if m.get("license"):
            print(f"    licence: {m['license']}")
        if m.get("training_data"):
            print(f"    trained on: {m['training_data']}")
        if q:
            print("    quality: " + ", ".join(f"{k} {v}" for k, v in q.items() if not isinstance(v, (dict, list))))
    for p in problems:
        print(f"  unusable: {p}")
    return 0 if infos else 1


def build_parser():
    ap = argparse.ArgumentParser(prog="colorize", description="Colorize black-and-white photos and videos, offline.")
    sub = ap.add_subparsers(dest="command", required=True)
    im = sub.add_parser("image", help="colorize image files or folders (recursively)")
    im.add_argument("inputs", nargs="+", help="image files or folders")
    im.add_argument("-o", "--output", required=True, help="output folder (or a file name for one input)")
    im.add_argument("--format", choices=["png", "jpg", "jpeg"], default="png")
    im.add_argument("--vividness", type=float, default=None, help="0 (muted) .. 2 (vivid); default from the model")
    im.add_argument("--model", default=None, help="model name or folder name (see `colorize models`)")
    im.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="refuse images larger than this")
    im.add_argument("--upsample", choices=METHODS, default="guided", help="how colour is brought to full size")
    im.set_defaults(func=cmd_image)
    vi = sub.add_parser("video", help="colorize a video into a browser-playable H.264 mp4 with its audio")
    vi.add_argument("input")
    vi.add_argument("-o", "--output", required=True)
    vi.add_argument("--vividness", type=float, default=None)
    vi.add_argument("--model", default=None)
    vi.add_argument("--no-stabilize", action="store_true", help="colorize each frame on its own (flickers)")
    vi.add_argument("--max-seconds", type=float, default=120.0)
    vi.add_argument("--max-pixels", type=int, default=1920 * 1080)
    vi.set_defaults(func=cmd_video)
    mo = sub.add_parser("models", help="list the models and their metadata")
    mo.add_argument("--dir", default=None)
    mo.set_defaults(func=cmd_models)
    return ap


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ColorizeError as e:
        print(str(e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
