r"""``UNet``: the image denoiser of DDPM / ADM, sized for small images (8 to 64 pixels).

Layout (Ho et al. 2020, with the scale-shift norm and zero-initialised output layers of Dhariwal &
Nichol 2021)::

    x ─ conv ─┬─ [ResBlock (+attn)] x num_res_blocks ─ down ─ ... ─ mid: Res, Attn, Res
              │        │ skips                                         │
    out ─ conv ─ [ResBlock on concat(h, skip) (+attn)] x (num_res_blocks + 1) ─ up ─ ...

* time: :math:`t \in [0, 1]` is scaled by 1000 (the DDPM step index) and embedded with
  sinusoids of ``base_channels`` frequencies, then an MLP to ``4 * base_channels``;
* every ``ResBlock`` is GroupNorm → SiLU → conv → GroupNorm, scaled and shifted by the embedding
  (:math:`h \leftarrow h(1 + s) + b`) → SiLU → dropout → conv, plus a 1x1 skip when the width
  changes;
* self-attention (multi-head, ``scaled_dot_product_attention``) at the feature-map sides listed in
  ``attn_resolutions`` and always in the middle;
* down-sampling is a stride-2 convolution (side ``n -> ceil(n/2)``), up-sampling nearest-neighbour
  to the skip's side then a convolution, so odd sides work (28 → 14 → 7 → 14 → 28, 7 → 4 → 7);
* a class-conditional net (``num_classes=N``) adds a learned class embedding to the time
  embedding; index ``N`` is the null class ("no label") used for classifier-free guidance.

>>> import torch
>>> net = UNet(resolution=8, in_channels=1, base_channels=32)
>>> net(torch.zeros(4, 1, 8, 8), torch.rand(4)).shape
torch.Size([4, 1, 8, 8])
"""
from __future__ import annotations

import math
import operator
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from simdiff.errors import InputError, InputTypeError
from simdiff.generative.nets.base import Net, register_net
from simdiff.generative.parameterization import check_prediction

__all__ = ["UNet", "default_channel_mult", "default_attn_resolutions", "timestep_embedding"]

# the time axis the embedding sees: t in [0, 1] becomes a DDPM-like step index in [0, 1000]
TIME_SCALE = 1000.0


def default_channel_mult(resolution: int) -> tuple[int, ...]:
    """Width multipliers per level: the feature maps stop at a side of 4 to 8 pixels.

    8 → (1, 2) (sides 8, 4); 16 → (1, 2, 2) (16, 8, 4); 28 → (1, 2, 2) (28, 14, 7);
    32 → (1, 2, 2, 2) (32, 16, 8, 4); 64 → (1, 2, 2, 4) (64, 32, 16, 8).
    """
    n = int(resolution)
    if n < 12:
        return (1, 2)
    if n < 31:
        return (1, 2, 2)
    if n < 49:
        return (1, 2, 2, 2)
    return (1, 2, 2, 4)


def default_attn_resolutions(resolution: int, channel_mult: Sequence[int]) -> tuple[int, ...]:
    """Attention at every level below the full resolution whose side is at most 16."""
    sides = _level_sides(resolution, len(channel_mult))
    return tuple(s for s in sides[1:] if s <= 16)


def _level_sides(resolution: int, levels: int) -> list[int]:
    sides = [int(resolution)]
    for _ in range(levels - 1):
        sides.append((sides[-1] + 1) // 2)
    return sides


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding :math:`[\\cos(t\\,\\omega_k), \\sin(t\\,\\omega_k)]`,
    :math:`\\omega_k = P^{-k/(d/2)}` (Vaswani et al. 2017), of shape ``(batch, dim)``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


def _norm(channels: int, groups: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(channels, groups), channels, eps=1e-6)


def _zero(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, temb: int, dropout: float, groups: int):
        super().__init__()
        self.norm1 = _norm(cin, groups)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(temb, 2 * cout)
        self.norm2 = _norm(cout, groups)
        self.drop = nn.Dropout(dropout)
        self.conv2 = _zero(nn.Conv2d(cout, cout, 3, padding=1))
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.drop(F.silu(h)))
        return self.skip(x) + h


