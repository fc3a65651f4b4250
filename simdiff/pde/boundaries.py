r"""Boundary conditions, per side of a box, turned into ghost-cell rules.

On a cell-centred grid the wall lies half a cell beyond the edge cell. Every non-periodic
condition becomes one affine rule for the ghost value beyond the wall,
:math:`u_g = a\,u_e + b`, with :math:`u_e` the edge cell (Blazek, *CFD Principles*, ch. 8):

=======================================  =============================  ==========================
condition                                a                              b
=======================================  =============================  ==========================
Dirichlet  u = g                         -1                             2 g
Neumann    du/dn = q (n outward)         1                              q dx
Robin      alpha u + beta du/dn = g      (beta/dx - alpha/2) / s        g / s,  s = alpha/2 + beta/dx
=======================================  =============================  ==========================

so every operator handles all of them with one formula. With Fick's law the outward flux through
a Neumann wall is ``-D q``: ``Neumann(0)`` is a no-flux wall.

Values ``g``/``q`` may be a number, an array over the side's faces, or a function of the face
coordinates ``f(x, y)``; a function that takes one more argument, ``f(x, y, t)``, is time-dependent.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np

from simdiff.errors import InputError
from simdiff.pde.grid import AXES, Grid

KINDS = ("periodic", "dirichlet", "neumann", "robin")


@dataclass(frozen=True, eq=False)
class BC:
    """One side's condition. Build with :func:`Periodic`, :func:`Dirichlet`, :func:`Neumann`, :func:`Robin`."""

    kind: str
    value: Any = 0.0
    alpha: float = 1.0
    beta: float = 0.0

    def to_dict(self) -> dict:
        v = self.value
        if callable(v):
            v = f"<function {getattr(v, '__name__', 'f')}>"
        elif isinstance(v, np.ndarray):
            v = "<array>" if v.size > 1 else float(v)
        d = {"kind": self.kind, "value": v}
        if self.kind == "robin":
            d.update(alpha=self.alpha, beta=self.beta)
        return d

    _t_arg = False   # set by Boundaries: the value is a function of (coords..., t)


def _n_args(fn):
    try:
        return len([p for p in inspect.signature(fn).parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)])
    except (TypeError, ValueError):
        return None


def Periodic() -> BC:
    return BC("periodic")


def Dirichlet(value: Any = 0.0) -> BC:
    """``u = value`` on the wall."""
    return BC("dirichlet", value)


def Neumann(value: Any = 0.0) -> BC:
    """``du/dn = value`` on the wall, ``n`` the outward normal (0: no flux)."""
    return BC("neumann", value)


def Robin(alpha: float, beta: float, value: Any = 0.0) -> BC:
    """``alpha u + beta du/dn = value`` on the wall."""
    return BC("robin", value, float(alpha), float(beta))


def _parse_one(spec, where: str) -> BC:
    if isinstance(spec, BC):
        return spec
    if isinstance(spec, str):
        k = spec.lower()
        if k == "periodic":
            return Periodic()
        if k in ("dirichlet", "neumann"):
            return BC(k, 0.0)
        if k in ("no-flux", "noflux", "reflecting"):
            return Neumann(0.0)
        raise InputError(f"unknown boundary condition {spec!r} at {where}; use one of "
                         f"{', '.join(KINDS)} (or a BC object: Dirichlet(value), Neumann(value), Robin(a, b, value)).")
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return Dirichlet(float(spec))
    if isinstance(spec, np.ndarray) and spec.dtype.kind in "fiu":
        return Dirichlet(spec)
    if isinstance(spec, dict) and "kind" in spec:        # BC.to_dict() read back from a run file
        value = spec.get("value", 0.0)
        if isinstance(value, str):
            raise InputError(f"the boundary condition at {where} was a {value}; it cannot be rebuilt from "
                             f"its description. Pass the function or array again.")
        if spec["kind"] == "robin":
            return Robin(spec.get("alpha", 1.0), spec.get("beta", 0.0), value)
        return _parse_one((spec["kind"], value) if spec["kind"] != "periodic" else "periodic", where)
    if isinstance(spec, (tuple, list)) and spec and isinstance(spec[0], str):
        k = spec[0].lower()
        if k == "robin":
            return Robin(*spec[1:])
        if k in ("dirichlet", "neumann"):
            return BC(k, spec[1] if len(spec) > 1 else 0.0)
    raise InputError(f"cannot read the boundary condition {spec!r} at {where}; use 'periodic', 'dirichlet', "
                     f"'neumann', a number (Dirichlet value), or Dirichlet(...)/Neumann(...)/Robin(...).")


