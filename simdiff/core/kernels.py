"""Compiled kernels: one fixed signature for every function a compiled loop calls.

A kernel is ``fn(t, y, out, p, ip) -> None`` on flat C-contiguous float64 arrays: it writes
``f(t, y)`` into ``out``; ``p`` (float64) and ``ip`` (int64) carry parameters. Loops take kernels as
first-class numba function types with this signature, so each loop is compiled once, cached on
disk, and serves every model (DESIGN.md: a ``cache=True`` loop that took plain dispatchers would
recompile in every process).

numba is imported on first use of this module, never by ``import simdiff``.
"""
from __future__ import annotations

import numba as nb
from numba import types

from simdiff.errors import InputTypeError

KERNEL_SIG = types.void(types.float64, types.float64[::1], types.float64[::1],
                        types.float64[::1], types.int64[::1])
KernelType = types.FunctionType(KERNEL_SIG)


def kernel(fn=None, *, cache: bool = True, fastmath: bool = False):
    """Decorator: compile ``fn(t, y, out, p, ip)`` with the kernel signature.

    Example
    -------
    >>> import simdiff
    >>> @simdiff.kernel
    ... def decay(t, y, out, p, ip):
    ...     for i in range(y.size):
    ...         out[i] = -p[0] * y[i]
    >>> k = simdiff.Kernel(decay, p=[2.0])
    """
    def wrap(f):
        try:
            return nb.njit(KERNEL_SIG, cache=cache, fastmath=fastmath)(f)
        except RuntimeError as err:  # defined in a REPL or `python -c`: no file to cache beside
            if "cannot cache" not in str(err):
                raise
            return nb.njit(KERNEL_SIG, cache=False, fastmath=fastmath)(f)

    return wrap(fn) if fn is not None else wrap


def check_kernel(fn) -> None:
    """Raise a clear error unless ``fn`` is a numba function compiled for KERNEL_SIG."""
    sigs = getattr(fn, "signatures", None)
    if sigs is None:
        raise InputTypeError(
            f"Kernel({getattr(fn, '__name__', fn)!r}): the function is not compiled. Decorate it with "
            f"@simdiff.kernel (signature fn(t, y, out, p, ip) on float64 arrays), or pass the plain "
            f"(t, y) function to ODE/SDE directly.")
    if KERNEL_SIG.args not in [tuple(s) for s in sigs]:
        try:
            fn.compile(KERNEL_SIG)
        except Exception as err:  # numba's typing errors are long; keep the first line
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise InputTypeError(
                f"Kernel({fn.__name__!r}) does not compile with the kernel signature "
                f"(t: float64, y: float64[::1], out: float64[::1], p: float64[::1], ip: int64[::1]): "
                f"{first}") from None
    ret = fn.overloads[KERNEL_SIG.args].signature.return_type
    if ret != types.none:
        raise InputTypeError(
            f"Kernel({fn.__name__!r}) returns {ret}; a kernel writes its result into `out` and returns "
            f"nothing. Remove the return value.")


@nb.njit(KERNEL_SIG, cache=True)
def const_kernel(t, y, out, p, ip):
    """out = p (p of length 1 is broadcast)."""
    if p.size == 1:
        for i in range(out.size):
            out[i] = p[0]
    else:
        for i in range(out.size):
            out[i] = p[i]


@nb.njit(KERNEL_SIG, cache=True)
def identity_kernel(t, y, out, p, ip):
    """out = y (the no-op post-step)."""
    for i in range(out.size):
        out[i] = y[i]


class KernelAddress(types.WrapperAddressProtocol):
    """A compiled kernel handed to compiled loops by address (numba's WrapperAddressProtocol)."""

    def __init__(self, fn):
        from numba.experimental.function_type import _get_wrapper_address

        self.fn = fn
        self._addr = _get_wrapper_address(fn, KERNEL_SIG)

    def __wrapper_address__(self):
        return self._addr

    def signature(self):
        return KERNEL_SIG


_IDENTITY = None


def identity_address():
    global _IDENTITY
    if _IDENTITY is None:
        _IDENTITY = KernelAddress(identity_kernel)
    return _IDENTITY
