r"""``Trainer``: denoising score matching for image (or any tensor) data, resumable bit for bit.

One step (Ho et al. 2020; Song et al. 2021 for the continuous-time form):

1. a batch :math:`x_0` (epochs of a seeded permutation), times :math:`t \sim U[t_{\min}, T]`
   (or the chain's steps), noise :math:`\epsilon \sim N(0, I)`, :math:`x_t = \alpha_t x_0 + \sigma_t\epsilon`;
2. for a class-conditional net, each label is replaced by the null label with probability
   ``cond_drop`` (so one net learns both halves of classifier-free guidance);
3. loss :math:`\lVert \hat y(x_t, t) - y \rVert^2` averaged, where :math:`y` is the target in the
   net's own parameterization (``eps``: :math:`\epsilon`, ``x0``: :math:`x_0`, ``v``:
   :math:`\alpha\epsilon - \sigma x_0`); a ``score`` net is weighted by :math:`\sigma_t^2`, which makes
   its loss the eps loss;
4. AdamW with the learning rate warmed up linearly over ``warmup`` steps, then cosine-decayed to
   zero at ``total_steps``; gradient-norm clipping; an EMA of the weights (what samples use).

Everything random draws from the trainer's own generators (data order, times and noise, label
dropout, and dropout inside the net), all saved in the checkpoint, so ``Trainer.resume(out)``
continues exactly: N steps, checkpoint, resume, M steps gives the weights of N + M steps.

>>> from simdiff.generative import VPSDE
>>> from simdiff.generative.data import digits
>>> from simdiff.generative.nets import UNet
>>> trainer = Trainer(UNet(resolution=8, base_channels=16), VPSDE(), digits(), total_steps=20,
...                   batch_size=32, progress=False)
>>> rows = trainer.fit(20)
"""
from __future__ import annotations

import csv
import math
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from simdiff.errors import CheckpointError, InputError, InputTypeError
from simdiff.generative.checkpoint import read_checkpoint, save_checkpoint, set_rng_state
from simdiff.generative.ema import EMA
from simdiff.generative.parameterization import convert
from simdiff.io.atomic import atomic_write

__all__ = ["Trainer", "lr_at"]

LOG_FIELDS = ("step", "loss", "lr", "images_per_s")
# the settings that model.json records and Trainer.resume reuses
SETTINGS = ("batch_size", "lr", "weight_decay", "ema_decay", "grad_clip", "warmup", "total_steps", "cond_drop",
            "seed", "amp", "checkpoint_every", "sample_every", "sample_steps", "sample_method", "n_samples",
            "log_every")


def lr_at(step: int, lr: float, warmup: int, total_steps: int) -> float:
    """Learning rate of step ``step`` (0-based): linear warm-up to ``lr`` over ``warmup`` steps,
    then :math:`\\tfrac12 lr\\,(1 + \\cos(\\pi\\,(s - w)/(S - w)))`, zero at ``total_steps``."""
    if step < warmup:
        return lr * (step + 1) / warmup
    span = max(total_steps - warmup, 1)
    return 0.5 * lr * (1.0 + math.cos(math.pi * min(step - warmup, span) / span))


