"""Command line: `python -m colorize image IN... -o OUT`, `video IN -o OUT.mp4`, `models`.

Every problem with one input is one line on stderr naming the file (escape sequences, line breaks
and bytes that are not UTF-8 in a name shown as backslash escapes: colorize.names.printable); the
batch goes on, and the exit status is non-zero if anything failed. Outputs are written atomically
and never over an input; their names are made safe (colorize.batch.plan.output_path).
`image` runs colorize.batch: one process per core (--workers) or a Dask cluster (--cluster), outputs
already there skipped (so a rerun resumes), and --manifest records what became of every input.
"""

import argparse
import os
import re
import signal
import sys
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

from .batch.manifest import Manifest
from .batch.photo import PhotoSettings
from .batch.plan import collect_jobs, plan_batch, suffix_format
from .batch.pool import default_workers
from .batch.run import run_batch
from .decode import DEFAULT_MAX_PIXELS, one_line
from .errors import ColorizeError
from .hints import parse_hint_arg
from .model import check_vividness, find_model, list_models, load_default_model, models_dir
from .names import printable
from .progress import ProgressBar
from .upsample import METHODS
from .video import VideoLimits


def say(text):
    """One line on stderr, made safe for a terminal (names can hold escape sequences and line breaks)."""
    print(printable(text), file=sys.stderr)


HINT_POINT = re.compile(r"\s*(-?\d+)\s*,\s*(-?\d+)\s*,")


def parse_hints(texts):
    """--hint values -> Hints, in one pass; the first problem in reading order is named (a point
    below 0 before a colour that is not #RRGGBB)."""
    hints = []
    for text in texts:
        point = HINT_POINT.match(text)
        if point and min(int(point[1]), int(point[2])) < 0:
            raise ColorizeError(f"--hint {text}", "X and Y must be 0 or more")
        hints.append(parse_hint_arg(text))
    return hints


def output_format(args):
    """The output format: --format, else an output file's suffix, else PNG."""
    chosen = {"jpeg": "jpg", "tiff": "tif"}.get(args.format, args.format)
    implied = suffix_format(args.output)
    implied = {"tiff": "tif"}.get(implied, implied)
    if implied is None:
        return chosen or "png"
    if not (len(args.inputs) == 1 and Path(args.inputs[0]).is_file()):
        raise ColorizeError(
            args.output, "names one output file but the inputs are several or a folder; give an output folder instead"
        )
    if chosen and chosen != implied:
        raise ColorizeError(args.output, f"the file name says {implied.upper()} but --format says {chosen.upper()}")
    return implied


def cmd_image(args):
    if args.vividness is not None:
        args.vividness = check_vividness(args.vividness)
    if args.max_pixels < 1:
        raise ColorizeError("--max-pixels", "must be a positive number of pixels")
    args.hints = parse_hints(args.hint or [])
    if args.hints and not (len(args.inputs) == 1 and Path(args.inputs[0]).is_file()):
        raise ColorizeError(
            "--hint", "hint coordinates belong to one image: give a single input file, not several files or a folder"
        )
    if args.workers is not None and args.workers < 1:
        raise ColorizeError("--workers", "must be at least 1")
    if args.workers is not None and args.cluster not in (None, "local"):
        raise ColorizeError(
            "--workers", f"sets how many local processes to run; the cluster at {args.cluster} has its own workers"
        )
    fmt = output_format(args)
    notices: list[str] = []
    jobs, problems = collect_jobs(args.inputs, args.output, fmt, notices)
    for line in [*notices, *map(str, problems)]:
        say(line)
    if not jobs:
        Manifest(args.manifest, plan_batch([], problems).rows).write()
        say("nothing to colorize" + ("" if problems or notices else ": no image files found in the inputs"))
        return 1
    info = find_model(args.model)
    if args.hints and not info.takes_hints:
        raise ColorizeError("--hint", f"model {info.name} does not take colour hints (see `colorize models`)")
    settings = PhotoSettings.for_model(
        info,
        fmt=fmt,
        vividness=args.vividness,
        upsample=args.upsample,
        max_pixels=args.max_pixels,
        hints=tuple(args.hints),
    )
    batch = plan_batch(jobs, problems, overwrite=args.overwrite)
    skipped = batch.count("skipped")
    if skipped:
        say(f"{skipped} of {len(jobs)} outputs are already there: skipped (--overwrite redoes them)")
    bar = ProgressBar(len(batch.todo), "colorizing", stream=sys.stderr)
    finished = 0

    def on_outcome(outcome):
        nonlocal finished
        finished += 1
        bar.update(finished, note=Path(outcome.source).name)
        if outcome.error:
            bar.message(outcome.error)
        elif outcome.note:
            bar.message(f"{outcome.source}: {outcome.note}")

    try:
        bar.update(0)
        run_batch(
            batch,
            settings,
            workers=args.workers or default_workers(),
            cluster=args.cluster,
            manifest=args.manifest,
            on_outcome=on_outcome,
        )
    finally:
        bar.close()
    done, failed = batch.count("done"), batch.count("failed")
    total = len(batch.rows)
    extra = ", ".join(([f"{skipped} already there"] if skipped else []) + ([f"{failed} failed"] if failed else []))
    say(f"colorized {done} of {total} image{'s' * (total != 1)} into {args.output}" + (f" ({extra})" if extra else ""))
    return 1 if failed else 0


