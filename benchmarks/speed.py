"""Speed figures, as medians of several runs on this machine's CPU:

  1. one photo end to end (JPEG bytes -> decode -> colorize -> PNG bytes), and without the PNG
     encoding, at 0.3, 1, 4 and 12 MP, with where the time goes;
  2. the bundled model's forward pass at its network input size for a 4:3 photo (192x256);
  3. beside it, the classic Zhang et al. ECCV 2016 colorization network (conv1-conv8 with the
     dilated conv5/conv6, 313-bin output), built here from the paper's layer table with
     onnx.helper and random weights (timing only), in the same runtime (ONNX Runtime) with exactly
     the same session options (colorize.model.onnx_session: threads, no spinning, full graph
     optimisation): at our input size 192x256 for fairness, and at the paper's 224x224.

    python benchmarks/speed.py [--repeats 5] [--sizes 0.3 1 4 12] [--skip-eccv16] [--float-onnx PATH]

The bundled network is 8-bit (training/quantize.py); --float-onnx times its float original (kept
beside the training checkpoint as model-fp32.onnx) under the same options, for the figure both ways.

Goals (issue 2): at most 150 ms for a 1 MP photo end to end; our network at least 20x faster
than ECCV16. Photos come from ../shared/samples/bw (read only, never copied); without them a
synthetic photo is used. `onnx` (requirements-test.txt) is needed only for the ECCV16 part.
"""

import argparse
import functools
import glob
import importlib.util
import io
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
from checkout import SHARED
from PIL import Image

from colorize import ColorModel, encode_image, load_image
from colorize.model import models_dir, onnx_session
from colorize.pipeline import predict, render

SAMPLES = SHARED / "samples" / "bw"


def median_ms(fn, repeats, warmup=1):
    """Median wall-clock ms of fn() over `repeats` runs (after `warmup` unmeasured ones)."""
    return timed(fn, repeats, warmup)[0]


