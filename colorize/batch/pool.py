"""A pool of local processes (`--workers N`): each loads the model once and colorizes the chunks it
is sent, with ONNX Runtime's threads split between them; a worker that dies is replaced."""

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
from collections import Counter, deque

from ..atomic import temp_suffix
from ..decode import one_line
from ..errors import ColorizeError
from .photo import MAX_ATTEMPTS, error_from_message, run_job, worker_model
from .plan import Job, Outcome, chunk_size_for, chunks_of


def default_workers():
    """How many processes this machine's cores allow (the CPUs this process may run on)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


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
            raise error_from_message(payload)
        if w.jobs and w.jobs[0][0] == payload.index:
            w.jobs.popleft()
        on_outcome(payload)
