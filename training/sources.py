"""The broad training set: ../shared/data/train plus ~100,000 photos read straight out of pinned git
snapshots of public repositories (see ../shared/data/SOURCES.md), and a broad held-out split.

    python training/sources.py --mirror /work/.mirror --work ~/colorize-work

Anyone can rebuild the same set: `git clone` each repository below, check out the pinned commit, and
point --mirror at a folder holding `<owner>+<name>/repo` (a bare git directory or a clone).

Every photo is decoded once to a 144 px square (short side to 144, centre crop) and kept in one uint8
array per source (`broad_<source>.npy`). Near-colourless photos are dropped, the files of
`exclude-jerryzhao173985.txt` are never read, and the held-out split (one photo per ImageNet class,
chosen by a hash of its path, plus a hashed share of the other sources) is written, full size, to
`<work>/broad-holdout/` and never trained on; a second, scene held-out split of MiniPlaces' val/
goes to `<work>/scenes-holdout/` (its test/ is never read). Near-colourless held-out photos (greyscale scans in
the snapshots) are left out of the split too, as colorization benchmarks do (Larsson et al.'s
ctest10k): a grey truth scores any colour as an error and no colour as a perfect 100 dB, so a few of
them would outweigh everything else in a mean PSNR.
"""

import argparse
import hashlib
import json
import os
import subprocess
from concurrent.futures import ProcessPoolExecutor
from io import BytesIO
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

STORE = 144

# name: (repository, commit, path prefixes, path parts to skip, sampling weight, at most this many photos)
SOURCES = {
    "imagenet1k": (
        "jerryzhao173985/Advanced-Vision-Image-Classification",
        "aea5d033614122e43b0ca3e63c11f17269ba08c7",
        ("data/train/", "data/val/", "data/test/"),
        (),
        0.46,
        None,
    ),
    "caltech101": (
        "MachineLearning2020/Homework2-Caltech101",
        "836044dd000296b2bb74d0aa4b4e462e459b01d7",
        ("101_ObjectCategories/",),
        ("/Faces_easy/",),
        0.10,
        None,
    ),
    "catsdogs": (
        "4GeeksAcademy/Deep-Learning-CarlosFS",
        "d771ae194ca9a8fe14e746dca60af5361d57a5e1",
        ("train/", "test1/"),
        (),
        0.05,
        5000,
    ),
    "clothing": (
        "alexeygrigorev/clothing-dataset-small",
        "11961516512414bf9f6c150a832cfd21b54a6b54",
        ("train/", "validation/", "test/"),
        (),
        0.05,
        None,
    ),
    "corel1k": (
        "singh-atenekom/image-retrieval",
        "a75a3b1c4f4c30858eb9a943d616eb89850bf718",
        ("src/cbir/corelDB/",),
        (),
        0.02,
        None,
    ),
    # MiniPlaces: 100 scene categories (streets, shops, interiors, fields...), what old photos show.
    # Only its train/ is trained on; the scene held-out split comes from its val/ (scenes_holdout);
    # its test/ is never listed or read.
    "miniplaces": (
        "rathull/CTFs",
        "f35c219885f163ca00a045236dd44be489598837",
        ("data/images/train/",),
        (),
        0.40,
        None,
    ),
}
# MiniPlaces' val/: the scene held-out split, photos chosen by a hash of their path.
SCENES = ("rathull/CTFs", "f35c219885f163ca00a045236dd44be489598837", "data/images/val/")
SCENES_HOLDOUT = 1200  # before near-colourless photos are pruned; at least 1,000 remain
# ../shared/data/train (Imagenette, Intel scenes, UTKFace, flowers, objects, BSDS500): its share of crops.
LOCAL_WEIGHT = 0.32
SUFFIXES = (".jpg", ".jpeg", ".png")  # what these snapshots hold; part of the set's definition, so fixed here
HOLDOUT_SHARE = {"caltech101": 0.015, "clothing": 0.015, "corel1k": 0.05}


