"""Video benchmark: speed, memory and flicker of `colorize_video` with the bundled model.

    python benchmarks/video.py            # everything (a few minutes on 2 busy cores)
    python benchmarks/video.py flicker    # one section: speed | memory | flicker

Speed: frames/s end to end at 640x360 and 1280x720, beside decode+encode alone and beside the CPU
time spent per frame (wall-clock figures depend on what else the machine runs). Memory: peak RSS
of a clip and of one four times longer, each colorized in its own process. Flicker: colour clips
are turned grey, colorized per frame ("naive") and stabilised, and compared with
  CDC  colour distribution consistency (Liu et al. 2021): Jensen-Shannon divergence (log2) between
       the normalised 256-bin histograms of each RGB channel of frames t and t+d, d = 1, 2, 4, averaged;
  WE   warping error: frame t+1 warped onto frame t along the flow of the grey frames, mean a/b
       distance (CIE Lab, sqrt(da^2 + db^2)) over pixels the forward-backward check calls visible;
  CF   colourfulness (Hasler and Suesstrunk 2003, benchmarks/metrics.py: the CF of quality.py), mean
       over frames.
The original colour clip and the grey clip are measured too: CDC works on RGB histograms, so changes
of brightness (camera pans, exposure jumps) count as flicker even with no colour at all, and the
original footage's own CDC shows what faithful, perfectly steady colour would score.
Samples are read from /work/shared (../shared relative to the repository); nothing is copied.
"""

import argparse
import functools
import itertools
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from checkout import ROOT, SHARED
from metrics import colourfulness

from colorize.lab import rgb_to_lab
from colorize.video.ffmpeg import FrameReader, FrameWriter, ffmpeg_exe
from colorize.video.probe import probe_video

SAMPLES = SHARED / "samples" / "video"
MODEL = ROOT / "models" / "colorize-lite0"
SECTIONS = ("speed", "memory", "flicker")


def ffmpeg(*args):
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *map(str, args), "-y"], check=True)


def cpu_seconds():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def timed(fn):
    """(frames, wall seconds, CPU seconds of this process and its finished children)."""
    t, c = time.perf_counter(), cpu_seconds()
    frames = fn()
    return frames, time.perf_counter() - t, cpu_seconds() - c


def colorized_frames(src, dst, model, **options):
    from colorize.video import colorize_video

    seen = []
    colorize_video(src, dst, model, progress=seen.append, **options)
    return seen[-1].done


def passthrough(src, dst):
    """Decode + encode alone, with the same settings colorize_video uses."""
    info = probe_video(src)
    with FrameReader(info) as reader, FrameWriter(dst, info) as writer:
        for batch in reader.batches(8):
            for frame in batch:
                writer.write(frame)
        writer.finish()
    return reader.count


def speed(model, work):
    load = os.getloadavg()[0]
    busy = ": other work shares the machine, so wall-clock figures are pessimistic" if load >= 0.5 else ""
    print(f"\n== speed (load average {load:.1f} on {os.cpu_count()} cores{busy})")
    clips = {"640x360": work / "s360.mp4", "1280x720": work / "s720.mp4"}
    ffmpeg("-i", SAMPLES / "chaplin.mp4", "-t", "4", "-c", "copy", clips["640x360"])
    ffmpeg(
        "-i",
        SAMPLES / "bwIndustry.mp4",
        "-t",
        "3",
        "-vf",
        "scale=1280:720",
        "-c:v",
        "libx264",
        "-crf",
        "18",
        "-c:a",
        "copy",
        clips["1280x720"],
    )
    print("CPU ms/frame: this process and its ffmpeg children; 'ceiling' = 2000 / that: the frames/s two idle")
    print("cores could give at best (an upper bound, not a measurement)")
    print(f"{'size':9} {'job':30} {'frames':>6} {'wall s':>7} {'frames/s':>9} {'CPU ms/frame':>13} {'ceiling':>8}")
    results = {}
    for size, src in clips.items():
        colorized = functools.partial(colorized_frames, src, work / "c.mp4", model)
        jobs = [
            ("decode+encode alone", functools.partial(passthrough, src, work / "p.mp4")),
            ("colorize, stabilised (default)", colorized),
            ("colorize, per frame (naive)", functools.partial(colorized, stabilize=False)),
            ("stabilised, network at 256", functools.partial(colorized, network_side=None)),
        ]
        for name, job in jobs:
            n, wall, cpu = timed(job)
            results[(size, name)] = n / wall
            print(f"{size:9} {name:30} {n:6d} {wall:7.2f} {n / wall:9.1f} {cpu / n * 1000:13.1f} {2 * n / cpu:8.0f}")
    fps = results[("640x360", "colorize, stabilised (default)")]
    print(
        f"goal >= 30 frames/s end to end at 640x360: {fps:.1f} ({'met' if fps >= 30 else 'NOT met'}; "
        f"load average now {os.getloadavg()[0]:.1f})"
    )


