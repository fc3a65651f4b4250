"""What every network shares: a JSON-able ``config`` that rebuilds it, and a parameter count.

A network class registers itself with :func:`register_net`; ``build(config)`` rebuilds any
registered network from ``net.config`` (a dict with ``"type"``), so a checkpoint needs only the
weights and that dict.

The model protocol the samplers use: ``net(x, t, label=None) -> prediction`` with ``t`` a tensor of
shape ``(batch,)`` in the forward process's time units; attributes ``prediction`` ("eps", "x0",
"v" or "score"), ``conditional`` (bool) and, for conditional nets, ``null_label`` (the label
meaning "no class", for classifier-free guidance) and ``num_classes``.
"""
from __future__ import annotations

import json
from typing import Any

import torch

from simdiff.errors import InputError

__all__ = ["Net", "register_net", "build", "config_to_json", "config_from_json"]

_NETS: dict[str, type] = {}


def register_net(cls):
    _NETS[cls.__name__] = cls
    return cls


class Net(torch.nn.Module):
    """Base class: subclasses call ``super().__init__(config)`` with their constructor arguments."""

    prediction: str = "eps"
    conditional: bool = False
    null_label: int | None = None
    num_classes: int | None = None

    def __init__(self, config: dict):
        super().__init__()
        self._config = {"type": type(self).__name__, **config}
        json.dumps(self._config)          # fails early when a setting is not JSON-able

    @property
    def config(self) -> dict:
        return dict(self._config)

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @classmethod
    def from_config(cls, config: dict) -> "Net":
        cfg = {k: v for k, v in config.items() if k != "type"}
        return cls(**cfg)


def build(config: dict) -> Net:
    """Rebuild a registered network from its ``config``."""
    if not isinstance(config, dict) or "type" not in config:
        raise InputError("a network config must be a dict with a 'type' entry (net.config gives one).")
    kind = config["type"]
    if kind not in _NETS:
        # importing the modules registers the built-in nets
        from simdiff.generative.nets import classifier, mlp, unet  # noqa: F401
    if kind not in _NETS:
        raise InputError(f"unknown network type {kind!r}; known: {', '.join(sorted(_NETS))}.")
    try:
        return _NETS[kind].from_config(config)
    except TypeError as err:
        raise InputError(f"the {kind} config does not fit its constructor: {err}") from None


def config_to_json(config: dict) -> str:
    return json.dumps(config, indent=2, sort_keys=True)


def config_from_json(text: str) -> dict[str, Any]:
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"the network config is not valid JSON ({err}).") from None
    return cfg
