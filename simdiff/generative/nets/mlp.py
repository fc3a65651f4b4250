r"""``MLP``: a time-conditioned multilayer perceptron for vector data (toy 2-D sets, features).

.. math:: h_0 = W_{\mathrm{in}} x, \qquad
          h_{\ell} = \mathrm{SiLU}\big(W_\ell h_{\ell-1} + c_\ell\big), \qquad
          \hat y = W_{\mathrm{out}} h_L,

with the conditioning :math:`c_\ell = U_\ell\,e`, :math:`e = \mathrm{MLP}(\mathrm{sinusoidal}(1000\,t))
\,[+\ \mathrm{embed}(y)]` entering every layer (Ho et al. 2020's time embedding, the transformer's
sinusoidal features of :math:`1000\,t` so times in :math:`[0, 1]` span the usual frequency range).
The output layer starts at zero, so an untrained ``"eps"`` net predicts no noise.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from simdiff.errors import InputError, InputTypeError
from simdiff.generative.nets.base import Net, register_net
from simdiff.generative.parameterization import check_prediction

__all__ = ["MLP", "timestep_embedding"]


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal features ``[cos(t w_k), sin(t w_k)]`` with :math:`w_k = \\mathrm{max\\_period}^{-k/(dim/2)}`;
    shape ``(batch, dim)`` (a zero column is appended when ``dim`` is odd)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.reshape(-1, 1).float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=1)
    return emb


def _whole(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputTypeError(f"{name}={value!r}: pass a whole number >= {low}.")
    if value < low:
        raise InputError(f"{name}={value} must be >= {low}.")
    return value


@register_net
class MLP(Net):
    """Time-conditioned MLP ``mlp(x, t, label=None)`` for data of shape ``(batch, dim)``.

    Parameters
    ----------
    dim
        Data dimension ``d`` (input and output width).
    hidden
        Width of the hidden layers.
    depth
        Number of hidden layers (each gets its own projection of the time/class embedding).
    embed_dim
        Width of the sinusoidal time features (default ``hidden``).
    num_classes
        ``None``: unconditional. ``N``: class-conditional over labels ``0..N-1`` with the extra
        null label ``N`` meaning "no class" (classifier-free guidance, label dropout).
    prediction
        What the net is trained to return: ``"eps"``, ``"x0"``, ``"v"`` or ``"score"``.
    time_scale
        Times are multiplied by this before the sinusoidal features (1000: ``t`` in ``[0, 1]``).

    Example
    -------
    >>> import torch
    >>> from simdiff.generative.nets.mlp import MLP
    >>> net = MLP(dim=2, hidden=32, depth=2)
    >>> net(torch.zeros(5, 2), torch.full((5,), 0.5)).shape
    torch.Size([5, 2])
    """

    def __init__(self, dim: int, hidden: int = 128, depth: int = 3, embed_dim: int | None = None,
                 num_classes: int | None = None, prediction: str = "eps", time_scale: float = 1000.0):
        dim = _whole("dim", dim, 1)
        hidden = _whole("hidden", hidden, 1)
        depth = _whole("depth", depth, 1)
        embed_dim = hidden if embed_dim is None else _whole("embed_dim", embed_dim, 2)
        if num_classes is not None:
            num_classes = _whole("num_classes", num_classes, 1)
        super().__init__(dict(dim=dim, hidden=hidden, depth=depth, embed_dim=embed_dim, num_classes=num_classes,
                              prediction=check_prediction(prediction), time_scale=float(time_scale)))
        self.dim, self.hidden, self.depth, self.embed_dim = dim, hidden, depth, embed_dim
        self.time_scale = float(time_scale)
        self.prediction = prediction
        self.num_classes = num_classes
        self.conditional = num_classes is not None
        self.null_label = num_classes if self.conditional else None

        self.time_mlp = nn.Sequential(nn.Linear(embed_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.label_embed = nn.Embedding(num_classes + 1, hidden) if self.conditional else None
        self.inp = nn.Linear(dim, hidden)
        self.layers = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(depth))
        self.cond = nn.Linear(hidden, hidden * depth)       # all per-layer projections in one matmul
        self.out = nn.Linear(hidden, dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise InputError(f"x has shape {tuple(x.shape)}; this MLP takes (batch, {self.dim}).")
        b = x.shape[0]
        t = torch.as_tensor(t, device=x.device).reshape(-1)
        if t.numel() == 1:
            t = t.expand(b)
        if t.shape[0] != b:
            raise InputError(f"t has {t.shape[0]} times for a batch of {b}; pass one time per sample.")
        emb = self.time_mlp(timestep_embedding(self.time_scale * t, self.embed_dim).to(x.dtype))
        if self.conditional:
            if label is None:
                lab = torch.full((b,), self.null_label, dtype=torch.long, device=x.device)
            else:
                lab = torch.as_tensor(label, device=x.device).long().reshape(-1).expand(b)
                if bool(((lab < 0) | (lab > self.null_label)).any()):
                    raise InputError(f"label must be in 0..{self.num_classes - 1} (or {self.null_label} for "
                                     f"no class).")
            emb = emb + self.label_embed(lab)
        elif label is not None:
            raise InputError("label= was given to an unconditional MLP; build it with num_classes=N to condition.")
        cond = self.cond(nn.functional.silu(emb)).chunk(self.depth, dim=1)
        h = self.inp(x)
        for layer, c in zip(self.layers, cond):
            h = nn.functional.silu(layer(h) + c)
        return self.out(h)
