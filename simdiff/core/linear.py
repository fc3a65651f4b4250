r"""Linear parts of semilinear problems :math:`\dot y = L(t) y + N(t, y)`.

Exponential integrators treat :math:`L` exactly and need three things from it: how to apply it,
a basis in which it is diagonal (``forward``/``backward``), and its integral over a step in that
basis, :math:`Z = \int_{t_0}^{t_1} L`, whose phi functions weight the nonlinear terms.

- ``Diagonal(d)``: :math:`L = \mathrm{diag}(d)`, constant; ``d`` broadcasts against ``y``.
- ``ScalarOfTime(rate, integral)``: :math:`L(t) = \ell(t)` times the identity, e.g. the
  :math:`-\tfrac12\beta(t)` of the VP-SDE. ``integral(t0, t1)`` must return
  :math:`\int_{t_0}^{t_1}\ell`, exactly if possible (the linear part is then integrated exactly).
- ``FourierDiagonal(symbol, axes)``: :math:`L` diagonal in the real FFT basis over ``axes``
  (the Laplacian of a periodic grid: ``symbol = -D |k|^2``).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import numpy as np

from simdiff.core.phi import phi as _phi
from simdiff.errors import InputError


def _key(x: float) -> float:
    """A cache key for a step size: steps that differ in the last bits (t1 - t0 on a uniform grid
    differs from dt by round-off) share their factorisation or phi values."""
    return float(f"{float(x):.11g}")


class Linear:
    """Base class: the interface exponential integrators use."""

    time_dependent = False
    diagonalisable = True   # exponential methods need phi functions of L in a diagonal basis

    def apply(self, t: float, y, ops):
        raise NotImplementedError

    def forward(self, y, ops):
        return y

    def backward(self, yh, ops, like):
        return yh

    def z(self, t0: float, t1: float) -> np.ndarray | float:
        """The integral of L over [t0, t1] in the diagonal basis (numpy or float)."""
        raise NotImplementedError

    def check(self, y0) -> None:
        """Raise InputError when this linear part does not fit a state like ``y0``."""

    def solve_shifted(self, t: float, a: float, rhs, ops):
        """``(I - a L(t))^{-1} rhs``: the linear solve of implicit methods."""
        raise NotImplementedError(f"{type(self).__name__} has no implicit solve")

    def phis(self, t0: float, t1: float, kmax: int, ops, like):
        """``[phi_0(Z), ..., phi_kmax(Z)]`` converted for arithmetic with ``like``; cached."""
        key = (_key(t0), _key(t1), kmax) if self.time_dependent else (_key(t1 - t0), kmax)
        cache = self.__dict__.setdefault("_phi_cache", OrderedDict())
        backend = (ops.name, str(getattr(like, "device", "")), str(getattr(like, "dtype", "")))
        full = key + backend
        if full in cache:
            return cache[full]
        z = self.z(t0, t1)
        vals = _phi(z, kmax)
        if np.ndim(z) == 0:
            vals = [complex(v) if np.iscomplexobj(v) else float(v) for v in vals]
        else:
            vals = [ops.asarray_like(v, like) for v in vals]
        cache[full] = vals
        if len(cache) > 16:
            cache.popitem(last=False)
        return vals


class Diagonal(Linear):
    """``L = diag(d)`` with ``d`` constant, broadcastable to the state's shape."""

    def __init__(self, d):
        self.d = np.asarray(d, dtype=float)
        if not np.all(np.isfinite(self.d)):
            raise InputError("Diagonal(d): d has non-finite entries; pass finite values.")

    def apply(self, t, y, ops):
        return ops.asarray_like(self.d, y) * y

    def z(self, t0, t1):
        return (t1 - t0) * self.d

    def solve_shifted(self, t, a, rhs, ops):
        return rhs / ops.asarray_like(1.0 - a * self.d, rhs)

    def check(self, y0):
        try:
            np.broadcast_shapes(self.d.shape, tuple(y0.shape))
        except ValueError:
            raise InputError(f"Diagonal(d) has shape {self.d.shape}, which does not broadcast to y0's shape "
                             f"{tuple(y0.shape)}.") from None


class ScalarOfTime(Linear):
    """``L(t) = rate(t) * I``; ``integral(t0, t1)`` is the exact integral of ``rate``."""

    time_dependent = True

    def __init__(self, rate: Callable[[float], float], integral: Callable[[float, float], float]):
        self.rate = rate
        self.integral = integral

    def apply(self, t, y, ops):
        return float(self.rate(t)) * y

    def z(self, t0, t1):
        return float(self.integral(t0, t1))

    def solve_shifted(self, t, a, rhs, ops):
        return rhs / (1.0 - a * float(self.rate(t)))


