r"""Problems: what evolves.

``ODE``:  :math:`\dot y = L(t) y + f(t, y)` (``linear`` optional).

``SDE``:  :math:`dy = [L(t) y + f(t, y)]\,dt + g(t, y)\,dW_t`, where the noise kind fixes the shape
of :math:`g` and of :math:`dW`:

============  =========================  ===================  ==============================
noise         g(t, y) shape              dW shape             g dW
============  =========================  ===================  ==============================
additive      broadcasts to y; no y-dep  y.shape              g * dW
diagonal      y.shape                    y.shape              g * dW (component-wise)
scalar        y.shape                    ()                   g * dW (one Wiener process)
general       (*y.shape, m)              (m,)                 g @ dW
============  =========================  ===================  ==============================

Every function takes ``(t, y)``, as scipy's ``solve_ivp`` does. A function may also be a
:class:`Kernel`: a numba function on flat float64 arrays, which lets ``solve`` run the whole step
loop between saved frames compiled.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from simdiff.core.drivers import Brownian, Driver
from simdiff.core.linear import Linear
from simdiff.errors import InputError, InputTypeError

NOISE_KINDS = ("additive", "diagonal", "scalar", "general")
CALCULI = ("ito", "stratonovich")
_EMPTY_I = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class Kernel:
    """A compiled function ``fn(t, y, out, p, ip) -> None`` on flat float64 arrays.

    ``fn`` must be compiled with :data:`simdiff.core.kernels.KERNEL_SIG` (use the
    :func:`simdiff.kernel` decorator). ``p`` (float64) and ``ip`` (int64) carry parameters, so a new
    parameter value never recompiles anything. Calling a Kernel like a plain ``(t, y)`` function
    works too (used by the generic path and by tests).
    """

    fn: Any
    p: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ip: np.ndarray = field(default_factory=lambda: _EMPTY_I)
    reference: Callable | None = None   # the numpy version of the same maths, for tests
    pointwise: bool = False
    """True when ``out[i]`` depends on ``y[i]`` alone (a drift like ``-theta * y``): compiled loops
    may then call the kernel on blocks of the state and fuse it with the update."""
    fused_slot: int = -1
    """Index in ``p`` of a fused explicit-Euler step: when ``p[fused_slot] = h != 0`` the kernel
    writes ``y + h f(t, y)`` instead of ``f(t, y)``, so an Euler step is one pass over memory
    (memory-bound stencils run at the copy bandwidth). -1: the kernel has no such mode."""

    def __post_init__(self):
        p = np.ascontiguousarray(np.atleast_1d(np.asarray(self.p, dtype=np.float64)))
        object.__setattr__(self, "p", p if p.flags.writeable else p.copy())   # numba types read-only apart
        object.__setattr__(self, "ip", np.ascontiguousarray(np.atleast_1d(np.asarray(self.ip, dtype=np.int64))))
        from simdiff.core.kernels import check_kernel

        check_kernel(self.fn)

    @property
    def address(self):
        """The kernel as a numba first-class function value, its machine address cached (passing a
        dispatcher makes numba look the address up again on every call into a compiled loop)."""
        addr = self.__dict__.get("_address")
        if addr is None:
            from simdiff.core.kernels import KernelAddress

            addr = KernelAddress(self.fn)
            object.__setattr__(self, "_address", addr)
        return addr

    @property
    def __name__(self) -> str:
        return getattr(self.fn, "__name__", "kernel")

    def __call__(self, t, y):
        y = np.asarray(y)
        if y.dtype != np.float64:
            raise InputTypeError(f"kernel {self.__name__!r} works on float64 arrays; y has dtype {y.dtype}.")
        yc = np.ascontiguousarray(y)
        out = np.empty_like(yc)
        self.fn(float(t), yc.reshape(-1), out.reshape(-1), self.p, self.ip)
        return out


def _check_callable(name: str, fn, allow_const: bool = False):
    if fn is None:
        raise InputTypeError(f"{name} is required.")
    if callable(fn):
        return
    if allow_const:
        return
    raise InputTypeError(f"{name}={fn!r} is not callable; pass a function of (t, y) or a simdiff Kernel.")


@dataclass(frozen=True, eq=False)
class ODE:
    r"""An ODE :math:`\dot y = L(t) y + \mathrm{rhs}(t, y)`.

    Parameters
    ----------
    rhs
        ``rhs(t, y) -> dy/dt`` (without the linear part), same shape as ``y``; or a :class:`Kernel`.
    linear
        Optional linear part (:mod:`simdiff.core.linear`) for exponential integrators; other
        methods add ``linear.apply(t, y)`` to ``rhs``.
    post_step
        Optional projection ``post_step(t, y) -> y`` applied after every step (walls, clamps).
    """

    rhs: Callable | Kernel
    linear: Linear | None = None
    post_step: Callable | None = None
    forcing: bool = False
    """True when ``rhs`` depends on ``t`` only (a source term of a linear problem): implicit
    methods then skip the predictor they would need for a state-dependent ``rhs``."""
    kind = "ode"

    def __post_init__(self):
        _check_callable("rhs", self.rhs)
        if self.linear is not None and not isinstance(self.linear, Linear):
            raise InputTypeError(f"linear={self.linear!r}: pass a simdiff.core.linear part (Diagonal, ScalarOfTime, FourierDiagonal).")


@dataclass(frozen=True, eq=False)
class SDE:
    r"""An SDE :math:`dy = [L(t) y + \mathrm{drift}(t, y)]\,dt + \mathrm{diffusion}(t, y)\,dW`.

    Parameters
    ----------
    drift
        ``drift(t, y)``, same shape as ``y``; or a :class:`Kernel`.
    diffusion
        ``diffusion(t, y)`` (shape per ``noise``, see the module table), a :class:`Kernel`, or a
        constant number or array (then the noise is additive).
    noise
        ``"additive"``, ``"diagonal"``, ``"scalar"`` or ``"general"``.
    noise_dim
        ``m``, the number of Wiener processes, for ``noise="general"``.
    calculus
        ``"ito"`` (default) or ``"stratonovich"``: which integral the equation means. Methods that
        converge to the other one are refused unless the noise is additive (then both agree).
    linear, post_step
        As for :class:`ODE`.
    driver
        The driving noise: :class:`~simdiff.core.drivers.Brownian` (default),
        :class:`~simdiff.core.drivers.FractionalGaussian`, :class:`~simdiff.core.drivers.AlphaStable`.
    """

    drift: Callable | Kernel
    diffusion: Callable | Kernel | float | Any
    noise: str = "diagonal"
    noise_dim: int | None = None
    calculus: str = "ito"
    linear: Linear | None = None
    driver: Driver = field(default_factory=Brownian)
    post_step: Callable | None = None
    kind = "sde"

    def __post_init__(self):
        _check_callable("drift", self.drift)
        _check_callable("diffusion", self.diffusion, allow_const=True)
        if self.noise not in NOISE_KINDS:
            raise InputError(f"noise={self.noise!r} is not a noise kind; use one of {', '.join(NOISE_KINDS)}.")
        if self.calculus not in CALCULI:
            raise InputError(f"calculus={self.calculus!r}; use 'ito' or 'stratonovich'.")
        if not callable(self.diffusion) and self.noise not in ("additive", "diagonal"):
            raise InputError(f"a constant diffusion means additive noise; noise={self.noise!r} needs a function of (t, y).")
        if not callable(self.diffusion):
            d = np.asarray(self.diffusion) if not type(self.diffusion).__module__.startswith("torch") else None
            if d is not None and not np.all(np.isfinite(d)):
                raise InputError("diffusion has non-finite values; pass finite values.")
            object.__setattr__(self, "noise", "additive")
        if self.noise == "general":
            if self.noise_dim is None or int(self.noise_dim) < 1:
                raise InputError("noise='general' needs noise_dim=m >= 1, the number of Wiener processes.")
        if not isinstance(self.driver, Driver):
            raise InputTypeError(f"driver={self.driver!r}: pass Brownian(), FractionalGaussian(hurst) or AlphaStable(alpha).")
        if self.linear is not None and not isinstance(self.linear, Linear):
            raise InputTypeError(f"linear={self.linear!r}: pass a simdiff.core.linear part.")

    @property
    def constant_diffusion(self) -> bool:
        return not callable(self.diffusion)

    def noise_shape(self, y_shape: tuple) -> tuple:
        if self.noise == "scalar":
            return ()
        if self.noise == "general":
            return (int(self.noise_dim),)
        return tuple(y_shape)