def cmd_video(args):
    from .video import colorize_video

    model = load_default_model(args.model)
    bar = ProgressBar(1, "colorizing video", stream=sys.stderr)

    def on_progress(p):
        bar.update(p.done, p.total, note=f"{p.elapsed:.0f}s elapsed")
        return True

    limits = VideoLimits(max_seconds=args.max_seconds, max_pixels=args.max_pixels)
    try:
        info = colorize_video(
            args.input,
            args.output,
            model,
            vividness=args.vividness,
            stabilize=not args.no_stabilize,
            progress=on_progress,
            limits=limits,
        )
    except BaseException:
        bar.clear()  # so the one-line error (printed by main) stands alone
        raise
    bar.close()
    say(f"wrote {args.output} ({info.width}x{info.height}, {info.fps:g} fps{', with audio' if info.has_audio else ''})")
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
        ok = info.weights_intact()
        usable += ok
        print(
            f"  {info.name}  ({info.folder.name}/{info.onnx}, {info.onnx_path.stat().st_size / 1e6:.1f} MB, "
            f"{'checksum OK' if ok else 'CORRUPT: SHA-256 does not match model.json'})"
        )
        if info.bins is not None:
            print(f"    output: distribution over {len(info.bins)} a/b bins at 1/{info.stride} of the input side")
        else:
            print(f"    output: a/b at 1/{info.stride} of the input side")
        print(
            f"    input: L, long side {info.long_side} (multiple of {info.multiple}); "
            f"default vividness {info.default_vividness:g}"
        )
        hints = info.hints
        if hints is not None:
            print(
                f"    colour hints: yes (inputs {hints.ab_input} and {hints.mask_input}, "
                f"{hints.patch}x{hints.patch} px per hint; --hint X,Y,#RRGGBB)"
            )
        else:
            print("    colour hints: no")
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


def add_model_options(parser):
    """--vividness and --model, the same for images and videos."""
    parser.add_argument(
        "--vividness",
        type=float,
        default=None,
        help="0 (grey; muted for older models) .. 2 (bold); default from the model",
    )
    parser.add_argument("--model", default=None, help="model name or folder name (see `colorize models`)")


def build_parser():
    ap = argparse.ArgumentParser(prog="colorize", description="Colorize black-and-white photos and videos, offline.")
    sub = ap.add_subparsers(dest="command", required=True)
    im = sub.add_parser(
        "image",
        help="colorize image files or folders (recursively)",
        description="Colorize image files, or every image in folders (recursively). "
        "Each output has its input's base name; inputs are never overwritten.",
    )
    im.add_argument("inputs", nargs="+", help="image files or folders")
    im.add_argument(
        "-o",
        "--output",
        required=True,
        help="output folder (or, for one input file, an output file name ending in .png/.jpg/.tif)",
    )
    im.add_argument(
        "--format",
        choices=["png", "jpg", "jpeg", "tif", "tiff"],
        default=None,
        help="output format (default: PNG, or the output file name's)",
    )
    add_model_options(im)
    im.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help=f"refuse images larger than this many pixels (default {DEFAULT_MAX_PIXELS:,}, "
        f"{DEFAULT_MAX_PIXELS / 1e6:g} MP: the page's limit too)",
    )
    im.add_argument("--upsample", choices=METHODS, default="guided", help="how colour is brought to full size")
    im.add_argument(
        "--hint",
        action="append",
        metavar="X,Y,#RRGGBB",
        help="colour hint: pixel X,Y of the (upright) input image is about this colour; repeatable; "
        "one input file only; for models that take hints (see `colorize models`)",
    )
    im.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="local processes colorizing at once (default: one per core); with --cluster local, its workers",
    )
    im.add_argument(
        "--cluster",
        default=None,
        metavar="tcp://HOST:8786",
        help="run on this Dask scheduler (inputs and outputs on storage every worker sees), or "
        "'local' to start a LocalCluster on this machine; needs pip install \".[cluster]\"",
    )
    im.add_argument(
        "--manifest",
        default=None,
        metavar="FILE.csv",
        help="record every input with its output, status (done/skipped/failed/pending), error "
        "and seconds; kept up to date while the batch runs",
    )
    im.add_argument(
        "--overwrite",
        action="store_true",
        help="colorize again photos whose output is already there (by default they are skipped, "
        "so a rerun resumes an interrupted batch)",
    )
    im.set_defaults(func=cmd_image)
    vi = sub.add_parser(
        "video",
        help="colorize a video into a browser-playable H.264 mp4 with its audio",
        description="Colorize one video file: every frame through the network, the colours steadied from "
        "frame to frame along the motion (optical flow) so they do not flicker, the sound kept and cut "
        "to the video's length. The output is H.264 (yuv420p) MP4 that browsers and phones play, written "
        "atomically; the input is never overwritten. Ctrl-C stops it and leaves no partial file.",
        epilog="example: colorize video film.mp4 -o film_colorized.mp4 --vividness 1.2",
    )
    vi.add_argument("input", help="the video file (MP4, MOV, AVI, MKV, WebM: whatever ffmpeg reads)")
    vi.add_argument("-o", "--output", required=True, help="the output file, ending in .mp4")
    add_model_options(vi)
    vi.add_argument(
        "--no-stabilize",
        action="store_true",
        help="colorize each frame on its own, without steadying colours between frames (flickers; to compare)",
    )
    vi.add_argument(
        "--max-seconds",
        type=float,
        default=VideoLimits.max_seconds,
        help=f"refuse videos longer than this (default {VideoLimits.max_seconds:g})",
    )
    vi.add_argument(
        "--max-pixels",
        type=int,
        default=VideoLimits.max_pixels,
        help=f"refuse videos with larger frames (default {VideoLimits.max_pixels:,})",
    )
    vi.set_defaults(func=cmd_video)
    mo = sub.add_parser(
        "models",
        help="list the models and their metadata",
        description="List every model folder (model.json and its ONNX file) with what it outputs, its input "
        "size, default vividness, whether it takes colour hints, its licence, training data and measured "
        "quality, and whether its weights match their SHA-256. Exit status 1 if no model is usable.",
    )
    mo.add_argument(
        "--dir",
        default=None,
        metavar="FOLDER",
        help="where to look (default: $COLORIZE_MODELS, else the installed package's models)",
    )
    mo.set_defaults(func=cmd_models)
    return ap


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP (kill, timeout, docker stop, a closed terminal): raised in the main thread
    like Ctrl-C's KeyboardInterrupt, so the same clean-up runs (no temporary file, no ffmpeg left)."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))
