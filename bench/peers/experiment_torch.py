#!/usr/bin/env python3
"""The whole relmask experiment (`make experiment`) as a PyTorch researcher would write it.

One script, Debian's python3-torch, python3-h5py and python3-numpy, the same protocol as the Makefile's
experiment (docs/experiment.md), on the HDF5 datasets relmask's synth stage wrote (docs/formats.md):

  load            read source.h5 and target.h5 (images uint8 [N,C,H,W], labels, split, regions)
  source          fer-small trained on the source train split (SOURCE_MODEL_ARGS), tested on its test split
  relevance       LRP of the source model's prediction on every target record, composite epsilon-plus-flat
                  (flat on the first convolution, z+ on the others, epsilon 1e-6 on the dense layers), written
                  out layer by layer as bench/peers/torch_peer.py does (zennit is not packaged in Debian)
  relevance_eval  region perturbation (AOPC against 3 random orders), ground-truth region mass and the pointing
                  game on the first QUALITY_IMAGES records (relmask relevance-eval's defaults)
  encode          the encodings in numpy (smooth 1, normalize by the max, keep 0.3; mean, soft, negative,
                  channel, channel-const, mask: docs/encode.md), kept in memory
  student:<cond>  every condition's students, one per seed, each validated per epoch and tested with its best
                  epoch: raw, finetune, one per encoding (5 encoded epochs, raw after), channel (2 input
                  channels), mask, channel-const (channel models on a constant plane), fuse-negative (raw and
                  negative students' probabilities averaged), optionally kd and kd-<encoding>
  report          results.csv (the columns of relmask's report/results.csv that need no statistical test)

Each stage prints one JSON line {"stage", "wall_s", "cpu_s", "peak_rss_mb", ...} (also appended to --timings):
wall time, the process's user+system CPU time (every thread), and the peak resident set of the process during
the stage (VmHWM after resetting it through /proc/self/clear_refs; the whole interpreter, torch and the data in
memory included). Defaults are config.mk's. Seeds set torch's and numpy's generators: the protocol is relmask's,
the random draws are not.

  /usr/bin/python3 bench/peers/experiment_torch.py --source results/x/source.h5 --target results/x/target.h5 \\
      --out /tmp/peer --threads 2 --seeds 1 --tuned
"""
import argparse
import copy
import csv
import json
import math
import os
import resource
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_peer import conv_flat, conv_zplus, maybe_reexec_tuned, stab

LRP_EPS = 1e-6   # relmask relevance --eps default (epsilon rule on the dense layers)
ZPLUS_STAB = 1e-6


