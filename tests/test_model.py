"""The model contract: loader errors in one line, vividness, batching, thread safety, and the bundled model."""

import itertools
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from colorize import ColorizeError, ColorModel, colorize, list_models, load_default_model
from colorize.lab import rgb_to_lab
from colorize.model import read_info, vividness_params
from colorize.pipeline import predict, predict_L
from helpers import BUNDLED, edit_meta, gradient_photo, loading_fails, one_line_naming
from tiny_model import BINS, LOG_REBALANCE, build_tiny_model

# ---------------------------------------------------------------- loader errors


def test_missing_folder(tmp_path):
    loading_fails(tmp_path / "nothing-here", tmp_path / "nothing-here", "model folder not found")


def test_missing_metadata(tmp_path):
    folder = build_tiny_model(tmp_path / "m")
    (folder / "model.json").unlink()
    loading_fails(folder, folder / "model.json", "model metadata is missing")


@pytest.mark.parametrize(
    "text,words", [("{not json", "not valid JSON"), ("[1, 2]", "must be a JSON object"), ("", "not valid JSON")]
)
def test_invalid_metadata(tmp_path, text, words):
    folder = build_tiny_model(tmp_path / "m")
    (folder / "model.json").write_text(text)
    loading_fails(folder, folder / "model.json", words)


@pytest.mark.parametrize(
    "change,words",
    [
        ({"sha256": None}, "lacks sha256"),
        ({"input": {"multiple": 32}}, "lacks 'long_side'"),
        ({"input": "256"}, "wrong type"),
        ({"output": {"kind": "rgb"}}, "unknown output kind"),
        ({"output": {"kind": "ab_logits", "bins": [1, 2, 3]}}, "output.bins"),
        ({"vividness": {"default": 7}}, "vividness.default"),
        ({"sha256": "abc"}, "64 hex digits"),
    ],
)
def test_incomplete_or_wrong_metadata(tmp_path, change, words):
    folder = build_tiny_model(tmp_path / "m")
    edit_meta(folder, **change)
    loading_fails(folder, folder / "model.json", words)


def test_missing_weights(tmp_path):
    folder = build_tiny_model(tmp_path / "m")
    (folder / "model.onnx").unlink()
    loading_fails(folder, folder / "model.onnx", "model weights file is missing")


