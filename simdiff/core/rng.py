"""Seeds and random generator state.

One user-facing ``seed`` (an int, ``None``, a ``numpy.random.Generator`` or a ``torch.Generator``)
becomes the generator of the array backend in use. States round-trip through JSON-friendly
values so that checkpoints can restore them bit for bit.
"""
from __future__ import annotations

import base64
import copy
from typing import Any

import numpy as np

from simdiff.errors import InputError, InputTypeError
from simdiff.core.backend import is_torch

_TORCH_SEED_MAX = 2**64 - 1


def _check_int_seed(seed, limit=None) -> None:
    if isinstance(seed, (int, np.integer)) and not (0 <= seed and (limit is None or seed <= limit)):
        upper = "" if limit is None else f" up to {limit}"
        raise InputError(f"seed={seed}: pass a non-negative int{upper}, None, a numpy Generator or a torch.Generator.")


def _is_torch_generator(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and type(x).__name__ == "Generator"


def make_rng(seed: Any, y: Any):
    """Generator for the backend of ``y``: numpy ``Generator`` or ``torch.Generator`` on y's device."""
    if is_torch(y):
        import torch

        if _is_torch_generator(seed):
            if seed.device.type != y.device.type:
                raise InputError(f"seed is a torch.Generator on {seed.device} and y0 is on {y.device}; pass "
                                 f"torch.Generator(device={str(y.device)!r}) or an int seed.")
            return seed
        if isinstance(seed, np.random.Generator):
            seed = int(seed.integers(0, 2**63 - 1))
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)
        if not isinstance(seed, (int, np.integer)):
            raise InputTypeError(f"seed={seed!r}: pass an int, None, a numpy Generator or a torch.Generator.")
        _check_int_seed(seed, _TORCH_SEED_MAX)
        g = torch.Generator(device=y.device)
        g.manual_seed(int(seed))
        return g
    if isinstance(seed, np.random.Generator):
        return seed
    if _is_torch_generator(seed):
        seed = int(seed.initial_seed())
    if seed is None or isinstance(seed, (int, np.integer, np.random.SeedSequence)):
        _check_int_seed(seed)
        return np.random.default_rng(seed)
    raise InputTypeError(f"seed={seed!r}: pass an int, None, a numpy Generator or a torch.Generator.")


def get_state(rng) -> dict:
    """A JSON-serialisable snapshot of the generator's state."""
    if isinstance(rng, np.random.Generator):
        return {"kind": "numpy", "state": copy.deepcopy(rng.bit_generator.state)}
    state = rng.get_state().cpu().numpy().tobytes()
    return {"kind": "torch", "state": base64.b64encode(state).decode("ascii")}


def set_state(rng, state: dict) -> None:
    """Restore a snapshot taken by :func:`get_state`."""
    if state["kind"] == "numpy":
        rng.bit_generator.state = copy.deepcopy(state["state"])
    else:
        import torch

        raw = np.frombuffer(base64.b64decode(state["state"]), dtype=np.uint8).copy()
        rng.set_state(torch.from_numpy(raw))


def child_seeds(seed: int | None, n: int) -> list[np.random.SeedSequence]:
    """Independent child seeds for ensembles: the same for serial and parallel runs."""
    return np.random.SeedSequence(seed).spawn(n)
