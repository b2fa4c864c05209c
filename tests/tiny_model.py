"""A tiny ONNX colorization model built by the tests themselves, obeying the engine's contract.

logits = w * avgpool4(L) + b over five a/b bins, so dark areas turn one colour and bright areas
another: deterministic, instant, and enough to check every stage of the pipeline.
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


def build_tiny_model(folder, name="tiny-test", vividness=1.0, long_side=64):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    q = len(BINS)
    w = numpy_helper.from_array(np.array(WEIGHTS, np.float32).reshape(q, 1, 1, 1), "w")
    b = numpy_helper.from_array(np.array(BIASES, np.float32), "b")
    nodes = [helper.make_node("AveragePool", ["L"], ["p"], kernel_shape=[4, 4], strides=[4, 4]),
             helper.make_node("Conv", ["p", "w", "b"], ["ab_logits"])]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("L", TensorProto.FLOAT, ["n", 1, "h", "w"])],
        [helper.make_tensor_value_info("ab_logits", TensorProto.FLOAT, ["n", q, "h4", "w4"])], [w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx_path = folder / "model.onnx"
    onnx.save(model, onnx_path)
    meta = {"name": name, "onnx": "model.onnx", "sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
            "input": {"name": "L", "long_side": long_side, "multiple": 32},
            "output": {"kind": "ab_logits", "stride": 4, "bins": BINS},
            "vividness": {"default": vividness}, "license": "test only", "training_data": "none"}
    (folder / "model.json").write_text(json.dumps(meta))
    return folder