class Boundaries:
    """The conditions of all sides of a grid: ``sides[axis][0 low | 1 high]``.

    ``bc`` may be one spec for every side (``"neumann"``, ``"periodic"``, ``Dirichlet(1.0)``), a
    list with one spec or one ``(low, high)`` pair per axis, or a dict with keys ``"x"``, ``"x-"``,
    ``"x+"``, ``"y"``, ... (unnamed sides default to no-flux). Periodic axes of the grid are
    periodic whatever ``bc`` says for them only if ``bc`` says nothing else.
    """

    def __init__(self, grid: Grid, bc: Any = "neumann"):
        self.grid = grid
        nd = grid.ndim
        sides: list[list[BC | None]] = [[None, None] for _ in range(nd)]
        if isinstance(bc, Boundaries):
            bc = bc.spec
        self.spec = bc
        if isinstance(bc, dict) and "kind" in bc:
            bc = _parse_one(bc, "every side")
        if isinstance(bc, dict):
            for key, val in bc.items():
                k = str(key).lower()
                if not k or k[0] not in AXES[:nd] or k[1:] not in ("", "-", "+"):
                    raise InputError(f"bc key {key!r} is not a side of a {nd}D grid; use "
                                     f"{', '.join(a + s for a in AXES[:nd] for s in ('', '-', '+'))}.")
                a = AXES.index(k[0])
                for s in ((0, 1) if k[1:] == "" else ((0,) if k[1:] == "-" else (1,))):
                    sides[a][s] = _parse_one(val, f"{AXES[a]}{'-+'[s]}")
        elif isinstance(bc, list) or (isinstance(bc, tuple) and len(bc) == nd and not isinstance(bc[0], str)):
            if len(bc) != nd:
                raise InputError(f"bc has {len(bc)} entries; give one per axis ({nd}), or one spec for all sides.")
            for a, item in enumerate(bc):
                pair = item if (isinstance(item, (tuple, list)) and len(item) == 2
                                and not isinstance(item[0], str)) else (item, item)
                for s in (0, 1):
                    sides[a][s] = _parse_one(pair[s], f"{AXES[a]}{'-+'[s]}")
        else:
            one = _parse_one(bc, "every side")
            for a in range(nd):
                sides[a] = [one, one]
        for a in range(nd):
            for s in (0, 1):
                if sides[a][s] is None:
                    sides[a][s] = Periodic() if grid.periodic[a] else Neumann(0.0)
            kinds = {sides[a][0].kind == "periodic", sides[a][1].kind == "periodic"}
            if grid.periodic[a] and kinds != {True}:
                if isinstance(self.spec, (str, BC)):
                    sides[a] = [Periodic(), Periodic()]     # one spec for all: periodic axes stay periodic
                else:
                    raise InputError(f"the grid is periodic along {AXES[a]}, but bc gives "
                                     f"{sides[a][0].kind}/{sides[a][1].kind} there. Use Grid(..., periodic=False) "
                                     f"along {AXES[a]} for walls.")
            elif not grid.periodic[a] and True in kinds:
                raise InputError(f"bc is periodic along {AXES[a]}, but the grid is not: pass "
                                 f"Grid(..., periodic=True) (or a per-axis list) instead.")
        for a in range(nd):
            for s in (0, 1):
                b = sides[a][s]
                if b.kind == "robin" and abs(b.alpha / 2 + b.beta / grid.dx[a]) < 1e-300:
                    raise InputError(f"Robin condition at {AXES[a]}{'-+'[s]} has alpha/2 + beta/dx = 0; "
                                     f"the ghost rule is undefined. Change alpha or beta.")
                if b.kind != "periodic":
                    object.__setattr__(b, "_t_arg", callable(b.value) and _n_args(b.value) == nd + 1)
        self.sides = sides

    # ghost rules ---------------------------------------------------------------------------------
    @property
    def time_dependent(self) -> bool:
        return any(b.kind != "periodic" and b._t_arg for side in self.sides for b in side)

    def face_shape(self, axis: int) -> tuple:
        return tuple(n for a, n in enumerate(self.grid.shape) if a != axis)

    def values(self, axis: int, side: int, t: float = 0.0) -> np.ndarray:
        """The condition's value on every face of one side, shape ``face_shape(axis)``."""
        b = self.sides[axis][side]
        shape = self.face_shape(axis)
        v = b.value
        if callable(v):
            xs = self.grid.face_coords(axis, side)
            v = v(*xs, t) if b._t_arg else v(*xs)
        v = np.asarray(v, dtype=float)
        try:
            v = np.broadcast_to(v, shape)
        except ValueError:
            raise InputError(f"boundary value at {AXES[axis]}{'-+'[side]} has shape {v.shape}; that side has "
                             f"{shape} faces.") from None
        if not np.all(np.isfinite(v)):
            raise InputError(f"boundary value at {AXES[axis]}{'-+'[side]} is not finite.")
        return v

    def ghost_rule(self, axis: int, side: int, t: float = 0.0) -> tuple[float, np.ndarray]:
        """``(a, b)`` with ``ghost = a * edge + b`` (``b`` over the side's faces); periodic: ``(nan, None)``."""
        bcs = self.sides[axis][side]
        dx = self.grid.dx[axis]
        if bcs.kind == "periodic":
            return float("nan"), None
        g = self.values(axis, side, t)
        if bcs.kind == "dirichlet":
            return -1.0, 2.0 * g
        if bcs.kind == "neumann":
            return 1.0, g * dx
        s = bcs.alpha / 2 + bcs.beta / dx
        return (bcs.beta / dx - bcs.alpha / 2) / s, g / s

    def to_dict(self) -> dict:
        return {f"{AXES[a]}{'-+'[s]}": self.sides[a][s].to_dict() for a in range(self.grid.ndim) for s in (0, 1)}
