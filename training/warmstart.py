"""Start a new training run from a shipped ONNX model (the first model's checkpoint is not kept).

The ONNX export folded every BatchNorm into the convolution before it, so each torch convolution
gets the folded weight and bias and its BatchNorm becomes the identity plus that bias (mean 0,
variance 1 - eps, scale 1). Such a network must train with its BatchNorms in eval mode, which the
recipe does anyway for the pretrained encoder. Layers the ONNX model lacks (the colour-hint branches)
keep their zero initialisation, so the warm-started network computes what the ONNX model computes.

A quantized model (training/quantize.py) loads too: each weight is read back through its
DequantizeLinear (int8 x scale), which is the network the engine runs, up to the activations'
rounding. Its float original, where quantize.py kept one (`--keep-fp32`), starts training exactly.
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


def module_name(onnx_node):
    """'/up4/refine/refine.1/refine.1.0/Conv' -> 'up4.refine.1.0' (the exporter's scopes)."""
    parts, last = [], None
    for scope in onnx_node.strip("/").split("/")[:-1]:
        parts.append(scope[len(last) + 1 :] if last and scope.startswith(last + ".") else scope)
        last = scope
    return ".".join(parts)


def constant_tensors(graph):
    """{name a node reads: (float array, the tensor's own name)} for every initializer and, in a
    quantized model, every DequantizeLinear of one (the weights as the engine computes with them)."""
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    tensors = {name: (array, name) for name, array in inits.items()}
    for node in graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in inits:
            continue
        q = inits[node.input[0]].astype(np.float32)
        scale = inits[node.input[1]].astype(np.float32)
        zero = inits[node.input[2]].astype(np.float32) if len(node.input) > 2 and node.input[2] else np.float32(0)
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        if scale.ndim == 1 and q.ndim > 1:  # per channel along `axis`
            shape = [1] * q.ndim
            shape[axis] = -1
            scale, zero = scale.reshape(shape), np.reshape(zero, shape) if np.ndim(zero) else zero
        tensors[node.output[0]] = ((q - zero) * scale, node.input[0].removesuffix("_quantized"))
    return tensors


def load_onnx_weights(model, onnx_path, example):
    """Copy a folded ONNX export's weights (float or quantized) into `model`; returns how many
    convolutions were loaded."""
    graph = onnx.load(onnx_path).graph
    tensors = constant_tensors(graph)
    modules = dict(model.named_modules())
    pairs = conv_bn_pairs(model, example)
    loaded = 0
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        weight, weight_name = tensors[node.input[1]]
        named = weight_name.endswith(".weight")  # unfolded convolutions keep their parameter's name
        name = weight_name[: -len(".weight")] if named else module_name(node.name)
        conv = modules[name]
        weight = weight.copy()
        bias = tensors[node.input[2]][0].copy() if len(node.input) > 2 and node.input[2] else None
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
