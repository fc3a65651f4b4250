"""Trajectory files: HDF5 written atomically; HDF5, ``.npy`` and CSV read back.

HDF5 layout (``h5py``)::

    /t    (T,)            sample times, uniform grid t_k = t_0 + k dt
    /x    (n, T, dim)     positions, particle-major (one row per particle)
    attributes of / : simdiff_version, process, parameters (JSON), seed

:func:`read_trajectories` also reads

- ``.npy``: an array ``(n, T)`` or ``(n, T, dim)`` (particle-major, dim 1..3); times are
  ``k * dt`` with ``dt`` from the caller (default 1);
- ``.csv``: one row per sample with the columns ``particle, t, x[, y, z]`` (comma separated, an
  optional header line, rows in any order). Every particle must be sampled at the same times.

Both return ``(t, x)`` with ``x`` of shape ``(n, T, dim)``.
"""
from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from simdiff.errors import InputError
from simdiff.io.atomic import atomic_path

__all__ = ["write_trajectories", "read_trajectories", "read_attributes", "FORMATS"]

FORMATS = (".h5", ".hdf5", ".npy", ".csv")


def _jsonable(v: Any):
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def _check(t: np.ndarray, x: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3 or x.shape[0] < 1 or x.shape[1] < 2 or not 1 <= x.shape[2] <= 3:
        raise InputError(f"{source}: trajectories have shape {x.shape}; expected (n, T) or (n, T, dim) with "
                         f"n >= 1 particles, T >= 2 times and dim 1, 2 or 3 (particle-major).")
    if t.ndim != 1 or t.size != x.shape[1]:
        raise InputError(f"{source}: t has shape {t.shape} but x has {x.shape[1]} times; they must match.")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(x))):
        raise InputError(f"{source}: holds non-finite values (nan or inf); every sample must be finite.")
    if np.any(np.diff(t) <= 0):
        raise InputError(f"{source}: times must increase strictly.")
    return t, x


def write_trajectories(path: str | os.PathLike, t, x, attrs: dict | None = None) -> str:
    """Write trajectories ``x`` (n, T) or (n, T, dim) sampled at ``t`` (T,) to an HDF5 file.

    ``attrs`` may hold ``process`` (str), ``parameters`` (dict, stored as JSON), ``seed`` and any
    other entries (numbers and strings as they are, the rest as JSON). The file appears under its
    name only once complete (temporary file, then ``os.replace``). Returns the path.
    """
    import h5py

    from simdiff import __version__

    path = os.fspath(path)
    t, x = _check(np.asarray(t, dtype=float), np.asarray(x, dtype=float), "write_trajectories")
    attrs = dict(attrs or {})
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            h5.attrs["simdiff_version"] = __version__
            h5.attrs["process"] = str(attrs.pop("process", "unknown"))
            h5.attrs["parameters"] = json.dumps(attrs.pop("parameters", {}), default=_jsonable)
            seed = attrs.pop("seed", None)
            h5.attrs["seed"] = -1 if seed is None else int(seed)
            for k, v in attrs.items():
                h5.attrs[k] = v if isinstance(v, (int, float, str)) else json.dumps(v, default=_jsonable)
            h5.create_dataset("t", data=t)
            h5.create_dataset("x", data=x, chunks=(1, x.shape[1], x.shape[2]) if x.shape[0] > 1 else None)
    return path


def _exists(path: str) -> None:
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file; give a trajectory file ({', '.join(FORMATS)}).")
    if os.path.isdir(path):
        raise InputError(f"{path} is a directory; give a trajectory file ({', '.join(FORMATS)}).")


def _kind(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext in (".h5", ".hdf5"):
        return "h5"
    if ext in (".npy", ".csv"):
        return ext[1:]
    raise InputError(f"{path}: unknown trajectory format {ext or '(no extension)'!r}; use {', '.join(FORMATS)}.")


def read_attributes(path: str | os.PathLike) -> dict:
    """The attributes of an HDF5 trajectory file (``parameters`` decoded); ``{}`` for other formats."""
    path = os.fspath(path)
    _exists(path)
    if _kind(path) != "h5":
        return {}
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            out = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in h5.attrs.items()}
    except OSError as err:
        raise InputError(f"{path}: not a readable HDF5 file ({str(err).splitlines()[0]}).") from None
    try:
        out["parameters"] = json.loads(out.get("parameters", "{}"))
    except (TypeError, ValueError):
        pass
    return out


