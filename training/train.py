"""Train the colorization network on CPU, resumably, on a time budget.

    python training/train.py --data ../shared/data/train --work ~/colorize-work --minutes 100

Phase 1 trains the decoder over a frozen encoder (bf16 autocast where the CPU has bf16 units: AMX or
AVX512-BF16; plain float32 elsewhere, where bf16 is emulated and measured 15-25x slower);
the last `--finetune` fraction of the budget also tunes encoder blocks from `--finetune-from`
at a low learning rate. A checkpoint lands in --work every few minutes; rerunning the same
command resumes from it, so a run can span sessions.

The second model (v2) was trained with
    python training/sources.py --work ~/colorize-work          # the broad set, see sources.py
    python training/train.py --work ~/colorize-work --broad --hints \
        --init-onnx <the first model's model.onnx> --lr 1e-3 --minutes 200
and continued from that model with more of ../shared/data/train in the mix (`val/`'s kind of photo):
    python training/train.py --work <fresh folder> --broad --hints --local-weight 0.55 \
        --init-onnx <v2's model.onnx> --lr 3e-4 --minutes 85 --finetune 0.3 --val ../shared/data/val
and once more from that export with train/ at two thirds of the crops:
    python training/train.py --work <fresh folder> --broad --hints --local-weight 1.3 \
        --init-onnx <run 3's float export> --lr 2e-4 --minutes 75 --finetune 0.4 --val ../shared/data/val
`--broad` draws crops from ../shared/data/train and the git-snapshot sources by weight; `--hints`
adds the colour-hint inputs and samples hints from the true colours; `--init-onnx` starts from a
shipped model (its bins and rebalancing weights too). Every `--eval-every` minutes the run measures
the broad held-out split (and `--val`, if given) with training/curve.py and appends the learning
curve to <work>/curve.jsonl.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bins import GRID, empirical_prior, gamut_bins, rebalance_weights
from curve import HeldOut
from data import Prefetcher, WeightedSources, load_folder, rgb_to_lab
from network import ColorNet
from sources import LOCAL_WEIGHT, load_sources
from warmstart import load_onnx_weights


class SoftEncoder:
    """Soft-encodes a/b over the gamut bins: Gaussian weights on the 3x3 grid neighbours of the
    nearest grid point (the k-nearest soft encoding of Zhang et al., without an N x Q distance matrix)."""

    def __init__(self, bins, sigma=5.0):
        self.lo = float(bins.min())
        self.n = int(round((float(bins.max()) - self.lo) / GRID)) + 1
        cell = torch.round((bins - self.lo) / GRID).long()
        self.lut = torch.full((self.n * self.n,), -1, dtype=torch.long)
        self.lut[cell[:, 0] * self.n + cell[:, 1]] = torch.arange(len(bins))
        self.sigma = sigma
        off = torch.tensor([-1, 0, 1])
        self.offsets = torch.stack(torch.meshgrid(off, off, indexing="ij"), -1).reshape(9, 2)

    def __call__(self, ab):
        """ab (N x 2) -> (indices N x 9, weights N x 9, index of the nearest bin N)."""
        g = (ab - self.lo) / GRID
        cell = (torch.round(g).long()[:, None, :] + self.offsets).clamp(0, self.n - 1)
        idx = self.lut[cell[..., 0] * self.n + cell[..., 1]]
        d2 = ((cell.float() - g[:, None, :]) * GRID).pow(2).sum(-1)
        w = torch.exp(-d2 / (2 * self.sigma**2)) * (idx >= 0)
        w = w / w.sum(1, keepdim=True).clamp_min(1e-8)
        idx_safe = idx.clamp_min(0)
        nearest = idx_safe.gather(1, (w * (idx >= 0)).argmax(1, keepdim=True))[:, 0]
        return idx_safe, w, nearest


def loss_fn(logits, ab_full, encoder, weights):
    """Rebalanced soft cross-entropy, targets pooled to the network's output resolution."""
    ab = F.avg_pool2d(ab_full, 4)
    q = logits.shape[1]
    ab = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    logp = F.log_softmax(logits.float().permute(0, 2, 3, 1).reshape(-1, q), 1)
    idx, w, nearest = encoder(ab)
    ce = -(w * logp.gather(1, idx)).sum(1)
    return (ce * weights[nearest]).mean()


