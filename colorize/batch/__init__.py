"""Whole collections: plan the outputs, skip those already made, colorize the rest (in this process,
on a pool of local processes or on a Dask cluster) and keep a manifest.

Every path makes each photo alone with the same `run_job` (one network call per photo, so a result
never depends on which photos travel together), and ONNX Runtime's results do not depend on its
thread count (tests/test_batch.py checks both): a photo's output bytes are the same whichever path
made them. Work travels as file paths, never pixels, so inputs and outputs must be on storage that
every worker sees. Outputs are written atomically, so a present output is a whole one: a rerun skips
it, and an interrupted batch resumes where it stopped.

    plan.py      which inputs map to which outputs; what is already done; tasks of a few photos
    photo.py     one photo, the same everywhere: the worker's model, the photo's work, temporary files
    manifest.py  the CSV record of a run
    pool.py      local worker processes (--workers)
    cluster.py   a Dask cluster (--cluster): the only module that imports Dask, and only when used
    run.py       run_batch, which ties them together
"""

from ..atomic import remove_stale_temps, temp_suffix
from ..decode import image_files
from ..model import find_model
from .cluster import DASK_REQUIREMENT, quiet_dask_logs, run_on_dask, start_local_cluster
from .manifest import Manifest
from .photo import PhotoSettings, colorize_photo, run_job, worker_model
from .plan import Batch, Job, Outcome, Problem, collect_jobs, plan_batch, suffix_format
from .pool import default_workers, run_pool
from .run import run_batch, run_sequential

__all__ = [
    "DASK_REQUIREMENT",
    "Batch",
    "Job",
    "Manifest",
    "Outcome",
    "PhotoSettings",
    "Problem",
    "collect_jobs",
    "colorize_photo",
    "default_workers",
    "find_model",
    "image_files",
    "plan_batch",
    "quiet_dask_logs",
    "remove_stale_temps",
    "run_batch",
    "run_job",
    "run_on_dask",
    "run_pool",
    "run_sequential",
    "start_local_cluster",
    "suffix_format",
    "temp_suffix",
    "worker_model",
]
