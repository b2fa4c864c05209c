"""Whole collections: plan the outputs, skip those already made, colorize the rest one after
another, on a pool of local processes or on a Dask cluster, and keep a manifest.

Every path runs the same `colorize_photo` on one photo at a time (one network call per photo, so a
result never depends on which photos travel together), and ONNX Runtime's results do not depend on
its thread count (tests/test_batch.py checks both): a photo's output bytes are the same whichever
path made them. Work travels as file paths, never pixels, so inputs and outputs must be on storage
that every worker sees. Outputs are written atomically, so a present output is a whole one: a rerun
skips it, and an interrupted batch resumes where it stopped. Dask is imported only for `--cluster`.
"""

import contextlib
import csv
import io
import logging
import multiprocessing
import multiprocessing.connection
import os
import re
import signal
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np

from .atomic import TEMP_PREFIX, TEMP_SUFFIX, write_atomic
from .decode import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES, describe_pixels, load_image, one_line
from .encode import FORMATS, encode_image
from .errors import ColorizeError
from .model import ColorModel, list_models, models_dir, sha256_of
from .pipeline import predict, render

Job: TypeAlias = tuple[int, str, str]  # (index in the batch, input, output) of one photo to colorize

DASK_REQUIREMENT = "dask[distributed]>=2026.8.0,<2027"  # pyproject.toml's "cluster" extra (a test keeps them equal)
MAX_ATTEMPTS = 3  # a photo whose worker process dies this often is reported failed (Dask's default too)
MANIFEST_EVERY_S = 2.0  # how often a running batch rewrites its manifest
MANIFEST_FIELDS = ("input", "output", "status", "error", "note", "seconds")


# ---------------------------------------------------------------- planning: inputs -> outputs


@dataclass(frozen=True)
class Problem:
    """An input that gets no job (missing, or its output would clash); str() is its one-line message."""

    source: str
    output: str
    message: str

    def __str__(self):
        return self.message


def image_files(folder, skip=None):
    """Image files under folder, recursively and sorted; hidden files and the `skip` folder left out."""
    found = []
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (skip is None or Path(here, d).resolve() != skip))
        found += [Path(here, f) for f in files if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_SUFFIXES]
    return sorted(found)


def suffix_format(path):
    """'png' or 'jpg' when a path ends in an output format's suffix, else None."""
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"jpeg": "jpg"}.get(suffix, suffix) if suffix in FORMATS and not Path(path).is_dir() else None


def collect_jobs(inputs, out, fmt):
    """(input path, output path) pairs: folders recursively, keeping their sub-folder layout.

    Returns the jobs and Problems: missing inputs, outputs that would overwrite an input, and two
    inputs that would write the same output."""
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
            problems.append(Problem(str(item), "", f"{item}: is neither a file nor a folder"))
        else:
            problems.append(Problem(str(item), "", f"{item}: no such file or folder"))
    inputs_resolved = {p.resolve() for p, _ in jobs}
    claimed: dict[Path, Path] = {}  # output -> the input it is written from
    safe = []
    for src, dst in jobs:
        target = dst.resolve()
        if target in inputs_resolved:
            problems.append(
                Problem(str(src), str(dst), f"{src}: output {dst} would overwrite an input; choose another -o folder")
            )
        elif target in claimed:
            problems.append(
                Problem(
                    str(src),
                    str(dst),
                    f"{src}: output {dst} is already written from {claimed[target]}; colorize one of them separately",
                )
            )
        else:
            claimed[target] = src
            safe.append((src, dst))
    return safe, problems


# ---------------------------------------------------------------- one photo, the same everywhere


@dataclass(frozen=True)
class PhotoSettings:
    """How every photo of a batch is made; sent to every worker, so all make the same bytes."""

    model_folder: str  # absolute; a worker without it loads the model of the same name from its models/
    model_name: str
    model_sha256: str  # every worker checks that its model has these weights
    fmt: str = "png"
    vividness: float | None = None
    upsample: str = "guided"
    max_pixels: int = DEFAULT_MAX_PIXELS
    hints: tuple = ()  # colour hints (colorize.hints), for a batch of one photo

    @classmethod
    def for_model(cls, info, **settings):
        return cls(str(Path(info.folder).resolve()), info.name, info.sha256, **settings)