# ---------------------------------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------------------------------
def reset_peak_rss():
    """Reset VmHWM (Linux >= 4.0: writing 5 to clear_refs) so the next reading is this stage's peak."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Stage:
    """with Stage("source", log) as st: ...; st.info["acc"] = ...  -> one JSON line when the block ends."""

    def __init__(self, name, log_path):
        self.name, self.log_path, self.info = name, log_path, {}

    def __enter__(self):
        reset_peak_rss()
        self.t0 = time.perf_counter()
        ru = resource.getrusage(resource.RUSAGE_SELF)
        self.cpu0 = ru.ru_utime + ru.ru_stime
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            return False
        ru = resource.getrusage(resource.RUSAGE_SELF)
        rec = {"stage": self.name, "wall_s": round(time.perf_counter() - self.t0, 3),
               "cpu_s": round(ru.ru_utime + ru.ru_stime - self.cpu0, 3), "peak_rss_mb": round(peak_rss_mb(), 1)}
        rec.update(self.info)
        line = json.dumps(rec)
        print(line, flush=True)
        if self.log_path:
            with open(self.log_path, "a") as f:
                f.write(line + "\n")
        return False


# ---------------------------------------------------------------------------------------------------------------
# data (docs/formats.md, relmask.dataset)
# ---------------------------------------------------------------------------------------------------------------
def load_dataset(path):
    with h5py.File(path, "r") as f:
        d = {"images": f["images"][:], "labels": f["labels"][:].astype(np.int64), "split": f["split"][:],
             "class_names": [str(c) for c in f.attrs["class_names"]]}
        d["regions"] = f["regions"][:] if "regions" in f else None
    return d


def split_of(d, s, images=None):
    """(images, labels) of split s (0 train, 1 val, 2 test); images= another stack of the same records."""
    m = d["split"] == s
    return (d["images"] if images is None else images)[m], d["labels"][m]


def pixel_stats(x):
    """relmask train: per-channel mean and standard deviation of x/255 over the train split."""
    x = x.astype(np.float64) / 255.0
    return x.mean(axis=(0, 2, 3)).astype(np.float32), x.std(axis=(0, 2, 3)).astype(np.float32)


def to_tensor(x_u8, mean, std, channels_last):
    x = (torch.from_numpy(x_u8).float() / 255.0 - torch.from_numpy(mean)[:, None, None]) \
        / torch.from_numpy(std)[:, None, None]
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def augment(x, rng, hflip, shift):
    """relmask's --hflip --shift N (src/train/loader.c): a flip with probability 1/2 and an integer shift in
    [-N, N] on each axis, drawn per image, the pixels outside the image replicated from its edge."""
    b, c, h, w = x.shape
    flip = rng.random(b) < 0.5 if hflip else np.zeros(b, bool)
    dx = rng.integers(-shift, shift + 1, b)
    dy = rng.integers(-shift, shift + 1, b)
    xs = np.arange(w)[None, :]
    xs = np.where(flip[:, None], w - 1 - xs, xs) - dx[:, None]
    ys = np.arange(h)[None, :] - dy[:, None]
    xs, ys = np.clip(xs, 0, w - 1), np.clip(ys, 0, h - 1)
    return x[np.arange(b)[:, None, None, None], np.arange(c)[None, :, None, None], ys[:, None, :, None],
             xs[:, None, None, :]]


# ---------------------------------------------------------------------------------------------------------------
# the network: nets/fer-small.cfg
# ---------------------------------------------------------------------------------------------------------------
def fer_small(in_channels=1, classes=7):
    net = nn.Sequential(
        nn.Conv2d(in_channels, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(128 * 6 * 6, 256), nn.ReLU(),
        nn.Linear(256, classes),
    )
    # relmask's initialization (docs/train.md): He-uniform weights, zero biases, the logits layer uniform
    # within 0.1/sqrt(fan_in) so an untrained net predicts every class about equally
    layers = [m for m in net if isinstance(m, (nn.Conv2d, nn.Linear))]
    for m in layers[:-1]:
        nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
        nn.init.zeros_(m.bias)
    last = layers[-1]
    bound = 0.1 / math.sqrt(last.in_features)
    nn.init.uniform_(last.weight, -bound, bound)
    nn.init.zeros_(last.bias)
    return net


def make_net(name, in_channels, classes):
    if name != "fer-small":
        sys.exit("experiment_torch.py: only fer-small is written here (the default SOURCE_NET and STUDENT_NET)")
    return fer_small(in_channels, classes)


# ---------------------------------------------------------------------------------------------------------------
# training (relmask train: SGD, nesterov, weight decay, cosine with warm-up per step, drop_last, best val epoch)
# ---------------------------------------------------------------------------------------------------------------
def lr_at(epoch_f, lr, epochs, warmup):
    """src/train/optimizer.c rm_lr_at: linear warm-up from lr/10, then cosine to 0; epoch_f is fractional."""
    if warmup > 0 and epoch_f < warmup:
        return lr * (0.1 + 0.9 * epoch_f / warmup)
    span = epochs - warmup
    t = min(1.0, (epoch_f - warmup) / span) if span > 0 else 1.0
    return 0.5 * lr * (1 + math.cos(math.pi * t))


@torch.inference_mode()
def predict_logits(model, x_u8, mean, std, channels_last, batch=256):
    model.eval()
    out = [model(to_tensor(x_u8[i:i + batch], mean, std, channels_last)) for i in range(0, len(x_u8), batch)]
    return torch.cat(out).float()


def evaluate(model, x_u8, y, mean, std, channels_last):
    logits = predict_logits(model, x_u8, mean, std, channels_last)
    yt = torch.from_numpy(y)
    return (logits.argmax(1) == yt).float().mean().item(), F.cross_entropy(logits, yt).item(), logits


def train(args, net_name, train_x, train_y, val_x, val_y, epochs, batch, lr, warmup, seed, enc_x=None,
          enc_epochs=0, init_from=None, teacher_logits=None, norm_x=None):
    """One relmask train run. enc_x: the encoded train images, used in epochs 1..enc_epochs (--encoded-epochs),
    raw ones after; the normalization comes from the raw train images (norm_x overrides, e.g. the channel
    encoding's). init_from: a state_dict (--init-from). teacher_logits: the source model's logits on the raw
    train images (--distill). Returns (model of the best validation epoch, its mean, std, history)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    classes = int(max(train_y.max(), val_y.max()) + 1)
    model = make_net(net_name, train_x.shape[1], classes)
    if init_from is not None:
        model.load_state_dict(init_from)
    mf = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=mf)
    mean, std = pixel_stats(train_x if norm_x is None else norm_x)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    n = len(train_x)
    steps = n // batch                                   # drop_last, as relmask
    if steps == 0:
        sys.exit("experiment_torch.py: the train split (%d) is smaller than a batch (%d)" % (n, batch))
    best_acc, best_state, hist = -1.0, None, {"val_accuracy": [], "val_loss": [], "seconds": [], "train_loss": []}
    for epoch in range(epochs):
        t0 = time.perf_counter()
        src = enc_x if (enc_x is not None and epoch < enc_epochs) else train_x
        perm = rng.permutation(n)
        model.train()
        losses = []
        for s in range(steps):
            for g in opt.param_groups:
                g["lr"] = lr_at(epoch + s / steps, lr, epochs, warmup)
            idx = perm[s * batch:(s + 1) * batch]
            xb = to_tensor(augment(src[idx], rng, hflip=True, shift=2), mean, std, args.channels_last)
            yb = torch.from_numpy(train_y[idx])
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            if teacher_logits is not None:      # Hinton et al. 2015, as relmask --distill
                T, A = args.kd_temperature, args.kd_alpha
                soft = F.kl_div(F.log_softmax(logits / T, 1), F.softmax(teacher_logits[idx] / T, 1),
                                reduction="batchmean")
                loss = (1 - A) * loss + A * T * T * soft
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        acc, vloss, _ = evaluate(model, val_x, val_y, mean, std, args.channels_last)
        hist["val_accuracy"].append(acc)
        hist["val_loss"].append(vloss)
        hist["train_loss"].append(float(np.mean(losses)))
        hist["seconds"].append(time.perf_counter() - t0)
        if not args.quiet:
            print("  epoch %2d/%d  loss %.4f  val acc %.4f  %.1f s" % (epoch + 1, epochs, hist["train_loss"][-1],
                                                                    acc, hist["seconds"][-1]), file=sys.stderr)
        if acc > best_acc:                          # the model file holds the best epoch by validation accuracy
            best_acc, best_state = acc, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return model, mean, std, hist