def test_corrupted_weights_fail_the_checksum(tmp_path):
    folder = build_tiny_model(tmp_path / "m")
    data = bytearray((folder / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "model.onnx").write_bytes(bytes(data))
    loading_fails(folder, folder / "model.onnx", "corrupt (SHA-256 does not match model.json)")


def test_garbage_weights_with_matching_checksum_cannot_be_loaded(tmp_path):
    import hashlib

    folder = build_tiny_model(tmp_path / "m")
    (folder / "model.onnx").write_bytes(b"definitely not a protobuf" * 10)
    edit_meta(folder, sha256=hashlib.sha256((folder / "model.onnx").read_bytes()).hexdigest())
    loading_fails(folder, folder / "model.onnx", "cannot be loaded")


def test_bins_that_do_not_match_the_network(tmp_path):
    folder = build_tiny_model(tmp_path / "m")
    output = json.loads((folder / "model.json").read_text())["output"]
    edit_meta(folder, output={**output, "bins": BINS[:4]})
    loading_fails(folder, folder / "model.onnx", "outputs 5 channels but model.json describes 4")


def test_list_models_reports_broken_folders_and_keeps_good_ones(tmp_path):
    build_tiny_model(tmp_path / "a-good", name="good")
    bad = build_tiny_model(tmp_path / "b-bad")
    (bad / "model.json").write_text("{")
    gone = build_tiny_model(tmp_path / "c-noweights")
    (gone / "model.onnx").unlink()
    (tmp_path / "d-unrelated").mkdir()
    infos, problems = list_models(tmp_path)
    assert [i.name for i in infos] == ["good"]
    assert len(problems) == 2
    assert problems[0].startswith(str(bad / "model.json")) and "not valid JSON" in problems[0]
    assert problems[1].startswith(str(gone / "model.onnx")) and "missing" in problems[1]


def test_default_model_comes_from_colorize_models(tmp_path, monkeypatch):
    build_tiny_model(tmp_path / "first", name="alpha")
    build_tiny_model(tmp_path / "second", name="beta")
    monkeypatch.setenv("COLORIZE_MODELS", str(tmp_path))
    assert load_default_model().name == "alpha"
    assert load_default_model("beta").name == "beta"
    assert load_default_model("second").name == "beta"
    with pytest.raises(ColorizeError) as excinfo:
        load_default_model("gamma")
    one_line_naming(excinfo, "gamma", "no such model")
    monkeypatch.setenv("COLORIZE_MODELS", str(tmp_path / "empty"))
    with pytest.raises(ColorizeError) as excinfo:
        load_default_model()
    assert "no model found" in str(excinfo.value)


def test_models_dir_is_the_installed_package_data_else_the_checkouts(tmp_path, monkeypatch):
    import colorize.model

    monkeypatch.delenv("COLORIZE_MODELS", raising=False)
    assert colorize.model.models_dir() == Path(colorize.model.__file__).resolve().parent.parent / "models"
    installed = tmp_path / "site-packages" / "colorize"
    (installed / "models").mkdir(parents=True)  # pip install: pyproject.toml's colorize.models
    monkeypatch.setattr(colorize.model, "__file__", str(installed / "model.py"))
    assert colorize.model.models_dir() == installed.resolve() / "models"


# ---------------------------------------------------------------- network input size


def test_network_size_keeps_long_side_and_multiples(tiny_model):
    for h, w in [(480, 640), (640, 480), (1, 1), (1, 5000), (5000, 1), (1000, 1000)]:
        nh, nw = tiny_model.network_size(h, w)
        assert nh % 32 == 0 and nw % 32 == 0 and min(nh, nw) >= 32
        assert max(nh, nw) == 64  # the tiny model's long side


# ---------------------------------------------------------------- vividness


def softmax_mean(raw, bins):
    z = np.exp(raw - raw.max(axis=1, keepdims=True))
    z /= z.sum(axis=1, keepdims=True)
    return np.einsum("nqhw,qc->nchw", z, bins)


def test_vividness_zero_is_the_distribution_mean(tiny_model):
    raw = np.random.default_rng(0).normal(0, 3, (2, len(BINS), 4, 5)).astype(np.float32)
    np.testing.assert_allclose(tiny_model.to_ab(raw, 0.0), softmax_mean(raw, np.array(BINS, np.float32)), atol=1e-4)
    assert vividness_params(0) == (1.0, 1.0, 1.0)


def test_higher_vividness_gives_more_chroma(tiny_model):
    raw = np.random.default_rng(1).normal(0, 2, (1, len(BINS), 8, 8)).astype(np.float32)
    chroma = [float(np.hypot(*tiny_model.to_ab(raw, v)[0]).mean()) for v in (0, 0.5, 1, 1.5, 2)]
    assert all(b > a + 0.5 for a, b in itertools.pairwise(chroma)), chroma


def test_prior_correction_divides_out_rebalancing_weights(tmp_path):
    """Vividness 0 on a rebalanced model = mean of (network distribution / rebalancing weights)."""
    folder = build_tiny_model(tmp_path / "m")
    log_w = np.array([0.0, 1.5, -0.5, 0.7, 0.2], np.float32)
    output = json.loads((folder / "model.json").read_text())["output"]
    edit_meta(folder, output={**output, "log_rebalance_weights": log_w.tolist()})
    model = ColorModel(folder)
    raw = np.random.default_rng(3).normal(0, 2, (1, len(BINS), 3, 3)).astype(np.float32)
    bins = np.array(BINS, np.float32)
    np.testing.assert_allclose(model.to_ab(raw, 0.0), softmax_mean(raw - log_w[None, :, None, None], bins), atol=1e-4)
    t, _, _ = vividness_params(1.0)
    np.testing.assert_allclose(model.to_ab(raw, 1.0), softmax_mean(raw / t, bins), atol=1e-4)


def test_default_vividness_comes_from_metadata(tmp_path):
    model = ColorModel(build_tiny_model(tmp_path / "m", vividness=1.5))
    raw = np.random.default_rng(2).normal(0, 2, (1, len(BINS), 3, 3)).astype(np.float32)
    np.testing.assert_allclose(model.to_ab(raw), model.to_ab(raw, 1.5))
    assert not np.allclose(model.to_ab(raw), model.to_ab(raw, 1.0))


def test_scaled_mean_decode_is_the_posterior_mean_times_gain_and_vividness(tmp_path):
    model, log_w = ColorModel(build_tiny_model(tmp_path / "m", scaled_mean=(0.8, 1.8))), np.float32(LOG_REBALANCE)
    raw = np.random.default_rng(4).normal(0, 2, (1, len(BINS), 3, 3)).astype(np.float32)
    mean = softmax_mean((raw - log_w[None, :, None, None]) / 0.8, np.array(BINS, np.float32))
    for v in (0.25, 0.5, 1.0):
        np.testing.assert_allclose(model.to_ab(raw, v), 1.8 * v * mean, atol=1e-3)
    np.testing.assert_allclose(model.to_ab(raw), 1.8 * mean, atol=1e-3)  # the default, 1.0
    np.testing.assert_allclose(model.to_ab(raw, 2.0), 1.6 * 1.8 * mean, atol=1e-3)  # gentler above 1
    assert not model.to_ab(raw, 0.0).any()  # vividness 0 is plain grey


def test_scaled_mean_decode_gives_hints_to_the_network_divided_by_its_gain(tmp_path):
    """At vividness 1 the output is gain x the network's colour, so a hint goes in divided by gain."""
    model = ColorModel(build_tiny_model(tmp_path / "m", hints=True, scaled_mean=(0.8, 2.0)))
    plain = ColorModel(build_tiny_model(tmp_path / "plain", hints=True))
    L = np.full((1, 32, 32), 60.0, np.float32)
    mask = np.zeros((1, 1, 32, 32), np.float32)
    mask[..., 10:13, 10:13] = 1
    ab = np.zeros((1, 2, 32, 32), np.float32)
    ab[:, 0], ab[:, 1] = 80.0, -80.0
    np.testing.assert_allclose(model.run(L, ab * mask, mask), plain.run(L, ab * mask / 2.0, mask), atol=1e-4)
    assert not np.allclose(model.run(L, ab * mask, mask), plain.run(L, ab * mask, mask), atol=1e-2)


@pytest.mark.parametrize(
    "block,words",
    [
        ({"default": 1.0, "decode": "mode"}, "unknown vividness.decode 'mode'"),
        ({"default": 1.0, "decode": "scaled-mean", "temperature": 0.8, "gain": 40}, "vividness.gain from 0.1 to 5"),
        ({"default": 1.0, "decode": "scaled-mean", "temperature": 0.8}, "lacks 'gain'"),
    ],
)
def test_bad_decode_blocks_are_refused_in_one_line(tmp_path, block, words):
    folder = build_tiny_model(tmp_path / "m")
    edit_meta(folder, vividness=block)
    loading_fails(folder, folder / "model.json", words)


def test_scaled_mean_decode_needs_the_rebalancing_prior(tmp_path):
    folder = build_tiny_model(tmp_path / "m")
    edit_meta(folder, vividness={"default": 1.0, "decode": "scaled-mean", "temperature": 1, "gain": 1.5})
    loading_fails(folder, folder / "model.json", "needs output bins and log_rebalance_weights")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -0.5, 2.5, "vivid"])