def find_model(name=None, verify=True):
    """ModelInfo of the named model in models_dir() (or the first one there), its weights checked
    against model.json when `verify`; the same one-line errors as colorize.load_default_model."""
    infos, problems = list_models()
    if name:
        info = next((i for i in infos if name in (i.name, i.folder.name)), None)
        if info is None:
            raise ColorizeError(name, f"no such model in {models_dir()}" + (f" ({problems[0]})" if problems else ""))
    elif infos:
        info = infos[0]
    else:
        raise ColorizeError(models_dir(), "no model found" + (f" ({problems[0]})" if problems else ""))
    if verify and sha256_of(info.onnx_path) != info.sha256:
        raise ColorizeError(info.onnx_path, "model weights are corrupt (SHA-256 does not match model.json)")
    return info


@dataclass
class Outcome:
    """What became of one input: status is done, skipped, failed, or pending (not reached yet)."""

    index: int  # position in the plan
    source: str
    output: str
    status: str
    error: str = ""  # the one-line message, naming the file, when failed
    note: str = ""  # e.g. "first frame of 3 used"
    seconds: float = 0.0  # time spent on it in the worker
    cpu: float = 0.0  # CPU time of the thread that did it: all of it where ORT and OpenCV run on
    # that one thread (pool and Dask workers with one core each; benchmarks/batch.py)


_models: dict[tuple[str, str, int], ColorModel] = {}
_models_lock = threading.Lock()


def worker_model(settings, threads=0, verify=True):
    """This process's model for the batch, loaded once and kept (pool workers and Dask workers
    call this for every photo). threads: ONNX Runtime and OpenCV threads (0: their defaults)."""
    key = (settings.model_sha256, settings.model_folder, threads)
    with _models_lock:
        if key not in _models:
            folder = Path(settings.model_folder)
            if not (folder / "model.json").is_file():  # another machine: its own copy of the model
                folder = find_model(settings.model_name, verify=False).folder
            model = ColorModel(folder, threads, verify=verify)
            if model.info.sha256 != settings.model_sha256:
                raise ColorizeError(
                    model.info.onnx_path,
                    f"has other weights than the batch's model "
                    f"{settings.model_name}; install the same model everywhere",
                )
            if threads:
                import cv2

                cv2.setNumThreads(threads)
            _models[key] = model
        return _models[key]


def colorize_photo(model, src, dst, settings, temp_suffix=TEMP_SUFFIX):
    """One input file to one output file, written atomically; returns a note for the user (or "")."""
    photo = load_image(src, max_pixels=settings.max_pixels)
    if settings.hints:
        from .hints import check_hints

        hints = [check_hints(settings.hints, photo.rgb.shape[1], photo.rgb.shape[0], source=src)]
        prediction = predict(model, [photo.rgb], hints)[0]
    else:
        prediction = predict(model, [photo.rgb])[0]
    result = render(model, prediction, settings.vividness, settings.upsample, dtype=np.uint8)
    data = encode_image(result, photo.alpha, settings.fmt, meta=photo.meta)
    try:
        write_atomic(dst, data, temp_suffix)
    except OSError as e:
        raise ColorizeError(dst, f"cannot be written ({e.strerror or one_line(e)})") from None
    return photo.note


def run_job(model, job, settings, temp_suffix=TEMP_SUFFIX):
    """(index, source, output) -> Outcome. Never raises for a bad photo: one odd file must not
    stop the batch (KeyboardInterrupt still stops it)."""
    index, src, dst = job
    t0, c0 = time.perf_counter(), time.thread_time()
    try:
        note = colorize_photo(model, src, dst, settings, temp_suffix)
        return Outcome(
            index, src, dst, "done", note=note or "", seconds=time.perf_counter() - t0, cpu=time.thread_time() - c0
        )
    except ColorizeError as e:
        error = str(e)
    except MemoryError:
        error = (
            f"{src}: not enough memory to colorize this image (try a smaller one, "
            f"or lower --max-pixels from {describe_pixels(settings.max_pixels)})"
        )
    except Exception as e:  # noqa: BLE001 - any failure of one photo is that photo's, and the batch goes on
        error = f"{src}: could not be colorized ({type(e).__name__}: {one_line(e)})"
    return Outcome(
        index, src, dst, "failed", error=error, seconds=time.perf_counter() - t0, cpu=time.thread_time() - c0
    )


