"""Planning a batch: which inputs map to which outputs, which outputs are already there, and how the
work is cut into tasks of a few photos."""

from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from ..decode import image_files
from ..encode import FORMATS

Job: TypeAlias = tuple[int, str, str]  # (index in the batch, input, output) of one photo to colorize


@dataclass(frozen=True)
class Problem:
    """An input that gets no job (missing, or its output would clash); str() is its one-line message."""

    source: str
    output: str
    message: str

    def __str__(self):
        return self.message


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


def chunk_size_for(n_jobs, workers):
    """Photos per task: a few, so tasks are cheap to schedule yet spread evenly over the workers."""
    return max(1, min(8, n_jobs // (4 * max(1, workers))))


def chunks_of(items, size):
    return [items[i : i + size] for i in range(0, len(items), size)]