RSS_CHILD = """
import sys, threading, time
from pathlib import Path
sys.path.insert(0, {root!r})
from colorize import ColorModel
from colorize.video import colorize_video


def hwm(pid="self"):
    for line in Path(f"/proc/{{pid}}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


peak_ffmpeg, running = [0], [True]


def watch():  # ffmpeg's own high-water mark, read while it runs
    while running[0]:
        for task in Path("/proc/self/task").iterdir():
            try:
                for pid in (task / "children").read_text().split():
                    if b"ffmpeg" in Path(f"/proc/{{pid}}/cmdline").read_bytes():  # exec'd (not python's copy)
                        peak_ffmpeg[0] = max(peak_ffmpeg[0], hwm(pid))
            except OSError:
                pass
        time.sleep(0.1)


threading.Thread(target=watch, daemon=True).start()
colorize_video({src!r}, {dst!r}, ColorModel({model!r}))
running[0] = False
print(hwm(), peak_ffmpeg[0])
"""


def memory(work):
    print("\n== peak memory (each job in its own process: VmHWM of it and of its ffmpeg processes)")
    short, long = work / "short.mp4", work / "long.mp4"
    ffmpeg("-i", SAMPLES / "chaplin.mp4", "-t", "2.4", "-c", "copy", short)
    ffmpeg("-i", SAMPLES / "chaplin.mp4", "-c", "copy", long)
    peaks = []
    for src in (short, long):
        info = probe_video(src)
        code = RSS_CHILD.format(root=str(ROOT), src=str(src), dst=str(work / "m.mp4"), model=str(MODEL))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        py, ff = int(out[0]), int(out[1])
        peaks.append(py)
        print(
            f"{info.duration:5.1f} s, {info.frames:4d} frames at {info.width}x{info.height}: "
            f"python {py:5d} MB, largest ffmpeg {ff:4d} MB"
        )
    print(f"4x longer clip / short clip peak: {peaks[1] / peaks[0]:.2f} (goal: flat, ~1.0)")


def read_frames(path):
    info = probe_video(path)
    with FrameReader(info) as reader:
        return np.stack([f for batch in reader.batches(16) for f in batch])


def cdc(frames):
    """Colour distribution consistency (Liu et al. 2021); lower is steadier."""
    hists = np.stack(
        [[np.bincount(f[..., c].ravel(), minlength=256) / f[..., c].size for c in range(3)] for f in frames]
    )

    def jsd(p, q):
        m = 0.5 * (p + q)

        def kl(a, b):
            nz = a > 0
            return (a[nz] * np.log2(a[nz] / b[nz])).sum()

        return 0.5 * kl(p, m) + 0.5 * kl(q, m)

    per_d = []
    for d in (1, 2, 4):
        per_d.append(
            np.mean([np.mean([jsd(hists[t, c], hists[t + d, c]) for c in range(3)]) for t in range(len(frames) - d)])
        )
    return float(np.mean(per_d))


