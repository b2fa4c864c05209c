"""The run that ties a batch together: its manifest, the leftovers of killed processes, and the path
that colorizes it (this process, the local pool or a Dask cluster)."""

import os
from dataclasses import replace
from pathlib import Path

from ..atomic import remove_stale_temps, temp_suffix
from .cluster import run_on_dask
from .manifest import Manifest
from .photo import run_job, worker_model
from .pool import run_pool


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
