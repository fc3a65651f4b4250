"""``solve``: one entry point for every ODE and SDE in simdiff.

Order of work: check the inputs and the method/problem pairing; build the step times (data you can
print) and split them at the saved frames; then advance frame by frame. On the compiled path one
numba call advances a whole frame; on the generic path (torch tensors, plain Python functions) the
method's ``step`` runs once per step. Python sees the state once per saved frame.
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Sequence

import numpy as np

from simdiff.core import checkpoint as ckpt
from simdiff.core.methods import all_methods as _all_methods, get as _get_method
from simdiff.core import rng as _rng
from simdiff.core.backend import is_torch, ops_for
from simdiff.core.problem import ODE, SDE, Kernel
from simdiff.core.solution import Solution, Stats
from simdiff.errors import InputError, InputTypeError, MethodMismatch, StabilityError

__all__ = ["solve", "time_grid"]


# --------------------------------------------------------------------------------------------
# Evaluator: the one place where problem functions are called and counted.

class Evaluator:
    """Calls the problem's functions for a method and counts the evaluations."""

    def __init__(self, problem, ops, like):
        self.problem = problem
        self.ops = ops
        self.nfe = 0
        self.nge = 0
        self._N = problem.rhs if problem.kind == "ode" else problem.drift
        self._lin = problem.linear
        self._gconst = None
        if problem.kind == "sde" and problem.constant_diffusion:
            d = problem.diffusion
            self._gconst = d if is_torch(d) else ops.asarray_like(np.asarray(d, dtype=float), like)
            if ops.name == "numpy" and np.ndim(self._gconst) == 0:
                self._gconst = float(self._gconst)

    def N(self, t, y):
        """The nonlinear (non-``linear``) part of the drift."""
        self.nfe += 1
        return self._N(t, y)

    def f(self, t, y):
        """The full drift: ``linear.apply(t, y) + N(t, y)``."""
        v = self.N(t, y)
        if self._lin is not None:
            v = v + self._lin.apply(t, y, self.ops)
        return v

    def denoise(self, t, y):
        """The data prediction of a diffusion problem's denoiser (one network evaluation)."""
        self.nfe += 1
        return self.problem.denoiser.x0(t, y)

    def g(self, t, y):
        if self._gconst is not None:
            return self._gconst
        self.nge += 1
        return self.problem.diffusion(t, y)

    def noise_apply(self, g, dW):
        if self.problem.noise == "general":
            return self.ops.matvec(g, dW)
        return g * dW

    def g_dw(self, t, y, dW):
        return self.noise_apply(self.g(t, y), dW)


# --------------------------------------------------------------------------------------------
# Input checks

def _fname(fn) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def _as_state(y0):
    if is_torch(y0):
        if not y0.is_floating_point() and not y0.is_complex():
            y0 = y0.double()
        return y0.clone()
    if isinstance(y0, (list, tuple)) or np.isscalar(y0) or isinstance(y0, np.ndarray):
        y = np.array(y0, copy=True)
        if y.dtype.kind in "biu":
            y = y.astype(np.float64)
        if y.dtype.kind not in "fc":
            raise InputTypeError(f"y0 has dtype {y.dtype}; pass floating-point numbers.")
        return y
    raise InputTypeError(f"y0 of type {type(y0).__name__}: pass a numpy array, a list of numbers or a torch tensor.")


def _check_output(name, fn, value, y0, expected_shape, what):
    shape = tuple(getattr(value, "shape", np.shape(value)))
    if shape != tuple(expected_shape):
        raise InputError(
            f"{name} function {_fname(fn)!r} returned shape {shape} for y0 of shape {tuple(y0.shape)}; "
            f"{what} must have shape {tuple(expected_shape)}.")


def _trial(name, fn, t0, y0):
    try:
        return fn(t0, y0)
    except (InputError, InputTypeError):
        raise
    except Exception as err:
        raise InputError(f"{name} function {_fname(fn)!r} failed on y0 of shape {tuple(y0.shape)} "
                         f"at t={t0:g}: {type(err).__name__}: {err}") from err


