"""Exponential moving average of a network's weights (the weights people sample with)."""
from __future__ import annotations

import copy

import torch

from simdiff.errors import InputError

__all__ = ["EMA"]


class EMA:
    """``shadow <- decay * shadow + (1 - decay) * weights`` after every optimiser step.

    ``warmup=True`` uses ``min(decay, (1 + n) / (10 + n))`` at update ``n`` so early averages are
    not dominated by the random initialisation. ``model`` is a copy holding the averaged weights
    (buffers are copied as they are).
    """

    def __init__(self, net: torch.nn.Module, decay: float = 0.999, warmup: bool = True):
        if not 0.0 <= float(decay) < 1.0:
            raise InputError(f"decay={decay} must be in [0, 1).")
        self.decay, self.warmup = float(decay), bool(warmup)
        self.model = copy.deepcopy(net).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, net: torch.nn.Module) -> None:
        n = self.updates
        d = min(self.decay, (1.0 + n) / (10.0 + n)) if self.warmup else self.decay
        for s, p in zip(self.model.parameters(), net.parameters()):
            s.lerp_(p.detach(), 1.0 - d)
        for s, b in zip(self.model.buffers(), net.buffers()):
            s.copy_(b)
        self.updates += 1

    def state_dict(self) -> dict:
        return {"decay": self.decay, "warmup": self.warmup, "updates": self.updates,
                "weights": self.model.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.decay, self.warmup, self.updates = state["decay"], state["warmup"], int(state["updates"])
        self.model.load_state_dict(state["weights"])