# ---------------------------------------------------------------- temporary files of killed processes


def _host_tag():
    return re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname()) or "host"


def temp_suffix():
    """Temporary-file suffix naming this host and process, so leftovers of a killed process can be
    told from files that a live one is still writing."""
    return f".{_host_tag()}-{os.getpid()}{TEMP_SUFFIX}"


_TAGGED_TEMP = re.compile(
    re.escape(TEMP_PREFIX) + r"[0-9a-f]+\.(?P<host>[A-Za-z0-9_.]+)-(?P<pid>\d+)" + re.escape(TEMP_SUFFIX) + "$"
)


def _pid_alive(pid):
    if os.name == "nt":  # os.kill(pid, 0) would send Ctrl-C there: never sweep
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process
        return True
    return True


def remove_stale_temps(folders):
    """Delete the temporary files that killed processes of this host left in these folders (a
    killed process cannot clean up; its outputs were never renamed into place). Returns how many."""
    host, removed = _host_tag(), 0
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            m = _TAGGED_TEMP.match(entry.name)
            if m and m["host"] == host and not _pid_alive(int(m["pid"])):
                try:
                    os.unlink(entry.path)
                    removed += 1
                except OSError:
                    pass
    return removed


# ---------------------------------------------------------------- the manifest


class Manifest:
    """The CSV record of a batch: every input once, in plan order, with its output, status, error,
    note and seconds. Rewritten atomically (at most every MANIFEST_EVERY_S while the batch runs, and
    at its end), so even a killed run leaves a whole, valid file."""

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
        for r in self.rows:
            out.writerow(
                [
                    r.source,
                    r.output,
                    r.status,
                    r.error,
                    r.note,
                    f"{r.seconds:.3f}" if r.status in ("done", "failed") and r.seconds else "",
                ]
            )
        try:
            write_atomic(self.path, buf.getvalue().encode("utf-8"))
        except OSError as e:
            raise ColorizeError(self.path, f"manifest cannot be written ({e.strerror or one_line(e)})") from None
        self.written_at = time.monotonic()


def read_manifest(path):
    """The manifest's rows as dicts (for tests and for people checking a run)."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------- the batch


@dataclass
class Batch:
    """A planned batch: one Outcome per input (skipped, pending or failed) and the jobs to do."""

    rows: list
    todo: list  # (index, source, output) of the pending rows
    overwrite: bool = False

    def count(self, status):
        return sum(r.status == status for r in self.rows)


def plan_batch(jobs, problems=(), overwrite=False):
    """Jobs and planning problems -> Batch. An output already present is skipped (it is whole:
    outputs are written atomically) unless `overwrite`."""
    rows: list[Outcome] = []
    todo: list[Job] = []
    for src, dst in jobs:
        i = len(rows)
        if not overwrite and Path(dst).is_file():
            rows.append(Outcome(i, str(src), str(dst), "skipped"))
        else:
            rows.append(Outcome(i, str(src), str(dst), "pending"))
            todo.append((i, str(src), str(dst)))
    for p in problems:
        rows.append(Outcome(len(rows), p.source, p.output, "failed", error=p.message))
    return Batch(rows, todo, overwrite)


def default_workers():
    """How many processes this machine's cores allow (the CPUs this process may run on)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