def _check_problem(problem, y0, t0):
    # compiled kernels work on flat arrays of the size their parameters describe: a trial call
    # proves nothing more and costs a full evaluation, so only Python functions get one. Diffusion
    # problems (with a denoiser) check the network's output on its first call instead: a trial
    # would cost a network evaluation beyond the sampler's budget
    own = getattr(problem, "denoiser", None) is not None
    if problem.kind == "ode":
        if not isinstance(problem.rhs, Kernel) and not own:
            v = _trial("rhs", problem.rhs, t0, y0)
            _check_output("rhs", problem.rhs, v, y0, y0.shape, "dy/dt")
    else:
        if not isinstance(problem.drift, Kernel) and not own:
            v = _trial("drift", problem.drift, t0, y0)
            _check_output("drift", problem.drift, v, y0, y0.shape, "the drift")
        if problem.constant_diffusion:
            d = problem.diffusion
            try:
                np.broadcast_shapes(tuple(np.shape(d)) if not is_torch(d) else tuple(d.shape), tuple(y0.shape))
            except ValueError:
                raise InputError(f"diffusion has shape {np.shape(d)}, which does not broadcast to y0's "
                                 f"shape {tuple(y0.shape)}.") from None
        else:
            g = _trial("diffusion", problem.diffusion, t0, y0)
            gshape = tuple(getattr(g, "shape", np.shape(g)))
            if problem.noise == "general":
                want = (*y0.shape, int(problem.noise_dim))
                if gshape != want:
                    raise InputError(f"diffusion function {_fname(problem.diffusion)!r} returned shape {gshape}; "
                                     f"noise='general' with noise_dim={problem.noise_dim} needs {want} "
                                     f"(y's shape, then one column per Wiener process).")
            elif problem.noise in ("diagonal", "scalar"):
                if gshape != tuple(y0.shape):
                    raise InputError(f"diffusion function {_fname(problem.diffusion)!r} returned shape {gshape}; "
                                     f"noise={problem.noise!r} needs y's shape {tuple(y0.shape)}.")
            else:
                try:
                    np.broadcast_shapes(gshape, tuple(y0.shape))
                except ValueError:
                    raise InputError(f"diffusion function {_fname(problem.diffusion)!r} returned shape {gshape}, "
                                     f"which does not broadcast to y's shape {tuple(y0.shape)}.") from None
    if problem.linear is not None:
        problem.linear.check(y0)


def _suitable(problem) -> list[str]:
    out = []
    for m in _all_methods():
        try:
            _check_pairing(m, problem)
            out.append(m.name)
        except MethodMismatch:
            pass
    return out


def _check_pairing(method, problem) -> None:
    kind = problem.kind
    why = None
    if kind not in method.kinds:
        why = f"it solves {'/'.join(sorted(method.kinds)).upper()}s, and this problem is an {kind.upper()}"
    elif method.needs_linear and problem.linear is None:
        why = "it needs a linear part (ODE/SDE(..., linear=Diagonal|ScalarOfTime|FourierDiagonal))"
    elif method.needs_linear and method.linear_problem(problem.linear):
        why = method.linear_problem(problem.linear)
    elif kind == "sde":
        if problem.noise not in method.noise:
            why = f"it does not accept noise={problem.noise!r} (it accepts {', '.join(sorted(method.noise))})"
        elif problem.noise != "additive" and problem.calculus not in method.calculus:
            why = (f"it converges to the {'/'.join(sorted(method.calculus))} solution and this SDE is "
                   f"{problem.calculus} (calculus={problem.calculus!r})")
        elif method.needs_area and not problem.driver.supports_area:
            why = f"it needs the iterated integral I_(1,0), which the {type(problem.driver).__name__} driver does not provide"
        elif problem.driver.kind not in ("brownian", "prescribed") and method.name not in (
                "euler_maruyama", "exp_euler_maruyama"):
            why = f"its update assumes Brownian increments and the driver is {type(problem.driver).__name__}"
    if why:
        raise MethodMismatch(f"method {method.name!r} cannot solve this problem: {why}.")


def _pair(method, problem):
    try:
        _check_pairing(method, problem)
    except MethodMismatch as err:
        ok = _suitable(problem)
        raise MethodMismatch(f"{err} Methods that can: {', '.join(ok) if ok else 'none'}.") from None


# --------------------------------------------------------------------------------------------
# Time grids

def _span(t_span, grid):
    if t_span is None:
        if grid is None:
            raise InputError("t_span is required (a pair (t0, t1)), unless grid= gives the step times.")
        g = np.asarray(grid, dtype=float)
        return float(g[0]), float(g[-1])
    try:
        t0, t1 = (float(x) for x in t_span)
    except (TypeError, ValueError):
        raise InputError(f"t_span={t_span!r}: pass a pair of numbers (t0, t1).") from None
    if not (math.isfinite(t0) and math.isfinite(t1)):
        raise InputError(f"t_span={t_span!r} has non-finite ends.")
    if t0 == t1:
        raise InputError(f"t_span=({t0:g}, {t1:g}) is empty; pass t1 != t0 (t1 < t0 integrates backwards).")
    return t0, t1


def _save_times(save_at, t0, t1) -> np.ndarray:
    if save_at is None:
        return np.array([t0, t1])
    if isinstance(save_at, (int, np.integer)) and not isinstance(save_at, bool):
        n = int(save_at)
        if n < 1:
            raise InputError(f"save_at={n}: pass the number of frames (>= 1), or an array of times.")
        return np.array([t1]) if n == 1 else np.linspace(t0, t1, n)
    s = np.asarray(save_at, dtype=float).reshape(-1)
    if s.size == 0 or not np.all(np.isfinite(s)):
        raise InputError("save_at times must be a non-empty array of finite numbers.")
    d = np.sign(t1 - t0)
    lo, hi = min(t0, t1), max(t0, t1)
    tol = 1e-12 * max(1.0, abs(t1 - t0))
    if s.min() < lo - tol or s.max() > hi + tol:
        raise InputError(f"save_at times must lie in t_span=({t0:g}, {t1:g}); got {s.min():g}..{s.max():g}.")
    if s.size > 1 and not np.all(d * np.diff(s) > 0):
        raise InputError("save_at times must be strictly monotone in the direction of t_span.")
    return np.clip(s, lo, hi)


