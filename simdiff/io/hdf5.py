"""HDF5 run files, written frame by frame.

Layout (``h5py``; coordinates are HDF5 dimension scales, so ``xarray.open_dataset(path,
engine="h5netcdf")`` reads the file as it is)::

    /t              (n_frames,)          time of each frame, dimension scale "t"
    /x, /y, /z      (n_i,)               cell-centre coordinates, dimension scales
    /<field>        (n_frames, *shape)   one dataset per field (species), time first
    attributes of / : simdiff_version, created, model, grid, bc, method, dt, seed, config (JSON)

The file is created under a temporary name with its first frame and renamed into place, then each
further frame is appended and flushed: an interrupted run keeps every finished frame, and
``RunFile.open_for_resume`` continues it.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from typing import Any, Sequence

import numpy as np

from simdiff.errors import CheckpointError, InputError

AXES = "xyz"


def _jsonable(v: Any):
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


class RunFile:
    """Writer of one run's frames. Use :meth:`create` or :meth:`open_for_resume`."""

    def __init__(self, path, h5, fields):
        self.path = os.fspath(path)
        self.h5 = h5
        self.fields = list(fields)

    @classmethod
    def create(cls, path, grid, fields: Sequence[str], t0: float, frame0: np.ndarray, attrs: dict) -> "RunFile":
        import h5py

        path = os.fspath(path)
        d = os.path.dirname(os.path.abspath(path))
        os.makedirs(d, exist_ok=True)
        tmp = os.path.join(d, f".tmp-{os.getpid()}-{os.path.basename(path)}")
        frame0 = np.asarray(frame0, dtype=float).reshape((len(fields), *grid.shape))
        with h5py.File(tmp, "w") as h5:
            from simdiff import __version__

            h5.attrs["simdiff_version"] = __version__
            h5.attrs["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat()
            for k, v in attrs.items():
                h5.attrs[k] = json.dumps(v, default=_jsonable) if not isinstance(v, (int, float, str)) else v
            ts = h5.create_dataset("t", data=[float(t0)], maxshape=(None,), chunks=(1024,))
            ts.make_scale("t")
            scales = []
            for a in range(grid.ndim):
                c = h5.create_dataset(AXES[a], data=grid.coords(a))
                c.make_scale(AXES[a])
                c.attrs["units"] = "length"
                scales.append(c)
            for i, name in enumerate(fields):
                ds = h5.create_dataset(name, data=frame0[i][None], maxshape=(None, *grid.shape),
                                       chunks=(1, *grid.shape))
                ds.dims[0].attach_scale(ts)
                for a, sc in enumerate(scales):
                    ds.dims[a + 1].attach_scale(sc)
        os.replace(tmp, path)
        return cls(path, h5py.File(path, "a"), fields)

    @classmethod
    def open_for_resume(cls, path, fields: Sequence[str]) -> tuple["RunFile", float, np.ndarray]:
        """Open an existing run file; returns (writer, last time, last frame as (n_fields, *shape))."""
        import h5py

        path = os.fspath(path)
        try:
            h5 = h5py.File(path, "a")
        except OSError as err:
            raise CheckpointError(f"cannot resume from {path!r}: {err}. Delete it or pass another --out.") from None
        missing = [f for f in fields if f not in h5]
        if missing or "t" not in h5:
            h5.close()
            raise CheckpointError(f"{path!r} is not a run file of this model (missing {missing or ['t']}).")
        n = min([h5["t"].shape[0]] + [h5[f].shape[0] for f in fields])
        # a frame cut off mid-write (time written, fields not) is dropped
        h5["t"].resize((n,))
        for f in fields:
            h5[f].resize((n, *h5[f].shape[1:]))
        t = float(h5["t"][n - 1])
        last = np.stack([h5[f][n - 1] for f in fields])
        return cls(path, h5, fields), t, last

    def append(self, t: float, frame: np.ndarray) -> None:
        frame = np.asarray(frame)
        if frame.shape[0] != len(self.fields):
            frame = frame.reshape((len(self.fields), *frame.shape))
        for i, name in enumerate(self.fields):
            ds = self.h5[name]
            ds.resize((ds.shape[0] + 1, *ds.shape[1:]))
            ds[-1] = frame[i]
        ts = self.h5["t"]
        ts.resize((ts.shape[0] + 1,))
        ts[-1] = float(t)
        self.h5.flush()

    def set_attrs(self, **attrs) -> None:
        for k, v in attrs.items():
            self.h5.attrs[k] = json.dumps(v, default=_jsonable) if not isinstance(v, (int, float, str)) else v
        self.h5.flush()

    def close(self) -> None:
        if self.h5 is not None:
            self.h5.close()
            self.h5 = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def decode_attrs(attrs) -> dict:
    """HDF5 attributes with the JSON-encoded ones (objects, lists) decoded."""
    out = {}
    for k, v in attrs.items():
        try:
            out[k] = json.loads(v) if isinstance(v, str) and v[:1] in "[{" else v
        except json.JSONDecodeError:
            out[k] = v
    return out


def read_run(path) -> dict:
    """Everything in a run file: ``{"t": ..., "coords": [...], "fields": {name: array}, "attrs": {...}}``."""
    import h5py

    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"run file {path!r} does not exist.")
    with h5py.File(path, "r") as h5:
        attrs = decode_attrs(h5.attrs)
        coords = [h5[a][()] for a in AXES if a in h5]
        fields = {k: h5[k][()] for k in h5.keys() if k not in ("t",) + tuple(AXES)}
        return {"t": h5["t"][()], "coords": coords, "fields": fields, "attrs": attrs}
