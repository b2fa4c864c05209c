"""Whole-collection throughput: photos per second at 1 MP, on the same generated photos in one run,

  1. sequential: one process, one photo after another, ONNX Runtime on all cores (model loaded before);
  2. `--workers 2`: the local process pool, one ONNX Runtime thread per worker, its start included
     (a pool lives for one batch), and without its start;
  3. a two-worker Dask LocalCluster (one thread per worker), started and warmed up beforehand as a
     long-running cluster would be;

and the cluster's overhead per photo (goal, issue 12: under 10 % of a photo's time), two ways:

  - CPU: all the CPU time the run took (workers, scheduler, nannies, client) minus the CPU time of
    the photos themselves (each worker runs ORT and OpenCV on its task's thread), per photo. This
    is what Dask adds, and it hardly depends on what else the machine is doing.
  - wall: wall time x workers / photos minus the mean wall time of one photo in a worker: the time
    a worker is not colorizing (Dask's round trips, and the end of the batch, when one worker has
    finished and the other still works on its last task of a few photos). On a busy machine this
    one moves with the load.

The pool gets the same figures, its start included (each worker imports and loads the model).
All three paths must write byte-identical files; the benchmark checks that too.

    python benchmarks/batch.py [--photos 16] [--megapixels 1.0] [--workers 2]

Photos are crops of ../shared/samples/bw resized to --megapixels (read only, never copied into the
repository), else synthetic; JPEG q90 in, PNG out, the bundled model. Needs dask[distributed]
(pip install ".[cluster]").
"""

import argparse
import glob
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from checkout import SHARED
from PIL import Image

from colorize.batch.photo import PhotoSettings, worker_model
from colorize.batch.plan import plan_batch
from colorize.batch.run import run_batch
from colorize.model import find_model

SAMPLES = SHARED / "samples" / "bw"


def make_photos(folder, n, megapixels):
    """n 4:3 grey JPEGs of about `megapixels`: crops of the sample photos, else synthetic patterns."""
    w = int(round((megapixels * 1e6 * 4 / 3) ** 0.5))
    h = int(round(w * 3 / 4))
    sources = [Image.open(f).convert("L") for f in sorted(glob.glob(str(SAMPLES / "*.jpg")))]
    rng = np.random.default_rng(0)
    for i in range(n):
        if sources:
            src = sources[i % len(sources)]
            s = max(w / src.width, h / src.height) * (1 + 0.3 * rng.random())
            im = src.resize((max(w, round(src.width * s)), max(h, round(src.height * s))), Image.LANCZOS)
            x, y = rng.integers(0, im.width - w + 1), rng.integers(0, im.height - h + 1)
            im = im.crop((x, y, x + w, y + h))
        else:
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            g = 128 + 60 * np.sin(xx / (20 + 3 * i)) * np.cos(yy / (15 + 2 * i)) + 40 * xx / w
            g += rng.normal(0, 6, g.shape)
            im = Image.fromarray(np.clip(g, 0, 255).astype(np.uint8))
        im.save(folder / f"photo{i:03d}.jpg", quality=90)
    return (w, h), "crops of the sample photos" if sources else "synthetic patterns"


def cpu_now(client=None):
    """CPU seconds used so far by this process, its finished (waited-for) children, and the
    cluster's worker processes."""
    t = os.times()
    workers = sum(client.run(time.process_time).values()) if client is not None else 0.0
    return t.user + t.system + t.children_user + t.children_system + workers


def timed_batch(src, out, settings, client=None, **how):
    """Colorize every photo of src into out; (wall s, CPU s, outcomes, seconds from start to each outcome)."""
    jobs = [(p, out / (p.stem + ".png")) for p in sorted(src.glob("*.jpg"))]
    arrivals = []
    c0 = cpu_now(client)
    t0 = time.perf_counter()
    rows = run_batch(
        plan_batch(jobs),
        settings,
        on_outcome=lambda o: arrivals.append(time.perf_counter() - t0),
        cluster=client,
        **how,
    )
    wall = time.perf_counter() - t0
    cpu = cpu_now(client) - c0
    failed = [r.error for r in rows if r.status != "done"]
    if failed:
        raise SystemExit(f"benchmark photos failed: {failed[:3]}")
    return wall, cpu, rows, sorted(arrivals)