def time_grid(t_span, dt=None, grid=None, save_at=None) -> tuple[np.ndarray, np.ndarray]:
    """The step times of a fixed-step solve and the saved times: ``(ts, saves)``.

    With ``dt``: ``t0, t0 + dt, ...`` and ``t1``, plus every save time (a step that would cross a
    save time is split there). With ``grid``: those times plus the save times.
    """
    t0, t1 = _span(t_span, grid)
    saves = _save_times(save_at, t0, t1)
    T = t1 - t0
    if grid is not None:
        ts = np.asarray(grid, dtype=float).reshape(-1)
        if ts.size < 2 or not np.all(np.isfinite(ts)):
            raise InputError("grid must hold at least two finite times.")
        if not np.all(np.sign(T) * np.diff(ts) > 0):
            raise InputError("grid times must be strictly monotone in the direction of t_span (no repeated times).")
        if abs(ts[0] - t0) > 1e-12 * max(1, abs(T)) or abs(ts[-1] - t1) > 1e-12 * max(1, abs(T)):
            raise InputError(f"grid runs from {ts[0]:g} to {ts[-1]:g}; t_span is ({t0:g}, {t1:g}).")
        step = float(np.min(np.abs(np.diff(ts))))
    else:
        n = int(math.ceil(abs(T / dt) - 1e-9))
        ts = t0 + dt * np.arange(n + 1, dtype=float)
        ts[-1] = t1
        step = abs(dt)
    # merge the save times, snapping those within a hair of an existing step time
    tol = 1e-9 * step
    merged = np.concatenate([ts, saves])
    merged = np.unique(merged) if T > 0 else -np.unique(-merged)
    keep = np.ones(merged.size, dtype=bool)
    last = merged[0]
    for i in range(1, merged.size):
        if abs(merged[i] - last) <= tol:
            keep[i] = False
        else:
            last = merged[i]
    ts = merged[keep]
    ts[0], ts[-1] = t0, t1
    # save times snap to the nearest step time
    idx = np.abs(ts[None, :] - saves[:, None]).argmin(axis=1)
    return ts, ts[idx]


# --------------------------------------------------------------------------------------------
# The solve