# ---------------------------------------------------------------------------------------------------------------
# LRP, epsilon-plus-flat, written out per layer (bench/peers/torch_peer.py's rules)
# ---------------------------------------------------------------------------------------------------------------
def lrp_epsilon_plus_flat(model, x):
    """Heatmaps (B, H, W) of the predicted class: flat on the first convolution, z+ (positive weights and
    biases) on the other convolutions, epsilon on the dense layers, ReLU passes relevance, max pooling gives a
    window's relevance to its winner. Also returns the logits."""
    layers = list(model)
    acts, pools = [], []
    a = x
    for m in layers:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            z = m(a)
            acts.append((a, z))
            a = z
        elif isinstance(m, nn.MaxPool2d):
            out, idx = F.max_pool2d(a, 2, 2, return_indices=True)
            pools.append((a, idx))
            a = out
        elif isinstance(m, nn.Flatten):
            flat_shape = a.shape
            a = m(a)
        else:
            a = m(a)
    logits = a
    pred = logits.argmax(1)
    R = torch.zeros_like(logits).scatter_(1, pred[:, None], logits.gather(1, pred[:, None]))
    k = len(acts)
    first_conv = next(i for i, m in enumerate(layers) if isinstance(m, nn.Conv2d))
    for i in range(len(layers) - 1, -1, -1):
        m = layers[i]
        if isinstance(m, nn.Linear):
            k -= 1
            a_in, z = acts[k]
            R = a_in * ((R / stab(z, LRP_EPS)) @ m.weight)
        elif isinstance(m, nn.Flatten):
            R = R.reshape(flat_shape)
        elif isinstance(m, nn.MaxPool2d):
            pin, idx = pools.pop()
            R = torch.ops.aten.max_pool2d_with_indices_backward(R, pin, [2, 2], [2, 2], [0, 0], [1, 1], False, idx)
        elif isinstance(m, nn.Conv2d):
            k -= 1
            a_in, z = acts[k]
            cv = (m.weight, m.bias, m.stride, m.padding, m.groups)
            if i == first_conv:
                R = conv_flat(R, a_in, z, cv, ZPLUS_STAB)
            else:
                R = conv_zplus(R, a_in, z, cv, ZPLUS_STAB, rectified=True)   # its input is a ReLU's output
    return R.sum(1), logits