def outputs(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=16)
    ap.add_argument("--megapixels", type=float, default=1.0)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    from distributed import Client

    from colorize.batch.cluster import quiet_dask_logs, start_local_cluster

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    loads = [load[0]] if load else []
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs"
        + (f", load average {load[0]:.1f} at start" if load else "")
        + f"; Python {platform.python_version()}"
    )
    info = find_model()
    settings = PhotoSettings.for_model(info)
    n, k = args.photos, args.workers
    with tempfile.TemporaryDirectory(prefix="colorize-bench-") as tmp:
        tmp = Path(tmp)
        (tmp / "in").mkdir()
        (w, h), source = make_photos(tmp / "in", n, args.megapixels)
        print(f"{n} photos {w}x{h} ({w * h / 1e6:.2f} MP, {source}), JPEG q90 in, PNG out, model {info.name}\n")

        t0 = time.perf_counter()
        worker_model(settings, 0, verify=False)
        load_s = time.perf_counter() - t0
        seq_wall, seq_cpu, seq_rows, _ = timed_batch(tmp / "in", tmp / "seq", settings, workers=1)

        pool_wall, pool_cpu, pool_rows, pool_arrivals = timed_batch(tmp / "in", tmp / "pool", settings, workers=k)
        # Without the start: from the moment every worker has delivered its first photo.
        pool_steady = (n - k) / (pool_arrivals[-1] - pool_arrivals[k - 1]) if n > k else float("nan")

        quiet_dask_logs()
        t0 = time.perf_counter()
        cluster = start_local_cluster(k)  # as --cluster local starts it
        client = Client(cluster)
        start_s = time.perf_counter() - t0
        try:
            warm = [(tmp / "in" / "photo000.jpg", tmp / "warm" / f"w{i}.png") for i in range(k)]
            t0 = time.perf_counter()
            run_batch(plan_batch(warm), settings, cluster=client)  # loads the model on each worker
            warm_s = time.perf_counter() - t0
            dask_wall, dask_cpu, dask_rows, _ = timed_batch(tmp / "in", tmp / "dask", settings, client=client)
        finally:
            client.close()
            cluster.close()

        same = outputs(tmp / "seq") == outputs(tmp / "pool") == outputs(tmp / "dask")
        if load:
            loads.append(os.getloadavg()[0])

    print(
        f"{'path':<42} {'photos/s':>8} {'wall s/photo':>12} {'in a worker':>11} {'CPU s/photo':>11} "
        f"{'of it photo':>11} | {'overhead per photo: CPU':>23} {'wall':>15}"
    )
    print(
        f"{'sequential (1 process, ORT on all cores)':<42} {n / seq_wall:8.2f} {seq_wall / n:12.3f} "
        f"{statistics.mean(r.seconds for r in seq_rows):11.3f} {seq_cpu / n:11.3f}"
    )
    for label, wall, cpu, rows in (
        (f"--workers {k} (pool, start included)", pool_wall, pool_cpu, pool_rows),
        (f"Dask LocalCluster, {k} workers (warm)", dask_wall, dask_cpu, dask_rows),
    ):
        mean = statistics.mean(r.seconds for r in rows)
        photo_cpu = statistics.mean(r.cpu for r in rows)
        cpu_over = cpu / n - photo_cpu
        wall_over = wall * k / n - mean
        print(
            f"{label:<42} {n / wall:8.2f} {wall / n:12.3f} {mean:11.3f} {cpu / n:11.3f} {photo_cpu:11.3f} | "
            f"{cpu_over * 1000:10.0f} ms ({100 * cpu_over / photo_cpu:4.1f} %) "
            f"{wall_over * 1000:6.0f} ms ({100 * wall_over / mean:.0f} %)"
        )
    print(f"{f'--workers {k} (pool, without its start)':<42} {pool_steady:8.2f} {1 / pool_steady:12.3f}")
    print(
        f"\nModel load in this process {load_s:.2f} s; LocalCluster start {start_s:.1f} s, then the model on "
        f"each worker (first {k} photos) {warm_s:.1f} s."
    )
    print(f"Cluster vs pool without its start, per photo: {100 * (pool_steady * dask_wall / n - 1):+.0f} %.")
    print(
        f"Outputs byte-identical on all three paths: {'yes' if same else 'NO'}"
        + (f"; load average {loads[0]:.1f} at start, {loads[-1]:.1f} at the end" if loads else "")
    )
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