def solve(
    problem: ODE | SDE,
    y0: Any,
    t_span: tuple[float, float] | None,
    *,
    dt: float | None = None,
    grid: Any = None,
    method: str | Any = None,
    save_at: int | Sequence[float] | None = None,
    save_fn: Callable[[float, Any], Any] | None = None,
    seed: Any = None,
    callbacks: Sequence[Callable[[float, Any], Any]] = (),
    progress: bool = False,
    checkpoint: str | None = None,
    checkpoint_every: int | float = 1,
    resume: str | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    max_steps: int | None = None,
) -> Solution:
    r"""Integrate an ODE or SDE from ``t_span[0]`` to ``t_span[1]`` (either direction).

    Parameters
    ----------
    problem
        :class:`~simdiff.ODE` or :class:`~simdiff.SDE`.
    y0
        Initial state: numpy array (any shape) or torch tensor (any float dtype, any device).
    t_span
        ``(t0, t1)``; ``t1 < t0`` integrates backwards in time (reverse-time SDEs).
    dt
        Step, signed like ``t1 - t0``. For the adaptive ``dopri5`` it is the first trial step.
    grid
        Explicit step times from ``t0`` to ``t1`` instead of ``dt`` (non-uniform grids).
    method
        A registered name (``simdiff.methods()`` lists them) or a Method. Default: ``dopri5``
        for ODEs without ``dt``/``grid``, ``rk4`` with them, ``euler_maruyama`` for SDEs.
    save_at
        ``None``: ``t0`` and ``t1``; an int ``n``: ``n`` equally spaced frames; or an array of times.
    save_fn
        ``save_fn(t, y)`` keeps a statistic instead of the state at each frame.
    seed
        int, ``numpy.random.Generator`` or ``torch.Generator``: the same seed gives the same bits.
    callbacks
        Each is called as ``cb(t, y)`` at every saved frame.
    progress
        Show a tqdm progress bar.
    checkpoint, checkpoint_every
        Write the run's state atomically to ``checkpoint`` every ``checkpoint_every`` frames (int)
        or wall-clock seconds (float), and on Ctrl-C.
    resume
        A checkpoint written by the same solve: continue from it, bit for bit.
    rtol, atol, max_steps
        Error control and step budget of adaptive methods.

    Returns
    -------
    Solution
        ``t`` (n_frames,), ``y`` (n_frames, ...), ``stats``.

    Example
    -------
    >>> import numpy as np, simdiff
    >>> sol = simdiff.solve(simdiff.ODE(lambda t, y: -y), np.ones(3), (0.0, 1.0), dt=0.01, method="rk4")
    >>> bool(abs(sol.final[0] - np.exp(-1)) < 1e-9)
    True
    """
    wall0 = time.perf_counter()
    if not isinstance(problem, (ODE, SDE)):
        raise InputTypeError(f"problem={problem!r}: pass simdiff.ODE(rhs) or simdiff.SDE(drift, diffusion).")
    y0 = _as_state(y0)
    ops = ops_for(y0)
    if not ops.all_finite(y0):
        raise InputError("y0 has non-finite values (NaN or Inf); pass a finite initial state.")
    t0, t1 = _span(t_span, grid)
    T = t1 - t0
    if dt is not None:
        try:
            dt = float(dt)
        except (TypeError, ValueError):
            raise InputError(f"dt={dt!r}: pass a number.") from None
        if dt == 0.0 or not math.isfinite(dt):
            raise InputError(f"dt={dt!r}: the step must be a finite non-zero number.")
        if dt * T < 0:
            raise InputError(f"dt={dt:g} points away from t1: t_span runs from {t0:g} to {t1:g}, so dt must be "
                             f"{'positive' if T > 0 else 'negative'} ((t1 - t0) * dt > 0). Pass dt={-dt:g}.")
    if dt is not None and grid is not None:
        raise InputError("pass dt or grid, not both.")
    if method is None:
        method = "euler_maruyama" if problem.kind == "sde" else ("dopri5" if dt is None and grid is None else "rk4")
    m = _get_method(method)
    _pair(m, problem)
    if not m.adaptive and dt is None and grid is None:
        hint = " or use the adaptive method='dopri5'" if problem.kind == "ode" else ""
        raise InputError(f"method {m.name!r} takes fixed steps: pass dt (e.g. dt={T / 100:g}) or grid={hint}.")
    _check_problem(problem, y0, t0)

    rng = _rng.make_rng(seed, y0) if problem.kind == "sde" else None
    runner = _Run(problem, m, y0, ops, t0, t1, dt, grid, save_at, save_fn, rng, callbacks,
                  progress, checkpoint, checkpoint_every, rtol, atol, max_steps)
    if resume is not None:
        runner.restore(resume)
    sol = runner.run()
    sol.stats.wall_time = time.perf_counter() - wall0
    return sol


_FINGERPRINT_NAMES = {
    "saves": "save_at (the saved times)", "n_steps": "the number of steps (dt or grid)", "shape": "y0's shape",
    "dtype": "y0's dtype", "backend": "y0's array type", "tolerances": "(rtol, atol)", "t_span": "t_span",
    "kind": "the problem kind", "noise": "the noise kind", "driver": "the driver",
}


def _driver_fingerprint(driver):
    if driver is None:
        return None
    d = driver.to_dict()
    return {k: (float(v) if isinstance(v, (int, float, np.floating)) else str(v)) for k, v in d.items()}


_NO_DW = np.zeros((0, 0))
_NO_P = np.zeros(0)
_NO_IP = np.zeros(0, dtype=np.int64)