def _read_h5(path: str) -> tuple[np.ndarray, np.ndarray]:
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            if "x" not in h5 or "t" not in h5:
                raise InputError(f"{path}: not a trajectory file (needs datasets /t and /x; found "
                                 f"{', '.join('/' + k for k in h5) or 'none'}).")
            return np.asarray(h5["t"][()], dtype=float), np.asarray(h5["x"][()], dtype=float)
    except OSError as err:
        raise InputError(f"{path}: not a readable HDF5 file ({str(err).splitlines()[0]}).") from None


def _read_npy(path: str, dt: float) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as fh:
        if fh.read(6) != b"\x93NUMPY":
            raise InputError(f"{path}: not a .npy array file (no .npy header); save arrays with numpy.save.")
    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise InputError(f"{path}: not a readable .npy array ({(str(err).splitlines() or [type(err).__name__])[0]}).") from None
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise InputError(f"{path}: array of dtype {x.dtype}; trajectories must be real numbers.")
    if x.ndim not in (2, 3):
        raise InputError(f"{path}: array has shape {x.shape}; expected (n, T) or (n, T, dim), particle-major.")
    return dt * np.arange(x.shape[1], dtype=float), np.asarray(x, dtype=float)


def _read_csv(path: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, encoding="utf-8") as fh:
            lines = [ln.strip() for ln in fh if ln.strip() and not ln.lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not a readable text file ({type(err).__name__}).") from None
    if lines:
        try:
            float(lines[0].split(",")[0])
        except ValueError:
            lines = lines[1:]           # a header line
    if not lines:
        raise InputError(f"{path}: no data rows; expected columns particle, t, x[, y, z].")
    try:
        rows = np.array([[float(v) for v in ln.split(",")] for ln in lines], dtype=float)
    except ValueError:
        raise InputError(f"{path}: rows must be numbers separated by commas (columns particle, t, x[, y, z]); "
                         f"rows with a different number of columns or text were found.") from None
    if rows.ndim != 2 or not 3 <= rows.shape[1] <= 5:
        raise InputError(f"{path}: {rows.shape[1] if rows.ndim == 2 else '?'} columns; expected 3 to 5: "
                         f"particle, t, x[, y, z].")
    ids, t_all = rows[:, 0], rows[:, 1]
    order = np.lexsort((t_all, ids))
    rows = rows[order]
    uid, counts = np.unique(rows[:, 0], return_counts=True)
    if np.any(counts != counts[0]):
        raise InputError(f"{path}: particles have different numbers of samples ({counts.min()} to {counts.max()}); "
                         f"every particle must be sampled at the same times.")
    n, T = uid.size, int(counts[0])
    times = rows[:, 1].reshape(n, T)
    if not np.allclose(times, times[:1], rtol=1e-9, atol=1e-12):
        raise InputError(f"{path}: particles are sampled at different times; every particle needs the same times.")
    return times[0].copy(), rows[:, 2:].reshape(n, T, rows.shape[1] - 2)


def read_trajectories(path: str | os.PathLike, dt: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read ``(t, x)`` from ``.h5``/``.hdf5``, ``.npy`` or ``.csv``; ``x`` has shape (n, T, dim).

    ``dt`` (> 0) sets the times of a ``.npy`` array (``t_k = k dt``, default 1); HDF5 and CSV files
    carry their own times and ``dt`` is not used for them. Raises :class:`InputError` for a missing,
    unreadable or malformed file.
    """
    path = os.fspath(path)
    _exists(path)
    kind = _kind(path)
    if dt is not None and not (np.isfinite(dt) and dt > 0):
        raise InputError(f"dt={dt!r} must be a positive finite number (the sampling step).")
    if kind == "h5":
        t, x = _read_h5(path)
    elif kind == "npy":
        t, x = _read_npy(path, 1.0 if dt is None else float(dt))
    else:
        t, x = _read_csv(path)
    return _check(t, x, path)
