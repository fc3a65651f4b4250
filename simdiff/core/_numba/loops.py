"""Compiled stepping loops: one numba call advances the state over one saved frame.

Every loop has an explicit signature, takes kernels as first-class functions
(:data:`simdiff.core.kernels.KernelType`) and is cached on disk, so it compiles once per machine
and serves every model. Each loop mirrors a generic ``step`` in :mod:`simdiff.core.methods`; the
tests check that both give the same numbers (for Euler–Maruyama the very same bits: both draw the
normals of a step in C order from the same numpy Generator).
"""
from __future__ import annotations

import numba as nb
import numpy as np
from numba import types

from simdiff.core.kernels import KernelType

_f8 = types.float64
_a8 = types.float64[::1]
_a8_2d = types.float64[:, ::1]
_i8a = types.int64[::1]
GeneratorType = nb.typeof(np.random.default_rng(0))

# erk_loop(f, ts, y, a, b, c, p, ip, post, pp, pip, use_post, k) -> index of the first step whose
# result is non-finite, or -1.
ERK_SIG = types.int64(KernelType, _a8, _a8, _a8_2d, _a8, _a8, _a8, _i8a,
                      KernelType, _a8, _i8a, types.boolean, _a8_2d)


@nb.njit(ERK_SIG, cache=True)
def erk_loop(f, ts, y, a, b, c, p, ip, post, pp, pip, use_post, k):
    """Explicit Runge–Kutta over the step times ``ts``; ``k`` is (stages, n) work space."""
    n = y.size
    s = b.size
    tmp = np.empty(n)
    for j in range(ts.size - 1):
        t = ts[j]
        h = ts[j + 1] - t
        for st in range(s):
            for i in range(n):
                acc = y[i]
                for q in range(st):
                    if a[st, q] != 0.0:
                        acc += h * a[st, q] * k[q, i]
                tmp[i] = acc
            f(t + c[st] * h, tmp, k[st], p, ip)
        bad = False
        for i in range(n):
            acc = 0.0
            for st in range(s):
                acc += b[st] * k[st, i]
            v = y[i] + h * acc
            y[i] = v
            if not np.isfinite(v):
                bad = True
        if use_post:
            post(ts[j + 1], y, tmp, pp, pip)
            for i in range(n):
                y[i] = tmp[i]
        if bad:
            return j
    return -1


# em_loop(f, g, ts, y, pf, ipf, pg, ipg, g_const, post, pp, pip, use_post, rng, dw, use_dw, chunk, check_each)
#   -> index of the first non-finite step (check_each), -2 (non-finite at the end), or -1
EM_SIG = types.int64(KernelType, KernelType, _a8, _a8, _a8, _i8a, _a8, _i8a, types.boolean,
                     KernelType, _a8, _i8a, types.boolean, GeneratorType, _a8_2d, types.boolean,
                     types.int64, types.boolean)


@nb.njit(EM_SIG, cache=True)
def em_loop(f, g, ts, y, pf, ipf, pg, ipg, g_const, post, pp, pip, use_post, rng, dw, use_dw, chunk,
            check_each):
    """Euler–Maruyama for diagonal or additive noise: y <- y + f(t, y) h + g(t, y) dW.

    ``dW`` is drawn inline as ``sqrt(|h|) xi`` from ``rng`` (C order per step: the same numbers the
    generic numpy path draws), or read from ``dw`` (steps, n) when ``use_dw`` (any driver).
    Pointwise kernels are called on blocks of ``chunk`` entries, so the drift stays in L1 cache
    between its evaluation and the update. Non-finite values are looked for at the end (the
    caller replays the frame with ``check_each`` to name the step).
    """
    n = y.size
    fv = np.empty(n)
    gv = np.empty(n)
    if g_const:
        g(ts[0], y, gv, pg, ipg)
    for j in range(ts.size - 1):
        t = ts[j]
        h = ts[j + 1] - t
        sq = np.sqrt(abs(h))
        for a in range(0, n, chunk):
            b = min(a + chunk, n)
            f(t, y[a:b], fv[a:b], pf, ipf)
            if not g_const:
                g(t, y[a:b], gv[a:b], pg, ipg)
            if use_dw:
                for i in range(a, b):
                    y[i] = y[i] + fv[i] * h + gv[i] * dw[j, i]
            else:
                for i in range(a, b):
                    y[i] = y[i] + fv[i] * h + gv[i] * (rng.standard_normal() * sq)
        if use_post:
            post(ts[j + 1], y, fv, pp, pip)
            for i in range(n):
                y[i] = fv[i]
        if check_each:
            for i in range(n):
                if not np.isfinite(y[i]):
                    return j
    for i in range(n):
        if not np.isfinite(y[i]):
            return -2
    return -1


# fused_euler_loop(f, ts, y, buf, p, ip, slot, post, pp, pip, use_post) -> 0 (the state is in y),
# 1 (it is in buf), or -2 when it is non-finite (the caller replays the frame with erk_loop)
FUSED_SIG = types.int64(KernelType, _a8, _a8, _a8, _a8, _i8a, types.int64, KernelType, _a8, _i8a, types.boolean)


@nb.njit(FUSED_SIG, cache=True)
def fused_euler_loop(f, ts, y, buf, p, ip, slot, post, pp, pip, use_post):
    """Explicit Euler with a kernel that writes ``y + h f(t, y)`` itself (``p[slot] = h``).

    Ping-pongs between ``y`` and ``buf``: one read and one write of the state per step.
    """
    n = y.size
    a = y
    b = buf
    for j in range(ts.size - 1):
        t = ts[j]
        p[slot] = ts[j + 1] - t
        f(t, a, b, p, ip)
        if use_post:
            post(ts[j + 1], b, a, pp, pip)
        else:
            a, b = b, a
    p[slot] = 0.0
    for i in range(n):
        if not np.isfinite(a[i]):
            return -2
    return 0 if a is y else 1