class Trainer:
    """Train ``net`` to denoise ``data`` under the forward process ``sde``.

    Parameters
    ----------
    net
        A :class:`~simdiff.generative.nets.Net` (``net(x, t, label=None)``, ``net.prediction``).
    sde
        The forward process (:class:`~simdiff.generative.VPSDE`, ...).
    data, labels
        Training images ``(N, C, H, W)`` in [-1, 1] and integer labels ``(N,)``, or an
        :class:`~simdiff.generative.data.ImageData` (its labels are used). Labels are needed by a
        conditional net and ignored by an unconditional one.
    batch_size, lr, weight_decay
        AdamW settings; ``lr`` is the peak learning rate.
    ema_decay
        Decay of the weight average the checkpoints sample with; ``None`` keeps no average.
    grad_clip
        Largest gradient norm (``None`` or 0: no clipping).
    warmup, total_steps
        Learning-rate schedule (see :func:`lr_at`); ``fit`` will not run past ``total_steps``.
    cond_drop
        Probability of training a labelled image as unlabelled (classifier-free guidance).
    seed
        Seeds data order, times, noise, label dropout and in-net dropout.
    device
        ``"auto"`` (CUDA when there is one), ``"cpu"`` or ``"cuda"``.
    amp
        Mixed precision on CUDA: ``"auto"`` (bf16 where supported, else fp16 with loss scaling),
        ``"bf16"``, ``"fp16"`` or ``None``; on CPU only ``"auto"``/``None`` (no autocast).
    out
        Run directory: ``log.csv``, checkpoints (``model.json``, ``weights.safetensors``,
        ``state.pt``) and ``samples/step_NNNNNNN.png``; ``None`` writes nothing.
    checkpoint_every, sample_every, log_every
        Intervals in steps (``None``: checkpoints only at the end of :meth:`fit` and on Ctrl-C, no
        sample grids). Sample grids use ``n_samples`` images, ``sample_method`` with
        ``sample_steps`` evaluations and a fixed seed, on the EMA weights.
    progress
        Show a tqdm bar with the loss and images/s.
    callback
        ``callback(trainer)`` after every step.
    """

    def __init__(self, net: torch.nn.Module, sde, data, labels: torch.Tensor | None = None, *,
                 batch_size: int = 128, lr: float = 2e-4, weight_decay: float = 0.0, ema_decay: float | None = 0.999,
                 grad_clip: float | None = 1.0, warmup: int = 200, total_steps: int = 10_000, cond_drop: float = 0.1,
                 seed: int = 0, device: str = "auto", amp: str | None = "auto", out: str | os.PathLike | None = None,
                 checkpoint_every: int | None = 1000, sample_every: int | None = None, sample_steps: int = 20,
                 sample_method: str = "dpmpp_2m", n_samples: int = 64, log_every: int = 50, progress: bool = True,
                 callback: Callable[["Trainer"], Any] | None = None):
        from simdiff.generative.sde import DiffusionSDE

        if not isinstance(net, torch.nn.Module) or not hasattr(net, "config"):
            raise InputTypeError(f"net is a {type(net).__name__}; pass a simdiff Net (UNet, MLP).")
        if not isinstance(sde, DiffusionSDE):
            raise InputTypeError(f"sde={sde!r}: pass a forward process (VPSDE, SubVPSDE, VESDE, DDPMChain).")
        self.data_info = None
        if hasattr(data, "images") and hasattr(data, "info"):
            self.data_info = data.info()
            labels = data.labels if labels is None else labels
            data = data.images
        if not isinstance(data, torch.Tensor) or data.dim() < 2 or data.shape[0] < 1:
            raise InputTypeError("data must be a tensor of shape (N, ...) or an ImageData.")
        if not data.is_floating_point():
            raise InputError(f"data has dtype {data.dtype}; pass float images scaled to [-1, 1].")
        self.batch_size = _int("batch_size", batch_size)
        self.lr = _num("lr", lr, positive=True)
        self.weight_decay = _num("weight_decay", weight_decay)
        self.ema_decay = None if ema_decay is None else _num("ema_decay", ema_decay)
        self.grad_clip = None if not grad_clip else _num("grad_clip", grad_clip, positive=True)
        self.warmup = _int("warmup", warmup, lo=0)
        self.total_steps = _int("total_steps", total_steps)
        self.cond_drop = _num("cond_drop", cond_drop)
        if not 0.0 <= self.cond_drop <= 1.0:
            raise InputError(f"cond_drop={cond_drop} must be a probability in [0, 1].")
        self.seed = _int("seed", seed, lo=0)
        self.checkpoint_every = None if not checkpoint_every else _int("checkpoint_every", checkpoint_every)
        self.sample_every = None if not sample_every else _int("sample_every", sample_every)
        self.sample_steps, self.sample_method = _int("sample_steps", sample_steps), sample_method
        self.n_samples = _int("n_samples", n_samples)
        self.log_every = _int("log_every", log_every)
        self.progress, self.callback = bool(progress), callback
        if self.batch_size > data.shape[0]:
            raise InputError(f"batch_size={batch_size} is larger than the data set ({data.shape[0]} images); "
                             f"use batch_size <= {data.shape[0]}.")

        self.device = _device(device)
        self.amp = amp
        self._amp_dtype = _amp_dtype(amp, self.device)
        self.net = net.to(self.device).train()
        self.sde = sde
        self.prediction = getattr(net, "prediction", "eps")
        self.conditional = bool(getattr(net, "conditional", False))
        self.data = data.to(self.device, torch.float32)
        self.labels = None
        if self.conditional:
            if labels is None:
                raise InputError(f"{type(net).__name__} is class-conditional (num_classes={net.num_classes}) but "
                                 f"the data has no labels; pass labels= or an unconditional net.")
            labels = torch.as_tensor(labels).reshape(-1)
            if labels.shape[0] != data.shape[0] or labels.is_floating_point():
                raise InputError(f"labels must be {data.shape[0]} integer class indices (one per image).")
            if int(labels.min()) < 0 or int(labels.max()) >= net.num_classes:
                raise InputError(f"labels span {int(labels.min())}..{int(labels.max())}; the net has "
                                 f"num_classes={net.num_classes} (labels 0..{net.num_classes - 1}).")
            self.labels = labels.to(self.device, torch.long)

        self.optimizer = torch.optim.AdamW(self.net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        self.ema = EMA(self.net, self.ema_decay) if self.ema_decay is not None else None
        self.scaler = torch.amp.GradScaler("cuda") if self._amp_dtype == torch.float16 else None
        # the trainer's own random streams: data order (CPU), times/noise/label dropout and the net's
        # dropout (on the device)
        s_order, s_noise, s_drop = (int(s.generate_state(1, np.uint64)[0] >> np.uint64(1))
                                    for s in np.random.SeedSequence(self.seed).spawn(3))
        self.order_gen = torch.Generator().manual_seed(s_order)
        self.noise_gen = torch.Generator(device=self.device).manual_seed(s_noise)
        self._dropout_state = torch.Generator(device=self.device).manual_seed(s_drop).get_state()
        self._perm: torch.Tensor | None = None
        self._pos = 0
        self.step = 0
        self.history: list[dict] = []
        self.out = Path(out) if out is not None else None
        self._saved_step: int | None = None

    # -- settings ---------------------------------------------------------------------------------
    def settings(self) -> dict:
        """The JSON-able settings (recorded in ``model.json``, reused by :meth:`resume`)."""
        return {k: getattr(self, k) for k in SETTINGS}

    def lr_now(self, step: int | None = None) -> float:
        return lr_at(self.step if step is None else step, self.lr, self.warmup, self.total_steps)

    # -- one step ---------------------------------------------------------------------------------
    def _batch(self):
        n = self.data.shape[0]
        if self._perm is None or self._pos + self.batch_size > n:
            self._perm = torch.randperm(n, generator=self.order_gen)
            self._pos = 0
        idx = self._perm[self._pos:self._pos + self.batch_size].to(self.device)
        self._pos += self.batch_size
        return self.data[idx], (self.labels[idx] if self.labels is not None else None)

    def _loss(self, x0, label):
        b = x0.shape[0]
        g = self.noise_gen
        t = self.sde.sample_time(b, generator=g, device=self.device)
        eps = torch.randn(x0.shape, generator=g, device=self.device, dtype=x0.dtype)
        xt, _ = self.sde.noise(x0, t, eps=eps)
        if label is not None and self.cond_drop > 0:
            drop = torch.rand(b, generator=g, device=self.device) < self.cond_drop
            label = torch.where(drop, torch.full_like(label, self.net.null_label), label)
        a, s = self.sde.alpha_sigma(t)
        shape = (-1,) + (1,) * (x0.dim() - 1)
        a, s = a.reshape(shape).to(x0.dtype), s.reshape(shape).to(x0.dtype)
        target = convert(eps, "eps", self.prediction, xt, a, s)
        with torch.autocast(self.device.type, dtype=self._amp_dtype, enabled=self._amp_dtype is not None):
            pred = self.net(xt, t, label=label) if label is not None else self.net(xt, t)
        err = (pred.float() - target) ** 2
        if self.prediction == "score":
            err = err * s * s
        return err.mean()

    def train_step(self) -> torch.Tensor:
        """One optimiser step; returns the loss (a 0-d tensor, not synchronised)."""
        x0, label = self._batch()
        lr = self.lr_now()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        # the net's dropout draws from the global generator: give it the trainer's own stream
        outside = _get_device_rng(self.device)
        _set_device_rng(self.device, self._dropout_state)
        try:
            loss = self._loss(x0, label)
            self.optimizer.zero_grad(set_to_none=True)
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                self.scaler.unscale_(self.optimizer)
            else:
                loss.backward()
            if self.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.grad_clip)
            if self.scaler is not None:
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                self.optimizer.step()
        finally:
            self._dropout_state = _get_device_rng(self.device)
            _set_device_rng(self.device, outside)
        if self.ema is not None:
            self.ema.update(self.net)
        self.step += 1
        return loss.detach()

    # -- the loop ---------------------------------------------------------------------------------
    def fit(self, steps: int | None = None) -> list[dict]:
        """Train ``steps`` more steps (default: up to ``total_steps``); returns the log rows written.

        Ctrl-C finishes the current step, writes a checkpoint (with ``out``) and re-raises
        ``KeyboardInterrupt``; :meth:`resume` then continues exactly.
        """
        left = self.total_steps - self.step
        steps = left if steps is None else _int("steps", steps, lo=0)
        if steps > left:
            raise InputError(f"fit({steps}) would run to step {self.step + steps}, past total_steps="
                             f"{self.total_steps} where the learning rate reaches zero; raise total_steps "
                             f"(Trainer(..., total_steps=) or Trainer.resume(..., total_steps=)).")
        from tqdm.auto import tqdm

        rows: list[dict] = []
        interrupted: list[bool] = []
        old_handler = None
        if threading.current_thread() is threading.main_thread():
            # Ctrl-C ends the step under way first, so the checkpoint is of a whole step
            def on_sigint(signum, frame):
                interrupted.append(True)
                signal.signal(signal.SIGINT, old_handler)   # a second Ctrl-C stops at once
            old_handler = signal.getsignal(signal.SIGINT) or signal.default_int_handler
            signal.signal(signal.SIGINT, on_sigint)
        bar = tqdm(total=steps, disable=not self.progress, desc="train", unit="step", dynamic_ncols=True)
        in_step = False
        loss_sum, n_loss, t_mark, step_mark = None, 0, time.perf_counter(), self.step
        try:
            for _ in range(steps):
                in_step = True
                loss = self.train_step()
                in_step = False
                loss_sum = loss if loss_sum is None else loss_sum + loss
                n_loss += 1
                bar.update(1)
                if self.step % self.log_every == 0 or self.step == self.total_steps:
                    dt = max(time.perf_counter() - t_mark, 1e-9)
                    row = {"step": self.step, "loss": float(loss_sum) / n_loss, "lr": self.lr_now(self.step - 1),
                           "images_per_s": (self.step - step_mark) * self.batch_size / dt}
                    rows.append(row)
                    self._log(row)
                    bar.set_postfix(loss=f"{row['loss']:.4f}", img_s=f"{row['images_per_s']:.0f}")
                    loss_sum, n_loss, t_mark, step_mark = None, 0, time.perf_counter(), self.step
                if self.sample_every and self.step % self.sample_every == 0:
                    self.save_samples()
                if self.checkpoint_every and self.step % self.checkpoint_every == 0:
                    self.save()
                if self.callback is not None:
                    self.callback(self)
                if interrupted:
                    raise KeyboardInterrupt
            if self._saved_step != self.step:
                self.save()
        except KeyboardInterrupt:
            if not in_step and self.out is not None:
                if self._saved_step != self.step:
                    self.save()
                bar.write(f"interrupted at step {self.step}: checkpoint in {self.out}; continue with "
                          f"Trainer.resume({os.fspath(self.out)!r})")
            raise
        finally:
            bar.close()
            if old_handler is not None and signal.getsignal(signal.SIGINT) is not old_handler:
                signal.signal(signal.SIGINT, old_handler)
        return rows

    # -- files ------------------------------------------------------------------------------------
    def _log(self, row: dict) -> None:
        self.history.append(row)
        if self.out is None:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / "log.csv"
        new = not path.exists()
        with open(path, "a", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=LOG_FIELDS)
            if new:
                w.writeheader()
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})

    def save(self) -> Path | None:
        """Write the checkpoint into ``out`` (nothing without ``out``)."""
        if self.out is None:
            return None
        train_state = {"order_gen": self.order_gen.get_state(), "noise_gen": self.noise_gen.get_state(),
                       "dropout": self._dropout_state, "perm": self._perm, "pos": self._pos,
                       "scaler": self.scaler.state_dict() if self.scaler is not None else None}
        path = save_checkpoint(self.out, self.net, self.sde, self.step, optimizer=self.optimizer, ema=self.ema,
                               extra={"trainer": self.settings()}, train_state=train_state, data=self.data_info)
        self._saved_step = self.step
        return path

    def sample_model(self) -> torch.nn.Module:
        """The network samples come from: the EMA weights when there are some."""
        return self.ema.model if self.ema is not None else self.net

    def save_samples(self, path: str | os.PathLike | None = None) -> Path | None:
        """Sample a grid with the current weights and write it as a PNG (default
        ``out/samples/step_NNNNNNN.png``); a conditional net cycles through the classes."""
        from simdiff.generative.data import save_image_grid
        from simdiff.generative.samplers import sample

        if path is None:
            if self.out is None:
                return None
            path = self.out / "samples" / f"step_{self.step:07d}.png"
        model = self.sample_model()
        was_training = model.training
        model.eval()
        label = None
        if self.conditional:
            label = torch.arange(self.n_samples, device=self.device) % self.net.num_classes
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices):
                x = sample(model, self.sde, (self.n_samples, *self.data.shape[1:]), method=self.sample_method,
                           steps=self.sample_steps, seed=self.seed, label=label, device=self.device,
                           clip=(-1.0, 1.0))
        finally:
            model.train(was_training)
        if x.dim() == 4 and x.shape[1] in (1, 3):
            cols = self.net.num_classes if self.conditional and self.net.num_classes <= 16 else None
            save_image_grid(path, x, nrow=cols, scale=max(1, 64 // x.shape[-1]))
        else:
            atomic_write(path, lambda fh: np.save(fh, x.cpu().numpy()))
        return Path(path)

    # -- resuming ---------------------------------------------------------------------------------
    @classmethod
    def resume(cls, directory: str | os.PathLike, data=None, labels: torch.Tensor | None = None,
               device: str = "auto", **overrides: Any) -> "Trainer":
        """Continue a run from its checkpoint directory, exactly where it stopped.

        ``data`` is reloaded from the recorded spec (``digits``, ``patterns``, ...) when not given;
        data given as a plain tensor must be passed again. ``overrides`` change settings (e.g.
        ``total_steps`` to train longer, ``out``, ``progress``); changing the optimisation settings
        ends exactness, of course.
        """
        from simdiff.generative.nets.base import build
        from simdiff.generative.sde import sde_from_dict

        meta, state = read_checkpoint(directory)
        settings = dict(meta.get("extra", {}).get("trainer", {}))
        unknown = sorted(set(overrides) - set(SETTINGS) - {"out", "progress", "callback"})
        if unknown:
            raise InputError(f"Trainer.resume: unknown setting(s) {unknown}; valid: {', '.join(SETTINGS)}, out, "
                             f"progress, callback.")
        settings.update(overrides)
        settings.setdefault("out", directory)
        if data is None:
            data = _reload_data(meta.get("data"), directory)
        net = build(meta["net"])
        net.load_state_dict(state["net"])
        trainer = cls(net, sde_from_dict(meta["sde"]), data, labels, device=device, **settings)
        if trainer.data_info is not None and meta.get("data") and \
                trainer.data_info.get("shape") != meta["data"].get("shape"):
            raise CheckpointError(f"the data have images of shape {trainer.data_info['shape']}; the run in "
                                  f"{os.fspath(directory)!r} was trained on {meta['data']['shape']}.")
        trainer._restore(state)
        trainer._trim_log()
        return trainer

    def _restore(self, state: dict) -> None:
        ts = state.get("train_state") or {}
        if state.get("optimizer") is not None:
            self.optimizer.load_state_dict(state["optimizer"])
        if self.ema is not None:
            if state.get("ema") is None:
                raise CheckpointError("the checkpoint has no EMA state but the trainer keeps one; pass ema_decay=None.")
            self.ema.load_state_dict(state["ema"])
        if self.scaler is not None and ts.get("scaler"):
            self.scaler.load_state_dict(ts["scaler"])
        self.order_gen.set_state(ts["order_gen"])
        self.noise_gen.set_state(ts["noise_gen"].to(self.noise_gen.get_state().device))
        self._dropout_state = ts["dropout"]
        self._perm, self._pos = ts["perm"], int(ts["pos"])
        self.step = int(state["step"])
        set_rng_state(state["rng"])

    def _trim_log(self) -> None:
        """Drop log rows written after the checkpoint (they will be written again)."""
        if self.out is None:
            return
        path = self.out / "log.csv"
        if not path.exists():
            return
        with open(path, newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if r.get("step", "").isdigit() and int(r["step"]) <= self.step]

        def write(fh):
            text = ",".join(LOG_FIELDS) + "\n" + "".join(",".join(r.get(k, "") for k in LOG_FIELDS) + "\n"
                                                        for r in rows)
            fh.write(text.encode())
        atomic_write(path, write)


# -- helpers ----------------------------------------------------------------------------------------
def _reload_data(info, directory):
    from simdiff.generative.data import load_dataset

    name = (info or {}).get("name")
    if not name or name == "images":
        raise InputError(f"the run in {os.fspath(directory)!r} was trained on data passed as a tensor; pass the "
                         f"same data again: Trainer.resume(dir, data=...).")
    options = {k: v for k, v in (info.get("options") or {}).items() if v is not None}
    return load_dataset(name, **options)


def _device(device) -> torch.device:
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not str(device).startswith("cuda:"):
        raise InputError(f"device={device!r}: use 'auto', 'cpu' or 'cuda'.")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device={device!r} but torch sees no CUDA device; use device='cpu' or 'auto'.")
    return torch.device(device)


def _amp_dtype(amp, device: torch.device):
    if amp in (None, False, "none", "off"):
        return None
    if amp not in ("auto", "bf16", "fp16"):
        raise InputError(f"amp={amp!r}: use 'auto', 'bf16', 'fp16' or None.")
    if device.type != "cuda":
        if amp == "auto":
            return None
        raise InputError(f"amp={amp!r} needs a CUDA device (autocast is only used on GPUs); use amp=None on CPU.")
    if amp == "fp16":
        return torch.float16
    if amp == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def _get_device_rng(device: torch.device) -> torch.Tensor:
    if device.type == "cuda":
        return torch.cuda.get_rng_state(device)
    return torch.get_rng_state()


def _set_device_rng(device: torch.device, state: torch.Tensor) -> None:
    if device.type == "cuda":
        torch.cuda.set_rng_state(state, device)
    else:
        torch.set_rng_state(state)


def _int(name: str, value, lo: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputTypeError(f"{name}={value!r}: pass a whole number >= {lo}.")
    if value < lo:
        raise InputError(f"{name}={value} must be >= {lo}.")
    return int(value)


def _num(name: str, value, positive: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputTypeError(f"{name}={value!r}: pass a number.") from None
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        raise InputError(f"{name}={value!r} must be a finite number {'> 0' if positive else '>= 0'}.")
    return v