def prepare_bins(images, work):
    path = os.path.join(work, "bins.json")
    if os.path.exists(path):
        d = json.load(open(path))
        return np.array(d["bins"], np.float32), np.array(d["prior"], np.float32)
    bins = gamut_bins()
    rng = np.random.default_rng(0)
    sample = images[rng.choice(len(images), min(4000, len(images)), replace=False)]
    lab = rgb_to_lab(sample)[:, ::4, ::4, 1:].reshape(-1, 2)
    prior = np.concatenate([empirical_prior(chunk, bins) for chunk in np.array_split(lab, 20)]).reshape(20, -1).mean(0)
    json.dump({"bins": bins.tolist(), "prior": prior.tolist()}, open(path, "w"))
    return bins, prior


def cpu_has_bf16():
    """Whether bf16 matrix maths runs in hardware here (Linux /proc/cpuinfo flags)."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def parse_args(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/train")
    ap.add_argument("--work", default=os.path.expanduser("~/colorize-work"))
    ap.add_argument("--minutes", type=float, default=100)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--finetune", type=float, default=0.25, help="fraction of the budget that also tunes the encoder")
    ap.add_argument("--finetune-from", type=int, default=5, help="first encoder block tuned in that phase")
    ap.add_argument("--rebalance", type=float, default=0.5, help="lambda of Zhang's rebalancing (1 = none)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--broad", action="store_true", help="add the git-snapshot sources built by sources.py in --work")
    ap.add_argument("--hints", action="store_true", help="train the colour-hint inputs too")
    ap.add_argument("--init-onnx", help="start from this shipped model (folded BatchNorms: trained in eval mode)")
    ap.add_argument("--local-weight", type=float, default=LOCAL_WEIGHT, help="share of crops from --data with --broad")
    ap.add_argument(
        "--val",
        action="append",
        default=[],
        help="also measure this folder in the learning curve, keys prefixed by its name (repeatable)",
    )
    ap.add_argument("--encoder-lr", type=float, default=0.05, help="the tuned encoder blocks' lr, times --lr")
    ap.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    ap.add_argument("--eval-every", type=float, default=12.0, help="minutes between held-out measurements")
    return ap.parse_args(argv)


def load_data(args):
    """(training photos, a/b bins, their rebalancing weights, --init-onnx's vividness block or None).

    The bins and weights are --init-onnx's model's own, or measured on the photos (bins.json in
    --work); with --broad the photos are the weighted mix of --data and the sources in --work."""
    images = load_folder(args.data, os.path.join(args.work, "train_rgb144.npy"))
    vividness_block = None
    if args.init_onnx:
        meta = json.load(open(os.path.join(os.path.dirname(args.init_onnx), "model.json")))
        vividness_block = meta.get("vividness")
        bins_np = np.asarray(meta["output"]["bins"], np.float32)
        weights_np = np.exp(np.asarray(meta["output"]["log_rebalance_weights"], np.float32))
    else:
        bins_np, prior = prepare_bins(images, args.work)
        weights_np = rebalance_weights(prior, args.rebalance)
    if args.broad:
        named = [("train", images, args.local_weight)] + load_sources(args.work)
        for name, arr, w in named:
            print(f"  source {name}: {len(arr)} photos, weight {w}", flush=True)
        images = WeightedSources([a for _, a, _ in named], [w for _, _, w in named])
    print(f"{len(images)} photos, {len(bins_np)} bins", flush=True)
    return images, bins_np, weights_np, vividness_block


def build_model(args, n_bins):
    """The network: an ImageNet-pretrained encoder, or warm-started from --init-onnx's weights."""
    model = ColorNet(n_bins, pretrained=not args.init_onnx, hints=args.hints)
    if args.init_onnx:
        x = torch.rand(1, 1, 64, 64) * 100
        print(
            f"warm start: {load_onnx_weights(model, args.init_onnx, (x,))} convolutions from {args.init_onnx}",
            flush=True,
        )
    return model.to(memory_format=torch.channels_last)  # measured 12 % faster steps on a 2-core CPU


def held_out_splits(args, bins_np, weights_np, vividness_block):
    """{split name: HeldOut} measured every --eval-every minutes: the broad split (with --broad) and each --val."""
    held_out = {}
    if args.broad:
        held_out["broad"] = HeldOut(
            os.path.join(args.work, "broad-holdout"), bins_np, weights_np, vividness_block=vividness_block
        )
    for folder in args.val:
        name = os.path.basename(os.path.normpath(folder))
        held_out[name] = HeldOut(folder, bins_np, weights_np, vividness_block=vividness_block)
    return held_out


def make_optimizer(args, model):
    """AdamW over two groups, the decoder and the encoder blocks tuned in the last phase (lr 0 until
    then); returns it and those blocks' parameters. Each group's "base" is its peak lr."""
    enc_ids = {id(p) for p in model.encoder_parameters()}
    dec_params = [p for p in model.parameters() if id(p) not in enc_ids]
    tuned = [p for b in model.blocks[args.finetune_from :] for p in b.parameters()]
    opt = torch.optim.AdamW(
        [
            {"params": dec_params, "lr": args.lr, "base": args.lr},
            {"params": tuned, "lr": 0.0, "base": args.lr * args.encoder_lr},
        ],
        weight_decay=1e-4,
    )
    return opt, tuned


def resume(ckpt_path, model, opt):
    """The run's state ({"step", "elapsed", "seen"}); model and optimiser restored from the checkpoint, if any."""
    if not os.path.exists(ckpt_path):
        return {"step": 0, "elapsed": 0.0, "seen": 0}
    ck = torch.load(ckpt_path, weights_only=False)
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["opt"])
    state = ck["state"]
    print(f"resumed at step {state['step']}, {state['elapsed'] / 60:.1f} min", flush=True)
    return state