class Constant(ScalarOfTime):
    """``L = c * I`` with a constant c."""

    time_dependent = False

    def __init__(self, c: float):
        self.c = float(c)
        super().__init__(lambda t: self.c, lambda t0, t1: self.c * (t1 - t0))


class FourierDiagonal(Linear):
    """``L`` diagonal in the real FFT basis over ``axes``: ``(L y)^ = symbol * y^``.

    ``symbol`` has the shape of ``numpy.fft.rfftn(y, axes=axes)`` (or broadcasts to it).
    """

    def __init__(self, symbol, axes: tuple[int, ...]):
        self.symbol = np.asarray(symbol)
        self.axes = tuple(int(a) for a in axes)

    def _shape(self, y):
        return [y.shape[a] for a in self.axes]

    def forward(self, y, ops):
        return ops.rfftn(y, self.axes)

    def backward(self, yh, ops, like):
        return ops.irfftn(yh, self._shape(like), self.axes)

    def apply(self, t, y, ops):
        return self.backward(ops.asarray_like(self.symbol, y) * self.forward(y, ops), ops, y)

    def z(self, t0, t1):
        return (t1 - t0) * self.symbol

    def solve_shifted(self, t, a, rhs, ops):
        den = ops.asarray_like(1.0 - a * self.symbol, rhs)
        return self.backward(self.forward(rhs, ops) / den, ops, rhs)

    def check(self, y0):
        shape = list(y0.shape)
        try:
            for a in self.axes:
                shape[a]
        except IndexError:
            raise InputError(f"FourierDiagonal axes {self.axes} do not exist for y0 of shape {tuple(y0.shape)}.") from None
        spec = list(shape)
        spec[self.axes[-1]] = shape[self.axes[-1]] // 2 + 1
        try:
            np.broadcast_shapes(self.symbol.shape, tuple(spec))
        except ValueError:
            raise InputError(f"FourierDiagonal symbol has shape {self.symbol.shape}; the rfftn of y0 over "
                             f"axes {self.axes} has shape {tuple(spec)}.") from None


class SparseOperator(Linear):
    """``L y = A @ y.ravel()`` for a (sparse) matrix ``A`` of size ``y.size``; numpy states.

    Implicit methods factorise ``I - a A`` once per distinct ``a`` (scipy's SuperLU) and reuse the
    factors for every step with that step size. Exponential methods are not offered on it
    (``z`` would need a matrix function); use ``FourierDiagonal`` on periodic grids instead.
    """

    diagonalisable = False

    def __init__(self, A):
        import scipy.sparse as sp

        self.A = sp.csc_matrix(A, dtype=float)
        if self.A.shape[0] != self.A.shape[1]:
            raise InputError(f"SparseOperator needs a square matrix; got shape {self.A.shape}.")
        self._lu: OrderedDict = OrderedDict()

    def apply(self, t, y, ops):
        return (self.A @ y.reshape(-1)).reshape(y.shape)

    def z(self, t0, t1):
        raise InputError("exponential methods need a diagonalisable linear part (Diagonal, ScalarOfTime, "
                         "FourierDiagonal); SparseOperator works with backward_euler and crank_nicolson.")

    def check(self, y0):
        if self.A.shape[0] != int(np.prod(y0.shape)):
            raise InputError(f"SparseOperator is {self.A.shape[0]}x{self.A.shape[1]}, but y0 has "
                             f"{int(np.prod(y0.shape))} entries (shape {tuple(y0.shape)}).")
        if type(y0).__module__.startswith("torch"):
            raise InputError("SparseOperator runs on numpy arrays; pass y0 as a numpy array.")

    def solve_shifted(self, t, a, rhs, ops):
        import scipy.sparse as sp
        from scipy.sparse.linalg import splu

        key = _key(a)
        lu = self._lu.get(key)
        if lu is None:
            # diffusion matrices are structurally symmetric: minimum degree on A^T + A keeps the
            # factors sparse (half the fill of the default COLAMD ordering on a 2D Laplacian)
            lu = splu((sp.identity(self.A.shape[0], format="csc") - a * self.A).tocsc(), permc_spec="MMD_AT_PLUS_A")
            self._lu[key] = lu
            if len(self._lu) > 4:
                self._lu.popitem(last=False)
        return lu.solve(np.ascontiguousarray(rhs.reshape(-1), dtype=float)).reshape(rhs.shape)


