"""Module-level numba kernels for the tests (module level, so numba caches them on disk)."""
import simdiff


@simdiff.kernel
def decay_kernel(t, y, out, p, ip):
    for i in range(y.size):
        out[i] = -p[0] * y[i]


@simdiff.kernel
def gbm_sigma_kernel(t, y, out, p, ip):
    for i in range(y.size):
        out[i] = p[0] * y[i]


@simdiff.kernel
def linear_kernel(t, y, out, p, ip):
    for i in range(y.size):
        out[i] = p[0] * y[i]