def set_schedule(args, opt, tuned, state, budget):
    """Learning rates for this step (warm-up, then cosine over the budget) and whether the encoder
    blocks are tuned now (the last --finetune of the budget); returns that."""
    frac = state["elapsed"] / budget
    finetuning = frac >= 1 - args.finetune
    for p in tuned:
        p.requires_grad = finetuning
    warm = min(1.0, state["step"] / 300)
    cos = 0.5 * (1 + np.cos(np.pi * frac))
    decoder_group, encoder_group = opt.param_groups
    decoder_group["lr"] = decoder_group["base"] * warm * (0.02 + 0.98 * cos)
    encoder_group["lr"] = encoder_group["base"] * (0.02 + 0.98 * cos) if finetuning else 0.0
    return finetuning


def measure_held_out(held_out, model, state, curve_path):
    """One row of the learning curve: every held-out split measured, printed and appended to curve_path."""
    row = {"step": state["step"], "seen": state["seen"], "minutes": round(state["elapsed"] / 60, 1)}
    for split, measured in held_out.items():
        row.update(
            measured.measure(model)
            if split == "broad"
            else {f"{split}_{k}": v for k, v in measured.measure(model).items()}
        )
    print("held-out", json.dumps(row), flush=True)
    with open(curve_path, "a") as f:
        f.write(json.dumps(row) + "\n")


