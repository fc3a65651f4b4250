r"""Reaction–diffusion systems :math:`\partial_t u_s = D_s \nabla^2 u_s + R_s(u)` on grids.

A model names its species, its reaction parameters (with defaults and valid ranges), its
diffusivities and its presets, and ships two versions of the same maths:

- ``reaction_numpy(u, **params)``: the reaction on whole arrays (the reference, and the ODE of
  the homogeneous system used by the Turing analysis and the oscillation tests);
- ``kernel``: a module-level numba kernel (``cache=True``) that fuses the diffusion stencil and
  the reaction in one compiled call, so a cold ``simdiff pde gray-scott`` starts from the disk
  cache. Its parameter layout is :func:`rd_layout`'s.

The state is ``(n_species, *grid.shape)``. ``problem(grid, method=...)`` returns the core ODE for
a method: explicit methods get the fused kernel (explicit Euler fused into one pass per step);
``etdrk4``/``etd1``/``etdrk2``/``spectral`` get the Fourier-diagonal Laplacian as the linear part and
the reaction alone as the non-linear part (periodic grids); ``crank_nicolson``/``backward_euler``
(IMEX) get the sparse Laplacian as the linear part.
"""
from __future__ import annotations

import math
from typing import Any, ClassVar

import numba as nb
import numpy as np

from simdiff.core.linear import FourierDiagonal, SparseOperator
from simdiff.core.problem import ODE, SDE, Kernel
from simdiff.errors import InputError
from simdiff.pde.boundaries import Boundaries
from simdiff.pde.diffusion import encode_bc
from simdiff.pde.grid import Grid, as_mask
from simdiff.pde.operators import stencils
from simdiff.pde.operators.packing import HDR_I, Packed

EXPLICIT = ("euler", "heun", "rk4", "ssprk3")
EXPONENTIAL = ("etd1", "etdrk2", "etdrk4")
IMEX = ("backward_euler", "crank_nicolson")
METHODS = EXPLICIT + EXPONENTIAL + IMEX + ("euler_maruyama",)

# ip slots after the stencil header: [HDR_I] offset of the reaction parameters in p,
# [HDR_I + 1] 1 = reaction only (no diffusion), [HDR_I + 2] 1 = general stencil (masks)
RD_I = 3

_REGISTRY: dict[str, type] = {}


@nb.njit(cache=True)
def rd_diffuse(t, y, out, p, ip):
    """The diffusion part of a fused RD kernel into ``out`` (``u + h lap`` when fused; zeros, or
    ``u`` when fused, for reaction-only problems). Returns the factor the reaction is scaled by."""
    base = HDR_I           # the RD slots sit right after the stencil header (see rd_layout)
    fs = p[12] if p[12] != 0.0 else 1.0
    if ip[base + 1] == 1:
        if p[12] != 0.0:
            for c in range(y.size):
                out[c] = y[c]
        else:
            for c in range(y.size):
                out[c] = 0.0
    elif ip[base + 2] == 1:
        stencils.div_grad_kernel(t, y, out, p, ip)
    else:
        stencils.laplace_kernel(t, y, out, p, ip)
    return fs


@nb.njit(cache=True)
def rd_params(p, ip):
    """Offset of the reaction parameters in p."""
    return ip[HDR_I]


@nb.njit(cache=True)
def rd_masked(ip):
    """True when the grid has a mask (read once per call: the reaction loop is then unswitched)."""
    return ip[16] == 1


@nb.njit(cache=True)
def rd_inside(ip, c):
    """False for cells outside a mask (the reaction is off there)."""
    return ip[16] == 0 or ip[ip[23] + c] == 1