def compute_relevance(model, x_u8, mean, std, channels_last, batch=64):
    model.eval()
    heat, logits = [], []
    with torch.inference_mode():
        for i in range(0, len(x_u8), batch):
            h, lg = lrp_epsilon_plus_flat(model, to_tensor(x_u8[i:i + batch], mean, std, channels_last))
            heat.append(h.float().numpy())
            logits.append(lg.float())
    return np.concatenate(heat), torch.cat(logits)


# ---------------------------------------------------------------------------------------------------------------
# relevance quality (relmask relevance-eval defaults: 20 steps, 4x4 regions, fraction 0.5, mean baseline,
# 3 random orders; region mass and pointing game at tolerance 0)
# ---------------------------------------------------------------------------------------------------------------
def relevance_eval(model, x_u8, heat, regions, mean, std, baseline_pixel, args, steps=20, region=4, fraction=0.5,
                   orders=3):
    n, c, h, w = x_u8.shape
    ry, rx = (h + region - 1) // region, (w + region - 1) // region
    T = ry * rx
    region_of = (np.arange(h)[:, None] // region) * rx + np.arange(w)[None, :] // region    # (H, W) region ids
    M = max(1, int(round(fraction * T)))
    n_k = np.floor(np.arange(steps + 1) * M / steps + 0.5).astype(int)                   # regions replaced
    aopc_rel, aopc_rnd, aopc_rel_p, aopc_rnd_p = [], [], [], []
    model.eval()
    for i in range(n):
        sums = np.bincount(region_of.ravel(), weights=heat[i].ravel(), minlength=T)
        ords = [np.argsort(-sums, kind="stable")]
        rng = np.random.default_rng([args.seed, i])
        ords += [rng.permutation(T) for _ in range(orders)]
        rank = np.empty((len(ords), T), int)
        for o, order in enumerate(ords):
            rank[o, order] = np.arange(T)
        # replaced[o, k, y, x]: pixel (y, x) is replaced at step k of order o
        replaced = rank[:, region_of][:, None] < n_k[None, :, None, None]
        img = x_u8[i].astype(np.float32)
        batch = np.where(replaced[:, :, None], np.float32(baseline_pixel)[None, None, :, None, None],
                         img[None, None])
        batch = batch.reshape(-1, c, h, w)
        with torch.inference_mode():
            xt = (torch.from_numpy(batch) / 255.0 - torch.from_numpy(mean)[:, None, None]) \
                / torch.from_numpy(std)[:, None, None]
            if args.channels_last:
                xt = xt.contiguous(memory_format=torch.channels_last)
            logits = model(xt).double()
        e = int(logits[0].argmax())
        f = logits[:, e].numpy().reshape(len(ords), steps + 1)
        p = torch.softmax(logits, 1)[:, e].numpy().reshape(len(ords), steps + 1)
        aopc = (f[:, :1] - f[:, 1:]).mean(1)
        aopc_p = (p[:, :1] - p[:, 1:]).mean(1)
        aopc_rel.append(aopc[0]), aopc_rnd.append(aopc[1:].mean())
        aopc_rel_p.append(aopc_p[0]), aopc_rnd_p.append(aopc_p[1:].mean())
    diff = np.array(aopc_rel) - np.array(aopc_rnd)
    res = {"images": n, "aopc_logit_relevance": float(np.mean(aopc_rel)), "aopc_logit_random": float(np.mean(aopc_rnd)),
           "aopc_logit_diff": float(diff.mean()), "aopc_logit_diff_se": float(diff.std(ddof=1) / math.sqrt(n))
           if n > 1 else 0.0, "aopc_prob_relevance": float(np.mean(aopc_rel_p)),
           "aopc_prob_random": float(np.mean(aopc_rnd_p))}
    if regions is not None:
        g = regions[:n] != 0
        pos = np.maximum(heat[:n], 0)
        tot = pos.sum(axis=(1, 2))
        ok = tot > 0
        mass = (pos * g).sum(axis=(1, 2))[ok] / tot[ok]
        area = g.mean(axis=(1, 2))
        flat = heat[:n].reshape(n, -1)
        top = flat == flat.max(1, keepdims=True)                 # tied maxima share the hit
        hit = (top & g.reshape(n, -1)).sum(1) / top.sum(1)
        res.update({"positive_mass": float(mass.mean()), "area": float(area.mean()),
                    "positive_mass_over_chance": float(mass.mean() / area.mean()), "pointing": float(hit.mean()),
                    "pointing_over_chance": float(hit.mean() / area.mean())})
    return res


# ---------------------------------------------------------------------------------------------------------------
# encodings (relmask encode, docs/encode.md), every record at once in numpy
# ---------------------------------------------------------------------------------------------------------------
def gauss_smooth(r, sigma):
    """Separable Gaussian, radius ceil(3 sigma), edge-clamped, on (N, H, W)."""
    if sigma <= 0:
        return r
    rad = int(math.ceil(3 * sigma))
    taps = np.exp(-np.arange(-rad, rad + 1) ** 2 / (2 * sigma * sigma))
    taps /= taps.sum()
    for axis in (2, 1):                          # rows, then columns
        pad = [(0, 0)] * 3
        pad[axis] = (rad, rad)
        p = np.pad(r, pad, mode="edge")
        size = r.shape[axis]
        r = sum(t * np.take(p, np.arange(j, j + size), axis=axis) for j, t in enumerate(taps))
    return r


def process_relevance(heat, smooth):
    """positive part, smoothing, normalized by each map's maximum (an all-zero map stays zero)."""
    r = gauss_smooth(np.maximum(heat.astype(np.float64), 0), smooth)
    mx = r.max(axis=(1, 2), keepdims=True)
    return np.where(mx > 0, r / np.where(mx > 0, mx, 1), 0)


def select_top(rn, keep):
    """The floor(keep H W + 1/2) pixels of largest rn per image (ties: lower index), never rn = 0."""
    n, h, w = rn.shape
    k = int(math.floor(keep * h * w + 0.5))
    flat = rn.reshape(n, -1)
    order = np.argsort(-flat, axis=1, kind="stable")
    sel = np.zeros_like(flat, dtype=bool)
    np.put_along_axis(sel, order[:, :k], True, axis=1)
    return (sel & (flat > 0)).reshape(n, 1, h, w)


def round_u8(v):
    return np.clip(np.floor(v + 0.5), 0, 255).astype(np.uint8)


def encode(mode, x, rn, train_mean, keep, floor=0.2, channel_constant=None):
    """x uint8 (N, C, H, W), rn (N, H, W) processed relevance; returns the encoded uint8 stack."""
    fill = train_mean[None, :, None, None]
    if mode == "mean":
        return np.where(select_top(rn, keep), x, round_u8(fill)).astype(np.uint8)
    if mode == "negative":                      # --fill zero (the default)
        return np.where(select_top(rn, keep), 0, x).astype(np.uint8)
    if mode == "soft":                          # --fill mean, --floor 0.2
        wgt = floor + (1 - floor) * np.minimum(rn, 1)[:, None]
        return round_u8(fill + (x - fill) * wgt)
    if mode == "mask":
        sel = select_top(rn, keep)
        return np.repeat(np.where(sel, 255, 0).astype(np.uint8), x.shape[1], axis=1)
    if mode == "channel":
        plane = round_u8(255 * np.minimum(rn, 1))[:, None]
        if channel_constant is not None:
            plane = np.full_like(plane, channel_constant)
        return np.concatenate([x, plane], axis=1)
    sys.exit("experiment_torch.py: encoding %s is not written here" % mode)


# ---------------------------------------------------------------------------------------------------------------
# results.csv
# ---------------------------------------------------------------------------------------------------------------
def mean_std(v):
    v = [x for x in v if x is not None]
    if not v:
        return "", ""
    return "%.10g" % np.mean(v), ("%.10g" % np.std(v, ddof=1) if len(v) > 1 else "")


def write_results(path, results, conditions):
    """One row per condition, relmask's results.csv columns up to test accuracy (no Wilcoxon/Holm/bootstrap)."""
    curves = [r["hist"]["val_accuracy"] for r in results.get("raw", []) if r.get("hist")]
    B = float(np.mean([c[-1] for c in curves])) if curves else float("nan")
    thr = (0.90 * B, 0.95 * B)
    cols = ["condition", "baseline", "n_seeds", "n_curves", "final_val_acc_pct_mean", "final_val_acc_pct_std",
            "best_val_acc_pct_mean", "best_val_acc_pct_std", "aulc_pct_mean", "aulc_pct_std",
            "epochs_to_90_mean", "epochs_to_90_std", "epochs_to_90_reached", "seconds_to_90_mean",
            "seconds_to_90_std", "epochs_to_95_mean", "epochs_to_95_std", "epochs_to_95_reached",
            "seconds_to_95_mean", "seconds_to_95_std", "train_seconds_mean", "train_seconds_std",
            "test_acc_pct_mean", "test_acc_pct_std", "threshold_90_pct", "threshold_95_pct"]
    with open(path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(cols)
        for cond in conditions:
            runs = results.get(cond, [])
            hs = [r["hist"] for r in runs if r.get("hist")]
            row = [cond, int(cond == "raw"), len(runs), len(hs)]
            row += mean_std([100 * h["val_accuracy"][-1] for h in hs])
            row += mean_std([100 * max(h["val_accuracy"]) for h in hs])
            row += mean_std([100 * np.mean(h["val_accuracy"]) for h in hs])
            for t in thr:
                ep, sec = [], []
                for h in hs:
                    e = next((k for k, v in enumerate(h["val_accuracy"]) if v >= t), None)
                    if e is not None:
                        ep.append(e + 1)
                        sec.append(sum(h["seconds"][:e + 1]))
                row += list(mean_std(ep)) + [len(ep)] + list(mean_std(sec))
            row += mean_std([sum(h["seconds"]) for h in hs])
            row += mean_std([100 * r["test_acc"] for r in runs])
            row += ["%.10g" % (100 * t) for t in thr]
            wr.writerow(row)


# ---------------------------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", required=True, help="source.h5 (relmask synth --domain source)")
    ap.add_argument("--target", required=True, help="target.h5 (relmask synth --domain target)")
    ap.add_argument("--out", required=True, help="folder for results.csv, relevance_eval.json, timings")
    ap.add_argument("--timings", default=None, help="append each stage's JSON line here (default OUT/timings.jsonl)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tuned", action="store_true", help="as torch_peer.py --tuned: OpenBLAS, malloc tunables "
                    "(re-exec) and channels-last tensors")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--quiet", action="store_true", help="no per-epoch lines on stderr")
    # config.mk's settings, same names
    ap.add_argument("--seed", type=int, default=1, help="SEED: the source model's seed")
    ap.add_argument("--seeds", default="1 2 3 4 5", help="SEEDS: the students' seeds")
    ap.add_argument("--source-net", default="fer-small")
    ap.add_argument("--source-epochs", type=int, default=12)
    ap.add_argument("--source-lr", type=float, default=0.02)
    ap.add_argument("--source-batch", type=int, default=64)
    ap.add_argument("--student-net", default="fer-small")
    ap.add_argument("--student-epochs", type=int, default=20)
    ap.add_argument("--student-batch", type=int, default=32)
    ap.add_argument("--student-lr", type=float, default=0.01)
    ap.add_argument("--finetune-lr", type=float, default=0.005)
    ap.add_argument("--encoded-epochs", type=int, default=5, help="ENCODED_SCHEDULE=--encoded-epochs K")
    ap.add_argument("--encodings", default="mean soft negative channel mask")
    ap.add_argument("--extra-conditions", default="", help="kd and/or kd-<encoding>")
    ap.add_argument("--keep", type=float, default=0.3, help="ENCODE_KEEP")
    ap.add_argument("--smooth", type=float, default=1.0, help="ENCODE_SMOOTH")
    ap.add_argument("--quality-images", type=int, default=500, help="QUALITY_IMAGES")
    ap.add_argument("--kd-temperature", type=float, default=4.0)
    ap.add_argument("--kd-alpha", type=float, default=0.5)
    args = ap.parse_args()
    if args.tuned:
        args.channels_last = True
    os.makedirs(args.out, exist_ok=True)
    log = args.timings or os.path.join(args.out, "timings.jsonl")
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split()]
    encodings = args.encodings.split()
    extra = args.extra_conditions.split()
    cl = args.channels_last
    t_start = time.perf_counter()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)

    with Stage("load", log):
        src, tgt = load_dataset(args.source), load_dataset(args.target)
    classes = len(tgt["class_names"])
    tr_x, tr_y = split_of(tgt, 0)
    va_x, va_y = split_of(tgt, 1)
    te_x, te_y = split_of(tgt, 2)

    # --- source model (SOURCE_MODEL_ARGS: batch 64, lr 0.02, nesterov, wd 5e-4, cosine, no warm-up) ---------
    with Stage("source", log) as st:
        sx, sy = split_of(src, 0)
        svx, svy = split_of(src, 1)
        src_model, s_mean, s_std, s_hist = train(args, args.source_net, sx, sy, svx, svy, args.source_epochs,
                                                 args.source_batch, args.source_lr, 0, args.seed)
        stx, sty = split_of(src, 2)
        st.info["source_test_acc"] = round(evaluate(src_model, stx, sty, s_mean, s_std, cl)[0], 4)
        st.info["target_test_acc"] = round(evaluate(src_model, te_x, te_y, s_mean, s_std, cl)[0], 4)
    source_state = copy.deepcopy(src_model.state_dict())

    # --- relevance: every target record, the prediction explained (RELEVANCE_TARGET=pred) ---------------------
    # (relmask computes relevance_channel.h5 separately; with CHANNEL_RELEVANCE_TARGET=pred it is the same map,
    #  so this script reuses it)
    with Stage("relevance", log) as st:
        heat, _ = compute_relevance(src_model, tgt["images"], s_mean, s_std, cl)
        st.info["records"] = len(heat)

    with Stage("relevance_eval", log) as st:
        q = args.quality_images
        baseline = tr_x.astype(np.float64).mean(axis=(0, 2, 3))
        regions = tgt["regions"][:q] if tgt["regions"] is not None else None
        qual = relevance_eval(src_model, tgt["images"][:q], heat[:q], regions, s_mean, s_std, baseline, args)
        with open(os.path.join(args.out, "relevance_eval.json"), "w") as f:
            json.dump(qual, f, indent=1)
        st.info.update({k: round(v, 4) for k, v in qual.items() if k in ("aopc_logit_diff", "positive_mass_over_chance")})

    # --- encodings ----------------------------------------------------------------------------------------
    with Stage("encode", log) as st:
        rn = process_relevance(heat, args.smooth)
        train_mean = tr_x.astype(np.float64).mean(axis=(0, 2, 3))     # the mean fill, per channel, 0..255
        enc = {}
        for m in encodings:
            enc[m] = encode(m, tgt["images"], rn, train_mean, args.keep)
        if "channel" in encodings:             # channel-const: the train records' mean relevance byte
            plane = enc["channel"][tgt["split"] == 0, -1].astype(np.int64)
            const = int(math.floor(plane.sum() / plane.size + 0.5))
            enc["channel-const"] = encode("channel", tgt["images"], rn, train_mean, args.keep,
                                          channel_constant=const)
        st.info["encodings"] = sorted(enc)

    # --- students -------------------------------------------------------------------------------------------
    conditions = ["raw", "finetune"] + encodings + (["channel-const"] if "channel" in encodings else []) \
        + (["fuse-negative"] if "negative" in encodings else []) + extra
    results, models = {}, {}
    teacher = None
    if any(c == "kd" or c.startswith("kd-") for c in extra):
        teacher = predict_logits(src_model, tr_x, s_mean, s_std, cl)      # soft targets of the raw train images
    for cond in conditions:
        with Stage("student:" + cond, log) as st:
            runs = []
            for seed in seeds:
                kw = {}
                if cond == "channel-const":      # the channel models on a constant relevance plane
                    model, mean, std = models[("channel", seed)]
                    cx, cy = split_of(tgt, 2, enc["channel-const"])
                    acc = evaluate(model, cx, cy, mean, std, cl)[0]
                    runs.append({"seed": seed, "test_acc": acc})
                    continue
                if cond == "fuse-negative":      # raw and negative students' probabilities averaged
                    p = 0
                    for member in ("raw", "negative"):
                        model, mean, std = models[(member, seed)]
                        p = p + 0.5 * torch.softmax(predict_logits(model, te_x, mean, std, cl).double(), 1)
                    acc = (p.argmax(1).numpy() == te_y).mean()
                    runs.append({"seed": seed, "test_acc": float(acc)})
                    continue
                if cond in ("channel", "mask"):  # trained, validated and tested on their encoded file
                    x_tr, y_tr = split_of(tgt, 0, enc[cond])
                    x_va, y_va = split_of(tgt, 1, enc[cond])
                    x_te, y_te = split_of(tgt, 2, enc[cond])
                    model, mean, std, hist = train(args, args.student_net, x_tr, y_tr, x_va, y_va,
                                                   args.student_epochs, args.student_batch, args.student_lr, 1,
                                                   seed)
                else:
                    x_te, y_te = te_x, te_y
                    if cond == "finetune":       # FINETUNE_ARGS: the source weights, lr 0.005, no warm-up
                        kw.update(init_from=source_state, warmup=0, lr=args.finetune_lr, net=args.source_net)
                    base = cond[3:] if cond.startswith("kd-") else cond
                    if base in enc:              # ENCODED_SCHEDULE: encoded first, raw afterwards
                        kw.update(enc_x=enc[base][tgt["split"] == 0], enc_epochs=args.encoded_epochs)
                    if cond == "kd" or cond.startswith("kd-"):
                        kw["teacher_logits"] = teacher
                    model, mean, std, hist = train(args, kw.pop("net", args.student_net), tr_x, tr_y, va_x, va_y,
                                                   args.student_epochs, args.student_batch, kw.pop("lr", args.student_lr),
                                                   kw.pop("warmup", 1), seed, **kw)
                acc = evaluate(model, x_te, y_te, mean, std, cl)[0]
                models[(cond, seed)] = (model, mean, std)
                runs.append({"seed": seed, "test_acc": acc, "hist": hist})
            results[cond] = runs
            st.info["test_acc"] = [round(r["test_acc"], 4) for r in runs]
            st.info["seeds"] = seeds

    with Stage("report", log):
        write_results(os.path.join(args.out, "results.csv"), results, conditions)

    ru = resource.getrusage(resource.RUSAGE_SELF)
    total = {"stage": "total", "wall_s": round(time.perf_counter() - t_start, 3),
             "cpu_s": round(ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime, 3),
             "peak_rss_mb": round(ru.ru_maxrss / 1024.0, 1), "threads": args.threads, "tuned": args.tuned,
             "torch": torch.__version__}
    print(json.dumps(total), flush=True)
    with open(log, "a") as f:
        f.write(json.dumps(total) + "\n")


if __name__ == "__main__":
    maybe_reexec_tuned(sys.argv)
    main()