def train_step(args, model, opt, batch, finetuning, bf16, encoder, weights):
    """One optimiser step on a batch (L, ab[, hint inputs]); returns the loss."""
    model.train()
    if args.init_onnx:
        model.eval()  # folded BatchNorms (identity + bias) must not normalise batches
    else:
        model.stem.eval()
        model.blocks.eval()  # BatchNorm statistics of the pretrained encoder stay fixed
    L, ab = batch[0], batch[1]
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        feats = model.encode(L, args.finetune_from if finetuning else len(model.blocks))
        logits = model.decode(feats, *batch[2:])
    loss = loss_fn(logits, ab, encoder, weights)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
    return loss


def save_checkpoint(ckpt_path, model, opt, state, bins_np, weights_np, args):
    """Everything a rerun resumes from (and export.py reads), written atomically."""
    tmp = ckpt_path + ".tmp"
    torch.save(
        {
            "model": model.state_dict(),
            "opt": opt.state_dict(),
            "state": state,
            "bins": bins_np,
            "rebalance_weights": weights_np,
            "args": vars(args),
        },
        tmp,
    )
    os.replace(tmp, ckpt_path)


def train(args, model, opt, tuned, state, images, held_out, step, checkpoint):
    """The loop, on the budget's clock (held-out measurements do not count against it): the
    schedule, a held-out measurement every --eval-every minutes, step(batch, finetuning) -> loss,
    a line every 100 steps, and checkpoint() every 5 minutes and at the end."""
    budget = args.minutes * 60
    batches = Prefetcher(images, args.seed + state["step"], hints=args.hints)
    curve_path = os.path.join(args.work, "curve.jsonl")
    t_last_eval = 0.0 if state["step"] == 0 else time.time()
    t_last_ck = time.time()
    t0 = time.time() - state["elapsed"]
    run_loss, run_n = 0.0, 0
    while state["elapsed"] < budget:
        finetuning = set_schedule(args, opt, tuned, state, budget)
        if held_out and time.time() - t_last_eval > args.eval_every * 60:
            t_eval = time.time()
            measure_held_out(held_out, model, state, curve_path)
            t0 += time.time() - t_eval  # measuring does not eat into the training budget
            t_last_eval = time.time()
        batch = [torch.from_numpy(a).contiguous(memory_format=torch.channels_last) for a in next(batches)]
        loss = step(batch, finetuning)
        state["step"] += 1
        state["seen"] += batch[0].shape[0]
        state["elapsed"] = time.time() - t0
        run_loss += loss.item()
        run_n += 1
        if state["step"] % 100 == 0:
            print(
                f"step {state['step']} min {state['elapsed'] / 60:.1f} seen {state['seen']} "
                f"epochs {state['seen'] / len(images):.2f} loss {run_loss / run_n:.4f} "
                f"lr {opt.param_groups[0]['lr']:.2e} finetune {finetuning}",
                flush=True,
            )
            run_loss, run_n = 0.0, 0
        if time.time() - t_last_ck > 300 or state["elapsed"] >= budget:
            checkpoint()
            t_last_ck = time.time()


def main():
    args = parse_args()
    os.makedirs(args.work, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    bf16 = args.precision == "bf16" or (args.precision == "auto" and cpu_has_bf16())
    print(f"precision: {'bf16 autocast' if bf16 else 'float32'}", flush=True)

    images, bins_np, weights_np, vividness_block = load_data(args)
    encoder, weights = SoftEncoder(torch.from_numpy(bins_np)), torch.from_numpy(weights_np)
    model = build_model(args, len(bins_np))
    held_out = held_out_splits(args, bins_np, weights_np, vividness_block)
    opt, tuned = make_optimizer(args, model)
    ckpt_path = os.path.join(args.work, "last.pt")
    state = resume(ckpt_path, model, opt)
    for p in model.encoder_parameters():
        p.requires_grad = False

    def step(batch, finetuning):
        return train_step(args, model, opt, batch, finetuning, bf16, encoder, weights)

    def checkpoint():
        save_checkpoint(ckpt_path, model, opt, state, bins_np, weights_np, args)

    train(args, model, opt, tuned, state, images, held_out, step, checkpoint)
    print("done", json.dumps(state), flush=True)


if __name__ == "__main__":
    main()
