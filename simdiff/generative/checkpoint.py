"""Checkpoints of a generative model: what sampling needs, and what exact resumption needs.

A checkpoint is a directory of three files, each written atomically (a temporary file beside it,
then ``os.replace``):

=======================  =========================================================================
``weights.safetensors``  the weights to sample with: the EMA weights when training kept an EMA,
                         else the network's own (safetensors: no pickle, loads lazily)
``model.json``           everything that rebuilds the model from the file alone: the network's
                         ``config``, the forward process (``sde.to_dict()``), the prediction, the
                         step, which weights are stored, the data set and the caller's ``extra``
``state.pt``             what a resumed run needs: the raw network weights, the optimiser, the EMA,
                         the global torch / numpy / Python random states and the caller's
                         ``train_state`` (loaded with ``weights_only=True``)
=======================  =========================================================================

The step is written into all three, so files from different saves are never mixed silently.

>>> net, sde = load_model("runs/digits")          # doctest: +SKIP
"""
from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from simdiff.errors import CheckpointError, InputError, InputTypeError
from simdiff.io.atomic import atomic_write

__all__ = ["save_checkpoint", "load_model", "read_checkpoint", "rng_state", "set_rng_state",
           "WEIGHTS", "MODEL", "STATE", "FORMAT"]

WEIGHTS, MODEL, STATE = "weights.safetensors", "model.json", "state.pt"
FORMAT = "simdiff-model-1"


def _safetensors():
    try:
        import safetensors.torch as st
    except ImportError:
        raise InputError("model checkpoints need the safetensors package: pip install safetensors "
                         "(or pip install 'simdiff[generative]').") from None
    return st


# -- random states ------------------------------------------------------------------------------------
def rng_state() -> dict:
    """The global random states (torch CPU and CUDA, numpy's legacy generator, Python's ``random``)."""
    np_state = np.random.get_state(legacy=False)
    np_state = {"bit_generator": np_state["bit_generator"],
                "key": torch.as_tensor(np_state["state"]["key"].astype(np.int64)),
                "pos": int(np_state["state"]["pos"]), "has_gauss": int(np_state["has_gauss"]),
                "gauss": float(np_state["gauss"])}
    out = {"torch": torch.get_rng_state(), "numpy": np_state, "python": random.getstate()}
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"])
    s = state["numpy"]
    np.random.set_state({"bit_generator": s["bit_generator"],
                         "state": {"key": s["key"].numpy().astype(np.uint32), "pos": s["pos"]},
                         "has_gauss": s["has_gauss"], "gauss": s["gauss"]})
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# -- saving ------------------------------------------------------------------------------------------
def save_checkpoint(directory: str | os.PathLike, net: torch.nn.Module, sde, step: int, optimizer=None, ema=None,
                    extra: dict | None = None, train_state: dict | None = None, data: Any = None) -> Path:
    """Write ``weights.safetensors``, ``model.json`` and ``state.pt`` into ``directory``.

    Parameters
    ----------
    net
        A :class:`~simdiff.generative.nets.Net` (its ``config`` rebuilds it).
    sde
        The forward process it is trained for.
    step
        Optimiser steps taken so far.
    optimizer, ema
        Saved in ``state.pt``; with an :class:`~simdiff.generative.ema.EMA` the sampling weights
        are its averaged weights.
    extra
        JSON-able settings stored in ``model.json`` under ``"extra"`` (a trainer's settings).
    train_state
        More state for ``state.pt`` (tensors, numbers, dicts), e.g. a data-order generator.
    data
        An :class:`~simdiff.generative.data.ImageData` or a JSON-able dict describing the data set.

    Returns the directory.
    """
    if not hasattr(net, "config"):
        raise InputTypeError(f"net is a {type(net).__name__}; pass a simdiff Net (it has a JSON config).")
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
        raise InputError(f"step={step!r} must be a whole number >= 0.")
    step = int(step)
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    from simdiff import __version__

    data_info = data.info() if hasattr(data, "info") else data
    meta = {"format": FORMAT, "simdiff_version": __version__, "step": step, "net": net.config, "sde": sde.to_dict(),
            "prediction": getattr(net, "prediction", "eps"), "weights": WEIGHTS,
            "weights_kind": "ema" if ema is not None else "raw", "data": data_info, "extra": extra or {}}
    try:
        text = json.dumps(meta, indent=2, sort_keys=True)
    except TypeError as err:
        raise InputError(f"extra= and data= must be JSON-able for {MODEL} ({err}).") from None
    st = _safetensors()
    sample_net = ema.model if ema is not None else net
    weights = {k: v.detach().to("cpu").contiguous() for k, v in sample_net.state_dict().items()}
    blob = st.save(weights, metadata={"format": FORMAT, "step": str(step)})
    atomic_write(d / WEIGHTS, lambda fh: fh.write(blob))

    state = {"format": FORMAT, "step": step, "net": net.state_dict(), "rng": rng_state(),
             "optimizer": optimizer.state_dict() if optimizer is not None else None,
             "ema": ema.state_dict() if ema is not None else None, "train_state": train_state or {}}
    atomic_write(d / STATE, lambda fh: torch.save(state, fh))
    atomic_write(d / MODEL, lambda fh: fh.write(text.encode() + b"\n"))
    return d