def path_hash(path):
    return int(hashlib.sha1(path.encode()).hexdigest()[:12], 16)


def git_dir(mirror, repo):
    base = Path(mirror) / repo.replace("/", "+") / "repo"
    return base / ".git" if (base / ".git").is_dir() else base


def list_paths(gdir, commit, prefixes, skip):
    out = subprocess.run(
        ["git", "--git-dir", str(gdir), "ls-tree", "-r", "--name-only", commit, *prefixes],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    return sorted(p for p in out if p.lower().endswith(SUFFIXES) and not any(s in "/" + p for s in skip))


def read_blobs(gdir, commit, paths):
    """Yield (path, bytes) for every path, in one `git cat-file --batch` process."""
    proc = subprocess.Popen(
        ["git", "--git-dir", str(gdir), "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    import threading

    def feed():
        for p in paths:
            proc.stdin.write(f"{commit}:{p}\n".encode())
        proc.stdin.close()

    threading.Thread(target=feed, daemon=True).start()
    for p in paths:
        header = proc.stdout.readline().split()
        if len(header) < 3:
            continue
        data = proc.stdout.read(int(header[2]))
        proc.stdout.read(1)
        yield p, data
    proc.wait()


def to_square(data):
    """JPEG/PNG bytes -> 144 px square uint8 RGB, or None if undecodable or near-colourless."""
    try:
        im = Image.open(BytesIO(data))
        im.draft("RGB", (STORE * 2, STORE * 2))
        rgb = np.asarray(im.convert("RGB"))
    except Exception:  # noqa: BLE001 - a broken file in a public snapshot is skipped
        return None
    h, w = rgb.shape[:2]
    if min(h, w) < 64:
        return None
    s = STORE / min(h, w)
    rgb = cv2.resize(rgb, (max(STORE, round(w * s)), max(STORE, round(h * s))), interpolation=cv2.INTER_AREA)
    y, x = (rgb.shape[0] - STORE) // 2, (rgb.shape[1] - STORE) // 2
    rgb = np.ascontiguousarray(rgb[y : y + STORE, x : x + STORE])
    return rgb if colourful(rgb) else None


def colourful(rgb):
    """False for near-colourless photos (greyscale scans, sepia-free B&W): nothing to learn there."""
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    return float(chroma.mean()) >= 4.0 and float((chroma > 8).mean()) >= 0.05


def colourful_file(path):
    """The training set's colourfulness rule applied to a whole held-out photo (not a centre crop)."""
    try:
        im = Image.open(path)
        im.draft("RGB", (STORE * 2, STORE * 2))
        return colourful(np.asarray(im.convert("RGB")))
    except Exception:  # noqa: BLE001 - an undecodable file is no use as a held-out photo either
        return False


def prune_holdout(hold_dir):
    """Remove near-colourless photos from the held-out split; returns {source: (kept, removed)}."""
    counts = {}
    for path in sorted(Path(hold_dir).iterdir()):
        source = path.name.split("__")[0]
        keep = colourful_file(path)
        if not keep:
            path.unlink()
        kept, removed = counts.get(source, (0, 0))
        counts[source] = (kept + keep, removed + (not keep))
    return counts


def _decode_chunk(items):
    return [(p, to_square(d)) for p, d in items]


def holdout_paths(name, paths):
    """The broad held-out split: one photo per ImageNet class (smallest path hash), and a hashed share
    of the smaller sources."""
    if name == "imagenet1k":
        best = {}
        for p in paths:
            cls = p.split("/")[2]
            if cls not in best or path_hash(p) < path_hash(best[cls]):
                best[cls] = p
        return set(best.values())
    share = HOLDOUT_SHARE.get(name, 0.0)
    return {p for p in paths if (path_hash(p) % 10000) < share * 10000}


def build(mirror, work, exclude_file, workers=2):
    work = Path(work)
    hold_dir = work / "broad-holdout"
    hold_dir.mkdir(parents=True, exist_ok=True)
    exclude = {line.strip() for line in open(exclude_file) if line.strip()}
    summary = {}
    for name, (repo, commit, prefixes, skip, weight, limit) in SOURCES.items():
        out_path = work / f"broad_{name}.npy"
        if out_path.exists():
            summary[name] = json.loads((work / f"broad_{name}.json").read_text())
            continue
        gdir = git_dir(mirror, repo)
        paths = [p for p in list_paths(gdir, commit, prefixes, skip) if p not in exclude]
        held = holdout_paths(name, paths)
        train = [p for p in paths if p not in held]
        if limit and len(train) > limit:
            train = sorted(train, key=path_hash)[:limit]
        for p, data in read_blobs(gdir, commit, sorted(held)):
            (hold_dir / f"{name}__{p.replace('/', '__')}").write_bytes(data)
        chunks, chunk = [], []
        for item in read_blobs(gdir, commit, train):
            chunk.append(item)
            if len(chunk) == 256:
                chunks.append(chunk)
                chunk = []
        chunks.append(chunk)
        with ProcessPoolExecutor(workers) as pool:
            decoded = [r for part in pool.map(_decode_chunk, chunks) for r in part]
        kept = [(p, img) for p, img in decoded if img is not None]
        arr = np.stack([img for _, img in kept]) if kept else np.zeros((0, STORE, STORE, 3), np.uint8)
        np.save(str(out_path) + ".tmp.npy", arr)
        os.replace(str(out_path) + ".tmp.npy", out_path)
        info = {
            "repo": repo,
            "commit": commit,
            "prefixes": list(prefixes),
            "listed": len(paths),
            "held_out": len(held),
            "read": len(train),
            "kept": len(kept),
            "dropped_colourless_or_broken": len(train) - len(kept),
            "weight": weight,
        }
        (work / f"broad_{name}.json").write_text(json.dumps(info, indent=1))
        summary[name] = info
        print(name, json.dumps(info), flush=True)
    summary["scenes_holdout"] = scenes_holdout(mirror, work)
    held = prune_holdout(hold_dir)
    summary["holdout"] = {name: {"kept": k, "removed_colourless": r} for name, (k, r) in held.items()}
    (work / "broad_sources.json").write_text(json.dumps(summary, indent=1))
    return summary


def scenes_holdout(mirror, work, n=SCENES_HOLDOUT):
    """Write the scene held-out split (n photos of MiniPlaces' val/, by path hash) to
    <work>/scenes-holdout/, near-colourless ones pruned; returns {kept, removed_colourless}."""
    repo, commit, prefix = SCENES
    out = Path(work) / "scenes-holdout"
    if out.is_dir() and any(out.iterdir()):
        return {"kept": sum(1 for _ in out.iterdir())}
    out.mkdir(parents=True, exist_ok=True)
    gdir = git_dir(mirror, repo)
    paths = sorted(list_paths(gdir, commit, (prefix,), ()), key=path_hash)[:n]
    for p, data in read_blobs(gdir, commit, sorted(paths)):
        (out / f"miniplaces__{p.replace('/', '__')}").write_bytes(data)
    kept, removed = prune_holdout(out).get("miniplaces", (0, 0))
    return {"kept": kept, "removed_colourless": removed}


def load_sources(work):
    """[(name, uint8 array N x 144 x 144 x 3, weight)] of the built broad sources."""
    out = []
    for name, (_, _, _, _, weight, _) in SOURCES.items():
        out.append((name, np.load(Path(work) / f"broad_{name}.npy"), weight))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", default="/work/.mirror")
    ap.add_argument("--work", default=os.path.expanduser("~/colorize-work"))
    ap.add_argument("--exclude", default="../shared/data/exclude-jerryzhao173985.txt")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    print(json.dumps(build(args.mirror, args.work, args.exclude, args.workers), indent=1))


if __name__ == "__main__":
    main()
