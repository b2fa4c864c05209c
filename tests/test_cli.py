"""The command line, run as users run it: `python -m colorize ...` in a subprocess, on the tiny model."""

import json
import os
import pty
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from colorize import load_image
from colorize.lab import gray_rgb, lightness, rgb_to_lab, to_uint8
from helpers import (
    BAD_FILES,
    CLI_TIMEOUT,
    animated_gif,
    cli_env,
    cmyk_jpeg,
    colorized,
    encoded,
    exif_rotated_jpeg,
    gradient_photo,
    gray16_png,
    la_png,
    marker_side,
    noise_rgb8,
    palette_png_with_transparency,
    rgb16_png,
    run_cli,
    stray_temp_files,
)
from tiny_model import build_tiny_model


def grey_png(h, w, seed=0):
    return encoded(Image.fromarray(to_uint8(gray_rgb(lightness(gradient_photo(h, w, seed)))), "RGB"), "PNG")


def grey_jpeg(h, w, seed=0):
    return encoded(Image.fromarray(to_uint8(gradient_photo(h, w, seed))).convert("L"), "JPEG", quality=92)


GOOD_FILES = {
    "photo.png": lambda: grey_png(48, 64),
    "album/old.jpg": lambda: grey_jpeg(40, 30, 1),
    "album/deeper/colour.png": lambda: encoded(Image.fromarray(to_uint8(gradient_photo(30, 40, 2))), "PNG"),
    "dot.png": lambda: encoded(Image.fromarray(noise_rgb8(1, 1)), "PNG"),
    "thin.png": lambda: encoded(Image.fromarray(noise_rgb8(1, 5000)), "PNG"),
    "gray16.png": lambda: gray16_png(24, 20)[0],
    "rgb16.png": lambda: rgb16_png(20, 24)[0],
    "cmyk.jpg": cmyk_jpeg,
    "la.png": lambda: la_png()[0],
    "palette.png": lambda: palette_png_with_transparency()[0],
    "anim.gif": animated_gif,
    "rotated.jpg": lambda: exif_rotated_jpeg(6),
}


def lines_naming(stderr, name):
    return [line for line in stderr.splitlines() if name in line]


@pytest.fixture(scope="module")
def batch(tiny_model_dir, tmp_path_factory):
    """One CLI run over a folder holding every input kind and every bad input."""
    root = tmp_path_factory.mktemp("batch")
    src = root / "in"
    for name, make in GOOD_FILES.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(make())
    for name, (data, _) in BAD_FILES.items():
        (src / name).write_bytes(data)
    before = {p: p.read_bytes() for p in src.rglob("*") if p.is_file()}
    proc = run_cli(["image", src, "-o", root / "out"], tiny_model_dir, root)
    return root, src, root / "out", proc, before


def test_batch_exit_status_and_no_traceback(batch):
    root, src, out, proc, _ = batch
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    n = len(GOOD_FILES) + len(BAD_FILES)
    assert f"colorized {len(GOOD_FILES)} of {n} images into {out} ({len(BAD_FILES)} failed)" in proc.stderr


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_each_bad_file_is_one_line_naming_it_and_leaves_no_output(batch, name):
    root, src, out, proc, _ = batch
    lines = lines_naming(proc.stderr, name)
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(str(src / name) + ": ") and BAD_FILES[name][1] in lines[0]
    assert not colorized(out / name).exists()


@pytest.mark.parametrize("name", sorted(GOOD_FILES))
def test_every_input_kind_is_written_with_its_size_and_lightness(batch, name):
    root, src, out, proc, _ = batch
    target = colorized(out / name)
    assert target.is_file(), proc.stderr
    assert target.read_bytes().startswith(b"\x89PNG")
    original, result = load_image(src / name), load_image(target)
    assert result.size == original.size
    dL = np.abs(lightness(result.rgb) - lightness(original.rgb))
    assert np.percentile(dL, 99) <= 1.0
    if name != "anim.gif":
        assert lines_naming(proc.stderr, name) == []


