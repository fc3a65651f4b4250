"""Networks for generative diffusion: ``MLP`` for vector data, ``UNet`` for images.

Every network is a :class:`Net` with a JSON-able ``config``; ``build(net.config)`` rebuilds it.
"""
from __future__ import annotations

from simdiff.generative.nets.base import Net, build, register_net
from simdiff.generative.nets.unet import UNet

__all__ = ["Net", "build", "register_net", "UNet", "MLP"]


def __getattr__(name: str):
    # MLP lives in nets/mlp.py; loaded on first use
    if name == "MLP":
        from simdiff.generative.nets.mlp import MLP

        return MLP
    raise AttributeError(f"module 'simdiff.generative.nets' has no attribute {name!r}")
