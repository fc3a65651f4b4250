r"""Gaussian mixtures: data with an exact score at every noise level, and the per-mode W2 metric.

If :math:`x_0 \sim \sum_k w_k N(\mu_k, \Sigma_k)` and :math:`x_t = \alpha x_0 + \sigma\epsilon`, then
:math:`x_t \sim \sum_k w_k N(\alpha\mu_k, \alpha^2\Sigma_k + \sigma^2 I)` — again a mixture, so the
posterior mean :math:`E[x_0 \mid x_t]` (the ideal denoiser) is closed-form:

.. math:: E[x_0 \mid x_t] = \sum_k r_k(x_t)\,\big(\mu_k + \alpha\Sigma_k(\alpha^2\Sigma_k+\sigma^2 I)^{-1}(x_t - \alpha\mu_k)\big),

with :math:`r_k` the responsibilities of the noisy mixture. :meth:`GaussianMixture.model` is that
denoiser as a model (``prediction="x0"``), class-conditional over the components' labels; it is
what the sampler tests drive every sampler with, and the best teaching example of a "model".

Sample quality against a mixture (:func:`mode_w2`): each sample goes to its most responsible true
component; per component, the Gaussian W2 distance between the empirical mean and covariance and
the reference's; the weighted mean over components, plus the total-variation error of the
component weights.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from simdiff.errors import InputError

__all__ = ["GaussianMixture", "ExactMixtureModel", "mode_w2", "gaussian_w2"]


class GaussianMixture:
    """:math:`\\sum_k w_k N(\\mu_k, \\Sigma_k)` in ``dim`` dimensions.

    Parameters
    ----------
    weights : (K,)
    means : (K, d)
    covs : (K, d, d) symmetric positive definite, or (K, d) diagonal variances, or (K,) isotropic.
    labels : (K,) int, optional
        Class of each component (default: component k is class k), for conditional sampling.
    """

    def __init__(self, weights, means, covs, labels=None):
        w = np.asarray(weights, dtype=float).reshape(-1)
        mu = np.atleast_2d(np.asarray(means, dtype=float))
        K, d = mu.shape
        if w.size != K:
            raise InputError(f"weights has {w.size} entries for {K} means; pass one weight per component.")
        if np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
            raise InputError("weights must be finite, >= 0 and not all zero.")
        c = np.asarray(covs, dtype=float)
        if c.shape == (K,):
            c = c[:, None, None] * np.eye(d)
        elif c.shape == (K, d):
            c = np.stack([np.diag(v) for v in c])
        if c.shape != (K, d, d):
            raise InputError(f"covs has shape {c.shape}; pass (K, d, d) matrices, (K, d) variances or (K,) scalars "
                             f"for K={K}, d={d}.")
        c = 0.5 * (c + np.transpose(c, (0, 2, 1)))
        lam, U = np.linalg.eigh(c)
        if np.any(lam <= 0):
            raise InputError("every covariance must be positive definite.")
        self.weights = w / w.sum()
        self.means, self.covs = mu, c
        self.eigvals, self.eigvecs = lam, U
        self.labels = np.arange(K) if labels is None else np.asarray(labels, dtype=np.int64).reshape(-1)
        if self.labels.size != K or self.labels.min() < 0:
            raise InputError(f"labels must give a class index >= 0 for each of the {K} components.")
        self.n_classes = int(self.labels.max()) + 1
        self._torch: dict = {}

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def n_components(self) -> int:
        return self.means.shape[0]

    @classmethod
    def random(cls, dim: int = 2, modes: int = 8, seed: int = 0, radius: float = 1.5,
               std: tuple[float, float] = (0.02, 0.15), labels=None) -> "GaussianMixture":
        """A reproducible test mixture: means on a sphere of ``radius`` (data scale about 1), narrow
        anisotropic components (standard deviations log-uniform in ``std``, randomly rotated) and
        unequal weights."""
        rng = np.random.default_rng(seed)
        mu = rng.standard_normal((modes, dim))
        mu *= radius / np.linalg.norm(mu, axis=1, keepdims=True)
        covs = []
        for _ in range(modes):
            q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
            q *= np.sign(np.diag(r))
            sd = np.exp(rng.uniform(np.log(std[0]), np.log(std[1]), dim))
            covs.append((q * sd ** 2) @ q.T)
        w = rng.uniform(0.5, 1.5, modes)
        return cls(w, mu, np.stack(covs), labels=labels)

    # -- sampling and density ----------------------------------------------------------------------
    def sample(self, n: int, seed: Any = None, return_components: bool = False):
        """``n`` samples as a float64 numpy array (and their components)."""
        rng = np.random.default_rng(seed)
        k = rng.choice(self.n_components, size=int(n), p=self.weights)
        z = rng.standard_normal((int(n), self.dim))
        L = self.eigvecs * np.sqrt(self.eigvals)[:, None, :]         # Sigma = L L^T
        x = self.means[k] + np.einsum("nij,nj->ni", L[k], z)
        return (x, k) if return_components else x

    def log_prob_components(self, x: np.ndarray, alpha: float = 1.0, sigma: float = 0.0) -> np.ndarray:
        """:math:`\\log w_k + \\log N(x; \\alpha\\mu_k, \\alpha^2\\Sigma_k + \\sigma^2 I)`, shape (n, K)."""
        x = np.asarray(x, dtype=float)
        var = alpha ** 2 * self.eigvals + sigma ** 2                 # (K, d)
        p = np.einsum("nd,kde->nke", x, self.eigvecs) - alpha * np.einsum("kd,kde->ke", self.means, self.eigvecs)
        q = (p * p / var).sum(-1)
        return np.log(self.weights) - 0.5 * (q + np.log(var).sum(-1) + self.dim * math.log(2 * math.pi))

    def log_prob(self, x, alpha: float = 1.0, sigma: float = 0.0) -> np.ndarray:
        lp = self.log_prob_components(x, alpha, sigma)
        m = lp.max(1, keepdims=True)
        return (m + np.log(np.exp(lp - m).sum(1, keepdims=True)))[:, 0]

    def assign(self, x) -> np.ndarray:
        """Index of the most responsible component for each sample."""
        return np.argmax(self.log_prob_components(x), axis=1)

    # -- the exact model ---------------------------------------------------------------------------
    def model(self, sde, prediction: str = "x0") -> "ExactMixtureModel":
        """The exact denoiser of this mixture under ``sde``, as a model returning ``prediction``."""
        return ExactMixtureModel(self, sde, prediction)

    def classifier(self, sde):
        """The exact noisy classifier :math:`\\log p_t(y \\mid x)` (logits) for classifier guidance."""
        mix = self

        def logits(x, t):
            _, _, _, lp = mix._noisy(x, t, sde)                  # (n, K)
            onehot = mix._t("onehot", x.device)
            out = torch.logsumexp(lp[:, :, None] + torch.log(onehot)[None], dim=1)
            return (out - torch.logsumexp(out, dim=1, keepdim=True)).to(x.dtype)

        return logits

    def _t(self, key, device):
        k = (key, str(device))
        if k not in self._torch:
            val = {"mu": self.means, "U": self.eigvecs, "lam": self.eigvals, "logw": np.log(self.weights),
                   "onehot": (self.labels[:, None] == np.arange(self.n_classes)[None]).astype(float)}[key]
            self._torch[k] = torch.as_tensor(val, dtype=torch.float64, device=device)
        return self._torch[k]

    def _noisy(self, x, t, sde):
        """Projections and variances of the noisy components at time t (float64)."""
        x = x.reshape(x.shape[0], -1).double()
        a, s = sde.alpha_sigma(t.double())
        a, s = a[:, None, None], s[:, None, None]
        mu, U, lam = self._t("mu", x.device), self._t("U", x.device), self._t("lam", x.device)
        var = a * a * lam[None] + s * s                               # (n, K, d)
        p = torch.einsum("nd,kde->nke", x, U) - a * torch.einsum("kd,kde->ke", mu, U)[None]
        lp = self._t("logw", x.device)[None] - 0.5 * ((p * p / var).sum(-1) + torch.log(var).sum(-1))
        return a, var, p, lp

    def _posterior_mean(self, x, t, sde, label=None, null_label=None):
        a, var, p, lp = self._noisy(x, t, sde)
        if label is not None:
            onehot = self._t("onehot", x.device)                      # (K, C)
            lab = label.long()
            cond = lab != null_label
            if bool(cond.any()):
                allowed = onehot[:, lab.clamp(max=self.n_classes - 1)].T > 0     # (n, K)
                allowed = allowed | ~cond[:, None]
                lp = torch.where(allowed, lp, torch.full_like(lp, -math.inf))
        r = torch.softmax(lp, dim=1)                                  # (n, K)
        lam = self._t("lam", x.device)
        coef = a * lam[None] / var                                    # (n, K, d)
        mean_k = self._t("mu", x.device)[None] + torch.einsum("nke,kde->nkd", coef * p, self._t("U", x.device))
        return torch.einsum("nk,nkd->nd", r, mean_k)


class ExactMixtureModel(torch.nn.Module):
    """The ideal denoiser of a :class:`GaussianMixture` under a forward process, as a model.

    ``model(x, t, label=None)``: with ``label`` (class indices, ``null_label`` = unconditional) it is
    the exact class-conditional model, so classifier-free guidance works on it.
    """

    conditional = True

    def __init__(self, mixture: GaussianMixture, sde, prediction: str = "x0"):
        super().__init__()
        from simdiff.generative.parameterization import check_prediction

        self.mixture, self.sde = mixture, sde
        self.prediction = check_prediction(prediction)
        self.null_label = mixture.n_classes

    def forward(self, x: torch.Tensor, t: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        from simdiff.generative.parameterization import from_x0

        if x.shape[-1] != self.mixture.dim:
            raise InputError(f"x has last axis {x.shape[-1]}; this mixture is {self.mixture.dim}-dimensional.")
        if label is not None and bool(((label < 0) | (label > self.null_label)).any()):
            raise InputError(f"label must be in 0..{self.mixture.n_classes - 1} (or {self.null_label} for none).")
        t = t.reshape(-1).expand(x.shape[0]) if t.numel() == 1 else t.reshape(-1)
        x0 = self.mixture._posterior_mean(x, t, self.sde, label, self.null_label).to(x.dtype).reshape(x.shape)
        if self.prediction == "x0":
            return x0
        a, s = self.sde.alpha_sigma(t.double())
        shape = (-1,) + (1,) * (x.dim() - 1)
        return from_x0(x0, self.prediction, x, a.to(x.dtype).reshape(shape), s.to(x.dtype).reshape(shape))


# ------------------------------------------------------------------------------------------------
# the metric

def _sqrtm_psd(a: np.ndarray) -> np.ndarray:
    lam, U = np.linalg.eigh(0.5 * (a + a.T))
    return (U * np.sqrt(np.clip(lam, 0, None))) @ U.T


def gaussian_w2(m1, c1, m2, c2) -> float:
    """Wasserstein-2 distance between :math:`N(m_1, C_1)` and :math:`N(m_2, C_2)`."""
    s2 = _sqrtm_psd(c2)
    cross = _sqrtm_psd(s2 @ c1 @ s2)
    d2 = float(np.sum((np.asarray(m1) - np.asarray(m2)) ** 2) + np.trace(c1) + np.trace(c2) - 2 * np.trace(cross))
    return math.sqrt(max(d2, 0.0))


def _moments(x, k, K, d):
    out = []
    for j in range(K):
        xj = x[k == j]
        if len(xj) >= 2:
            out.append((len(xj), xj.mean(0), np.cov(xj, rowvar=False).reshape(d, d)))
        else:
            out.append((len(xj), None, None))
    return out


def mode_w2(samples, mixture: GaussianMixture, reference=None) -> dict:
    """Per-mode W2 and weight error of ``samples`` against ``mixture`` (or a reference sample set).

    Returns ``{"w2": weighted mean of per-component W2, "weight_tv": total variation between the
    sample weights and the reference weights, "per_mode": per-component W2, "weights": sample
    weights}``. A component that received fewer than two samples counts with the W2 between its
    reference Gaussian and a point mass at the furthest sample, so losing a mode is never free.
    ``reference=None`` compares with the mixture's own parameters; an array compares with the
    empirical moments of that sample set (the Monte-Carlo floor is ``mode_w2(true1, mix, true2)``).
    """
    if isinstance(samples, torch.Tensor):
        samples = samples.detach().cpu().double().numpy()
    x = np.asarray(samples, dtype=float).reshape(len(samples), -1)
    if x.shape[1] != mixture.dim:
        raise InputError(f"samples have {x.shape[1]} dimensions; the mixture has {mixture.dim}.")
    if not np.isfinite(x).all():
        return {"w2": math.inf, "weight_tv": 1.0, "per_mode": [math.inf] * mixture.n_components, "weights": None}
    K, d = mixture.n_components, mixture.dim
    k = mixture.assign(x)
    got = _moments(x, k, K, d)
    if reference is None:
        ref = [(w, m, c) for w, m, c in zip(mixture.weights, mixture.means, mixture.covs)]
        ref_w = mixture.weights
    else:
        if isinstance(reference, torch.Tensor):
            reference = reference.detach().cpu().double().numpy()
        r = np.asarray(reference, dtype=float).reshape(len(reference), -1)
        kr = mixture.assign(r)
        ref = _moments(r, kr, K, d)
        ref_w = np.bincount(kr, minlength=K) / len(r)
    w = np.bincount(k, minlength=K) / len(x)
    per = []
    for j in range(K):
        n, m, c = got[j]
        _, mr, cr = ref[j]
        if mr is None:
            mr, cr = mixture.means[j], mixture.covs[j]
        if m is None:
            far = np.max(np.linalg.norm(x - mr, axis=1)) if len(x) else 0.0
            per.append(math.sqrt(far ** 2 + np.trace(cr)))
        else:
            per.append(gaussian_w2(m, c, mr, cr))
    return {"w2": float(np.dot(mixture.weights, per)), "weight_tv": float(0.5 * np.abs(w - ref_w).sum()),
            "per_mode": per, "weights": w}