def test_out_of_range_vividness_is_refused(tiny_model, bad):
    raw = np.zeros((1, len(BINS), 2, 2), np.float32)
    with pytest.raises(ColorizeError) as excinfo:
        tiny_model.to_ab(raw, bad)
    assert str(excinfo.value).startswith("vividness: must be a number from 0 to 2")


# ---------------------------------------------------------------- batching and threads


class CountingModel:
    """Wraps a ColorModel and counts network runs."""

    def __init__(self, model):
        self.model, self.calls = model, []

    def __getattr__(self, name):
        return getattr(self.model, name)

    def run(self, L_batch):
        self.calls.append(L_batch.shape)
        return self.model.run(L_batch)


def test_several_images_go_through_one_run_call(tiny_model):
    counting = CountingModel(tiny_model)
    Ls = [rgb_to_lab(gradient_photo(48, 64, seed=s))[..., 0] for s in range(4)]
    preds = predict_L(counting, Ls)
    assert len(counting.calls) == 1 and counting.calls[0][0] == 4
    single = [predict_L(tiny_model, [L])[0].raw for L in Ls]
    for p, s in zip(preds, single, strict=True):
        np.testing.assert_allclose(p.raw, s, atol=1e-5)


def test_images_of_different_shapes_are_grouped_by_network_size(tiny_model):
    counting = CountingModel(tiny_model)
    shapes = [(30, 60), (60, 30), (31, 62), (50, 50), (29, 61)]
    assert len({tiny_model.network_size(*s) for s in shapes}) == 3
    preds = predict(counting, [gradient_photo(h, w) for h, w in shapes])
    assert sorted(n for n, *_ in counting.calls) == [1, 1, 3]
    assert [p.L.shape for p in preds] == shapes


