"""Start a new training run from a shipped ONNX model (the first model's checkpoint is not kept).

The ONNX export folded every BatchNorm into the convolution before it, so each torch convolution
gets the folded weight and bias and its BatchNorm becomes the identity plus that bias (mean 0,
variance 1 - eps, scale 1). Such a network must train with its BatchNorms in eval mode, which the
recipe does anyway for the pretrained encoder. Layers the ONNX model lacks (the colour-hint branches)
keep their zero initialisation, so the warm-started network computes what the ONNX model computes.
"""

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper


def conv_bn_pairs(model, example):
    """{conv module name: BatchNorm module name} in call order (a BN run right after its conv)."""
    names = {m: n for n, m in model.named_modules()}
    calls = []
    hooks = [
        m.register_forward_hook(lambda mod, i, o: calls.append(mod))
        for m in model.modules()
        if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))
    ]
    with torch.no_grad():
        model.eval()
        model(*example)
    for h in hooks:
        h.remove()
    pairs = {}
    for a, b in zip(calls, calls[1:], strict=False):
        if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
            pairs[names[a]] = names[b]
    return pairs


def module_name(onnx_output):
    """'/up4/refine/refine.1/refine.1.0/Conv_output_0' -> 'up4.refine.1.0' (the exporter's scopes)."""
    parts, last = [], None
    for scope in onnx_output.strip("/").split("/")[:-1]:
        parts.append(scope[len(last) + 1 :] if last and scope.startswith(last + ".") else scope)
        last = scope
    return ".".join(parts)


def load_onnx_weights(model, onnx_path, example):
    """Copy a folded ONNX export's weights into `model`; returns how many convolutions were loaded."""
    graph = onnx.load(onnx_path).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    modules = dict(model.named_modules())
    pairs = conv_bn_pairs(model, example)
    loaded = 0
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        named = node.input[1].endswith(".weight")  # unfolded convolutions keep their parameter's name
        name = node.input[1][: -len(".weight")] if named else module_name(node.output[0])
        conv = modules[name]
        weight = inits[node.input[1]].copy()
        bias = inits[node.input[2]].copy() if len(node.input) > 2 and node.input[2] else None
        assert tuple(conv.weight.shape) == weight.shape, (name, conv.weight.shape, weight.shape)
        conv.weight.data.copy_(torch.from_numpy(weight))
        if name in pairs:
            bn = modules[pairs[name]]
            bn.weight.data.fill_(1.0)
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
            bn.bias.data.copy_(torch.from_numpy(bias if bias is not None else np.zeros(len(bn.bias), np.float32)))
        elif bias is not None:
            conv.bias.data.copy_(torch.from_numpy(bias))
        loaded += 1
    return loaded