_stopped_by: list[int] = []  # the signal that stopped this run, if any


def _stop(signum, frame):
    for sig in STOP_SIGNALS:  # a second signal must not interrupt the clean-up of the first
        signal.signal(sig, signal.SIG_IGN)
    _stopped_by.append(signum)
    raise Stopped(signum)


@contextmanager
def stopping_on_signals():
    """SIGTERM and SIGHUP stop the command as Ctrl-C does, while inside; the old handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


HINT_OPTION = "--hint"


def take_out_hints(argv):
    """(argv without its --hint options, their values in order), for `image`.

    argparse looks through every option string once per option it reads: 30,000 --hint flags took
    21 s. And it takes a value that starts with '-' (--hint -1,5,#ff0000) for an option, answering
    with its usage text rather than what is wrong with the hint. --hint VALUE, --hint=VALUE and
    argparse's abbreviations of --hint (--hi, --hin) are taken out here, in one pass."""
    rest, hints = [], []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if arg == "--":  # what follows is input names
            rest += argv[i:]
            break
        if len(name) >= 4 and HINT_OPTION.startswith(name):
            if eq:
                hints.append(value)
            elif i + 1 < len(argv):
                hints.append(argv[i + 1])
                i += 1
            else:
                rest.append(arg)  # no value: argparse says so
        else:
            rest.append(arg)
        i += 1
    return rest, hints


def closed_pipe():
    """The reader of our output went away (`colorize models | head -2`): stop quietly, as Unix tools do
    when SIGPIPE ends them (status 128 + 13), with nothing more written to the closed pipe (Python
    flushes stdout on exit, which would fail again)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor behind stdout (a test's capture): nothing to flush
        pass
    finally:
        os.close(devnull)
    return 128 + 13


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    hints: list[str] = []
    if argv[:1] == ["image"]:
        argv, hints = take_out_hints(argv)
    args = build_parser().parse_args(argv)
    if hints:
        args.hint = [*(args.hint or []), *hints]
    # Decoders warn about oddities of files they still read; on the command line that would be
    # stray lines, while real problems already arrive as one-line errors.
    warnings.simplefilter("ignore")
    _stopped_by.clear()
    try:
        with stopping_on_signals():
            status = args.func(args)
            sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
            return status
    except ColorizeError as e:
        say(str(e))
        return 1
    except BrokenPipeError:
        return closed_pipe()
    except KeyboardInterrupt:
        if _stopped_by:
            name = signal.Signals(_stopped_by[0]).name
            print(f"stopped by {name}", file=sys.stderr)
            return 128 + _stopped_by[0]
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a command line tool answers in one line, not a traceback
        if os.environ.get("COLORIZE_DEBUG"):
            raise
        say(f"colorize: unexpected error ({type(e).__name__}: {one_line(e)}); set COLORIZE_DEBUG=1 for details")
        return 2