class AxisSplit(Linear):
    """A linear operator ``A = sum_a A_a`` known axis by axis (numpy states).

    With ``shape`` (the state's C-ordered shape) each part must couple cells along its own axis
    only; its axis solves are then batched (cyclic) tridiagonal solves, O(N) per step, with no
    factorisation. Without it, parts are factorised by sparse LU.
    """

    diagonalisable = False

    def __init__(self, A, parts, shape: tuple | None = None):
        import scipy.sparse as sp

        self.A = sp.csr_matrix(A)
        self.parts = [sp.csc_matrix(P) for P in parts]
        self.shape = None if shape is None else tuple(int(n) for n in shape)
        self._lu: OrderedDict = OrderedDict()
        self._tri = [self._bands(a) for a in range(len(self.parts))] if self.shape is not None else None

    def _bands(self, a: int):
        """(lower, diag, upper) of part ``a`` along its axis, the corner entries of periodic lines,
        the line starts and the stride."""
        shape = self.shape
        n = shape[a]
        s = int(np.prod(shape[a + 1:], dtype=np.int64))
        idx = np.arange(int(np.prod(shape))).reshape(shape)
        pos = np.moveaxis(idx, a, -1).reshape(-1, n)          # lines along axis a
        P = self.parts[a].tocsr()

        def entries(rows, cols):
            return np.asarray(P[rows.reshape(-1), cols.reshape(-1)]).reshape(rows.shape)

        diag = P.diagonal()
        lower = np.zeros(idx.size)
        upper = np.zeros(idx.size)
        lower[pos[:, 1:]] = entries(pos[:, 1:], pos[:, :-1])
        upper[pos[:, :-1]] = entries(pos[:, :-1], pos[:, 1:])
        alpha = entries(pos[:, 0], pos[:, -1])                 # top-right corner (periodic wrap)
        beta = entries(pos[:, -1], pos[:, 0])
        # the part must be tridiagonal along its axis: its non-zeros are accounted for
        nnz = np.count_nonzero(diag) + np.count_nonzero(lower) + np.count_nonzero(upper)
        nnz += np.count_nonzero(alpha) + np.count_nonzero(beta)
        if nnz != P.count_nonzero():
            raise InputError(f"AxisSplit part {a} couples cells off its own axis; it cannot be split by axis.")
        return lower, diag, upper, alpha, beta, np.ascontiguousarray(pos[:, 0]), n, s

    def apply(self, t, y, ops):
        return (self.A @ y.reshape(-1)).reshape(y.shape)

    def z(self, t0, t1):
        raise NotImplementedError("AxisSplit has no exponential")

    def solve_axis(self, a: int, coef: float, rhs):
        """``(I - coef A_a)^{-1} rhs``: batched tridiagonal solves, or a sparse LU per (axis, coef)."""
        if self._tri is not None:
            from simdiff.core._numba.tridiag import solve_lines

            lo, di, up, al, be, bases, n, s = self._tri[a]
            key = (a, _key(coef))
            bands = self._lu.get(key)
            if bands is None:
                bands = (-coef * lo, 1.0 - coef * di, -coef * up, -coef * al, -coef * be)
                self._lu[key] = bands
                if len(self._lu) > 12:
                    self._lu.popitem(last=False)
            x = solve_lines(*bands, np.ascontiguousarray(rhs.reshape(-1), dtype=float), bases, n, s)
            return x.reshape(rhs.shape)
        import scipy.sparse as sp
        from scipy.sparse.linalg import splu

        key = (a, _key(coef))
        lu = self._lu.get(key)
        if lu is None:
            n = self.parts[a].shape[0]
            lu = splu((sp.identity(n, format="csc") - coef * self.parts[a]).tocsc(), permc_spec="MMD_AT_PLUS_A")
            self._lu[key] = lu
            if len(self._lu) > 12:
                self._lu.popitem(last=False)
        return lu.solve(np.ascontiguousarray(rhs.reshape(-1))).reshape(rhs.shape)

    def check(self, y0):
        if self.A.shape[0] != int(np.prod(y0.shape)):
            raise InputError(f"AxisSplit is {self.A.shape[0]}x{self.A.shape[0]}, but y0 has {int(np.prod(y0.shape))} entries.")
