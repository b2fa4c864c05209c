"""Planning a batch: which inputs map to which outputs, which outputs are already there, and how the
work is cut into tasks of a few photos."""

import os
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TypeAlias

from ..decode import image_files
from ..encode import FORMATS, made_by_colorize
from ..files import entry_problem, os_problem
from ..names import colorized_name, safe_file_name

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


OUTPUT_NAME_LIMIT = 255  # characters of an output's name or folder: file systems allow 255 bytes,
# and an input's own name fits that (only bytes that are not UTF-8, written %NN, make a name longer)


def output_path(relative, fmt, limit=OUTPUT_NAME_LIMIT):
    """The output's path (relative to the output folder) for an input's path relative to its input
    folder: every folder and the file name made safe as the page's download names are (see
    colorize.names.safe_file_name: no escape sequences or bidi overrides, nothing Windows refuses,
    bytes that are not UTF-8 as %NN), named as the page names its downloads: photo.jpg -> photo_colorized.png."""
    parts = PurePath(relative).parts
    folders = [safe_file_name(part, limit, fallback="folder") for part in parts[:-1]]
    return Path(*folders, colorized_name(PurePath(parts[-1]).stem, fmt, limit))


def _resolved(path):
    """path.resolve(), or its absolute form where it cannot be resolved (a symbolic link that loops)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def _folder_jobs(item, out, fmt, out_resolved, problems, notices):
    """The jobs of the image files under one input folder; what is not a usable file is a Problem,
    and earlier outputs of this package (outputs of an earlier run with its -o in this folder) are
    left out, with one notice."""
    jobs, ours = [], []
    # An output folder inside an input folder is not read back as input on a second run.
    inside = out_resolved != item.resolve() and out_resolved.is_relative_to(item.resolve())

    def unlisted(error):
        folder = error.filename if error.filename is not None else item
        problems.append(Problem(str(folder), "", f"{folder}: {os_problem(folder, error)}"))

    for p in image_files(item, skip=out_resolved if inside else None, onerror=unlisted):
        problem = entry_problem(p)
        if problem:
            problems.append(Problem(str(p), "", f"{p}: {problem}"))
        elif made_by_colorize(p):
            ours.append(p)
        else:
            jobs.append((p, out / output_path(p.relative_to(item), fmt)))
    if ours:
        notices.append(
            f"{item}: {len(ours)} image{'s' * (len(ours) != 1)} made by colorize (outputs of an earlier run, "
            f"such as {ours[0]}) left out; give them as files to colorize them again"
        )
    return jobs


def collect_jobs(inputs, out, fmt, notices=None):
    """(input path, output path) pairs: folders recursively, keeping their sub-folder layout (with
    names made safe: output_path).

    Returns the jobs and Problems, one per input that gets no job: missing inputs, entries that are
    not regular files (named pipes, devices, sockets, symbolic links that loop or lead nowhere),
    folders that cannot be listed, outputs that would overwrite an input, and two inputs that would
    write the same output. `notices` (a list) gets a line for what is left out without being a
    problem: images in the input folders that this package made."""
    out = Path(out)
    out_resolved = _resolved(out)
    notices = [] if notices is None else notices
    single_file_target = len(inputs) == 1 and Path(inputs[0]).is_file() and suffix_format(out) is not None
    jobs: list[tuple[Path, Path]] = []
    problems: list[Problem] = []
    for item in map(Path, inputs):
        if item.is_dir():
            jobs += _folder_jobs(item, out, fmt, out_resolved, problems, notices)
        elif item.is_file():
            jobs.append((item, out if single_file_target else out / output_path(item.name, fmt)))
        else:
            problem = entry_problem(item) if os.path.lexists(item) else None
            problems.append(Problem(str(item), "", f"{item}: {problem or 'no such file or folder'}"))
    inputs_resolved = {_resolved(p) for p, _ in jobs}
    claimed: dict[Path, Path] = {}  # output -> the input it is written from
    safe = []
    for src, dst in jobs:
        target = _resolved(dst)
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