# -- loading -----------------------------------------------------------------------------------------
def _paths(path, weights) -> tuple[Path, Path | None]:
    p = Path(path)
    if p.is_dir():
        return p / MODEL, Path(weights) if weights is not None else None
    if p.suffix == ".safetensors":
        return p.parent / MODEL, p if weights is None else Path(weights)
    if p.suffix == ".json" or not p.exists():
        if not p.exists():
            raise CheckpointError(f"checkpoint {os.fspath(p)!r} does not exist; pass a checkpoint directory "
                                  f"(holding {MODEL} and {WEIGHTS}) or a {MODEL} file.")
        return p, Path(weights) if weights is not None else None
    raise CheckpointError(f"{os.fspath(p)!r} is neither a checkpoint directory, a {MODEL} nor a .safetensors file.")


def _read_meta(model_file: Path) -> dict:
    if not model_file.is_file():
        raise CheckpointError(f"{os.fspath(model_file)!r} is missing: a checkpoint directory holds {MODEL} "
                              f"(the model's settings) beside {WEIGHTS}.")
    try:
        meta = json.loads(model_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{os.fspath(model_file)!r} is corrupt: not valid JSON ({err}).") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise CheckpointError(f"{os.fspath(model_file)!r} is not a simdiff model file (format {got!r}, "
                              f"expected {FORMAT!r}).")
    missing = [k for k in ("net", "sde", "step") if k not in meta]
    if missing:
        raise CheckpointError(f"{os.fspath(model_file)!r} lacks the entries {missing}; it is damaged.")
    return meta


def load_model(path: str | os.PathLike, weights: str | os.PathLike | None = None, device: Any = "cpu"):
    """``(net, sde)`` from a checkpoint: the net in eval mode with the saved (EMA) weights.

    ``path`` is a checkpoint directory, its ``model.json`` or its ``weights.safetensors``
    (``model.json`` then sits beside it); ``weights`` names another weights file.
    """
    from simdiff.generative.nets.base import build
    from simdiff.generative.sde import sde_from_dict

    model_file, weights_file = _paths(path, weights)
    meta = _read_meta(model_file)
    if weights_file is None:
        weights_file = model_file.parent / meta.get("weights", WEIGHTS)
    try:
        net = build(meta["net"])
        sde = sde_from_dict(meta["sde"])
    except (InputError, TypeError, ValueError) as err:
        raise CheckpointError(f"{os.fspath(model_file)!r} does not describe a model this simdiff can build: "
                              f"{err}") from None
    if not weights_file.is_file():
        raise CheckpointError(f"weights file {os.fspath(weights_file)!r} is missing; it is written beside "
                              f"{MODEL} by save_checkpoint.")
    st = _safetensors()
    try:
        from safetensors import safe_open

        with safe_open(os.fspath(weights_file), "pt") as fh:
            file_meta = fh.metadata() or {}
        tensors = st.load_file(os.fspath(weights_file))
    except Exception as err:             # safetensors raises its own error type for damaged files
        raise CheckpointError(f"weights file {os.fspath(weights_file)!r} is corrupt or truncated ({err}).") from None
    if "step" in file_meta and int(file_meta["step"]) != int(meta["step"]):
        raise CheckpointError(f"{os.fspath(weights_file)!r} is from step {file_meta['step']} but "
                              f"{os.fspath(model_file)!r} from step {meta['step']}: the files come from "
                              f"different saves.")
    _load_weights(net, tensors, weights_file)
    return net.to(device).eval(), sde


def _load_weights(net, tensors: dict, source) -> None:
    own = net.state_dict()
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    bad = [f"{k}: {tuple(tensors[k].shape)} vs {tuple(own[k].shape)}"
           for k in own if k in tensors and tensors[k].shape != own[k].shape]
    if missing or unexpected or bad:
        parts = []
        if missing:
            parts.append(f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        if unexpected:
            parts.append(f"unexpected {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
        if bad:
            parts.append(f"wrong shapes {bad[:3]}")
        raise CheckpointError(f"weights in {os.fspath(source)!r} do not fit the network of its {MODEL}: "
                              f"{'; '.join(parts)}.")
    net.load_state_dict(tensors)


def read_checkpoint(directory: str | os.PathLike) -> tuple[dict, dict]:
    """``(meta, state)``: the parsed ``model.json`` and ``state.pt`` of a checkpoint directory
    (for resuming; :func:`load_model` is what sampling needs)."""
    d = Path(directory)
    if not d.is_dir():
        raise CheckpointError(f"checkpoint directory {os.fspath(d)!r} does not exist.")
    meta = _read_meta(d / MODEL)
    f = d / STATE
    if not f.is_file():
        raise CheckpointError(f"{os.fspath(f)!r} is missing: it holds the optimiser and random states a resumed "
                              f"run needs.")
    try:
        state = torch.load(f, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{os.fspath(f)!r} is corrupt or truncated ({type(err).__name__}: {err}).") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{os.fspath(f)!r} is not a simdiff training state.")
    if int(state["step"]) != int(meta["step"]):
        raise CheckpointError(f"{os.fspath(f)!r} is from step {state['step']} but {MODEL} from step {meta['step']}: "
                              f"the files come from different saves.")
    return meta, state