def test_colour_was_added(batch):
    root, src, out, proc, _ = batch
    for name in ("photo.png", "album/old.jpg"):
        lab = rgb_to_lab(load_image(colorized(out / name)).rgb)
        assert np.hypot(lab[..., 1], lab[..., 2]).mean() > 5, name


def test_alpha_comes_back_in_the_output_png(batch):
    root, src, out, proc, _ = batch
    for name in ("palette.png", "la.png"):
        original, result = load_image(src / name), load_image(colorized(out / name))
        assert result.alpha is not None, name
        np.testing.assert_allclose(result.alpha, original.alpha, atol=1 / 255)


def test_rotated_jpeg_comes_out_upright(batch):
    root, src, out, proc, _ = batch
    result = load_image(colorized(out / "rotated.jpg"))
    assert result.size == (20, 40)
    assert marker_side(lightness(result.rgb)) == "top"


def test_animated_gif_note_is_one_line(batch):
    root, src, out, proc, _ = batch
    assert lines_naming(proc.stderr, "anim.gif") == [f"{src / 'anim.gif'}: first frame of 3 used"]


def test_batch_leaves_inputs_untouched_and_no_temp_files(batch):
    root, src, out, proc, before = batch
    assert {p: p.read_bytes() for p in src.rglob("*") if p.is_file()} == before
    assert stray_temp_files(src, out) == []
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == sorted(str(os.path.splitext(n)[0]) + "_colorized.png" for n in GOOD_FILES)


