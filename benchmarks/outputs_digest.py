"""SHA-256 of what the product makes, to show a restructuring changed no output byte.

    python benchmarks/outputs_digest.py > before.txt    # ... restructure ...
    python benchmarks/outputs_digest.py > after.txt && diff before.txt after.txt

It colorizes, through the command line on the bundled model, the sample photos one by one, the
samples folder as a batch with a manifest, a photo with two colour hints, one sample at another
vividness and as JPEG and TIFF, and the sample clip (video stream and audio stream digested apart:
the MP4 container carries the encoder's version string, not the frames). The manifest is digested
without its `seconds` column (a timing). Through the library it also digests the page's previews of
a hinted photo and the lesson's pictures. Each line is `sha256  what`.
"""

import csv
import hashlib
import io
import subprocess
import sys
import tempfile
from pathlib import Path

import checkout

ROOT = checkout.ROOT
SAMPLES = ROOT / "samples"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "colorize", *args], cwd=ROOT, check=True, capture_output=True)


def manifest_digest(path: Path) -> str:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    keep = [i for i, name in enumerate(rows[0]) if name != "seconds"]
    body = "\n".join(",".join(Path(r[i]).name if "/" in r[i] else r[i] for i in keep) for r in rows)
    return sha(body.encode())


def video_streams(path: Path) -> tuple[str, str]:
    """(video, audio) stream digests: ffmpeg's framemd5-free way, each stream copied raw."""
    import imageio_ffmpeg

    out = []
    for sel in ("v:0", "a:0"):
        proc = subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", f"0:{sel}?", "-c", "copy"]
            + (["-f", "h264"] if sel == "v:0" else ["-f", "adts"])
            + ["-"],
            capture_output=True,
        )
        out.append(sha(proc.stdout) if proc.returncode == 0 else "no such stream")
    return out[0], out[1]


def library_digests() -> list[tuple[str, str]]:
    """The hinted render and the lesson's pictures (the page's teaching view), through the library."""
    import numpy as np

    from colorize import load_default_model, load_image
    from colorize.page import teaching
    from colorize.pipeline import predict, render

    model = load_default_model()
    rgb = load_image(SAMPLES / "astronaut.jpg").rgb
    hints = [(100, 120, "#3366cc"), (300, 60, "#cc3300")]
    plain, hinted = predict(model, [rgb, rgb], [None, hints])
    out = [("library: hinted astronaut, uint8 render", sha(render(model, hinted, dtype=np.uint8).tobytes()))]
    lesson = teaching.lesson(model, hinted)
    for name in ("L", "a", "b", "result", "plane"):
        out.append((f"library: lesson {name}", sha(np.ascontiguousarray(getattr(lesson, name)).tobytes())))
    out.append(("library: lesson summary", sha(lesson.summary.encode())))
    change, share = teaching.hint_change(model, hinted)
    out.append((f"library: hint change ({share:.4f} moved)", sha(change.tobytes())))
    return out


def main() -> None:
    lines: list[tuple[str, str]] = []
    photos = sorted(p for p in SAMPLES.iterdir() if p.suffix == ".jpg")
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        for p in photos:
            cli("image", str(p), "-o", str(t / f"{p.stem}.png"))
            lines.append((sha((t / f"{p.stem}.png").read_bytes()), f"image {p.name} -> png"))
        cli("image", str(SAMPLES / "chelsea.jpg"), "-o", str(t / "chelsea.jpg"), "--vividness", "1.4")
        lines.append((sha((t / "chelsea.jpg").read_bytes()), "image chelsea.jpg vividness 1.4 -> jpg"))
        cli("image", str(SAMPLES / "coffee.jpg"), "-o", str(t / "coffee.tif"))
        lines.append((sha((t / "coffee.tif").read_bytes()), "image coffee.jpg -> tif"))
        cli("image", str(SAMPLES / "astronaut.jpg"), "-o", str(t / "hinted.png"))
        cli(
            "image",
            str(SAMPLES / "astronaut.jpg"),
            "-o",
            str(t / "hinted.png"),
            "--overwrite",
            "--hint",
            "100,120,#3366cc",
            "--hint",
            "300,60,#cc3300",
        )
        lines.append((sha((t / "hinted.png").read_bytes()), "image astronaut.jpg with 2 hints -> png"))
        batch = t / "batch"
        cli("image", str(SAMPLES), "-o", str(batch), "--manifest", str(t / "manifest.csv"), "--workers", "2")
        for p in sorted(batch.rglob("*")):
            if p.is_file():
                lines.append((sha(p.read_bytes()), f"batch {p.relative_to(batch)}"))
        lines.append((manifest_digest(t / "manifest.csv"), "batch manifest.csv without seconds"))
        cli("video", str(SAMPLES / "rocket-pan.mp4"), "-o", str(t / "rocket.mp4"))
        v, a = video_streams(t / "rocket.mp4")
        lines.append((v, "video rocket-pan.mp4: H.264 stream"))
        lines.append((a, "video rocket-pan.mp4: audio stream"))
    lines += [(d, w) for w, d in library_digests()]
    for digest, what in lines:
        print(f"{digest}  {what}")


if __name__ == "__main__":
    main()