def chunk_size_for(n_jobs, workers):
    """Photos per task: a few, so tasks are cheap to schedule yet spread evenly over the workers."""
    return max(1, min(8, n_jobs // (4 * max(1, workers))))


def chunks_of(items, size):
    return [items[i : i + size] for i in range(0, len(items), size)]


def run_batch(batch, settings, workers=1, cluster=None, manifest=None, on_outcome=None, chunk_size=None):
    """Colorize a planned batch; returns its rows (each input's Outcome, in plan order).

    workers: local processes (1: in this process). cluster: None, "local" (a LocalCluster of
    `workers` processes), a scheduler address "tcp://HOST:8786", or a distributed.Client.
    manifest: CSV path, kept up to date as photos finish. on_outcome(outcome) is called in this
    process for every photo as it finishes. Interrupted (Ctrl-C), the manifest is written with the
    unfinished photos as pending and no partial output is left."""
    record = Manifest(manifest, batch.rows)
    record.write()  # at once: a run stopped before its first photo still leaves a valid manifest
    folders = {os.path.dirname(os.path.abspath(dst)) for _, _, dst in batch.todo}
    remove_stale_temps(folders)

    def finished(outcome):
        planned = batch.rows[outcome.index]  # the paths as the user gave them (a cluster gets absolute ones)
        error = outcome.error
        for sent, given in ((outcome.source, planned.source), (outcome.output, planned.output)):
            if error.startswith(sent + ": "):
                error = given + error[len(sent) :]
        outcome = replace(outcome, source=planned.source, output=planned.output, error=error)
        record.record(outcome)
        if on_outcome:
            on_outcome(outcome)

    try:
        if batch.todo:
            if cluster is not None:
                run_on_dask(batch.todo, settings, cluster, workers, finished, chunk_size)
            elif workers > 1 and len(batch.todo) > 1:
                run_pool(batch.todo, settings, workers, finished, chunk_size)
            else:
                run_sequential(batch.todo, settings, finished)
    finally:
        if not batch.overwrite:  # made but not reported before a stop: absent when planned, so new and whole
            for i, _, dst in batch.todo:
                if batch.rows[i].status == "pending" and Path(dst).is_file():
                    batch.rows[i] = replace(batch.rows[i], status="done", note="not reported before the batch stopped")
        record.write()
        remove_stale_temps(folders)
    return batch.rows


def run_sequential(jobs, settings, on_outcome):
    """In this process, one photo after another, ONNX Runtime on all cores."""
    model = worker_model(settings, 0)
    suffix = temp_suffix()
    for job in jobs:
        on_outcome(run_job(model, job, settings, suffix))


# ---------------------------------------------------------------- a pool of local processes


class _PoolWorker:
    """One worker process and the jobs it has been sent but not yet reported."""

    def __init__(self, ctx, settings, threads):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_pool_worker_main, args=(child, settings, threads), name="colorize-worker", daemon=True
        )
        self.process.start()
        child.close()
        self.jobs: deque[Job] = deque()


WORKER_STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


def _stop_quietly(signum, frame):
    """Ctrl-C, terminate() or a closed terminal: unwind once (write_atomic removes its temporary
    file); later signals are ignored, so the worker's exit is never interrupted into a traceback."""
    for sig in WORKER_STOP_SIGNALS:
        signal.signal(sig, _ignore)  # not SIG_IGN: one already pending would raise OSError
    raise KeyboardInterrupt


def _ignore(signum, frame):
    pass


def _pool_worker_main(conn, settings, threads):
    """Load the model once, then colorize the chunks the parent sends, reporting each photo."""
    for sig in WORKER_STOP_SIGNALS:
        signal.signal(sig, _stop_quietly)
    try:
        try:
            model = worker_model(settings, threads)
        except Exception as e:  # noqa: BLE001 - the parent reports it in one line
            conn.send(
                (
                    "error",
                    str(e)
                    if isinstance(e, ColorizeError)
                    else f"{settings.model_folder}: model cannot be loaded ({type(e).__name__}: {one_line(e)})",
                )
            )
            return
        suffix = temp_suffix()
        while True:
            chunk = conn.recv()
            if chunk is None:
                return
            for job in chunk:
                conn.send(("done", run_job(model, job, settings, suffix)))
    except (KeyboardInterrupt, EOFError, OSError):  # stopping, or the parent is gone
        return


@contextlib.contextmanager
def _environment(values):
    """os.environ with these values, for the processes started inside (spawn copies it)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def thread_limits(threads):
    """Environment for a worker process: numpy's BLAS (OpenBLAS spins a thread per core on to_ab's
    small matmul, ~65 % more CPU for nothing) and OpenMP get the worker's share of the cores, as Dask's
    nanny does for its workers (distributed.nanny.pre-spawn-environ)."""
    return {name: str(threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def run_pool(jobs, settings, workers, on_outcome, chunk_size=None):
    """On `workers` local processes, each with its own model and max(1, cores // workers) threads.

    A worker that dies (killed, out of memory) is replaced; the photo it was on is tried again
    alone and reported failed after MAX_ATTEMPTS deaths; the rest of its chunk goes back in line."""
    chunks = deque(chunks_of(jobs, chunk_size or chunk_size_for(len(jobs), workers)))
    workers = max(1, min(workers, len(chunks)))
    threads = max(1, default_workers() // workers)
    ctx = multiprocessing.get_context("spawn")  # never fork a process that may hold ORT threads
    deaths: Counter[int] = Counter()  # photo index -> workers it killed

    def start():
        with _environment(thread_limits(threads)):
            return _PoolWorker(ctx, settings, threads)

    pool = [start() for _ in range(workers)]
    clean = False
    try:
        while chunks or any(w.jobs for w in pool):
            for w in pool:
                if not w.jobs and chunks:
                    chunk = chunks.popleft()
                    w.jobs.extend(chunk)
                    try:
                        w.conn.send(chunk)
                    except OSError:
                        pass  # it died; found below
            busy = {}
            for w in pool:
                if w.jobs:
                    busy[w.conn] = busy[w.process.sentinel] = w
            ready = {busy[r] for r in multiprocessing.connection.wait(list(busy))}
            for w in ready:
                if _drain(w, on_outcome):
                    continue
                w.process.join(1)
                if w.jobs:
                    index, src, dst = current = w.jobs.popleft()
                    deaths[index] += 1
                    rest = list(w.jobs)
                    if rest:
                        chunks.appendleft(rest)
                    if deaths[index] >= MAX_ATTEMPTS:
                        on_outcome(
                            Outcome(
                                index,
                                src,
                                dst,
                                "failed",
                                error=f"{src}: the worker process died while colorizing it, "
                                f"{deaths[index]} times (exit code {w.process.exitcode}); left out",
                            )
                        )
                    else:
                        chunks.appendleft([current])
                pool[pool.index(w)] = start()
        clean = True
    finally:
        for w in pool:
            if clean:
                try:
                    w.conn.send(None)
                except OSError:
                    pass
            elif w.process.is_alive():
                w.process.terminate()  # unwinds through write_atomic: no temporary file left
        for w in pool:
            w.process.join(10)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.conn.close()


def _drain(w, on_outcome):
    """Pass on every report waiting from a worker; False when it has died."""
    while True:
        try:
            if not w.conn.poll():
                return w.process.is_alive()
            kind, payload = w.conn.recv()
        except (EOFError, OSError):
            return False
        if kind == "error":
            raise ColorizeError(*payload.split(": ", 1)) if ": " in payload else ColorizeError("worker", payload)
        if w.jobs and w.jobs[0][0] == payload.index:
            w.jobs.popleft()
        on_outcome(payload)


# ---------------------------------------------------------------- Dask


def _cores():
    return default_workers()


def _threads_by_host(client):
    """ONNX Runtime threads for each host: its cores shared among all its workers' task threads."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    cores = client.run(_cores)
    slots: Counter[str] = Counter()
    host_cores: dict[str, int] = {}
    for address, w in workers.items():
        slots[w["host"]] += max(1, int(w.get("nthreads", 1)))
        host_cores[w["host"]] = cores.get(address, 1)
    return tuple((host, max(1, host_cores[host] // slots[host])) for host in slots)


def _dask_threads(worker, threads_by_host):
    from distributed.comm import get_address_host

    host = get_address_host(worker.address)
    fallback = max(1, _cores() // max(1, int(getattr(worker, "nthreads", 1) or 1)))
    return dict(threads_by_host).get(host, fallback)


def _preload(settings, threads_by_host, dask_worker=None):
    """Load the model on a worker before the first task; a message instead of an exception
    (ColorizeError does not travel back through pickle)."""
    try:
        worker_model(settings, _dask_threads(dask_worker, threads_by_host))
        return None
    except Exception as e:  # noqa: BLE001 - sent back as text: an exception may not survive pickling
        return str(e) if isinstance(e, ColorizeError) else f"{dask_worker.address}: {type(e).__name__}: {one_line(e)}"


_swept_folders: set[str] = set()


def colorize_chunk(chunk, settings, threads_by_host=()):
    """A Dask task: a few (index, source, output) jobs -> their Outcomes. The worker keeps its model,
    and clears its own machine's leftovers of killed workers from each output folder once."""
    from distributed import get_worker

    try:
        model = worker_model(settings, _dask_threads(get_worker(), threads_by_host))
    except ColorizeError as e:
        raise RuntimeError(str(e)) from None  # travels back (and is retried elsewhere)
    folders = {os.path.dirname(dst) for _, _, dst in chunk} - _swept_folders
    remove_stale_temps(folders)
    _swept_folders.update(folders)
    suffix = temp_suffix()
    return [run_job(model, job, settings, suffix) for job in chunk]


def quiet_dask_logs():
    """Dask logs lost workers, restarts and its own shutdown after Ctrl-C; the command line reports
    in one line per file instead (and a cluster that cannot work raises)."""
    for name in ("distributed", "dask"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


@contextlib.contextmanager
def children_ignore_ctrl_c():
    """Processes started inside ignore SIGINT. Ctrl-C reaches every process of the terminal's job;
    the LocalCluster's workers would each print Dask's tracebacks, while this process closes the
    cluster in order anyway."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# Dask's worker profiler samples the running task every 10 ms and its system monitor polls twice a
# second, for a dashboard --cluster local does not serve: about a third of Dask's CPU per photo.
LOCAL_CLUSTER_CONFIG = {"distributed.worker.profile.enabled": False, "distributed.admin.system-monitor.interval": "2s"}


def start_local_cluster(workers):
    """The LocalCluster of --cluster local: `workers` processes of one thread, quiet, Ctrl-C left to us."""
    import dask
    from distributed import LocalCluster

    with children_ignore_ctrl_c(), dask.config.set(LOCAL_CLUSTER_CONFIG):
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
        )


def run_on_dask(jobs, settings, cluster, workers, on_outcome, chunk_size=None):
    """On a Dask cluster: tasks of a few photos (paths, absolute, as every worker must see them).

    A lost worker's tasks are redone by Dask; a task that kills MAX_ATTEMPTS workers is split into
    one task per photo, tried once more; what still fails is reported per photo."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ColorizeError("--cluster", f'needs Dask: pip install ".[cluster]" (or "{DASK_REQUIREMENT}")') from None
    quiet_dask_logs()
    local = client = None
    futures: dict[Any, list[Job]] = {}  # Dask future -> its chunk
    try:
        if not isinstance(cluster, str):
            client = cluster
        elif cluster == "local":
            local = start_local_cluster(workers)
            client = Client(local)
        else:
            try:
                client = Client(cluster, timeout=30)
            except (OSError, TimeoutError) as e:
                raise ColorizeError(cluster, f"no Dask scheduler answers there ({one_line(e)})") from None
        try:
            client.wait_for_workers(1, timeout=120)
        except (OSError, TimeoutError):
            raise ColorizeError(cluster, "the Dask cluster has no workers (start some: dask worker ADDRESS)") from None
        threads_by_host = _threads_by_host(client)
        for message in client.run(_preload, settings, threads_by_host).values():
            if message:
                raise ColorizeError(*message.split(": ", 1)) if ": " in message else ColorizeError("worker", message)
        slots = sum(max(1, int(w.get("nthreads", 1))) for w in client.scheduler_info(n_workers=-1)["workers"].values())
        jobs = [(i, os.path.abspath(src), os.path.abspath(dst)) for i, src, dst in jobs]
        chunks = chunks_of(jobs, chunk_size or chunk_size_for(len(jobs), slots))

        def submit(chunks):
            fs = client.map(
                colorize_chunk,
                chunks,
                settings=settings,
                threads_by_host=threads_by_host,
                retries=MAX_ATTEMPTS - 1,
                pure=False,
            )
            futures.update(zip(fs, chunks, strict=True))
            return fs

        queue = as_completed(submit(chunks))
        for future in queue:
            chunk = futures.pop(future)
            try:
                outcomes = future.result()
            except Exception as e:  # noqa: BLE001 - a lost task, not a bad photo
                if len(chunk) > 1:
                    for f in submit([[job] for job in chunk]):
                        queue.add(f)
                    continue
                why = (
                    "Dask workers died while colorizing it"
                    if type(e).__name__ == "KilledWorker"
                    else f"{type(e).__name__}: {one_line(e)}"
                )
                outcomes = [
                    Outcome(i, src, dst, "failed", error=f"{src}: could not be colorized on the cluster ({why})")
                    for i, src, dst in chunk
                ]
            for outcome in outcomes:
                on_outcome(outcome)
    finally:
        if client is not None and futures:
            try:
                client.cancel(list(futures))
            except Exception:  # noqa: BLE001 - closing down anyway: the cluster may already be gone
                pass
        if client is not None and client is not cluster:
            client.close()
        if local is not None:
            local.close()
