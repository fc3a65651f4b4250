r"""Two-dimensional toy data and a small denoising-score-matching trainer for them.

Data sets (numpy float64 arrays of shape ``(n, 2)``, per-coordinate standard deviation near 1,
reproducible from ``seed``: an int, a ``numpy.random.Generator`` or ``None``):

===================  ============================================================================
``two_moons``        two interleaved half circles with Gaussian noise 0.05 (scikit-learn's moons),
                     centred and scaled by 1.2
``swiss_roll``       :math:`\tfrac17(\theta\cos\theta,\ \theta\sin\theta)`,
                     :math:`\theta \sim U(1.5\pi, 4.5\pi)`, noise 0.05
``eight_gaussians``  equal mixture of :math:`N(\mu_k, 0.1^2 I)`, :math:`\mu_k` on the circle of
                     radius :math:`\sqrt2` at angles :math:`k\pi/4` (exact: :func:`eight_gaussians_mixture`)
``checkerboard``     uniform on the dark squares of a 4×4 board on :math:`[-2, 2]^2`
===================  ============================================================================

:func:`train_toy` trains an :class:`~simdiff.generative.nets.mlp.MLP` on one of them by
denoising score matching (Vincent 2011; Ho et al. 2020's simple loss):

.. math:: L = E_{t,\, x_0,\, \epsilon}\ \big\| \hat y_\theta(\alpha_t x_0 + \sigma_t\epsilon,\ t) - y \big\|^2,
          \quad t \sim U[t_{\min}, T],

with :math:`y = \epsilon` for ``"eps"`` (or :math:`x_0`, :math:`v = \alpha\epsilon - \sigma x_0`,
:math:`-\epsilon/\sigma` for the other parameterizations), mean over batch and coordinates.
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable

import numpy as np

from simdiff.errors import InputError, InputTypeError

__all__ = ["two_moons", "swiss_roll", "eight_gaussians", "eight_gaussians_mixture", "checkerboard",
           "TOY_DATASETS", "train_toy"]


def _n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n={n!r}: pass the number of points, a whole number >= 1.")
    return int(n)


def _rng(seed) -> np.random.Generator:
    if seed is not None and not isinstance(seed, np.random.Generator) and (
            isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise InputError(f"seed={seed!r}: pass a whole number >= 0, a numpy.random.Generator or None.")
    return np.random.default_rng(seed)


def two_moons(n: int, seed: Any = None, noise: float = 0.05) -> np.ndarray:
    """Two interleaved half circles (the upper one over :math:`\\theta \\in [0, \\pi]`), ``(n, 2)``.

    >>> two_moons(4, seed=0).shape
    (4, 2)
    """
    n, rng = _n(n), _rng(seed)
    upper = rng.random(n) < 0.5
    theta = math.pi * rng.random(n)
    x = np.where(upper, np.cos(theta), 1.0 - np.cos(theta))
    y = np.where(upper, np.sin(theta), 0.5 - np.sin(theta))
    pts = np.stack([x, y], axis=1) + noise * rng.standard_normal((n, 2))
    return 1.2 * (pts - np.array([0.5, 0.25]))


def swiss_roll(n: int, seed: Any = None, noise: float = 0.05) -> np.ndarray:
    """The 2-D Swiss roll :math:`\\tfrac17\\theta(\\cos\\theta, \\sin\\theta)`, ``(n, 2)``.

    >>> swiss_roll(4, seed=0).shape
    (4, 2)
    """
    n, rng = _n(n), _rng(seed)
    theta = 1.5 * math.pi * (1.0 + 2.0 * rng.random(n))
    pts = np.stack([theta * np.cos(theta), theta * np.sin(theta)], axis=1) / 7.0
    return pts + noise * rng.standard_normal((n, 2))


EIGHT_RADIUS = math.sqrt(2.0)
EIGHT_STD = 0.1


def eight_gaussians_mixture():
    """The exact distribution of :func:`eight_gaussians` as a
    :class:`~simdiff.generative.GaussianMixture` (for :func:`~simdiff.generative.mode_w2` and exact
    scores); component ``k`` sits at angle :math:`k\\pi/4`."""
    from simdiff.generative.mixture import GaussianMixture

    ang = np.arange(8) * (math.pi / 4)
    means = EIGHT_RADIUS * np.stack([np.cos(ang), np.sin(ang)], axis=1)
    return GaussianMixture(np.full(8, 1 / 8), means, np.full(8, EIGHT_STD ** 2))


def eight_gaussians(n: int, seed: Any = None) -> np.ndarray:
    """``n`` draws from :func:`eight_gaussians_mixture`, ``(n, 2)``.

    >>> eight_gaussians(4, seed=0).shape
    (4, 2)
    """
    return eight_gaussians_mixture().sample(_n(n), seed=_rng(seed))


def checkerboard(n: int, seed: Any = None) -> np.ndarray:
    """Uniform on the 8 squares of side 1 in :math:`[-2, 2]^2` whose corner indices have an even sum.

    >>> checkerboard(4, seed=0).shape
    (4, 2)
    """
    n, rng = _n(n), _rng(seed)
    x = 4.0 * rng.random(n) - 2.0
    # y in one of two unit intervals of [-2, 2], shifted by one on odd columns
    y = rng.random(n) - 2.0 * rng.integers(0, 2, n) + (np.floor(x) % 2)
    return np.stack([x, y], axis=1)


TOY_DATASETS: dict[str, Callable[..., np.ndarray]] = {
    "two_moons": two_moons,
    "swiss_roll": swiss_roll,
    "eight_gaussians": eight_gaussians,
    "checkerboard": checkerboard,
}


def train_toy(dataset: str | Callable[..., np.ndarray] = "eight_gaussians", sde=None, steps: int = 2000,
              batch_size: int = 512, lr: float = 5e-3, hidden: int = 128, depth: int = 3,
              ema_decay: float = 0.999, seed: int = 0, prediction: str = "eps", progress: bool = False):
    """Train an MLP on a toy data set by denoising score matching; return ``(ema_model, losses)``.

    Every step draws a fresh batch of ``batch_size`` points, times from ``sde.sample_time`` and
    noise from ``sde.noise``, and takes one AdamW step (learning rate ``lr``, cosine-decayed to a
    tenth over ``steps``, gradient norm clipped at 1); an EMA with ``ema_decay`` (with warm-up)
    tracks the weights. Same ``seed``, same weights, bit for bit (on one device and thread count):
    the data come from a numpy generator and everything else from an explicit ``torch.Generator``.

    Parameters
    ----------
    dataset
        A name in :data:`TOY_DATASETS` or a function ``f(n, seed) -> (n, d) array``.
    sde
        The forward process (default ``VPSDE()``).
    steps, batch_size, lr
        Optimiser steps, points per step, peak learning rate.
    hidden, depth
        MLP width and number of hidden layers.
    ema_decay
        Decay of the weight average that is returned.
    seed
        Seeds the data, the initial weights, the times and the noise.
    prediction
        The MLP's parameterization (``"eps"``, ``"x0"``, ``"v"``, ``"score"``).
    progress
        Print the smoothed loss every tenth of the run.

    Returns
    -------
    (ema_model, losses)
        The :class:`~simdiff.generative.nets.mlp.MLP` holding the EMA weights (in eval mode, no
        gradients; ``ema_decay=0`` returns the last trained weights instead) and the loss of every
        step (numpy array of length ``steps``).

    Example
    -------
    >>> from simdiff.generative import VPSDE, sample, mode_w2
    >>> from simdiff.generative.toy import train_toy, eight_gaussians_mixture
    >>> model, losses = train_toy("eight_gaussians", steps=200, hidden=32, depth=2)
    >>> x = sample(model, VPSDE(), (1000, 2), method="dpmpp_2m", steps=20, seed=0)
    >>> x.shape
    torch.Size([1000, 2])
    """
    import torch

    from simdiff.generative.ema import EMA
    from simdiff.generative.nets.mlp import MLP
    from simdiff.generative.parameterization import check_prediction
    from simdiff.generative.sde import DiffusionSDE, VPSDE, _steps

    if isinstance(dataset, str):
        if dataset not in TOY_DATASETS:
            raise InputError(f"dataset={dataset!r} is not a toy data set; use one of {', '.join(TOY_DATASETS)} "
                             f"or pass a function f(n, seed) -> array.")
        data_fn = TOY_DATASETS[dataset]
    elif callable(dataset):
        data_fn = dataset
    else:
        raise InputTypeError(f"dataset={dataset!r}: pass a name ({', '.join(TOY_DATASETS)}) or a function.")
    sde = VPSDE() if sde is None else sde
    if not isinstance(sde, DiffusionSDE):
        raise InputTypeError(f"sde={sde!r}: pass a forward process (VPSDE, SubVPSDE, VESDE, DDPMChain).")
    steps = _steps(steps)
    batch_size = _n(batch_size)
    check_prediction(prediction)
    lr = float(lr)
    if not lr > 0 or not math.isfinite(lr):
        raise InputError(f"lr={lr!r} must be a finite number > 0.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed={seed!r}: pass a whole number >= 0.")
    seed = int(seed)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)

    probe = np.asarray(data_fn(2, rng))
    if probe.ndim != 2:
        raise InputError(f"the data set returned shape {probe.shape}; it must return (n, d) points.")
    dim = probe.shape[1]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = MLP(dim=dim, hidden=hidden, depth=depth, prediction=prediction)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.0, foreach=True)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(k, steps) / steps)))
    ema = EMA(net, decay=ema_decay)
    losses = np.empty(steps)
    wall0 = time.perf_counter()
    net.train()
    for k in range(steps):
        x0 = torch.as_tensor(data_fn(batch_size, rng), dtype=torch.float32)
        t = sde.sample_time(batch_size, generator=gen)
        xt, eps = sde.noise(x0, t, generator=gen)
        if prediction == "eps":
            target = eps
        elif prediction == "x0":
            target = x0
        else:
            a, s = (v.reshape(-1, 1) for v in sde.alpha_sigma(t))
            target = a * eps - s * x0 if prediction == "v" else -eps / s
        loss = torch.mean((net(xt, t) - target) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        sched.step()
        ema.update(net)
        losses[k] = loss.item()
        if progress and (k + 1) % max(steps // 10, 1) == 0:
            recent = losses[max(0, k + 1 - steps // 10):k + 1].mean()
            print(f"step {k + 1}/{steps}  loss {recent:.4f}  ({time.perf_counter() - wall0:.1f} s)")
    return ema.model.eval(), losses
