"""Class-conditional digits: simdiff's UNet against diffusers' UNet2DModel, speed and sample quality.

Data: scikit-learn's 8x8 digits, the training part of ``holdout_split("digits")`` (1,438 images;
the 359 held-out ones are FID-digits' reference). Both networks are class-conditional epsilon
predictors of about 1.08M parameters:

* simdiff ``UNet(resolution=8, in_channels=1, base_channels=32, num_classes=10)`` (widths 32, 64;
  two residual blocks per level; attention at 4x4 and in the middle; scale-shift time embedding);
* diffusers ``UNet2DModel(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(32, 64),
  layers_per_block=2, down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=
  ("AttnUpBlock2D", "UpBlock2D"), attention_head_dim=16, resnet_time_scale_shift="scale_shift",
  num_class_embeds=11)``: the same layout (4 attention heads of 16 channels, scale-shift norm), 11
  class embeddings = 10 digits + the null label 10 for classifier-free guidance. It runs as a simdiff
  model through :class:`DiffusersEps`: ``model(x, t, label) = unet(x, 1000 t, class_labels=label)``
  (simdiff's UNet scales ``t`` by 1000 inside, so both see the same time input).

Three parts, in one process:

1. **Training throughput**: images/s of one training step (forward, eps-MSE loss, backward, AdamW
   step) at batch 128, on fixed pre-noised batches (``VPSDE().noise``: only the network differs);
   fresh copies of both nets, a few warm-up steps, then ``--rounds`` rounds in which the two take
   turns (``--round-steps`` steps each); median and fastest round.
2. **Time-budgeted training** of each net for ``--budget`` seconds of its own wall time (default 900
   = the issue's 15 minutes; ``--quick`` 60) with simdiff's ``Trainer`` for both (AdamW, lr 5e-4,
   warm-up 200 steps, cosine to zero, EMA 0.999, gradient clipping 1.0, label dropout 0.1, seed 0:
   the same data order, times, noise and label dropout for both; the warm-up shrinks to a fifth of
   the estimated steps when that is fewer than 200). The step count of the cosine is
   estimated from the throughput of part 1, then re-estimated once from the Trainer's own rate
   during warm-up (before the cosine starts, so the schedule is one cosine). The two trainings
   take turns in chunks of about 1/40 of the budget, so a change in the machine's load hits both.
   Then each EMA model samples ``--n`` digits (balanced: ``n/10`` per class) with simdiff's
   ``dpmpp_2m`` at 20 NFE, the same seed (the same x_T) for both, at each ``--guidance`` scale
   (default 1.0 and 2.0), scored by ``evaluate_digits``: FID-digits against the held-out set (its
   real-vs-real floor at n = 1000 beside it), classifier confidence, accuracy against the requested
   labels, class entropy (ln 10 = 2.303 is uniform) and coverage. A row of ``--n`` real training
   images gives the scale.
3. **Sampling time**: 64 conditional digits (labels 0..9 cycling), ``dpmpp_2m``, 20 steps,
   guidance 2.0 (two halves in one batch of 128 per step), for simdiff's shipped model if
   ``simdiff.generative.shipped()`` lists ``"digits"`` (``load("digits")``), else simdiff's model
   from part 2; diffusers' model from part 2 beside it. One warm-up call, then the median (and
   fastest) of ``--sample-repeats``. Goal: under 1 s for the 64.

Torch runs on ``--threads`` threads (default 2). Results go to ``benchmarks/bench_generate.json``.

Run:  .venv/bin/python benchmarks/bench_generate.py            (about 32 minutes: 2 x 15 min training)
      .venv/bin/python benchmarks/bench_generate.py --quick    (60 s budget, guidance 1.0 only, ~3 min)
      .venv/bin/python benchmarks/bench_generate.py --budget 5 --n 200 --threads 1   (smoke test)
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from simdiff.generative import VPSDE, sample
from simdiff.generative.data import digits
from simdiff.generative.metrics import evaluate_digits, holdout_split
from simdiff.generative.nets import UNet
from simdiff.generative.train import Trainer

HERE = Path(__file__).resolve().parent
from _common import diffusers_version as _diffusers_version, source_state as _source_state, torch_run_info  # noqa: E402
BATCH = 128
NUM_CLASSES = 10
RECIPE = dict(batch_size=BATCH, lr=5e-4, weight_decay=0.0, ema_decay=0.999, grad_clip=1.0, warmup=200,
              cond_drop=0.1, seed=0)
SAMPLER = dict(method="dpmpp_2m", steps=20)
DIFFUSERS_CONFIG = dict(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(32, 64), layers_per_block=2,
                        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                        up_block_types=("AttnUpBlock2D", "UpBlock2D"), attention_head_dim=16, norm_num_groups=32,
                        resnet_time_scale_shift="scale_shift", num_class_embeds=NUM_CLASSES + 1)
SIMDIFF_CONFIG = dict(resolution=8, in_channels=1, base_channels=32, channel_mult=None, num_res_blocks=2,
                      attn_resolutions=None, num_classes=NUM_CLASSES, prediction="eps")


# ----------------------------------------------------------------------------------------------
# The two networks

class DiffusersEps(torch.nn.Module):
    """diffusers' ``UNet2DModel`` as a simdiff model: ``model(x, t, label) -> eps``, with ``t`` in
    the forward process's units (0..1) scaled to diffusers' 0..1000 step axis."""

    prediction = "eps"
    conditional = True
    num_classes = NUM_CLASSES
    null_label = NUM_CLASSES

    def __init__(self, **config):
        super().__init__()
        from diffusers import UNet2DModel

        self.unet = UNet2DModel(**config)
        # what Trainer asks of a net (it records it; nothing is saved here)
        self.config = {"type": "diffusers.UNet2DModel", **{k: list(v) if isinstance(v, tuple) else v
                                                           for k, v in config.items()}}

    def forward(self, x, t, label=None):
        t = torch.as_tensor(t, device=x.device).reshape(-1).expand(x.shape[0])
        if label is None:
            label = torch.full((x.shape[0],), self.null_label, dtype=torch.long, device=x.device)
        return self.unet(x, t * 1000.0, class_labels=label, return_dict=False)[0]


def build(kind: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return UNet(**SIMDIFF_CONFIG) if kind == "simdiff" else DiffusersEps(**DIFFUSERS_CONFIG)


def n_params(net) -> int:
    return sum(p.numel() for p in net.parameters())


LABELS = {"simdiff": "simdiff UNet", "diffusers": "diffusers UNet2DModel"}


# ----------------------------------------------------------------------------------------------
# 1. training throughput

def throughput(kinds, x, y, sde, rounds, round_steps, warmup=3, n_batches=4):
    """images/s of forward + eps-MSE + backward + AdamW step, the nets taking turns round by round."""
    g = torch.Generator().manual_seed(1)
    batches = []
    for _ in range(n_batches):
        idx = torch.randint(0, x.shape[0], (BATCH,), generator=g)
        t = sde.sample_time(BATCH, generator=g)
        eps = torch.randn((BATCH, *x.shape[1:]), generator=g)
        xt, _ = sde.noise(x[idx], t, eps=eps)
        batches.append((xt, t, eps, y[idx]))
    nets = {k: build(k).train() for k in kinds}
    opts = {k: torch.optim.AdamW(nets[k].parameters(), lr=RECIPE["lr"]) for k in kinds}

    def steps(k, n, start=0):
        net, opt = nets[k], opts[k]
        for i in range(n):
            xt, t, eps, lab = batches[(start + i) % n_batches]
            loss = torch.nn.functional.mse_loss(net(xt, t, label=lab), eps)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    first = {}
    for k in kinds:
        t0 = time.perf_counter()
        steps(k, warmup)
        first[k] = time.perf_counter() - t0
    per = {k: [] for k in kinds}
    for r in range(rounds):
        for k in (kinds if r % 2 == 0 else kinds[::-1]):
            t0 = time.perf_counter()
            steps(k, round_steps, r * round_steps)
            per[k].append(time.perf_counter() - t0)
    out = {}
    for k in kinds:
        med, best = statistics.median(per[k]), min(per[k])
        out[k] = dict(params=n_params(nets[k]), images_per_s=round_steps * BATCH / med,
                      images_per_s_best=round_steps * BATCH / best, ms_per_step=med / round_steps * 1e3,
                      warmup_s=first[k], round_s=per[k], spread=(max(per[k]) - best) / best)
    return out


# ----------------------------------------------------------------------------------------------
# 2. time-budgeted training

class Run:
    """One net's time-budgeted training; its clock counts only its own chunks."""

    def __init__(self, kind, x, y, sde, budget, est_steps_per_s):
        self.kind, self.budget = kind, budget
        self.net = build(kind)
        est = max(1, int(budget * est_steps_per_s))
        warmup = min(RECIPE["warmup"], max(1, est // 5))          # tiny budgets: a shorter warm-up
        self.trainer = Trainer(self.net, sde, x, y, **{**RECIPE, "warmup": warmup}, total_steps=est, device="cpu",
                               amp=None, out=None, progress=False, checkpoint_every=None, log_every=50)
        self.estimate_from_throughput = est
        self.calibration = max(1, min(warmup, est // 10))
        self.calibrated = False
        self.clock = 0.0
        self.chunk = max(1, est // 40)
        self.done = False
        self.load = [os.getloadavg()[0]]

    def advance(self):
        tr = self.trainer
        if not self.calibrated:
            n = self.calibration
        else:
            rate = tr.step / self.clock
            n = min(self.chunk, tr.total_steps - tr.step, max(1, math.ceil((self.budget - self.clock) * rate)))
        t0 = time.perf_counter()
        tr.fit(n)
        self.clock += time.perf_counter() - t0
        if not self.calibrated:
            # re-estimate the schedule's length from the Trainer's own rate, still inside warm-up
            rate = tr.step / self.clock
            tr.total_steps = max(tr.step, tr.step + int(max(self.budget - self.clock, 0.0) * rate))
            self.chunk = max(1, tr.total_steps // 40)
            self.calibrated = True
        self.load.append(os.getloadavg()[0])
        self.done = tr.step >= tr.total_steps or self.clock >= self.budget

    def summary(self):
        tr = self.trainer
        rows = tr.history[-5:]
        last = sum(r["loss"] for r in rows) / len(rows) if rows else None
        return dict(steps=tr.step, scheduled_steps=tr.total_steps,
                    estimate_from_throughput=self.estimate_from_throughput,
                    warmup=tr.warmup, wall_s=self.clock, images_per_s=tr.step * BATCH / max(self.clock, 1e-9),
                    images_seen=tr.step * BATCH, epochs=tr.step * BATCH / tr.data.shape[0],
                    final_lr=tr.lr_now(tr.step - 1) if tr.step else None, schedule_complete=tr.step >= tr.total_steps,
                    loss_last=last, loss_last_steps=len(rows) * tr.log_every,
                    loss_curve=[(r["step"], r["loss"]) for r in tr.history],
                    loadavg_min=min(self.load), loadavg_max=max(self.load))


def train_all(kinds, x, y, sde, budget, rates):
    runs = {k: Run(k, x, y, sde, budget, rates[k]) for k in kinds}
    while not all(r.done for r in runs.values()):
        for k in kinds:
            if not runs[k].done:
                runs[k].advance()
    return runs


def quality(model, sde, n, guidance, seed=0):
    labels = torch.arange(n) % NUM_CLASSES
    t0 = time.perf_counter()
    xs = sample(model, sde, (n, 1, 8, 8), **SAMPLER, seed=seed, label=labels, guidance=guidance)
    wall = time.perf_counter() - t0
    ev = evaluate_digits(xs, labels, dataset="digits")
    ev["sample_s"] = wall
    ev["finite"] = bool(torch.isfinite(xs).all())
    return ev


def real_reference(x, y, n):
    pick = np.random.default_rng(0).choice(x.shape[0], min(n, x.shape[0]), replace=False)
    return evaluate_digits(x[pick], y[pick], dataset="digits")


# ----------------------------------------------------------------------------------------------
# 3. sampling time

def sampling_time(model, sde, repeats, n=64, guidance=2.0):
    labels = torch.arange(n) % NUM_CLASSES
    go = lambda: sample(model, sde, (n, 1, 8, 8), **SAMPLER, seed=0, label=labels, guidance=guidance)  # noqa: E731
    t0 = time.perf_counter()
    go()
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        go()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return dict(n=n, guidance=guidance, first_s=first, median_s=med, best_s=min(times), times_s=times,
                ms_per_image=med / n * 1e3, goal_met=med < 1.0)


# ----------------------------------------------------------------------------------------------
# Reporting

def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def fmt(v, spec=".3f"):
    return "–" if v is None else format(v, spec)


def threads(n):
    return f"{n} thread{'s' if n != 1 else ''}"




def source_state():
    """The commit and the state of the sources this benchmark exercises."""
    files = ("nets/unet.py", "train.py", "samplers.py", "sde.py", "denoiser.py", "ema.py", "metrics.py")
    return _source_state([f"simdiff/generative/{f}" for f in files])


def diffusers_version():
    return _diffusers_version("UNet2DModel")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", type=float, default=None, help="training seconds per net (default 900; --quick 60)")
    ap.add_argument("--n", type=int, default=1000, help="samples per model and guidance scale (a multiple of 10)")
    ap.add_argument("--guidance", default=None, help="guidance scales of the quality rows (default 1.0,2.0; "
                                                      "--quick 1.0)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--rounds", type=int, default=None, help="throughput rounds (default 5; --quick 3)")
    ap.add_argument("--round-steps", type=int, default=None,
                    help="training steps per net and throughput round (default 10; --quick 5)")
    ap.add_argument("--sample-repeats", type=int, default=None,
                    help="timed repeats of the 64-digit sampling (default 5; --quick 3)")
    ap.add_argument("--skip-diffusers", action="store_true", help="simdiff's UNet only")
    ap.add_argument("--quick", action="store_true",
                    help="defaults for a short run: 60 s budget, guidance 1.0 only, 3 throughput rounds of 5 "
                         "steps, 3 sampling repeats (options given explicitly win)")
    ap.add_argument("--json", default=str(HERE / "bench_generate.json"), help="where the results go")
    a = ap.parse_args(argv)
    defaults = dict(budget=(900.0, 60.0), guidance=("1.0,2.0", "1.0"), rounds=(5, 3), round_steps=(10, 5),
                    sample_repeats=(5, 3))
    for key, (full, quick) in defaults.items():
        if getattr(a, key) is None:
            setattr(a, key, quick if a.quick else full)
    if a.budget <= 0 or a.rounds < 1 or a.round_steps < 1 or a.sample_repeats < 1 or a.threads < 1:
        ap.error("--budget, --rounds, --round-steps, --sample-repeats and --threads must be positive")
    if a.n < 10 or a.n % NUM_CLASSES:
        ap.error(f"--n {a.n}: pass a multiple of {NUM_CLASSES} (n/10 samples per class)")
    guidances = [float(s) for s in a.guidance.split(",") if s.strip()]
    torch.set_num_threads(a.threads)

    dver, dnote = (None, "--skip-diffusers") if a.skip_diffusers else diffusers_version()
    kinds = ["simdiff"] + (["diffusers"] if dver else [])
    info = torch_run_info(dver, source_state())
    print(f"machine: {info['cpu']}, {info['cores']} cores | python {info['python']} torch {info['torch']} "
          f"diffusers {dver or 'not importable'} simdiff {info['simdiff']} | {threads(info['threads'])} | load "
          f"average {info['loadavg_before']}")
    src = info["source"]
    dirty = " with local changes to the generative sources" if src["sources_dirty"] else ""
    print(f"simdiff at {src['commit']}{dirty}")
    if not dver:
        print(f"diffusers rows skipped: {dnote}")
    wall0 = time.perf_counter()

    data = digits()
    train_idx, _ = holdout_split("digits")
    x, y = data.images[train_idx], data.labels[train_idx]
    sde = VPSDE()
    print(f"data: digits training split, {x.shape[0]} images {tuple(x.shape[1:])}; batch {BATCH}")

    # -- 1 ------------------------------------------------------------------------------------------
    tp = throughput(kinds, x, y, sde, a.rounds, a.round_steps)
    ref = tp.get("diffusers")
    print(f"\n1. Training throughput (forward + eps-MSE + backward + AdamW, batch {BATCH}, {threads(info['threads'])}; "
          f"median of {a.rounds} rounds of {a.round_steps} steps, fastest in brackets)\n")
    rows = []
    for k in kinds:
        r = tp[k]
        rows.append([LABELS[k], f"{r['params']:,}", f"{r['images_per_s']:.0f} ({r['images_per_s_best']:.0f})",
                     f"{r['ms_per_step']:.1f}", f"{r['images_per_s'] / ref['images_per_s']:.2f}x" if ref else "–"])
    print(md_table(["net", "params", "images/s", "ms/step", "vs diffusers"], rows))
    for k in kinds:
        if tp[k]["spread"] > 0.3:
            print(f"WARNING: {LABELS[k]}'s rounds spread by {tp[k]['spread']:.0%} (a busy machine): rerun.")

    # -- 2 ------------------------------------------------------------------------------------------
    rates = {k: tp[k]["images_per_s"] / BATCH for k in kinds}
    t0 = time.perf_counter()
    runs = train_all(kinds, x, y, sde, a.budget, rates)
    train_wall = time.perf_counter() - t0
    training = {k: runs[k].summary() for k in kinds}
    print(f"\n2. Time-budgeted training: {a.budget:g} s per net (turns of about 1/40 of the budget; {train_wall:.0f} s "
          f"in all), AdamW lr {RECIPE['lr']:g}, cosine, EMA {RECIPE['ema_decay']}\n")
    rows = []
    for k in kinds:
        s = training[k]
        rows.append([LABELS[k], f"{s['steps']:,} / {s['scheduled_steps']:,}", f"{s['wall_s']:.0f}",
                     f"{s['images_per_s']:.0f}", f"{s['epochs']:.0f}", fmt(s["loss_last"], ".4f"),
                     f"{s['loadavg_min']:.1f}-{s['loadavg_max']:.1f}"])
    print(md_table(["net", "steps done / scheduled", "train s", "images/s", "epochs",
                    "loss (last ≤250 steps)", "load average"], rows))
    for k in kinds:
        s = training[k]
        if not s["schedule_complete"]:
            print(f"NOTE: {LABELS[k]} ran out of budget at step {s['steps']:,} of {s['scheduled_steps']:,} (learning "
                  f"rate {s['final_lr']:.2e}, not yet 0): the machine got slower than estimated.")

    res_q = {}
    t0 = time.perf_counter()
    real = real_reference(x, y, a.n)
    for k in kinds:
        model = runs[k].trainer.ema.model.eval()
        res_q[k] = {g: quality(model, sde, a.n, g) for g in guidances}
    q_wall = time.perf_counter() - t0
    floor = real.get("fid_floor")
    print(f"\nSamples: {a.n} per row ({a.n // NUM_CLASSES} per class), {SAMPLER['method']} at {SAMPLER['steps']} NFE, "
          f"EMA weights, same seed; FID-digits against the held-out digits (real train vs held-out at n=1000: "
          f"{fmt(floor, '.2f')}{'; FID is biased up at n < 1000' if a.n < 1000 else ''}); {q_wall:.0f} s\n")
    rows = [[f"real digits ({min(a.n, x.shape[0])} of the train split)", "–", f"{real['fid']:.2f}",
             f"{real['confidence']:.3f}", f"{real['accuracy']:.3f}", f"{real['class_entropy']:.3f}",
             real["coverage"], "–"]]
    for k in kinds:
        for g, e in res_q[k].items():
            rows.append([LABELS[k], f"{g:g}", f"{e['fid']:.2f}", f"{e['confidence']:.3f}", f"{e['accuracy']:.3f}",
                         f"{e['class_entropy']:.3f}", e["coverage"], f"{e['sample_s']:.1f}"])
    print(md_table(["model", "guidance", "FID-digits", "confidence", "accuracy", "class entropy", "coverage",
                    "sampling s"], rows))

    # -- 3 ------------------------------------------------------------------------------------------
    from simdiff.generative import load, shipped

    timing = {}
    if "digits" in shipped():
        net = load("digits")
        timing["simdiff"] = dict(model="simdiff UNet, shipped load(\"digits\")", params=n_params(net),
                                 **sampling_time(net, net.sde, a.sample_repeats))
    else:
        timing["simdiff"] = dict(model="simdiff UNet trained in part 2 (no shipped digits model)",
                                 params=n_params(runs["simdiff"].net),
                                 **sampling_time(runs["simdiff"].trainer.ema.model, sde, a.sample_repeats))
    if "diffusers" in runs:
        timing["diffusers"] = dict(model="diffusers UNet2DModel trained in part 2",
                                   params=n_params(runs["diffusers"].net),
                                   **sampling_time(runs["diffusers"].trainer.ema.model, sde, a.sample_repeats))
    print(f"\n3. Sampling time: 64 conditional digits, {SAMPLER['method']}, {SAMPLER['steps']} steps, guidance 2.0 "
          f"(batch 128 per step), median of {a.sample_repeats} after one warm-up call\n")
    rows = [[v["model"], f"{v['median_s'] * 1e3:.0f} ({v['best_s'] * 1e3:.0f})",
             f"{v['ms_per_image']:.2f}", f"{v['first_s'] * 1e3:.0f}", "met" if v["goal_met"] else "missed"]
            for k, v in timing.items()]
    print(md_table(["model", "64 digits, ms (fastest)", "ms/image", "first call ms", "goal < 1 s"], rows))

    total = time.perf_counter() - wall0
    info["loadavg_after"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    end = source_state()["sources_sha1"]
    info["sources_sha1_end"] = end
    print(f"\ntotal benchmark time: {total:.0f} s; load average after {info['loadavg_after']}")
    if end != src["sources_sha1"]:
        print(f"WARNING: simdiff's generative sources changed during the run ({src['sources_sha1']} -> {end}); rerun.")
    out = {"info": info, "config": vars(a), "recipe": RECIPE, "sampler": SAMPLER,
           "nets": {"simdiff": SIMDIFF_CONFIG, "diffusers": {k: list(v) if isinstance(v, tuple) else v
                                                             for k, v in DIFFUSERS_CONFIG.items()}},
           "throughput": tp, "training": training, "training_wall_s": train_wall,
           "quality": {"real": real, **{k: {f"{g:g}": e for g, e in v.items()} for k, v in res_q.items()}},
           "sampling_time": timing, "total_s": total}
    Path(a.json).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