def timed(fn, repeats, warmup=1):
    """Median (wall ms, CPU ms of this process) over `repeats` runs. On a busy machine the wall
    time includes waiting for a core; the CPU time does not (with --single-thread it is close to
    what the wall time would be on one idle core)."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return 1000 * statistics.median(wall), 1000 * statistics.median(cpu)


def source_photo():
    """The largest sample photo (greyscale RGB uint8), or a synthetic one."""
    files = sorted(glob.glob(str(SAMPLES / "*.jpg")), key=os.path.getsize)
    if files:
        return Image.open(files[-1]).convert("RGB"), Path(files[-1]).name
    y, x = np.mgrid[0:900, 0:1200].astype(np.float32)
    g = 128 + 60 * np.sin(x / 37) * np.cos(y / 23) + 40 * (x / 1200)
    return Image.fromarray(np.clip(g, 0, 255).astype(np.uint8)).convert("RGB"), "synthetic pattern"


def jpeg_at(photo, megapixels):
    """The photo resized to about `megapixels` (4:3-ish, as the source), as JPEG bytes (quality 90)."""
    w, h = photo.size
    s = (megapixels * 1e6 / (w * h)) ** 0.5
    im = photo.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue(), im.size


def end_to_end(model, sizes, repeats):
    photo, source = source_photo()
    print(
        f"End to end, one photo at a time (source: {source}, resized; JPEG q90 in, PNG out), "
        f"median of {repeats} runs, ms:"
    )
    print(
        f"  {'size':>14} {'total':>8} {'(CPU)':>7} {'no encode':>10} {'(CPU)':>7} | CPU ms: {'decode':>7} "
        f"{'L+network':>10} {'upsample+Lab':>13} {'PNG encode':>11}"
    )
    for mp in sizes:
        data, (w, h) = jpeg_at(photo, mp)
        (total, total_cpu), (without, without_cpu), parts = photo_times(model, data, repeats)
        label = f"{w}x{h} {w * h / 1e6:.1f}MP"
        print(
            f"  {label:>14} {total:8.0f} {total_cpu:7.0f} {without:10.0f} {without_cpu:7.0f} |         "
            f"{parts[0]:7.0f} {parts[1]:10.0f} {parts[2]:13.0f} {parts[3]:11.0f}"
        )


def photo_times(model, data, repeats):
    """For one JPEG: (wall, CPU) ms end to end, the same without the PNG encoding, and the CPU ms of
    each step (decode, L + network, upsample + Lab, PNG encode)."""
    state = {}

    def decode():
        state["photo"] = load_image("bench.jpg", data)

    def network():
        state["pred"] = predict(model, [state["photo"].rgb])[0]

    def finish():
        state["rgb"] = render(model, state["pred"])

    def encode():
        encode_image(state["rgb"], state["photo"].alpha, "png")

    def whole():
        p = load_image("bench.jpg", data)
        return encode_image(render(model, predict(model, [p.rgb])[0]), p.alpha, "png")

    def no_encode():
        p = load_image("bench.jpg", data)
        return render(model, predict(model, [p.rgb])[0])

    total = timed(whole, repeats)
    without = timed(no_encode, repeats)
    return total, without, [timed(f, repeats)[1] for f in (decode, network, finish, encode)]


def conv_node(nodes, inits, rng, name, x, cin, cout, k=3, stride=1, pad=1, dilation=1, transpose=False, bias=True):
    """One (transposed) convolution with He-initialised random weights."""
    shape = (cin, cout, k, k) if transpose else (cout, cin, k, k)
    w = (rng.standard_normal(shape) * np.sqrt(2.0 / (cin * k * k))).astype(np.float32)
    from onnx import numpy_helper

    inits.append(numpy_helper.from_array(w, name + "_w"))
    inputs = [x, name + "_w"]
    if bias:
        inits.append(numpy_helper.from_array(np.zeros(cout, np.float32), name + "_b"))
        inputs.append(name + "_b")
    from onnx import helper

    nodes.append(
        helper.make_node(
            "ConvTranspose" if transpose else "Conv",
            inputs,
            [name],
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=[pad] * 4,
            dilations=[dilation, dilation],
        )
    )
    return name


def eccv16_onnx():
    """Zhang, Isola, Efros, 'Colorful Image Colorization' (ECCV 2016), deploy network, random weights.

    Per block: convs with ReLU, then BatchNorm; conv1-3 end with stride 2; conv5/conv6 dilation 2;
    conv8_1 a stride-2 deconvolution; conv8_313 a 1x1 conv to 313 bins; then the annealed softmax
    (scale 2.606) and the 1x1 'class8_ab' projection to a/b, as in colorization_deploy_v2.prototxt."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inits = [], []
    x = "L"
    blocks = [  # (name, [(cin, cout), ...], last stride, dilation)
        ("conv1", [(1, 64), (64, 64)], 2, 1),
        ("conv2", [(64, 128), (128, 128)], 2, 1),
        ("conv3", [(128, 256), (256, 256), (256, 256)], 2, 1),
        ("conv4", [(256, 512), (512, 512), (512, 512)], 1, 1),
        ("conv5", [(512, 512), (512, 512), (512, 512)], 1, 2),
        ("conv6", [(512, 512), (512, 512), (512, 512)], 1, 2),
        ("conv7", [(512, 512), (512, 512), (512, 512)], 1, 1),
    ]
    for block, convs, last_stride, dil in blocks:
        for i, (cin, cout) in enumerate(convs, 1):
            stride = last_stride if i == len(convs) else 1
            x = conv_node(nodes, inits, rng, f"{block}_{i}", x, cin, cout, 3, stride, dil, dil)
            nodes.append(helper.make_node("Relu", [x], [x + "_relu"]))
            x = x + "_relu"
        c = convs[-1][1]
        for suffix, value in (("scale", 1.0), ("bias", 0.0), ("mean", 0.0), ("var", 1.0)):
            inits.append(numpy_helper.from_array(np.full(c, value, np.float32), f"{block}_bn_{suffix}"))
        nodes.append(
            helper.make_node(
                "BatchNormalization",
                [x] + [f"{block}_bn_{s}" for s in ("scale", "bias", "mean", "var")],
                [f"{block}_norm"],
                epsilon=1e-5,
            )
        )
        x = f"{block}_norm"
    x = conv_node(nodes, inits, rng, "conv8_1", x, 512, 256, 4, 2, 1, transpose=True)
    nodes.append(helper.make_node("Relu", [x], ["conv8_1_relu"]))
    x = conv_node(nodes, inits, rng, "conv8_2", "conv8_1_relu", 256, 256)
    nodes.append(helper.make_node("Relu", [x], ["conv8_2_relu"]))
    x = conv_node(nodes, inits, rng, "conv8_3", "conv8_2_relu", 256, 256)
    nodes.append(helper.make_node("Relu", [x], ["conv8_3_relu"]))
    x = conv_node(nodes, inits, rng, "conv8_313", "conv8_3_relu", 256, 313, 1, 1, 0)
    inits.append(numpy_helper.from_array(np.array(2.606, np.float32), "rh"))
    nodes.append(helper.make_node("Mul", [x, "rh"], ["conv8_313_rh"]))
    nodes.append(helper.make_node("Softmax", ["conv8_313_rh"], ["class8_313_rh"], axis=1))
    conv_node(nodes, inits, rng, "class8_ab", "class8_313_rh", 313, 2, 1, 1, 0, bias=False)
    graph = helper.make_graph(
        nodes,
        "eccv16",
        [helper.make_tensor_value_info("L", TensorProto.FLOAT, [1, 1, "h", "w"])],
        [helper.make_tensor_value_info("class8_ab", TensorProto.FLOAT, [1, 2, "h4", "w4"])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString(), sum(int(np.prod(t.dims)) for t in inits)


def forward_times(model, repeats, skip_eccv16, threads, float_onnx=None):
    h, w = model.network_size(3, 4)
    x = np.random.default_rng(0).uniform(0, 100, (1, h, w)).astype(np.float32)
    ours, ours_cpu = timed(lambda: model.run(x), repeats, warmup=2)
    params = parameter_count(model.info.onnx_path)
    precision = model.info.meta.get("precision", {}).get("weights", "float32")
    import onnxruntime

    print(
        f"\nNetwork forward pass (ONNX Runtime {onnxruntime.__version__}, CPU), median of {repeats}, ms wall (ms CPU):"
    )
    print(
        f"  ours ({model.name}, {precision}{f', {params / 1e6:.1f} M parameters' if params else ''}) at {h}x{w} "
        f"(a 4:3 photo): {ours:8.1f} ({ours_cpu:.1f})"
    )
    if float_onnx:
        sess = onnx_session(float_onnx, threads)
        feed = {i.name: np.zeros([1, *i.shape[1:2], h, w], np.float32) for i in sess.get_inputs()}
        feed[model.input_name] = x[:, None]
        t, t_cpu = timed(functools.partial(sess.run, None, feed), repeats, warmup=2)
        print(f"  ours before quantization ({Path(float_onnx).name}, float32): {t:8.1f} ({t_cpu:.1f})")
    if skip_eccv16:
        return
    if not _has_onnx():
        print("  ECCV16: skipped (needs the `onnx` package from requirements-test.txt)")
        return
    onnx_bytes, eccv_params = eccv16_onnx()
    sess = onnx_session(onnx_bytes, threads)  # the very options ColorModel's session has
    name = sess.get_inputs()[0].name
    for eh, ew, why in ((h, w, "our input size"), (224, 224, "the paper's input size")):
        xe = np.random.default_rng(1).uniform(0, 100, (1, 1, eh, ew)).astype(np.float32)
        t, t_cpu = timed(functools.partial(sess.run, None, {name: xe}), max(3, repeats // 2), warmup=1)
        print(
            f"  ECCV16 (Zhang et al. 2016, {eccv_params / 1e6:.1f} M parameters, random weights) at {eh}x{ew} "
            f"({why}): {t:8.1f} ({t_cpu:.1f})"
            + (
                f"   -> ours is {t / ours:.0f}x faster (CPU time: {t_cpu / ours_cpu:.0f}x)"
                if (eh, ew) == (h, w)
                else ""
            )
        )


def parameter_count(onnx_path):
    if not _has_onnx():
        return None
    import onnx

    return sum(int(np.prod(t.dims)) for t in onnx.load(str(onnx_path)).graph.initializer)


def _has_onnx():
    return importlib.util.find_spec("onnx") is not None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(models_dir() / "colorize-lite0"))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes", type=float, nargs="+", default=[0.3, 1, 4, 12], help="megapixels")
    ap.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: all cores)")
    ap.add_argument(
        "--single-thread",
        action="store_true",
        help="one thread for OpenCV and ONNX Runtime: CPU time then approximates one idle core",
    )
    ap.add_argument("--skip-eccv16", action="store_true")
    ap.add_argument("--float-onnx", help="also time this float ONNX network (the bundled one before quantization)")
    args = ap.parse_args()
    if args.single_thread:
        import cv2

        cv2.setNumThreads(1)
        args.threads = 1
    t0 = time.perf_counter()
    model = ColorModel(args.model, threads=args.threads)
    load_ms = 1000 * (time.perf_counter() - t0)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs"
        + (f", load average {load[0]:.1f} at start" if load else "")
        + f"; Python {platform.python_version()}"
    )
    print(
        f"Model {model.name} loaded (checksum + session) in {load_ms:.0f} ms; "
        f"threads: {'1 (--single-thread)' if args.single_thread else 'all cores'}\n"
    )
    end_to_end(model, args.sizes, args.repeats)
    forward_times(model, args.repeats, args.skip_eccv16, args.threads, args.float_onnx)


if __name__ == "__main__":
    main()