def colorize_in_threads(model, photos, threads=4):
    results = [None] * len(photos)
    start = threading.Barrier(threads)

    def work(k):
        start.wait()
        for i in range(k, len(photos), threads):
            results[i] = colorize(model, photos[i])

    with ThreadPoolExecutor(threads) as pool:
        runs = [pool.submit(work, k) for k in range(threads)]
    for run in runs:
        run.result()  # a thread's exception is raised here
    return results


def test_threads_sharing_one_model_match_sequential_results(tiny_model):
    photos = [gradient_photo(40 + 8 * i, 56 + 4 * i, seed=i) for i in range(8)]
    sequential = [colorize(tiny_model, p) for p in photos]
    for got, want in zip(colorize_in_threads(tiny_model, photos), sequential, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)


# ---------------------------------------------------------------- the bundled model


def test_bundled_model_is_present_and_complete():
    assert (BUNDLED / "model.json").is_file(), "models/colorize-lite0/model.json is missing"
    info = read_info(BUNDLED)
    assert info.onnx_path.is_file()
    assert info.output_kind == "ab_logits" and info.bins.shape[1] == 2
    for key in ("license", "training_data", "quality"):
        assert info.meta.get(key), f"model.json should record {key}"


def test_bundled_model_loads_and_runs(bundled_model):
    info = bundled_model.info
    h, w = bundled_model.network_size(300, 400)
    assert w == info.long_side and h % info.multiple == 0 and abs(h - 0.75 * w) <= info.multiple / 2
    raw = bundled_model.run(np.full((2, h, w), 50, np.float32))
    assert raw.shape == (2, len(bundled_model.info.bins), h // 4, w // 4)
    assert np.isfinite(raw).all()


def test_bundled_model_colorizes_in_threads_like_sequentially(bundled_model):
    photos = [gradient_photo(60, 80, seed=i) for i in range(4)]
    sequential = [colorize(bundled_model, p) for p in photos]
    for got, want in zip(colorize_in_threads(bundled_model, photos, threads=2), sequential, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-4)
