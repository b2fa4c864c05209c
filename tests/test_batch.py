"""Whole collections (colorize.batch): the sequential path, the process pool and a Dask LocalCluster
make byte-identical outputs; a batch killed mid-way resumes with only the missing photos; a worker
killed mid-run loses nothing; the manifest lists every input once. Run as users run it
(`python -m colorize image ... --workers/--cluster/--manifest`) on generated photos, with bad files
among them, and the tiny test model. The tests that start Dask are marked `cluster`, those that run
the whole collection `slow`."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorize import ColorModel, load_image
from colorize.batch.cluster import start_local_cluster
from colorize.batch.photo import PhotoSettings, remove_stale_temps, temp_suffix
from colorize.batch.plan import Batch, Outcome, plan_batch
from colorize.batch.run import run_batch
from colorize.lab import lightness, to_uint8
from colorize.model import find_model
from helpers import BAD_FILES, BUNDLED, cli_env, colorized, encoded, gradient_photo, stray_temp_files

GOOD = 24  # photos in the generated collection, plus the bad files
SIZE = (480, 640)  # large enough that a batch takes a while, so it can be interrupted mid-way
BAD = ("empty.jpg", "truncated.jpg", "notes.jpg", "bomb.png")
TIMEOUT = 600  # against hangs only: a batch takes seconds, but a machine busy with training is slow


def photo_bytes(i):
    rgb = to_uint8(gradient_photo(*SIZE, seed=i))
    if i % 3 == 0:
        return encoded(Image.fromarray(rgb).convert("L"), "JPEG", quality=90)
    return encoded(Image.fromarray(rgb), "PNG")


def input_names():
    good = [f"{'album/' if i % 4 == 1 else ''}p{i:02d}.{'jpg' if i % 3 == 0 else 'png'}" for i in range(GOOD)]
    return good, ["bad/" + name for name in BAD]


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """A folder of GOOD generated photos (some in a sub-folder, JPEG and PNG) and a few bad files."""
    src = tmp_path_factory.mktemp("collection") / "in"
    good, bad = input_names()
    for i, name in enumerate(good):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(photo_bytes(i))
    for name in bad:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(BAD_FILES[Path(name).name][0])
    return src


def output_of(name):
    return str(colorized(name))


def outputs(folder):
    """{relative path: bytes} of every file under folder."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def colorize_cli(src, out, *args, models_root, cwd, wait=True):
    cmd = [sys.executable, "-m", "colorize", "image", str(src), "-o", str(out), *map(str, args)]
    if wait:
        return subprocess.run(cmd, cwd=cwd, env=cli_env(models_root), capture_output=True, text=True, timeout=TIMEOUT)
    # Its own session: the test can signal it together with its worker processes, as a terminal would.
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        env=cli_env(models_root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def manifest_by_input(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by_input = {r["input"]: r for r in rows}
    assert len(by_input) == len(rows), "an input is listed twice"
    return by_input


def check_manifest_lists_every_input_once(path, src):
    by_input = manifest_by_input(path)
    good, bad = input_names()
    assert sorted(by_input) == sorted(str(src / n) for n in good + bad)
    return by_input


def wait_for_outputs(out, n, proc, timeout=TIMEOUT):
    """Wait until `n` outputs exist (or the process ends); returns how many there are."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        count = sum(1 for p in Path(out).rglob("*.png") if not p.name.startswith("."))
        if count >= n or proc.poll() is not None:
            return count
        time.sleep(0.005)
    raise AssertionError(f"no {n} outputs after {timeout} s")


PATHS = {  # the three ways through a collection: in this process one by one, two local processes, Dask
    "sequential": ["--workers", "1"],
    "pool": ["--workers", "2"],
    "cluster": ["--cluster", "local", "--workers", "2"],
}
CLUSTER = pytest.param("cluster", marks=pytest.mark.cluster)  # the Dask path: left out by -m "not cluster"


@pytest.fixture(scope="module")
def runs(collection, tiny_model_dir):
    """The same collection through each path of PATHS, each run once, when a test first needs it (so
    `-m "not cluster"` never starts Dask): (root, run), where run(path) is that path's finished process."""
    root = collection.parent
    done = {}

    def run(name):
        if name not in done:
            done[name] = colorize_cli(
                collection,
                root / name,
                *PATHS[name],
                "--manifest",
                root / f"{name}.csv",
                models_root=tiny_model_dir,
                cwd=root,
            )
        return done[name]

    return root, run


@pytest.mark.slow
@pytest.mark.parametrize("path", ["sequential", "pool", CLUSTER])
def test_every_path_writes_the_same_files_and_messages(runs, collection, path):
    root, run = runs
    proc = run(path)
    good, bad = input_names()
    assert proc.returncode == 1, proc.stderr  # the bad files
    assert "Traceback" not in proc.stderr
    total = GOOD + len(BAD)
    assert f"colorized {GOOD} of {total} images into {root / path} ({len(BAD)} failed)" in proc.stderr
    for bad_name in bad:
        lines = [line for line in proc.stderr.splitlines() if Path(bad_name).name in line]
        assert len(lines) == 1 and lines[0].startswith(f"{collection / bad_name}: "), proc.stderr
        assert BAD_FILES[Path(bad_name).name][1] in lines[0]
    assert stray_temp_files(root / path) == []
    assert sorted(outputs(root / path)) == sorted(output_of(n) for n in good)


@pytest.mark.slow
@pytest.mark.parametrize("path", ["pool", CLUSTER])
def test_outputs_are_byte_identical_to_the_sequential_path(runs, path):
    root, run = runs
    run("sequential")
    run(path)
    reference = outputs(root / "sequential")
    assert len(reference) == GOOD
    made = outputs(root / path)
    assert sorted(made) == sorted(reference)
    different = [name for name in reference if made[name] != reference[name]]
    assert different == []


@pytest.mark.slow
@pytest.mark.parametrize("path", ["sequential", "pool", CLUSTER])
def test_manifest_lists_every_input_once_with_its_outcome(runs, collection, path):
    root, run = runs
    run(path)
    by_input = check_manifest_lists_every_input_once(root / f"{path}.csv", collection)
    good, bad = input_names()
    for name in good:
        row = by_input[str(collection / name)]
        assert (row["output"], row["status"], row["error"]) == (str(root / path / output_of(name)), "done", "")
        assert float(row["seconds"]) > 0
    for name in bad:
        row = by_input[str(collection / name)]
        assert row["status"] == "failed" and row["error"].startswith(f"{collection / name}: ")
        assert BAD_FILES[Path(name).name][1] in row["error"]


@pytest.mark.slow
def test_a_rerun_skips_what_is_there(runs, collection, tiny_model_dir):
    root, run = runs
    run("pool")
    before = outputs(root / "pool")
    proc = colorize_cli(
        collection, root / "pool", "--manifest", root / "again.csv", models_root=tiny_model_dir, cwd=root
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{GOOD} of {GOOD + len(BAD)} outputs are already there: skipped" in proc.stderr
    by_input = manifest_by_input(root / "again.csv")
    good, bad = input_names()
    assert {by_input[str(collection / n)]["status"] for n in good} == {"skipped"}
    assert {by_input[str(collection / n)]["status"] for n in bad} == {"failed"}
    assert outputs(root / "pool") == before


ENCODE_IN_A_FRESH_PROCESS = """
import sys
from colorize.encode import FORMATS, encode_image
from helpers import gradient_photo
sys.stdout.buffer.write(b"".join(encode_image(gradient_photo(30, 40), None, fmt) for fmt in sorted(FORMATS)))
"""


def test_encoding_is_the_same_in_every_process_and_at_every_time():
    """Nothing in an output depends on when or where it was encoded (a profile's creation date did)."""
    from colorize.encode import FORMATS, encode_image

    here = b"".join(encode_image(gradient_photo(30, 40), None, fmt) for fmt in sorted(FORMATS))
    time.sleep(1.1)  # header dates count whole seconds
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BUNDLED.parent.parent), str(Path(__file__).parent)])}
    there = subprocess.run(
        [sys.executable, "-c", ENCODE_IN_A_FRESH_PROCESS], env=env, capture_output=True, timeout=TIMEOUT, check=True
    ).stdout
    assert there == here


