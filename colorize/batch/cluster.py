"""A Dask cluster (`--cluster`): the only module that imports Dask, and only inside the functions a
cluster run calls, so the page and a plain batch never need it. Tasks carry file paths, a few photos
each, never pixels, so inputs and outputs must be on storage that every worker sees; each worker
loads the model once and keeps it."""

import contextlib
import logging
import os
import signal
import threading
from collections import Counter
from typing import Any

from ..atomic import remove_stale_temps, temp_suffix
from ..decode import one_line
from ..errors import ColorizeError
from .photo import MAX_ATTEMPTS, error_from_message, run_job, worker_model
from .plan import Job, Outcome, chunk_size_for, chunks_of
from .pool import default_workers

DASK_REQUIREMENT = "dask[distributed]>=2026.8.0,<2027"  # pyproject.toml's "cluster" extra (a test keeps them equal)


def _threads_by_host(client):
    """ONNX Runtime threads for each host: its cores shared among all its workers' task threads."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    cores = client.run(default_workers)
    slots: Counter[str] = Counter()
    host_cores: dict[str, int] = {}
    for address, w in workers.items():
        slots[w["host"]] += max(1, int(w.get("nthreads", 1)))
        host_cores[w["host"]] = cores.get(address, 1)
    return tuple((host, max(1, host_cores[host] // slots[host])) for host in slots)


def _dask_threads(worker, threads_by_host):
    from distributed.comm import get_address_host

    host = get_address_host(worker.address)
    fallback = max(1, default_workers() // max(1, int(getattr(worker, "nthreads", 1) or 1)))
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
                raise error_from_message(message)
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