def flows(gray):
    """Forward flow t -> t+1 on the grey frames and a mask of pixels visible in both (fwd-bwd check)."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    out = []
    h, w = gray.shape[1:]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    for a, b in itertools.pairwise(gray):
        f = dis.calc(a, b, None)
        bwd = dis.calc(b, a, None)
        mx, my = gx + f[..., 0], gy + f[..., 1]
        bwd_there = cv2.remap(bwd, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        loop = ((f + bwd_there) ** 2).sum(-1)
        ok = loop < 0.01 * ((f**2).sum(-1) + (bwd_there**2).sum(-1)) + 0.5
        ok &= (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
        out.append((mx, my, ok))
    return out


def warp_error(frames, motion):
    errs = []
    for t, (mx, my, ok) in enumerate(motion):
        lab_t = rgb_to_lab(frames[t].astype(np.float32) / 255)
        nxt = cv2.remap(frames[t + 1].astype(np.float32) / 255, mx, my, cv2.INTER_LINEAR)
        lab_n = rgb_to_lab(nxt)
        d = np.sqrt(((lab_t[..., 1:] - lab_n[..., 1:]) ** 2).sum(-1))
        errs.append(d[ok].mean())
    return float(np.mean(errs))


def mean_colourfulness(frames):
    return float(np.mean([colourfulness(f) for f in frames]))


def flicker(model, work, names=("fire2.mp4", "example2.mp4"), **options):
    from colorize.video.job import VIDEO_NETWORK_SIDE

    print("\n== flicker: colour clip -> grey -> colorized; CDC and WE lower = steadier, CF = colourfulness")
    print(f"network input long side {VIDEO_NETWORK_SIDE} (video default) unless it says 256 (the model's own)")
    print(f"{'clip':13} {'output':24} {'CDC':>8} {'WE (a/b)':>9} {'CF':>7}")
    summary = []
    for name in names:
        metrics = flicker_of_clip(model, work, name, options)
        (c0, w0, f0), (c1, w1, f1) = metrics["naive (per frame)"], metrics["stabilised"]
        summary.append((name, 1 - c1 / c0, 1 - w1 / w0, f1 / f0 - 1, 1 - metrics["original colour"][0] / c0))
    print(
        f"stabilised vs naive, network at {VIDEO_NETWORK_SIDE} (goals: CDC and WE at least 30% lower, CF within 10%):"
    )
    for name, dc, dw, df, dc_truth in summary:
        ok = dc >= 0.3 and dw >= 0.3 and abs(df) <= 0.1
        print(
            f"  {name:13} CDC {-dc:+.0%}  WE {-dw:+.0%}  CF {df:+.0%}  {'met' if ok else 'NOT met'}"
            f"  (the original colour footage: CDC {-dc_truth:+.0%})"
        )
    return summary


def flicker_of_clip(model, work, name, options):
    """{output label: (CDC, WE, CF)} of one sample clip: the original, its grey copy, and that
    colorized per frame and stabilised, with the network at the video default and at 256."""
    from colorize.video.job import VIDEO_NETWORK_SIDE, colorize_video

    gray = work / ("gray-" + name)
    ffmpeg("-i", SAMPLES / name, "-an", "-vf", "format=gray,format=yuv420p", "-c:v", "libx264", "-crf", "12", gray)
    truth = read_frames(SAMPLES / name)
    g = read_frames(gray)
    motion = flows(np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in g]))
    metrics = {}

    def measure(label, frames):
        metrics[label] = (cdc(frames), warp_error(frames, motion), mean_colourfulness(frames))
        print(f"{name:13} {label:24} {metrics[label][0]:8.4f} {metrics[label][1]:9.3f} {metrics[label][2]:7.1f}")

    measure("original colour", truth)
    measure("grey input (no colour)", g)
    del truth, g
    video_side = VIDEO_NETWORK_SIDE
    for label, stab, side in (
        ("naive (per frame)", False, video_side),
        ("stabilised", True, video_side),
        ("naive, network at 256", False, None),
        ("stabilised, network 256", True, None),
    ):
        colorize_video(gray, work / "out.mp4", model, stabilize=stab, network_side=side, **options)
        measure(label, read_frames(work / "out.mp4"))
    return metrics


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sections", nargs="*", metavar="SECTION", help=f"any of {', '.join(SECTIONS)} (default: all)")
    sections = ap.parse_args(argv).sections or list(SECTIONS)
    if unknown := sorted(set(sections) - set(SECTIONS)):  # not choices=: argparse rejects an empty list then
        ap.error(f"unknown section {', '.join(unknown)} (choose from {', '.join(SECTIONS)})")
    if not (MODEL / "model.json").is_file():
        print(f"the bundled model is missing: {MODEL} (train it or copy it there first)", file=sys.stderr)
        return 1
    if not SAMPLES.is_dir():
        print(f"the sample videos are missing: {SAMPLES}", file=sys.stderr)
        return 1
    from colorize import ColorModel

    model = ColorModel(MODEL)
    meta = model.info.meta.get("training", {})
    crops = meta.get("crops_total", meta.get("seen", "?"))
    print(f"model {model.name} ({MODEL.relative_to(ROOT)}, {crops} training crops)")
    with tempfile.TemporaryDirectory(prefix="colorize-bench-") as tmp:
        work = Path(tmp)
        runs = {
            "speed": lambda: speed(model, work),
            "memory": lambda: memory(work),
            "flicker": lambda: flicker(model, work),
        }
        for section in sections:
            runs[section]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