class Attention(nn.Module):
    def __init__(self, channels: int, heads: int, groups: int):
        super().__init__()
        self.heads = heads
        self.norm = _norm(channels, groups)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = _zero(nn.Conv2d(channels, channels, 1))

    def forward(self, x, emb=None):
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).transpose(-1, -2).unbind(1)
        a = F.scaled_dot_product_attention(q, k, v)                    # (b, heads, hw, c/heads)
        return x + self.proj(a.transpose(-1, -2).reshape(b, c, h, w))


class Down(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x, emb=None):
        return self.conv(x)


class Up(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x, size):
        return self.conv(F.interpolate(x, size=size, mode="nearest"))


@register_net
class UNet(Net):
    """U-Net noise (or ``x0`` / ``v`` / score) predictor for square images.

    Parameters
    ----------
    resolution
        Side of the (square) input images in pixels, 4 to 256 (8 to 64 is what it is sized for);
        odd sides work.
    in_channels, out_channels
        Image channels (1 grey, 3 RGB); ``out_channels`` defaults to ``in_channels``.
    base_channels
        Width of the first level; level ``i`` has ``base_channels * channel_mult[i]``.
    channel_mult
        Width multipliers, one per level; ``None`` picks :func:`default_channel_mult`
        (8 px: (1, 2); 28 px: (1, 2, 2); 32 px: (1, 2, 2, 2)).
    num_res_blocks
        Residual blocks per level on the way down (one more on the way up).
    attn_resolutions
        Feature-map sides with self-attention; ``None`` picks :func:`default_attn_resolutions`
        (every level below full resolution of side <= 16). The middle block always attends.
    num_heads
        Attention heads; every attending width must be divisible by it.
    dropout
        Dropout in the residual blocks, in [0, 1).
    num_classes
        ``None`` for an unconditional net; ``N`` for labels ``0..N-1`` plus the null label ``N``
        (classifier-free guidance).
    prediction
        What the output means: ``"eps"``, ``"x0"``, ``"v"`` or ``"score"``.
    norm_groups
        GroupNorm groups (the gcd with each width is used).

    ``forward(x, t, label=None)``: ``x`` of shape ``(batch, in_channels, resolution, resolution)``,
    ``t`` of shape ``(batch,)`` (or a scalar) in the forward process's time units (0..1); ``label``
    of shape ``(batch,)`` with ints in ``0..num_classes`` (``None`` means the null label).
    """

    def __init__(self, resolution: int = 8, in_channels: int = 1, out_channels: int | None = None,
                 base_channels: int = 64, channel_mult: Sequence[int] | None = None, num_res_blocks: int = 2,
                 attn_resolutions: Sequence[int] | None = None, num_heads: int = 4, dropout: float = 0.0,
                 num_classes: int | None = None, prediction: str = "eps", norm_groups: int = 32):
        resolution = _int("resolution", resolution, 4, 256)
        in_channels = _int("in_channels", in_channels, 1, 64)
        out_channels = in_channels if out_channels is None else _int("out_channels", out_channels, 1, 64)
        base_channels = _int("base_channels", base_channels, 1, 4096)
        num_res_blocks = _int("num_res_blocks", num_res_blocks, 1, 16)
        num_heads = _int("num_heads", num_heads, 1, 256)
        norm_groups = _int("norm_groups", norm_groups, 1, 4096)
        if channel_mult is None:
            channel_mult = default_channel_mult(resolution)
        channel_mult = _int_list("channel_mult", channel_mult, 1)
        if not channel_mult:
            raise InputError("channel_mult=() must list at least one width multiplier, e.g. (1, 2).")
        sides = _level_sides(resolution, len(channel_mult))
        if sides[-1] < 2:
            raise InputError(f"channel_mult has {len(channel_mult)} levels; a {resolution}x{resolution} image "
                             f"shrinks to {sides[-1]}x{sides[-1]} at the last one (sides {sides}). Use at most "
                             f"{len([s for s in sides if s >= 2])} levels, e.g. channel_mult="
                             f"{tuple(default_channel_mult(resolution))}.")
        if attn_resolutions is None:
            attn_resolutions = default_attn_resolutions(resolution, channel_mult)
        attn_resolutions = _int_list("attn_resolutions", attn_resolutions, 1)
        unknown = [r for r in attn_resolutions if r not in sides]
        if unknown:
            raise InputError(f"attn_resolutions={attn_resolutions}: side(s) {unknown} are no level of this net; "
                             f"the feature-map sides are {sides}.")
        try:
            dropout = float(dropout)
        except (TypeError, ValueError):
            raise InputTypeError(f"dropout={dropout!r}: pass a number in [0, 1).") from None
        if not 0.0 <= dropout < 1.0:
            raise InputError(f"dropout={dropout} must be in [0, 1).")
        if num_classes is not None:
            num_classes = _int("num_classes", num_classes, 1, 1_000_000)
        check_prediction(prediction)
        widths = [base_channels * m for m in channel_mult]
        for w, s in zip(widths, sides):
            if (s in attn_resolutions or w == widths[-1]) and w % num_heads:
                raise InputError(f"num_heads={num_heads} does not divide the attention width {w}; pick num_heads "
                                 f"dividing base_channels * channel_mult ({', '.join(map(str, widths))}).")
        super().__init__(dict(resolution=resolution, in_channels=in_channels, out_channels=out_channels,
                              base_channels=base_channels, channel_mult=list(channel_mult),
                              num_res_blocks=num_res_blocks, attn_resolutions=list(attn_resolutions),
                              num_heads=num_heads, dropout=dropout, num_classes=num_classes,
                              prediction=prediction, norm_groups=norm_groups))
        self.resolution, self.in_channels, self.out_channels = resolution, in_channels, out_channels
        self.prediction = prediction
        self.num_classes = num_classes
        self.conditional = num_classes is not None
        self.null_label = num_classes

        temb = 4 * base_channels
        self.time_mlp = nn.Sequential(nn.Linear(base_channels, temb), nn.SiLU(), nn.Linear(temb, temb))
        self.label_emb = nn.Embedding(num_classes + 1, temb) if self.conditional else None
        self.conv_in = nn.Conv2d(in_channels, base_channels, 3, padding=1)

        g = norm_groups
        self.down = nn.ModuleList()
        skip_ch, ch = [base_channels], base_channels
        for level, (w, side) in enumerate(zip(widths, sides)):
            for _ in range(num_res_blocks):
                self.down.append(_Stage(ResBlock(ch, w, temb, dropout, g),
                                        Attention(w, num_heads, g) if side in attn_resolutions else None))
                ch = w
                skip_ch.append(ch)
            if level < len(widths) - 1:
                self.down.append(_Stage(Down(ch)))
                skip_ch.append(ch)
        self.mid = nn.ModuleList([ResBlock(ch, ch, temb, dropout, g), Attention(ch, num_heads, g),
                                  ResBlock(ch, ch, temb, dropout, g)])
        self.up = nn.ModuleList()
        for level in reversed(range(len(widths))):
            w, side = widths[level], sides[level]
            for _ in range(num_res_blocks + 1):
                self.up.append(_Stage(ResBlock(ch + skip_ch.pop(), w, temb, dropout, g),
                                      Attention(w, num_heads, g) if side in attn_resolutions else None))
                ch = w
            if level > 0:
                self.up.append(_Stage(Up(ch)))
        self.out = nn.Sequential(_norm(ch, g), nn.SiLU(), _zero(nn.Conv2d(ch, out_channels, 3, padding=1)))

    def forward(self, x: torch.Tensor, t, label: torch.Tensor | None = None) -> torch.Tensor:
        b = self._check_x(x)
        t = torch.as_tensor(t, device=x.device).reshape(-1)
        if t.numel() == 1 and b != 1:
            t = t.expand(b)
        if t.shape[0] != b:
            raise InputError(f"t has {t.shape[0]} times for a batch of {b}; pass one time per image (shape ({b},)).")
        emb = self.time_mlp(timestep_embedding(t * TIME_SCALE, self.time_mlp[0].in_features).to(x.dtype))
        if self.conditional:
            emb = emb + self.label_emb(self._labels(label, b, x.device))
        elif label is not None:
            raise InputError("label= was given to an unconditional UNet; build it with num_classes=N to "
                             "condition on labels, or drop label=.")
        h = self.conv_in(x)
        skips = [h]
        for stage in self.down:
            h = stage(h, emb)
            skips.append(h)
        h = self.mid[0](h, emb)
        h = self.mid[1](h)
        h = self.mid[2](h, emb)
        for stage in self.up:
            if isinstance(stage.block, Up):
                h = stage.block(h, skips[-1].shape[-2:])
            else:
                h = stage(torch.cat([h, skips.pop()], dim=1), emb)
        return self.out(h)

    def _check_x(self, x) -> int:
        if not isinstance(x, torch.Tensor):
            raise InputTypeError(f"x is a {type(x).__name__}; pass a torch tensor of shape "
                                 f"(batch, {self.in_channels}, {self.resolution}, {self.resolution}).")
        want = (self.in_channels, self.resolution, self.resolution)
        if x.dim() != 4 or tuple(x.shape[1:]) != want:
            raise InputError(f"x has shape {tuple(x.shape)}; this UNet takes (batch, {', '.join(map(str, want))}) "
                             f"(in_channels={self.in_channels}, resolution={self.resolution}).")
        return x.shape[0]

    def _labels(self, label, b: int, device) -> torch.Tensor:
        if label is None:
            return torch.full((b,), self.null_label, dtype=torch.long, device=device)
        lab = torch.as_tensor(label, device=device)
        if lab.is_floating_point() or lab.dtype == torch.bool:
            raise InputTypeError(f"label has dtype {lab.dtype}; pass integer class indices.")
        lab = lab.long().reshape(-1)
        if lab.numel() == 1 and b != 1:
            lab = lab.expand(b)
        if lab.shape[0] != b:
            raise InputError(f"label has {lab.shape[0]} entries for a batch of {b}; pass one per image.")
        if lab.numel() and (int(lab.min()) < 0 or int(lab.max()) > self.num_classes):
            raise InputError(f"label values must be in 0..{self.num_classes} ({self.num_classes} classes, "
                             f"{self.null_label} = no label); got {int(lab.min())}..{int(lab.max())}.")
        return lab


class _Stage(nn.Module):
    """A block and the attention after it (if any)."""

    def __init__(self, block: nn.Module, attn: nn.Module | None = None):
        super().__init__()
        self.block = block
        self.attn = attn

    def forward(self, h, emb):
        h = self.block(h, emb)
        return h if self.attn is None else self.attn(h)


def _int(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        if isinstance(value, bool):
            raise TypeError
        v = operator.index(value)
    except TypeError:
        raise InputTypeError(f"{name}={value!r}: pass a whole number in [{lo}, {hi}].") from None
    if not lo <= v <= hi:
        raise InputError(f"{name}={v} must be in [{lo}, {hi}].")
    return v


def _int_list(name: str, values, lo: int) -> list[int]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise InputTypeError(f"{name}={values!r}: pass a sequence of whole numbers, e.g. (1, 2, 2).")
    return [_int(f"{name} entry", v, lo, 1_000_000) for v in values]
