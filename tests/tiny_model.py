"""A tiny ONNX colorization model built by the tests themselves, obeying the engine's contract.

logits = w * avgpool4(L) + b over five a/b bins, so dark areas turn one colour and bright areas
another: deterministic, instant, and enough to check every stage of the pipeline.

The hint-taking variant (build_tiny_hint_model) adds HINT_GAIN * avgpool3(avgpool4(score)) where,
per bin k, score_k = bin_k . hint_ab - |bin_k|^2 / 2 * hint_mask = (|hint_ab|^2 - |hint_ab - bin_k|^2) / 2
at hinted pixels and 0 elsewhere: the output cells holding a hint and their 8 neighbours turn to the
bin nearest the hint's a/b (for the test colours by a margin of tens of logits, far above the plain
function's), and all other cells keep the plain tiny function exactly.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

BINS = [[0.0, 0.0], [40.0, 50.0], [-30.0, -40.0], [50.0, -20.0], [-40.0, 40.0]]
# Dark -> bin 1 (orange), bright -> bin 2 (blue).
WEIGHTS = [0.0, -0.2, 0.2, 0.0, 0.0]
BIASES = [0.0, 10.0, -10.0, -5.0, -5.0]


HINT_GAIN = 9.0
HINT_PATCH = 3
# Rebalancing weights (log) for the "scaled-mean" decode, which divides them out.
LOG_REBALANCE = [0.0, 1.5, -0.5, 0.7, 0.2]


def nearest_bin(ab):
    """Index of the bin centre nearest to an (a, b) pair: the colour a hinted cell turns to."""
    return int(np.argmin(np.hypot(*(np.array(BINS, np.float32) - np.asarray(ab, np.float32)).T)))


def build_tiny_model(
    folder,
    name="tiny-test",
    vividness=1.0,
    long_side=64,
    hints=False,
    input_names=("L", "hint_ab", "hint_mask"),
    scaled_mean=None,
):
    """Write a tiny model folder (model.onnx + model.json). hints=True: the hint-taking variant, whose
    ONNX inputs are `input_names` and whose model.json has the contract's "hints" block.
    scaled_mean=(temperature, gain): the bundled model's decode, with LOG_REBALANCE as its prior."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    q = len(BINS)
    w = numpy_helper.from_array(np.array(WEIGHTS, np.float32).reshape(q, 1, 1, 1), "w")
    b = numpy_helper.from_array(np.array(BIASES, np.float32), "b")
    L_name, ab_name, mask_name = input_names
    inputs = [helper.make_tensor_value_info(L_name, TensorProto.FLOAT, ["n", 1, "h", "w"])]
    inits = [w, b]
    nodes = [helper.make_node("AveragePool", [L_name], ["p"], kernel_shape=[4, 4], strides=[4, 4])]
    if hints:
        bins = np.array(BINS, np.float32)
        score = np.concatenate([bins, -0.5 * (bins**2).sum(1, keepdims=True)], 1) * HINT_GAIN  # q x 3
        inits.append(numpy_helper.from_array(score.reshape(q, 3, 1, 1).astype(np.float32), "hw"))
        inputs += [
            helper.make_tensor_value_info(ab_name, TensorProto.FLOAT, ["n", 2, "h", "w"]),
            helper.make_tensor_value_info(mask_name, TensorProto.FLOAT, ["n", 1, "h", "w"]),
        ]
        nodes += [
            helper.make_node("Conv", ["p", "w", "b"], ["base"]),
            helper.make_node("Concat", [ab_name, mask_name], ["h3"], axis=1),
            helper.make_node("Conv", ["h3", "hw"], ["s"]),
            helper.make_node("AveragePool", ["s"], ["sp"], kernel_shape=[4, 4], strides=[4, 4]),
            helper.make_node(
                "AveragePool", ["sp"], ["spread"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1
            ),
            helper.make_node("Add", ["base", "spread"], ["ab_logits"]),
        ]
    else:
        nodes.append(helper.make_node("Conv", ["p", "w", "b"], ["ab_logits"]))
    graph = helper.make_graph(
        nodes,
        "tiny",
        inputs,
        [helper.make_tensor_value_info("ab_logits", TensorProto.FLOAT, ["n", q, "h4", "w4"])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx_path = folder / "model.onnx"
    onnx.save(model, onnx_path)
    meta = {
        "name": name,
        "onnx": "model.onnx",
        "sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "input": {"name": L_name, "long_side": long_side, "multiple": 32},
        "output": {"kind": "ab_logits", "stride": 4, "bins": BINS},
        "vividness": {"default": vividness},
        "license": "test only",
        "training_data": "none",
    }
    if scaled_mean:
        meta["output"]["log_rebalance_weights"] = LOG_REBALANCE
        temperature, gain = scaled_mean
        meta["vividness"] = {"default": vividness, "decode": "scaled-mean", "temperature": temperature, "gain": gain}
    if hints:
        meta["hints"] = {
            "ab_input": "hint_ab",
            "mask_input": "hint_mask",
            "patch": HINT_PATCH,
            "meaning": "Lab a/b at hinted pixels and a 0/1 mask of where hints are",
        }
    (folder / "model.json").write_text(json.dumps(meta))
    return folder


def build_tiny_hint_model(folder, name="tiny-hints", **kwargs):
    """The hint-taking tiny model (see the module docstring)."""
    return build_tiny_model(folder, name=name, hints=True, **kwargs)