def rd_layout(grid: Grid, bounds: Boundaries, D: np.ndarray, params: np.ndarray, *, mask=None,
              reaction_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(p, ip)`` of a fused RD kernel: the stencil layout with per-species D, the reaction
    parameters appended to p, and three RD slots inserted before the mask in ip."""
    pk = Packed(grid, bounds, D=1.0, mask=mask, species_D=D)
    p = np.concatenate([pk.p, np.asarray(params, dtype=float)])
    head, rest = pk.ip[:HDR_I].copy(), pk.ip[HDR_I:]
    slots = np.array([pk.p.size, 1 if reaction_only else 0, 1 if mask is not None else 0], dtype=np.int64)
    head[23] = HDR_I + RD_I
    ip = np.concatenate([head, slots, rest])
    return np.ascontiguousarray(p), np.ascontiguousarray(ip)


class ReactionDiffusion:
    """Base class of reaction–diffusion models; subclasses set the class attributes below.

    Parameters are keyword arguments by name (``F=0.04``), diffusivities ``D_<species>``
    (``D_u=2e-5``); ``bc`` as for :class:`~simdiff.pde.Diffusion` (default periodic where the grid
    is periodic, no-flux walls otherwise), one condition for all species.
    """

    name: ClassVar[str] = ""
    species: ClassVar[tuple[str, ...]] = ()
    parameters: ClassVar[dict[str, float]] = {}
    ranges: ClassVar[dict[str, tuple[float, float]]] = {}
    diffusivity: ClassVar[dict[str, float]] = {}
    presets: ClassVar[dict[str, dict]] = {}
    description: ClassVar[str] = ""
    kernel: ClassVar[Any] = None
    extent: ClassVar[float] = 1.0          # the domain side the presets are made for
    t_end: ClassVar[float] = 100.0         # a run length that shows the model's behaviour
    nonnegative: ClassVar[bool] = False    # concentrations: a negative value means the step is too large

    def __init_subclass__(cls, register: bool = True, **kw):
        super().__init_subclass__(**kw)
        if cls.name and register:
            _REGISTRY[cls.name] = cls

    def __init__(self, bc: Any = "neumann", **values):
        self.bc = bc
        self.params = dict(self.parameters)
        self.D = {s: float(self.diffusivity.get(s, 1.0)) for s in self.species}
        for key, val in values.items():
            if key in self.params:
                self.params[key] = float(val)
            elif key.startswith("D_") and key[2:] in self.D:
                self.D[key[2:]] = float(val)
            else:
                valid = ", ".join(list(self.params) + [f"D_{s}" for s in self.species])
                raise InputError(f"{self.name}: unknown parameter {key!r}; valid ones are {valid}.")
        for key, val in self.params.items():
            lo, hi = self.ranges.get(key, (-math.inf, math.inf))
            if not (math.isfinite(val) and lo <= val <= hi):
                raise InputError(f"{self.name}: {key}={val:g} is outside its valid range [{lo:g}, {hi:g}].")
        for s, d in self.D.items():
            if not (math.isfinite(d) and d >= 0):
                raise InputError(f"{self.name}: diffusivity D_{s}={d:g} must be finite and >= 0 (species {s!r}).")

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def preset(cls, name: str, **overrides) -> "ReactionDiffusion":
        """The model with a named preset's parameters (``overrides`` win)."""
        if name not in cls.presets:
            raise InputError(f"{cls.name} has no preset {name!r}; presets: {', '.join(cls.presets)}.")
        values = {k: v for k, v in cls.presets[name].items() if k != "description"}
        values.update(overrides)
        return cls(**values)

    def __getattr__(self, key):
        params = self.__dict__.get("params", {})
        if key in params:
            return params[key]
        raise AttributeError(key)

    # -- maths -----------------------------------------------------------------------------------
    @staticmethod
    def reaction_numpy(u, **params):  # pragma: no cover - every model overrides
        raise NotImplementedError

    def reaction(self, u) -> np.ndarray:
        """The reaction term on a state ``(n_species, ...)`` (numpy reference)."""
        u = np.asarray(u, dtype=float)
        return np.stack(self.reaction_numpy(u, **self.params))

    def steady_state(self) -> np.ndarray:
        """A homogeneous steady state (closed form where the model has one, else Newton)."""
        from scipy.optimize import fsolve

        guess = np.full(len(self.species), 0.5)
        sol, _, ok, msg = fsolve(lambda x: self.reaction(x[:, None])[:, 0], guess, full_output=True)
        if ok != 1:
            raise InputError(f"{self.name}: no homogeneous steady state found ({msg}).")
        return sol

    def jacobian(self, state=None, eps: float = 1e-7) -> np.ndarray:
        """Jacobian of the reaction at ``state`` (default: the steady state), by central differences."""
        x = self.steady_state() if state is None else np.asarray(state, dtype=float)
        n = x.size
        J = np.empty((n, n))
        for j in range(n):
            e = np.zeros(n)
            e[j] = eps * max(1.0, abs(x[j]))
            J[:, j] = (self.reaction((x + e)[:, None])[:, 0] - self.reaction((x - e)[:, None])[:, 0]) / (2 * e[j])
        return J

    def initial(self, grid: Grid, kind: str = "seeded", seed: int | None = 0, amplitude: float = 0.01) -> np.ndarray:
        """An initial state: ``"steady"`` (the homogeneous state plus noise of ``amplitude``), or
        ``"seeded"`` (the model's own seeding: a perturbed square in the middle, by default)."""
        rng = np.random.default_rng(seed)
        ss = self.steady_state()
        u = ss.reshape((-1,) + (1,) * grid.ndim) * np.ones((len(self.species), *grid.shape))
        if kind == "steady":
            out = u + amplitude * rng.standard_normal(u.shape)
        elif kind == "seeded":
            out = self.seed(grid, u, rng, amplitude)
        else:
            out = None
        if out is not None:
            return np.maximum(out, 0.0) if self.nonnegative else out
        raise InputError(f"initial kind {kind!r}: use 'seeded' or 'steady'.")

    def seed(self, grid: Grid, u: np.ndarray, rng, amplitude: float) -> np.ndarray:
        """Default seeding: the steady state with a central square (a fifth of the box) pushed
        by 25% of each species' scale, plus noise."""
        X = grid.mesh()
        box = np.ones(grid.shape, bool)
        for a, x in enumerate(X):
            mid = 0.5 * (grid.lo[a] + grid.hi[a])
            box &= np.abs(x - mid) < 0.1 * grid.lengths[a]
        out = u.copy()
        for s in range(len(self.species)):
            scale = max(abs(float(u[s].mean())), 0.1)
            out[s] = np.where(box, u[s] + 0.25 * scale * (1 if s % 2 else -1), u[s])
        return out + amplitude * rng.standard_normal(out.shape)

    # -- the ODE ---------------------------------------------------------------------------------
    def _D(self) -> np.ndarray:
        return np.array([self.D[s] for s in self.species])

    def _p(self) -> np.ndarray:
        return np.array([self.params[k] for k in self.parameters])

    methods = METHODS

    def default_method(self, grid: Grid, mask=None) -> str:
        """The fused explicit Euler kernel unless its stable step is so small that ETDRK4 (periodic
        grids, no mask) wins despite costing about 50 explicit steps per step, then ETDRK4."""
        if all(grid.periodic) and mask is None:
            if self.default_dt(grid, "etdrk4") > 50 * 0.9 * self.stable_dt(grid, "euler"):
                return "etdrk4"
        return "euler"

    def default_dt(self, grid: Grid, method: str) -> float:
        """For exponential and IMEX methods: a step the reaction resolves, 1/(10 max|J|) at the
        steady state, and no more than 50 explicit limits."""
        J = self.jacobian()
        rate = max(float(np.abs(np.linalg.eigvals(J)).max()), 1e-12)
        return min(0.1 / rate, 50 * self.stable_dt(grid, "euler"))

    def d_max(self, grid: Grid) -> float:
        return float(max(self.D.values()))

    def stable_dt(self, grid: Grid, method: str = "euler", state=None) -> float:
        """Largest stable explicit step, ``reach / (4 D_max sum 1/dx^2 + r)``, where ``r`` bounds the
        reaction Jacobian's eigenvalues (Gershgorin: the largest absolute row sum) over the cells of
        ``state`` (default: the homogeneous steady state)."""
        from simdiff.pde.diffusion import STABILITY_REACH

        lam = 4.0 * max(self._D()) * sum(1.0 / h ** 2 for h in grid.dx)
        lam += max(self._reaction_bound(state), self._reaction_bound(self._local_orbit(state)))
        limit = math.inf if lam == 0 else STABILITY_REACH.get(method, 2.0) / lam
        if self.nonnegative and state is not None:
            # concentrations: a step must not consume more than half of what a cell holds
            u = np.asarray(state, dtype=float).reshape(len(self.species), -1)
            with np.errstate(all="ignore"):
                r = self.reaction(u)
                ratio = np.where((r < 0) & (u > 0), 0.5 * u / -r, np.inf)   # half: the rate steepens as u falls
            limit = min(limit, float(np.min(ratio)) if ratio.size else math.inf)
        return limit

    def _local_orbit(self, state=None) -> np.ndarray | None:
        """States the reaction alone visits from the mean of ``state`` (or near the steady state)
        over the model's run length: a relaxation oscillator is stiffest far from where it starts.
        Cached per starting point."""
        import simdiff

        try:
            y0 = (np.asarray(state, dtype=float).reshape(len(self.species), -1).mean(axis=1)
                  if state is not None else 1.01 * self.steady_state() + 1e-3)
        except InputError:
            return None
        key = tuple(np.round(y0, 12)) + tuple(self.params.values())
        cache = self.__dict__.setdefault("_orbits", {})
        if key not in cache:
            ode = simdiff.ODE(lambda t, y: self.reaction(y[:, None])[:, 0])
            try:
                with np.errstate(all="ignore"):
                    sol = simdiff.solve(ode, y0, (0.0, float(self.t_end)), rtol=1e-6, atol=1e-9,
                                        save_at=400, max_steps=20_000)
                cache[key] = sol.y.T
            except Exception:                       # no orbit (blow-up, step budget): no bound from it
                cache[key] = None
        return cache[key]

    def _reaction_bound(self, state=None) -> float:
        """max over cells and species i of sum_j |dR_i/du_j| (central differences)."""
        S = len(self.species)
        if state is None:
            try:
                state = self.steady_state()
            except InputError:
                return 0.0
        u = np.asarray(state, dtype=float).reshape(S, -1)
        if not np.all(np.isfinite(u)):
            u = u[:, np.all(np.isfinite(u), axis=0)]
        rows = np.zeros_like(u)                     # rows[i, c] = sum_j |dR_i/du_j| at cell c
        with np.errstate(all="ignore"):
            for j in range(S):
                e = np.zeros_like(u)
                e[j] = 1e-6 * np.maximum(1.0, np.abs(u[j]))
                rows += np.abs((self.reaction(u + e) - self.reaction(u - e)) / (2 * e[j]))
        bound = np.nanmax(rows) if rows.size else 0.0
        return float(bound) if np.isfinite(bound) else 0.0

    def problem(self, grid: Grid, *, method: str = "euler", mask: Any = None, noise: float = 0.0, t0: float = 0.0):
        """The semi-discrete system as a core ODE (an SDE with additive noise when ``noise > 0``)."""
        if method not in METHODS:
            raise InputError(f"unknown method {method!r} for {self.name}; use one of {', '.join(METHODS)}.")
        mk = as_mask(grid, mask)
        bounds = Boundaries(grid, self.bc)
        inside = None if mk is None else mk.inside
        reaction_only = method in EXPONENTIAL or method in IMEX
        p, ip = rd_layout(grid, bounds, self._D(), self._p(), mask=inside, reaction_only=reaction_only)
        k = Kernel(type(self).kernel, p=p, ip=ip, fused_slot=12, reference=self._reference(grid, bounds, inside))
        if method in EXPLICIT or method == "euler_maruyama":
            if noise > 0:
                sigma = float(noise) * np.ones((len(self.species), *grid.shape))
                if inside is not None:
                    sigma = sigma * inside[None]          # no noise outside the domain
                return SDE(k, sigma, noise="additive")
            return ODE(k)
        S = len(self.species)
        if method == "euler_maruyama":
            raise InputError("method='euler_maruyama' is for stochastic runs: pass noise > 0, or an ODE method "
                             "(euler, rk4, etdrk4, crank_nicolson).")
        if method in EXPONENTIAL:
            if not all(grid.periodic) or mk is not None:
                raise InputError(f"method {method!r} (exponential, Fourier-diagonal Laplacian) needs a fully periodic "
                                 f"grid without a mask; use 'crank_nicolson' (IMEX) or an explicit method.")
            ks = [2 * np.pi * np.fft.fftfreq(n, d=h) for n, h in zip(grid.shape, grid.dx)]
            ks[-1] = 2 * np.pi * np.fft.rfftfreq(grid.shape[-1], d=grid.dx[-1])
            K = np.meshgrid(*ks, indexing="ij")
            # the symbol of the same 2nd-order stencil as the explicit kernel: both solve one ODE
            lap = -sum(4 * np.sin(kk * h / 2) ** 2 / h ** 2 for kk, h in zip(K, grid.dx))
            symbol = self._D().reshape((S,) + (1,) * grid.ndim) * lap[None]
            # FFT round-off leaves ~1e-17 negatives where a concentration is 0, which an unstable
            # state (Fisher's u = 0) would amplify: concentrations are projected back to >= 0
            post = _clip_negative if self.nonnegative else None
            return ODE(k, linear=FourierDiagonal(symbol, axes=tuple(range(1, grid.ndim + 1))), post_step=post)
        import scipy.sparse as sp

        from simdiff.pde.operators.sparse import assemble

        A, c = assemble(grid, bounds, 1.0, mask=inside)
        if np.any(c != 0):
            raise InputError(f"IMEX for {self.name} supports periodic and no-flux walls; this bc has fixed values.")
        big = sp.block_diag([d * A for d in self._D()], format="csr")
        return ODE(k, linear=SparseOperator(big))

    def _reference(self, grid, bounds, inside):
        from simdiff.pde.operators.reference import div_grad

        def ref(t, y, reaction_only=False):
            y = np.asarray(y, dtype=float).reshape((len(self.species), *grid.shape))
            out = self.reaction(y)
            if not reaction_only:
                out = out + np.stack([div_grad(y[s], grid, bounds, D=self.D[sp], mask=inside)
                                      for s, sp in enumerate(self.species)])
            if inside is not None:
                out = np.where(inside[None], out, 0.0)
            return out

        return ref

    # -- configuration ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"model": self.name, **self.params, **{f"D_{s}": d for s, d in self.D.items()},
                "bc": encode_bc(self.bc)}

    @classmethod
    def from_dict(cls, d: dict) -> "ReactionDiffusion":
        d = dict(d)
        if "custom" in d:            # a user-defined model: rebuilt from its expressions
            from simdiff.pde.custom import CustomReactionDiffusion

            return CustomReactionDiffusion.from_dict(d)
        model = get_model(d.pop("model"))
        return model(**d)

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        ds = ", ".join(f"D_{s}={d:g}" for s, d in self.D.items())
        return f"{type(self).__name__}({ps}, {ds})"


def get_model(name: str) -> type:
    """The model class registered under ``name`` (``gray-scott`` or ``gray_scott``)."""
    import simdiff.pde.rdmodels  # noqa: F401  (registers the built-in models)

    key = str(name).replace("_", "-").lower()
    if key not in _REGISTRY:
        raise InputError(f"unknown reaction–diffusion model {name!r}; models: {', '.join(sorted(_REGISTRY))}.")
    return _REGISTRY[key]


def models() -> dict[str, type]:
    """Every registered model by name."""
    import simdiff.pde.rdmodels  # noqa: F401,F811  (registers the built-in models)

    return dict(_REGISTRY)


def _clip_negative(t, y):
    return np.maximum(y, 0.0)
