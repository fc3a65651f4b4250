"""Checkpoints of a running solve: written atomically, read back with clear errors.

A checkpoint is an ``.npz`` file holding the state at a saved frame, every frame saved so far, the
random generator's state (and its state when the solve began, so drivers that draw a whole path up
front can redraw it), the driver's position, the method's history, and a fingerprint of the solve
settings. Resuming with other settings is refused.
"""
from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np

from simdiff.errors import CheckpointError
from simdiff.io.atomic import atomic_write

FORMAT = "simdiff-checkpoint-1"


def save(path, *, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    meta = dict(meta, format=FORMAT)
    payload = {"meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    payload.update(arrays)
    atomic_write(path, lambda fh: np.savez(fh, **payload))


def load(path) -> tuple[dict, dict[str, np.ndarray]]:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointError(f"checkpoint {path!r} does not exist; check the path, or start without resume=.")
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):  # a plain .npy array, not an archive
            raise ValueError("the file is a single array, not an .npz archive")
        with z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
        if not isinstance(meta, dict):
            raise ValueError("its metadata is not a JSON object")
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, EOFError) as err:
        raise CheckpointError(f"checkpoint {path!r} is corrupt or not a simdiff checkpoint ({err}). "
                              f"Delete it and start again.") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path!r} is not a simdiff checkpoint (format {meta.get('format')!r}).")
    return meta, arrays


def pack_state(state: Any, ops) -> tuple[list, dict[str, np.ndarray]]:
    """A method's state (None or a tuple of arrays/numbers) as a JSON layout plus arrays."""
    if state is None:
        return None, {}
    layout, arrays = [], {}
    for i, x in enumerate(state):
        if isinstance(x, (int, float)):
            layout.append(["num", float(x)])
        elif x is None:
            layout.append(["none", None])
        else:
            arrays[f"mstate_{i}"] = ops.to_numpy(x)
            layout.append(["array", f"mstate_{i}"])
    return layout, arrays


def unpack_state(layout, arrays, ops, like):
    if layout is None:
        return None
    out = []
    for kind, v in layout:
        out.append(v if kind == "num" else None if kind == "none" else ops.from_numpy(arrays[v], like))
    return tuple(out)