class _Run:
    """The state of one solve; split out so that checkpoints can capture and restore it."""

    def __init__(self, problem, method, y0, ops, t0, t1, dt, grid, save_at, save_fn, rng, callbacks,
                 progress, checkpoint, checkpoint_every, rtol, atol, max_steps):
        self.problem, self.m, self.ops = problem, method, ops
        self.t0, self.t1, self.dt = t0, t1, dt
        self.save_fn, self.callbacks, self.progress = save_fn, list(callbacks), progress
        self.checkpoint, self.checkpoint_every = checkpoint, checkpoint_every
        self.rtol, self.atol, self.max_steps = rtol, atol, max_steps
        self.rng = rng
        self.like = y0
        self.y = y0
        self.ev = Evaluator(problem, ops, y0)
        if method.adaptive and grid is None:
            self.ts = None
            self.saves = _save_times(save_at, t0, t1)
            self.h = dt if dt is not None else self._initial_step(y0)
            self.err_prev = 1.0
        else:
            self.ts, self.saves = time_grid((t0, t1), dt=dt, grid=grid, save_at=save_at)
            self.save_idx = np.searchsorted(self.ts, self.saves) if t1 > t0 else \
                (self.ts.size - 1 - np.searchsorted(self.ts[::-1], self.saves))
        self.t = t0
        self.k = 0            # frames done
        self.gi = 0           # grid index reached
        self.frames_t: list[float] = []
        self.frames_y: list[Any] = []
        self.stats = Stats(method=method.name, backend=ops.name)
        self.stream = None
        self.rng_initial = None
        if problem.kind == "sde":
            self.rng_initial = _rng.get_state(rng)
            self._begin_stream()
        self.state = method.init(self.ev, t0, y0)
        self.compiled = self._compiled_spec()
        self.stats.path = "compiled" if self.compiled else "generic"
        self._last_ckpt = time.perf_counter()

    # ---- setup -------------------------------------------------------------------------
    def _begin_stream(self):
        p = self.problem
        dts = np.diff(self.ts) if self.ts is not None else np.zeros(0)
        if self.ts is None:
            if p.driver.kind != "brownian":
                raise InputError(f"the {type(p.driver).__name__} driver needs a fixed time grid; pass dt or grid.")
        self.stream = p.driver.begin(self.rng, dts, p.noise_shape(tuple(self.y.shape)), self.like, self.ops,
                                     area=self.m.needs_area)

    def _initial_step(self, y0) -> float:
        """Hairer–Wanner's starting step (Solving ODEs I, II.4), one extra evaluation."""
        ops = self.ops
        f0 = self.ev.f(self.t0, y0)
        to_np = ops.to_numpy
        sc = self.atol + self.rtol * np.abs(to_np(y0))
        d0 = float(np.sqrt(np.mean((np.abs(to_np(y0)) / sc) ** 2)))
        d1 = float(np.sqrt(np.mean((np.abs(to_np(f0)) / sc) ** 2)))
        h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        h0 = min(h0, abs(self.t1 - self.t0))
        return math.copysign(h0, self.t1 - self.t0)

    def _compiled_spec(self):
        p, m = self.problem, self.m
        if self.ops.name != "numpy" or self.y.dtype != np.float64 or self.ts is None:
            return None
        spec = m.compiled(p)
        if spec is None or p.linear is not None:
            return None
        if p.post_step is not None and not isinstance(p.post_step, Kernel):
            return None
        if p.kind == "ode":
            return spec if isinstance(p.rhs, Kernel) else None
        if not isinstance(p.drift, Kernel):
            return None
        if p.constant_diffusion:
            from simdiff.core.kernels import const_kernel

            d = np.broadcast_to(np.asarray(p.diffusion, dtype=float), self.y.shape)
            gk = Kernel(const_kernel, p=np.ravel(d) if np.ndim(p.diffusion) else [float(p.diffusion)])
        elif isinstance(p.diffusion, Kernel):
            gk = p.diffusion
        else:
            return None
        return (*spec, gk)

    # ---- main loop -------------------------------------------------------------------------
    def run(self) -> Solution:
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            total = (self.ts.size - 1) if self.ts is not None else abs(self.t1 - self.t0)
            bar = tqdm(total=total, desc=f"simdiff {self.m.name}", unit="step" if self.ts is not None else "t")
            bar.update(self.gi if self.ts is not None else abs(self.t - self.t0))
        try:
            while self.k < len(self.saves):
                self._frame_snapshot()
                before = (self.gi, self.t)
                if self.ts is None:
                    self._advance_adaptive(self.saves[self.k])
                else:
                    self._advance_fixed(int(self.save_idx[self.k]))
                self._record_frame()
                if bar is not None:
                    bar.update((self.gi - before[0]) if self.ts is not None else abs(self.t - before[1]))
                if self.checkpoint is not None and self._checkpoint_due():
                    self._write_checkpoint(at_frame=True)
        except KeyboardInterrupt:
            if self.checkpoint is not None:
                self._write_checkpoint(at_frame=False)
            raise
        finally:
            if bar is not None:
                bar.close()
        return self._solution()

    def _solution(self) -> Solution:
        ops = self.ops
        out = getattr(self, "_out", None)
        if out is not None:
            y = out[:len(self.frames_y)]
        elif self.frames_y and (is_torch(self.frames_y[0])):
            y = ops.stack(self.frames_y)
        else:
            y = np.stack([np.asarray(v) for v in self.frames_y]) if self.frames_y else np.zeros((0,))
        st = self.stats
        if self.compiled is None:
            st.nfe, st.nge = self.ev.nfe, self.ev.nge
        else:
            st.nfe = self.ev.nfe + st.steps * self.m.evals_per_step
            st.nge = self.ev.nge
        return Solution(t=np.asarray(self.frames_t, dtype=float), y=y, stats=st)

    def _frame_snapshot(self):
        """What a frame needs to be replayed (to find a blow-up) or checkpointed (on Ctrl-C)."""
        self.snap = (self.y, self.t, self.gi, self.state,
                     None if self.rng is None else _rng.get_state(self.rng),
                     None if self.stream is None else self.stream.position,
                     self.stats.steps, self.ev.nfe, self.ev.nge,
                     self.stats.rejected, getattr(self, "h", None), getattr(self, "err_prev", None))
        if self.compiled is not None:
            # the replay start: the frame just recorded, when it is this state, else a copy
            last = self.frames_y[-1] if (self.save_fn is None and self.frames_y and self.frames_t[-1] == self.t) else None
            self.snap = (last if last is not None else self.ops.copy(self.y),) + self.snap[1:]

    def _restore_snapshot(self):
        (y, self.t, self.gi, self.state, rs, pos, self.stats.steps, self.ev.nfe, self.ev.nge,
         self.stats.rejected, _, _) = self.snap
        self.y = self.ops.copy(y) if self.compiled is not None else y
        if rs is not None:
            _rng.set_state(self.rng, rs)
        if pos is not None:
            self.stream.seek(pos)

    def _record_frame(self):
        t, y = self.t, self.y
        if self.save_fn is not None:
            val = self.save_fn(t, y)
        elif self.ops.name == "numpy":
            # frames go straight into the (n_frames, ...) result: no stacking at the end
            out = getattr(self, "_out", None)
            if out is None:
                out = self._out = np.empty((len(self.saves), *np.shape(y)), dtype=np.asarray(y).dtype)
                for i, v in enumerate(self.frames_y):     # frames restored from a checkpoint
                    out[i] = v
                self.frames_y = [out[i] for i in range(len(self.frames_y))]
            out[self.k] = y
            val = out[self.k]
        else:
            val = self.ops.copy(y)
        self.frames_t.append(float(t))
        self.frames_y.append(val)
        for cb in self.callbacks:
            cb(float(t), y)
        self.k += 1

    def _blowup(self, step: int, t: float):
        partial = self._solution()
        h = (self.ts[step + 1] - self.ts[step]) if self.ts is not None else self.h
        kind = "stiff" if self.problem.kind == "ode" else "smaller"
        if kind != "stiff":
            hint = "a smaller dt, or a method of higher strong order"
        elif self.m.needs_linear:
            hint = "a smaller dt (the non-linear part, treated explicitly, limits the step)"
        else:
            hint = "a smaller dt, or an exponential method (etdrk4, etd1) when the problem has a stiff linear part"
        msg = (f"the state became non-finite (NaN or Inf) at t={t:g}, step {step} (dt={h:g}) with method "
               f"{self.m.name!r}. Try {hint}. The {len(partial.t)} frames saved so far are in err.partial.")
        raise StabilityError(msg, t=float(t), step=int(step), partial=partial) from getattr(self, "_fp_error", None)

    def _step_collapse(self):
        partial = self._solution()
        msg = (f"the adaptive step size of {self.m.name!r} fell to {abs(self.h):.3g} at t={self.t:g} "
               f"(step {self.stats.steps}, {self.stats.rejected} rejected): the solution is probably "
               f"blowing up or the problem is too stiff for an explicit method. Check the model, or use a "
               f"stiff method (an exponential or implicit one with a linear part). The {len(partial.t)} "
               f"frames saved so far are in err.partial.")
        raise StabilityError(msg, t=float(self.t), step=int(self.stats.steps), partial=partial)

    # ---- fixed steps -------------------------------------------------------------------------
    def _advance_fixed(self, target: int):
        if target <= self.gi:
            return
        if self.compiled is not None:
            bad = self._advance_compiled(target)
        else:
            bad = self._advance_generic(target, check_each=False)
            if bad == -2:          # non-finite at the end of the frame: replay to find the step
                self._restore_snapshot()
                bad = self._advance_generic(target, check_each=True)
        if bad >= 0:
            self._blowup(bad, self.ts[bad + 1])

    def _advance_generic(self, target: int, check_each: bool) -> int:
        ev, m, ts, ops = self.ev, self.m, self.ts, self.ops
        post = self.problem.post_step
        y, state = self.y, self.state
        sde = self.problem.kind == "sde"
        for j in range(self.gi, target):
            dw = self.stream.next() if sde else None
            try:
                y, state = m.step(ev, float(ts[j]), float(ts[j + 1]), y, dw, state)
                if post is not None:
                    y = post(float(ts[j + 1]), y)
            except FloatingPointError as err:   # numpy set to raise on overflow: the same blow-up, named
                self.y, self.state, self.gi, self.t = y, state, j, float(ts[j])
                self._fp_error = err
                return j
            if check_each and not ops.all_finite(y):
                self.y, self.state, self.gi, self.t = y, state, j + 1, float(ts[j + 1])
                return j
        self.stats.steps += target - self.gi
        self.y, self.state, self.gi, self.t = y, state, target, float(ts[target])
        if not check_each and not ops.all_finite(y):
            return -2
        return -1

    def _advance_compiled(self, target: int) -> int:
        from simdiff.core._numba import loops
        from simdiff.core.kernels import identity_address

        spec = self.compiled
        p = self.problem
        ts = np.ascontiguousarray(self.ts[self.gi:target + 1])
        y = self.y
        if not (y.flags.c_contiguous and y.flags.writeable):
            y = np.ascontiguousarray(y).copy()
        flat = y.reshape(-1)
        post = p.post_step
        use_post = post is not None
        post_fn = post.address if use_post else identity_address()
        pp, pip = (post.p, post.ip) if use_post else (_NO_P, _NO_IP)
        if spec[0] == "erk":
            meth = spec[1]
            rhs = p.rhs
            bad = -2
            if meth.b.size == 1 and rhs.fused_slot >= 0:      # explicit Euler, one pass per step
                buf = getattr(self, "_buf", None)
                if buf is None or buf.size != flat.size:
                    buf = self._buf = np.empty_like(flat)
                    self._pf = rhs.p.copy()
                res = loops.fused_euler_loop(rhs.address, ts, flat, buf, self._pf, rhs.ip,
                                             rhs.fused_slot, post_fn, pp, pip, use_post)
                if res == 1:          # the state ended in the work buffer: swap the two
                    self._buf, flat = flat, buf
                    y = flat.reshape(y.shape)
                bad = -2 if res == -2 else -1
                if bad == -2:         # blew up somewhere in the frame: replay it unfused to name the step
                    flat[:] = self.snap[0].reshape(-1)
            if bad == -2:
                work = np.empty((meth.b.size, flat.size))
                bad = loops.erk_loop(rhs.address, ts, flat, meth.a, meth.b, meth.c, rhs.p, rhs.ip,
                                     post_fn, pp, pip, use_post, work)
        else:
            gk = spec[2]
            drift = p.drift
            g_const = p.constant_diffusion
            chunk = 2048 if drift.pointwise and (g_const or gk.pointwise) else max(1, flat.size)
            rng = self.rng if isinstance(self.rng, np.random.Generator) else np.random.default_rng(0)

            def run(check_each: bool) -> int:
                if p.driver.compiled_inline:
                    return loops.em_loop(drift.address, gk.address, ts, flat, drift.p, drift.ip, gk.p, gk.ip,
                                         g_const, post_fn, pp, pip, use_post, rng, _NO_DW, False, chunk,
                                         check_each)
                res = -1
                block = max(1, (1 << 22) // max(1, flat.size))
                for a in range(0, ts.size - 1, block):
                    n = min(block, ts.size - 1 - a)
                    dw, _ = self.stream.take(n)
                    dw = np.ascontiguousarray(dw.reshape(n, -1), dtype=np.float64)
                    r = loops.em_loop(drift.address, gk.address, ts[a:a + n + 1], flat, drift.p, drift.ip, gk.p,
                                      gk.ip, g_const, post_fn, pp, pip, use_post, rng, dw, True, chunk, check_each)
                    if r >= 0:
                        return r + a
                    res = min(res, r) if r == -2 else res
                return res

            bad = run(False)
            if bad == -2:             # non-finite at the end of the frame: replay it checking every step
                flat[:] = self.snap[0].reshape(-1)
                if self.snap[4] is not None:
                    _rng.set_state(self.rng, self.snap[4])
                if self.snap[5] is not None:
                    self.stream.seek(self.snap[5])
                bad = run(True)
        if bad >= 0:
            self.y, self.gi, self.t = y, self.gi + bad + 1, float(self.ts[self.gi + bad + 1])
            return self.gi - 1
        self.stats.steps += target - self.gi
        self.y, self.gi, self.t = y, target, float(self.ts[target])
        return -1

    # ---- adaptive steps ----------------------------------------------------------------------
    def _advance_adaptive(self, target: float):
        ev, m = self.ev, self.m
        direction = math.copysign(1.0, self.t1 - self.t0)
        post = self.problem.post_step
        while direction * (target - self.t) > 1e-13 * max(1.0, abs(target)):
            if self.max_steps is not None and self.stats.steps >= self.max_steps:
                raise StabilityError(f"max_steps={self.max_steps} reached at t={self.t:g} before t={target:g}; "
                                     f"raise max_steps, loosen rtol/atol, or use a stiff method.",
                                     t=self.t, step=self.stats.steps, partial=self._solution())
            h = self.h
            last = direction * (self.t + h - target) >= 0
            if last:
                h = target - self.t
            try:
                y1, err, st = m.attempt(ev, self.t, h, self.y, self.state, self.rtol, self.atol)
            except FloatingPointError:
                y1, err, st = None, math.inf, None
            if err <= 1.0:
                # PI controller (Gustafsson; Hairer–Wanner II, IV.2): beta = 0.4 / 5
                fac = 0.9 * err ** (-0.7 / 5) * self.err_prev ** (0.4 / 5) if err > 0 else 5.0
                self.t = target if last else self.t + h
                self.y = y1 if post is None else post(self.t, y1)
                self.state = st if post is None else m.init(ev, self.t, self.y)
                self.err_prev = max(err, 1e-4)
                self.stats.steps += 1
                self.h = h * min(5.0, max(0.2, fac)) if not last or abs(h) >= abs(self.h) else self.h
            else:
                self.stats.rejected += 1
                fac = 0.9 * err ** (-1 / 5) if math.isfinite(err) else 0.1
                self.h = h * max(0.1, min(0.9, fac))
            if abs(self.h) < 1e-14 * max(1.0, abs(self.t)):
                self._step_collapse()
        self.t = float(target)

    # ---- checkpoints -------------------------------------------------------------------------
    def _checkpoint_due(self) -> bool:
        every = self.checkpoint_every
        if isinstance(every, float):
            if time.perf_counter() - self._last_ckpt >= every:
                return True
            return self.k == len(self.saves)
        return self.k % max(1, int(every)) == 0 or self.k == len(self.saves)

    def _fingerprint(self) -> dict:
        return {
            "method": self.m.name, "kind": self.problem.kind, "t_span": [self.t0, self.t1],
            "dt": self.dt, "n_steps": None if self.ts is None else int(self.ts.size - 1),
            "saves": [float(s) for s in self.saves], "shape": list(self.like.shape),
            "dtype": str(self.like.dtype), "backend": self.ops.name,
            "noise": getattr(self.problem, "noise", None), "calculus": getattr(self.problem, "calculus", None),
            "driver": _driver_fingerprint(getattr(self.problem, "driver", None)),
            "tolerances": [self.rtol, self.atol] if self.m.adaptive else None,
        }

    def _write_checkpoint(self, at_frame: bool):
        ops = self.ops
        if at_frame:
            y, t, gi, state = self.y, self.t, self.gi, self.state
            rs = None if self.rng is None else _rng.get_state(self.rng)
            pos = None if self.stream is None else self.stream.position
            steps, nfe, nge, k = self.stats.steps, self.ev.nfe, self.ev.nge, self.k
            rejected, h, err_prev = self.stats.rejected, getattr(self, "h", None), getattr(self, "err_prev", None)
        else:  # interrupted inside a frame: go back to the frame's start
            y, t, gi, state, rs, pos, steps, nfe, nge, rejected, h, err_prev = self.snap
            k = self.k
        layout, arrays = ckpt.pack_state(state, ops)
        arrays["y"] = ops.to_numpy(y)
        frames = self.frames_y[:k]
        if frames:
            arrays["frames_y"] = np.stack([ops.to_numpy(v) if is_torch(v) else np.asarray(v) for v in frames])
        meta = {
            "fingerprint": self._fingerprint(), "t": float(t), "gi": int(gi), "k": int(k),
            "frames_t": self.frames_t[:k], "rng": rs, "rng_initial": self.rng_initial, "stream": pos,
            "method_state": layout, "steps": steps, "nfe": nfe, "nge": nge, "rejected": rejected,
            "h": h, "err_prev": err_prev,
        }
        from simdiff import __version__

        meta["version"] = __version__
        ckpt.save(self.checkpoint, meta=meta, arrays=arrays)
        self._last_ckpt = time.perf_counter()

    def restore(self, path):
        from simdiff.errors import CheckpointError

        meta, arrays = ckpt.load(path)
        mine = self._fingerprint()
        theirs = meta.get("fingerprint")
        if not isinstance(theirs, dict):
            raise CheckpointError(f"checkpoint {str(path)!r} has no solve fingerprint; delete it and start again.")
        diff = [k for k in mine if mine[k] != theirs.get(k)]
        if diff:
            k = diff[0]
            label = _FINGERPRINT_NAMES.get(k, k)
            raise CheckpointError(f"checkpoint {str(path)!r} was written by another solve: {label} is "
                                  f"{theirs.get(k)!r} there and {mine[k]!r} here. Resume with the same "
                                  f"problem settings, or start without resume=.")
        ops, like = self.ops, self.like
        try:
            self.y = ops.from_numpy(arrays["y"], like) if ops.name == "torch" else arrays["y"].copy()
            self.t, self.gi, self.k = meta["t"], meta["gi"], meta["k"]
            self.frames_t = list(meta["frames_t"])
            fy = arrays.get("frames_y")
            if self.k and fy is None:
                raise KeyError("frames_y")
            self.frames_y = [] if fy is None else [
                ops.from_numpy(v, like) if (ops.name == "torch" and self.save_fn is None) else v for v in fy]
            self.state = ckpt.unpack_state(meta["method_state"], arrays, ops, like)
            if self.rng is not None:
                _rng.set_state(self.rng, meta["rng_initial"])
                self._begin_stream()            # drivers that draw a whole path redraw the same one
                _rng.set_state(self.rng, meta["rng"])
                self.stream.seek(meta["stream"])
            self.stats.steps, self.ev.nfe, self.ev.nge = meta["steps"], meta["nfe"], meta["nge"]
            self.stats.rejected = meta["rejected"]
            if meta.get("h") is not None:
                self.h, self.err_prev = meta["h"], meta["err_prev"]
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"checkpoint {str(path)!r} is incomplete ({err}); delete it and start again.") from None