def test_output_into_the_input_folder_never_overwrites_an_input(tiny_model_dir, tmp_path):
    a, b, c = grey_png(30, 40, 3), grey_jpeg(30, 40, 4), grey_png(20, 20, 5)
    (tmp_path / "a.png").write_bytes(a)
    (tmp_path / "b.jpg").write_bytes(b)
    (tmp_path / "a_colorized.png").write_bytes(c)  # a photo of that name (not made by colorize)
    proc = run_cli(["image", tmp_path, "-o", tmp_path], tiny_model_dir, tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert lines_naming(proc.stderr, "a.png") == [
        f"{tmp_path / 'a.png'}: output {tmp_path / 'a_colorized.png'} would overwrite an input; "
        "choose another -o folder"
    ]
    assert (tmp_path / "a.png").read_bytes() == a and (tmp_path / "b.jpg").read_bytes() == b
    assert (tmp_path / "a_colorized.png").read_bytes() == c
    assert load_image(tmp_path / "b_colorized.png").size == (40, 30)  # the JPEG's output is a new file
    assert stray_temp_files(tmp_path) == []
    single = run_cli(["image", tmp_path / "a.png", "-o", tmp_path / "a.png"], tiny_model_dir, tmp_path)
    assert single.returncode == 1 and "would overwrite an input" in single.stderr
    assert (tmp_path / "a.png").read_bytes() == a


def test_two_inputs_with_one_base_name_do_not_overwrite_each_other(tiny_model_dir, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.jpg").write_bytes(grey_jpeg(20, 30))
    (tmp_path / "in" / "x.png").write_bytes(grey_png(30, 20))
    proc = run_cli(["image", "in", "-o", "out"], tiny_model_dir, tmp_path)
    assert proc.returncode == 1
    assert lines_naming(proc.stderr, "x.png") == [
        "in/x.png: output out/x_colorized.png is already written from in/x.jpg; colorize one of them separately"
    ]
    assert load_image(tmp_path / "out" / "x_colorized.png").size == (30, 20)  # from x.jpg, written once


def test_output_folder_inside_input_folder_is_not_read_back(tiny_model_dir, tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(grey_jpeg(20, 30))
    for _ in range(2):
        proc = run_cli(["image", "photos", "-o", "photos/colour"], tiny_model_dir, tmp_path)
        assert proc.returncode == 0, proc.stderr
    files = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "photos").rglob("*") if p.is_file())
    assert files == ["photos/a.jpg", "photos/colour/a_colorized.png"]


@pytest.mark.slow
def test_single_file_formats_and_options(tiny_model_dir, tmp_path):
    (tmp_path / "in.png").write_bytes(grey_png(24, 32))
    proc = run_cli(["image", "in.png", "-o", "result.jpg"], tiny_model_dir, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert Image.open(tmp_path / "result.jpg").format == "JPEG"
    proc = run_cli(["image", "in.png", "-o", "folder", "--format", "jpg", "--vividness", "0"], tiny_model_dir, tmp_path)
    assert proc.returncode == 0 and Image.open(tmp_path / "folder" / "in_colorized.jpg").format == "JPEG"
    for args, words in [
        (["-o", "x.png", "--format", "jpg"], "x.png: the file name says PNG but --format says JPG"),
        (["-o", "o", "--vividness", "5"], "vividness: must be a number from 0 to 2"),
        (["-o", "o", "--model", "nope"], "nope: no such model"),
        (["-o", "o", "--max-pixels", "100"], "over the limit of 100 pixels"),
    ]:
        proc = run_cli(["image", "in.png", *args], tiny_model_dir, tmp_path)
        assert proc.returncode == 1, args
        assert words in proc.stderr and "Traceback" not in proc.stderr
        assert len([line for line in proc.stderr.splitlines() if words in line]) == 1
    missing = run_cli(["image", "gone.jpg", "in.png", "-o", "o2"], tiny_model_dir, tmp_path)
    assert missing.returncode == 1 and "gone.jpg: no such file or folder" in missing.stderr
    assert (tmp_path / "o2" / "in_colorized.png").is_file()


def test_corrupted_model_is_one_line_naming_the_file(tmp_path):
    root = tmp_path / "models"
    folder = build_tiny_model(root / "broken")
    with open(folder / "model.onnx", "ab") as f:
        f.write(b"tampered")
    (tmp_path / "in.png").write_bytes(grey_png(16, 16))
    proc = run_cli(["image", "in.png", "-o", "out"], root, tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert (
        proc.stderr.strip() == f"{folder / 'model.onnx'}: model weights are corrupt (SHA-256 does not match model.json)"
    )
    assert not (tmp_path / "out").exists()


def test_models_lists_metadata_and_unusable_folders(tiny_model_dir, tmp_path):
    root = tmp_path / "models"
    shutil.copytree(tiny_model_dir, root)
    meta_path = root / "tiny-test" / "model.json"
    meta = json.loads(meta_path.read_text())
    meta["quality"] = {"colourfulness": 31.5, "per_image": [1, 2]}
    meta_path.write_text(json.dumps(meta))
    (root / "zz-broken").mkdir()
    (root / "zz-broken" / "model.json").write_text("{oops")
    proc = run_cli(["models"], root, tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    out = proc.stdout
    for words in (
        "tiny-test",
        "checksum OK",
        "distribution over 5 a/b bins",
        "long side 64",
        "default vividness 1",
        "licence: test only",
        "trained on: none",
        "quality: colourfulness 31.5",
    ):
        assert words in out, words
    assert f"unusable: {root / 'zz-broken' / 'model.json'}: model metadata is not valid JSON" in out


def test_progress_bar_on_a_terminal(tiny_model_dir, tmp_path):
    for i in range(3):
        (tmp_path / f"p{i}.png").write_bytes(grey_png(16, 20, i))
    (tmp_path / "bad.jpg").write_bytes(b"")
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "colorize", "image", str(tmp_path), "-o", str(tmp_path / "o")],
        cwd=tmp_path,
        env=cli_env(tiny_model_dir),
        stdout=subprocess.DEVNULL,
        stderr=slave,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the terminal closes when the process ends
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=CLI_TIMEOUT) == 1
    text = b"".join(chunks).decode()
    assert "colorizing [" in text and "4/4" in text and "#" * 28 in text
    assert f"\r\x1b[K{tmp_path / 'bad.jpg'}: the file is empty (0 bytes)" in text  # the bar is wiped first