def test_network_output_does_not_depend_on_the_thread_count():
    """What lets a pool of 1-thread workers and an all-cores process write the same bytes."""
    L = lightness(gradient_photo(192, 256, seed=3))[None]
    raws = [ColorModel(BUNDLED, threads=t).run(L) for t in (1, 2, 3)]
    for raw in raws[1:]:
        assert np.array_equal(raw, raws[0])


@pytest.mark.slow
def test_a_batch_killed_mid_way_resumes_with_only_the_missing_photos(runs, collection, tiny_model_dir):
    root, run = runs
    run("sequential")  # the reference
    out, killed_manifest = root / "killed", root / "killed.csv"
    proc = colorize_cli(
        collection,
        out,
        "--workers",
        "2",
        "--manifest",
        killed_manifest,
        models_root=tiny_model_dir,
        cwd=root,
        wait=False,
    )
    present = wait_for_outputs(out, 3, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the process and its workers, at once: no clean-up at all
    proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == -signal.SIGKILL, "the batch ended before it could be killed"
    assert 3 <= present < GOOD
    # What the killed run left: whole outputs only, and a valid manifest of every input.
    reference = outputs(root / "sequential")
    left = {name: data for name, data in outputs(out).items() if not Path(name).name.startswith(".")}
    assert 3 <= len(left) < GOOD
    assert [name for name, data in left.items() if data != reference[name]] == []
    by_input = check_manifest_lists_every_input_once(killed_manifest, collection)
    assert {row["status"] for row in by_input.values()} <= {"pending", "done", "failed"}

    rerun = colorize_cli(
        collection, out, "--workers", "2", "--manifest", root / "resumed.csv", models_root=tiny_model_dir, cwd=root
    )
    assert rerun.returncode == 1 and "Traceback" not in rerun.stderr
    by_input = check_manifest_lists_every_input_once(root / "resumed.csv", collection)
    good, bad = input_names()
    skipped = {n for n in good if by_input[str(collection / n)]["status"] == "skipped"}
    redone = {n for n in good if by_input[str(collection / n)]["status"] == "done"}
    assert {output_of(n) for n in skipped} == set(left)  # exactly what was there...
    assert skipped | redone == set(good)  # ...and the rest, once
    assert outputs(out) == reference  # nothing lost, nothing half-written
    assert stray_temp_files(out) == []  # the killed workers' temporary files too


def worker_pids(pid):
    import psutil

    return [p.pid for p in psutil.Process(pid).children() if any("spawn_main" in part for part in p.cmdline())]


@pytest.mark.slow
def test_a_killed_pool_worker_loses_no_photo(runs, collection, tiny_model_dir):
    root, run = runs
    run("sequential")  # the reference
    out = root / "pool-killed"
    proc = colorize_cli(
        collection,
        out,
        "--workers",
        "2",
        "--manifest",
        root / "pool-killed.csv",
        models_root=tiny_model_dir,
        cwd=root,
        wait=False,
    )
    present = wait_for_outputs(out, 2, proc)
    victims = worker_pids(proc.pid)
    assert len(victims) == 2 and present < GOOD
    os.kill(victims[0], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 1 and "Traceback" not in stderr
    assert f"colorized {GOOD} of {GOOD + len(BAD)} images" in stderr
    assert outputs(out) == outputs(root / "sequential")
    by_input = check_manifest_lists_every_input_once(root / "pool-killed.csv", collection)
    assert sum(row["status"] == "done" for row in by_input.values()) == GOOD


@pytest.mark.slow
@pytest.mark.cluster
def test_a_killed_dask_worker_loses_no_photo(runs, collection, tiny_model_dir):
    from distributed import Client

    root, run = runs
    run("sequential")  # the reference
    out = root / "dask-killed"
    with start_local_cluster(2) as cluster, Client(cluster) as client:
        pids = client.run(os.getpid)
        proc = colorize_cli(
            collection,
            out,
            "--cluster",
            cluster.scheduler_address,
            "--manifest",
            root / "dask-killed.csv",
            models_root=tiny_model_dir,
            cwd=root,
            wait=False,
        )
        present = wait_for_outputs(out, 2, proc)
        assert present < GOOD
        os.kill(sorted(pids.values())[0], signal.SIGKILL)  # Dask's nanny starts a new one; its tasks are redone
        _, stderr = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 1 and "Traceback" not in stderr, stderr
    assert f"colorized {GOOD} of {GOOD + len(BAD)} images" in stderr
    assert outputs(out) == outputs(root / "sequential")
    by_input = check_manifest_lists_every_input_once(root / "dask-killed.csv", collection)
    assert sum(row["status"] == "done" for row in by_input.values()) == GOOD
    assert stray_temp_files(out) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "how",
    [["--workers", "2"], pytest.param(["--cluster", "local", "--workers", "2"], marks=pytest.mark.cluster)],
    ids=["pool", "cluster"],
)
def test_ctrl_c_stops_the_batch_leaving_whole_files_and_a_manifest(runs, collection, tiny_model_dir, how):
    root, run = runs
    run("sequential")  # the reference
    out = root / f"interrupted-{how[1]}"
    manifest = root / f"interrupted-{how[1]}.csv"
    proc = colorize_cli(collection, out, *how, "--manifest", manifest, models_root=tiny_model_dir, cwd=root, wait=False)
    wait_for_outputs(out, 2, proc)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    _, stderr = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    assert stderr.strip().endswith("interrupted")
    reference = outputs(root / "sequential")
    made = outputs(out)
    assert made and all(data == reference[name] for name, data in made.items())  # no partial file
    by_input = check_manifest_lists_every_input_once(manifest, collection)
    done = {row["output"] for row in by_input.values() if row["status"] == "done"}
    assert done == {str(out / name) for name in made}
    assert any(row["status"] == "pending" for row in by_input.values())
    assert stray_temp_files(out) == []


def test_stale_temporary_files_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    mine = temp_suffix()  # this (live) process's tag
    dead_tag = mine.replace(f"-{os.getpid()}.", f"-{dead.pid}.")
    names = {
        f".colorize-0123456789ab{dead_tag}": False,  # this host, dead process: removed
        f".colorize-0123456789ac{mine}": True,  # still being written
        ".colorize-0123456789ad.otherhost-1.part": True,  # another machine's: cannot tell
        ".colorize-0123456789ae.part": True,  # not tagged (the app, videos)
        "photo.png": True,
    }
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    assert remove_stale_temps([tmp_path, tmp_path / "missing"]) == 1
    assert {p.name for p in tmp_path.iterdir()} == {n for n, kept in names.items() if kept}


def test_library_batch_in_process(collection, tiny_model_dir, monkeypatch, tmp_path):
    """The library API the CLI uses: plan, run, and one Outcome per input through on_outcome."""
    monkeypatch.setenv("COLORIZE_MODELS", str(tiny_model_dir))
    good, bad = input_names()
    jobs = [(collection / n, tmp_path / output_of(n)) for n in good[:3] + bad[:1]]
    batch = plan_batch(jobs)
    assert isinstance(batch, Batch) and len(batch.todo) == 4
    seen = []
    rows = run_batch(batch, PhotoSettings.for_model(find_model()), workers=1, on_outcome=seen.append)
    assert sorted(o.index for o in seen) == [0, 1, 2, 3]
    assert [r.status for r in rows] == ["done", "done", "done", "failed"]
    assert all(isinstance(r, Outcome) for r in rows)
    assert load_image(tmp_path / output_of(good[0])).size == (SIZE[1], SIZE[0])
    assert [r.status for r in plan_batch(jobs).rows] == ["skipped", "skipped", "skipped", "pending"]
