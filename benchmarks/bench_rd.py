"""Gray–Scott reaction–diffusion: simdiff vs py-pde vs numpy vs numba, per step, cold start, time to a settled pattern.

The model: ``u_t = D_u lap u - u v^2 + F (1 - u)``, ``v_t = D_v lap v + u v^2 - (F + k) v``, the
``spots`` preset (F = 0.035, k = 0.065, D_u = 2e-5, D_v = 1e-5, Pearson 1993), periodic square box,
the 5-point Laplacian, float64.

(1) Per step. 256x256 on a 2.5 box (Pearson's grid), explicit Euler at 90% of simdiff's stability
    limit for the start (``stable_dt(grid, "euler", state=u0)``: diffusion plus the reaction's
    Jacobian bound), the preset's seeded start. One worker process per thread count (``--threads``,
    default 1: py-pde compiles for ~40 s in every process), in which the methods take turns over
    ``--repeats`` rounds after a timed first call; ms per step (wall time of many steps / steps),
    median and fastest round:

    simdiff             ``simulate(model, grid, u0, t_end=n*dt, dt=dt, method="euler", n_frames=2)``:
                        one numba call for all n steps; the fused RD kernel writes ``u + dt f(u)``;
                        the time is its ``solution.stats.wall_time`` (the ``solve`` call)
    numpy vectorized    the Laplacian of both species from slices plus the reaction, preallocated buffers
    py-pde              ``pde.PDE`` with the Gray–Scott expressions (it has no built-in Gray–Scott),
                        ``EulerSolver(backend="numba", adaptive=False).make_stepper``: its compiled
                        fixed-step loop, timed after its compile (reported apart)
    plain numba         one ``@njit`` loop per step over (i, j), the periodic wrap by ``%`` in the inner loop
    numba, wrap hoisted the same update with the wrap out of the inner loop (row views, the first and
                        last column apart), so the inner loop vectorizes (``prange`` at 2 threads)
    memory floor        ``np.copyto`` of the (2, 256, 256) state (both fields read and written once per step)

    All methods must agree after 20 steps (the same maths). simdiff's step is also split into its
    two passes (stencil, reaction), calling its kernel directly.

(2) Cold start. Wall time of fresh ``simdiff pde gray-scott --preset spots --t-end 1 --frames 2``
    processes (one step) with ``NUMBA_CACHE_DIR`` a fresh folder (cold), then the same folder
    (warm): euler, the default method (auto), etdrk4, another preset, another grid; functions
    compiled/loaded counted from ``NUMBA_DEBUG_CACHE``; and a breakdown in a ``python -c`` process.

(3) Time to a settled spots pattern. 128x128 on a 1.25 box (the same dx as 256x256 on 2.5, a
    quarter of the area, so the budget allows the search), the seeded start *without* noise (with
    noise the spot splitting is chaotic and no two step sizes give the same pattern; without it the
    pattern keeps the square's symmetry and ends in the same 56-spot steady state whatever the step).
    Settled: the relative L2 change of v between frames 500 time units apart stays below 1e-3 up to
    ``T_REF``; its time t_s comes from the explicit Euler reference. ETDRK4 then runs to t_s at the
    largest dt from ``ETD_DTS`` (tried largest first) whose v at t_s matches the reference within
    1% of max|v| with the same spot count (its own last frame-to-frame change is reported). Time to solution = wall time
    of ``simulate(..., t_end=t_s, n_frames=2)`` (phi functions and FFT setup included).

(4) Stiffer variant. 256x256 on the same 1.25 box (dx halved, the diffusion limit 4x smaller): euler
    against ETDRK4 at the step found in (3), both to the same t_s, one run each.

Results go to ``benchmarks/bench_rd.json``.

Run:  .venv/bin/python benchmarks/bench_rd.py            (about 3 minutes; py-pde compiles ~40 s)
      .venv/bin/python benchmarks/bench_rd.py --quick    (fewer steps, 3 repeats, no py-pde, no stiff variant)
"""
from __future__ import annotations

import os

# One thread in this (parent) process: the settle and stiff parts run here. The per-step workers set their own.
for _v in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import datetime as _dt
import json
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba as nb
import numpy as np

import simdiff

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pde import run_workers as _run_workers  # noqa: E402
from bench_pde import Case, _version, caches, cli_command, cpu_model, fmt_ms, loadavg  # noqa: E402

HERE = Path(__file__).resolve().parent
PRESET = "spots"
SHAPE, EXTENT = (256, 256), 2.5
# steps per timed call (default, --quick)
STEPS = {"simdiff": 2000, "numba_fast": 2000, "numba_plain": 500, "pypde": 500, "numpy": 200, "floor": 2000}
STEPS_QUICK = {"simdiff": 500, "numba_fast": 500, "numba_plain": 120, "pypde": 100, "numpy": 50, "floor": 500}
GOAL_VS_PYPDE = 5.0
GOAL_FLOOR = 2.0
GOAL_WARM_S = 3.0
GOAL_ETD = 10.0
# (3) settle
SETTLE_SHAPE, SETTLE_EXTENT = (128, 128), 1.25
STIFF_SHAPE = (256, 256)
FRAME_DT = 500.0
SETTLE_TOL = 1e-3
T_REF = 36000.0
ETD_DTS = (100.0, 50.0, 40.0, 30.0, 25.0, 20.0, 10.0, 5.0, 2.0, 1.0)
MATCH_TOL = 1e-2
SPOT_LEVEL = 0.2


# ----------------------------------------------------------------------------------------------
# Numba kernels (module level in a file, so numba caches them). y, z: (2, n0, n1), ru/rv = D dt / dx^2.

@nb.njit(cache=True)
def _gs_plain(y, z, ru, rv, F, k, dt, steps):
    """The naive loop: periodic wrap by modulo inside the inner loop."""
    n0, n1 = y.shape[1], y.shape[2]
    for _ in range(steps):
        for i in range(n0):
            for j in range(n1):
                im = (i - 1) % n0
                ip = (i + 1) % n0
                jm = (j - 1) % n1
                jp = (j + 1) % n1
                u = y[0, i, j]
                v = y[1, i, j]
                uvv = u * v * v
                z[0, i, j] = (u + ru * (y[0, im, j] + y[0, ip, j] + y[0, i, jm] + y[0, i, jp] - 4.0 * u)
                              + dt * (-uvv + F * (1.0 - u)))
                z[1, i, j] = (v + rv * (y[1, im, j] + y[1, ip, j] + y[1, i, jm] + y[1, i, jp] - 4.0 * v)
                              + dt * (uvv - (F + k) * v))
        y, z = z, y
    return y


@nb.njit(cache=True, inline="always")
def _gs_cell(u, v, lu, lv, ru, rv, F, k, dt):
    """One cell's Euler update from its value and the sum of its four neighbours (lu, lv)."""
    uvv = u * v * v
    return (u + ru * (lu - 4.0 * u) + dt * (-uvv + F * (1.0 - u)),
            v + rv * (lv - 4.0 * v) + dt * (uvv - (F + k) * v))


@nb.njit(cache=True, inline="always")
def _gs_row(U, V, U2, V2, i, n0, n1, ru, rv, F, k, dt):
    im = i - 1 if i > 0 else n0 - 1
    ip = i + 1 if i < n0 - 1 else 0
    u0, um, up, uo = U[i], U[im], U[ip], U2[i]
    v0, vm, vp, vo = V[i], V[im], V[ip], V2[i]
    a, b = _gs_cell(u0[0], v0[0], um[0] + up[0] + u0[n1 - 1] + u0[1], vm[0] + vp[0] + v0[n1 - 1] + v0[1],
                    ru, rv, F, k, dt)
    uo[0] = a
    vo[0] = b
    for j in range(1, n1 - 1):       # no wrap in here: straight loads, vectorizes
        a, b = _gs_cell(u0[j], v0[j], um[j] + up[j] + u0[j - 1] + u0[j + 1], vm[j] + vp[j] + v0[j - 1] + v0[j + 1],
                        ru, rv, F, k, dt)
        uo[j] = a
        vo[j] = b
    e = n1 - 1
    a, b = _gs_cell(u0[e], v0[e], um[e] + up[e] + u0[e - 1] + u0[0], vm[e] + vp[e] + v0[e - 1] + v0[0],
                    ru, rv, F, k, dt)
    uo[e] = a
    vo[e] = b


@nb.njit(cache=True)
def _gs_fast(y, z, ru, rv, F, k, dt, steps):
    """The wrap hoisted out of the inner loop (row views; first and last column apart)."""
    n0, n1 = y.shape[1], y.shape[2]
    for _ in range(steps):
        for i in range(n0):
            _gs_row(y[0], y[1], z[0], z[1], i, n0, n1, ru, rv, F, k, dt)
        y, z = z, y
    return y


@nb.njit(cache=True, parallel=True)
def _gs_step_par(y, z, ru, rv, F, k, dt):
    """One step, the rows' inner columns in parallel, then the two wrap columns serially. (With
    the wrap columns inside the prange body, as in _gs_row, numba 0.68 computed the last column
    wrong: max error 1.0 after one step.)"""
    n0, n1 = y.shape[1], y.shape[2]
    U, V, U2, V2 = y[0], y[1], z[0], z[1]
    for i in nb.prange(n0):
        im = i - 1 if i > 0 else n0 - 1
        ip = i + 1 if i < n0 - 1 else 0
        u0, um, up, uo = U[i], U[im], U[ip], U2[i]
        v0, vm, vp, vo = V[i], V[im], V[ip], V2[i]
        for j in range(1, n1 - 1):
            a, b = _gs_cell(u0[j], v0[j], um[j] + up[j] + u0[j - 1] + u0[j + 1],
                            vm[j] + vp[j] + v0[j - 1] + v0[j + 1], ru, rv, F, k, dt)
            uo[j] = a
            vo[j] = b
    for i in range(n0):
        im = i - 1 if i > 0 else n0 - 1
        ip = i + 1 if i < n0 - 1 else 0
        for j in (0, n1 - 1):
            jm = j - 1 if j > 0 else n1 - 1
            jp = j + 1 if j < n1 - 1 else 0
            a, b = _gs_cell(U[i, j], V[i, j], U[im, j] + U[ip, j] + U[i, jm] + U[i, jp],
                            V[im, j] + V[ip, j] + V[i, jm] + V[i, jp], ru, rv, F, k, dt)
            U2[i, j] = a
            V2[i, j] = b


@nb.njit(cache=True)
def _gs_fast_par(y, z, ru, rv, F, k, dt, steps):
    """_gs_fast with the rows of each step in parallel (prange in a function of its own)."""
    for _ in range(steps):
        _gs_step_par(y, z, ru, rv, F, k, dt)
        y, z = z, y
    return y


def numpy_gs(y0, ru, rv, F, k, dt, steps):
    """Vectorized numpy: Laplacian of both species at once from slices, then the reaction."""
    y, z, lap = y0.copy(), np.empty_like(y0), np.empty_like(y0)
    uvv, tmp = np.empty(y0.shape[1:]), np.empty(y0.shape[1:])
    r = np.array([ru, rv]).reshape(2, 1, 1)
    for _ in range(steps):
        np.multiply(y, -4.0, out=lap)
        lap[:, :-1] += y[:, 1:]
        lap[:, -1] += y[:, 0]
        lap[:, 1:] += y[:, :-1]
        lap[:, 0] += y[:, -1]
        lap[:, :, :-1] += y[:, :, 1:]
        lap[:, :, -1] += y[:, :, 0]
        lap[:, :, 1:] += y[:, :, :-1]
        lap[:, :, 0] += y[:, :, -1]
        np.multiply(lap, r, out=z)
        z += y
        u, v = y
        np.multiply(u, v, out=uvv)
        uvv *= v
        uvv *= dt
        z[0] -= uvv
        z[1] += uvv
        np.multiply(u, -dt * F, out=tmp)
        tmp += dt * F
        z[0] += tmp
        np.multiply(v, -dt * (F + k), out=tmp)
        z[1] += tmp
        y, z = z, y
    return y


# ----------------------------------------------------------------------------------------------
# (1) per-step worker: one process per thread count

def euler_limit(model, grid, u0):
    """simulate()'s explicit Euler limit for this start (newer simdiff adds the reaction's
    stiffness at the initial state to the diffusion limit; older ones take diffusion alone)."""
    try:
        return model.stable_dt(grid, "euler", state=u0)
    except TypeError:
        return model.stable_dt(grid, "euler")


def setup_cases(threads, steps, use_pypde, log):
    from simdiff.pde import GrayScott, Grid, simulate

    model = GrayScott.preset(PRESET)
    F, k, Du, Dv = model.params["F"], model.params["k"], model.D["u"], model.D["v"]
    grid = Grid(SHAPE, extent=EXTENT, periodic=True)
    u0 = model.initial(grid, seed=0)
    dt = 0.9 * euler_limit(model, grid, u0)
    h = grid.dx[0]
    ru, rv = Du * dt / h ** 2, Dv * dt / h ** 2
    cases, extra = [], {"dt": dt, "shape": list(SHAPE), "extent": EXTENT, "F": F, "k": k, "D_u": Du, "D_v": Dv}

    # simdiff
    sd_outer = []

    def sd(n):
        t0 = time.perf_counter()
        run = simulate(model, grid, u0, t_end=n * dt, dt=dt, method="euler", n_frames=2)
        sd_outer.append((n, time.perf_counter() - t0))
        s = run.solution.stats
        assert s.steps == n and s.path == "compiled", (s.steps, n, s.path)
        return s.wall_time, run.y[-1]
    cases.append(Case("simdiff", "simdiff euler (fused RD kernel)", 2, threads, sd, steps["simdiff"]))
    cases[-1].outer = sd_outer

    def npy(n):
        t0 = time.perf_counter()
        y = numpy_gs(u0, ru, rv, F, k, dt, n)
        return time.perf_counter() - t0, y
    cases.append(Case("numpy", "numpy vectorized", 2, threads, npy, steps["numpy"]))

    if use_pypde is True:
        import pde

        pde.config["backend.numba.multithreading"] = "always" if threads > 1 else "never"
        pgrid = pde.CartesianGrid([[0.0, EXTENT]] * 2, list(SHAPE), periodic=True)
        eq = pde.PDE({"u": "Du*laplace(u) - u*v**2 + F*(1 - u)", "v": "Dv*laplace(v) + u*v**2 - (F + k)*v"},
                     consts={"Du": Du, "Dv": Dv, "F": F, "k": k})
        state = pde.FieldCollection([pde.ScalarField(pgrid, u0[0].copy(), label="u"),
                                     pde.ScalarField(pgrid, u0[1].copy(), label="v")])
        solver = pde.solvers.EulerSolver(eq, backend="numba", adaptive=False)
        t0 = time.perf_counter()
        stepper = solver.make_stepper(state, dt)
        stepper(state, 0.0, dt)
        compile_s = time.perf_counter() - t0
        log(f"  py-pde compiled in {compile_s:.1f} s (multithreading {pde.config['backend.numba.multithreading']})")
        extra["pypde_compile_s"] = compile_s

        def pp(n):
            state.data[...] = u0
            t0 = time.perf_counter()
            stepper(state, 0.0, n * dt)
            return time.perf_counter() - t0, state.data.copy()
        cases.append(Case("pypde", f"py-pde euler (numba{', parallel' if threads > 1 else ''})", 2, threads, pp,
                          steps["pypde"]))

    ya, yb = np.empty_like(u0), np.empty_like(u0)
    if threads == 1:
        def nbp(n):
            ya[...] = u0
            t0 = time.perf_counter()
            y = _gs_plain(ya, yb, ru, rv, F, k, dt, n)
            return time.perf_counter() - t0, y.copy()
        cases.append(Case("numba_plain", "plain numba (wrap in inner loop)", 2, threads, nbp, steps["numba_plain"]))

    fast = _gs_fast_par if threads > 1 else _gs_fast

    def nbf(n):
        ya[...] = u0
        t0 = time.perf_counter()
        y = fast(ya, yb, ru, rv, F, k, dt, n)
        return time.perf_counter() - t0, y.copy()
    cases.append(Case("numba_fast", "numba, wrap hoisted" + (" (prange)" if threads > 1 else ""), 2, threads, nbf,
                      steps["numba_fast"]))

    ca, cb = np.empty_like(u0), u0.copy()

    def floor(n):
        t0 = time.perf_counter()
        for _ in range(n):
            np.copyto(ca, cb)
        return time.perf_counter() - t0, None
    cases.append(Case("floor", "memory floor: copy of both fields", 2, threads, floor, steps["floor"]))

    # agreement: every method, the same 20 steps, against the serial hoisted-wrap numba loop
    kk = 20
    ref = _gs_fast(u0.copy(), np.empty_like(u0), ru, rv, F, k, dt, kk)
    agree = {}
    for c in cases:
        if c.key != "floor":
            _, y = c.fn(kk)
            agree[c.key] = float(np.max(np.abs(np.asarray(y).reshape(u0.shape) - ref)))
    extra["max_diff_vs_numba_20_steps"] = agree
    extra["scale_20_steps"] = float(np.max(np.abs(ref)))
    return cases, extra, (model, grid, u0, dt)


def kernel_split(model, grid, u0, dt, reps=200):
    """simdiff's fused Euler step called directly, and its two passes apart: the stencil
    (``laplace_kernel``: y + dt D lap y per species) and the reaction pass (``out = y`` then
    ``out += dt R(y)``, the kernel with its reaction-only flag). Fastest of 3, ms per call."""
    from simdiff.pde.operators import stencils
    from simdiff.pde.operators.packing import HDR_I

    kern = model.problem(grid, method="euler").rhs
    pf = kern.p.copy()
    pf[kern.fused_slot] = dt
    ip_r = kern.ip.copy()
    ip_r[HDR_I + 1] = 1
    y = np.ascontiguousarray(u0).reshape(-1).copy()
    out = np.empty_like(y)
    calls = {"fused step (both passes)": lambda: kern.fn(0.0, y, out, pf, kern.ip),
             "stencil pass (laplace_kernel)": lambda: stencils.laplace_kernel(0.0, y, out, pf, kern.ip),
             "reaction pass (copy + reaction)": lambda: kern.fn(0.0, y, out, pf, ip_r)}
    res = {}
    for name, f in calls.items():
        f()
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(reps):
                f()
            best = min(best, (time.perf_counter() - t0) / reps)
        res[name] = 1e3 * best
    return res


def simdiff_overhead(model, grid, u0, dt, k=200):
    """simdiff's fixed cost per ``simulate`` call on this problem (one step against k steps) and per
    saved frame (k steps with k+1 frames against 2); fastest of 3, from stats.wall_time."""
    from simdiff.pde import simulate

    def wall(n, frames):
        return min(simulate(model, grid, u0, t_end=n * dt, dt=dt, method="euler", n_frames=frames)
                   .solution.stats.wall_time for _ in range(3))
    one, few, every = wall(1, 2), wall(k, 2), wall(k, k + 1)
    per_step = (few - one) / (k - 1)
    return {"one_step_solve_ms": 1e3 * one, "per_step_ms": 1e3 * per_step, "fixed_ms": 1e3 * (one - per_step),
            "per_frame_ms": 1e3 * (every - few) / (k - 1)}


def worker(a):
    threads = int(os.environ.get("NUMBA_NUM_THREADS", "1"))
    t_start = time.perf_counter()

    def log(m):
        print(m, file=sys.stderr, flush=True)

    use_pypde, pypde_version = ("--no-pypde", None) if a.no_pypde else (True, None)
    if use_pypde is True:
        try:
            import pde
            pypde_version = pde.__version__
        except ImportError as err:
            use_pypde = f"not importable ({err})"
    steps = STEPS_QUICK if a.quick else STEPS
    cases, extra, prob = setup_cases(threads, steps, use_pypde, log)
    load_mid = loadavg()
    print("READY", flush=True)
    for line in sys.stdin:
        if line.strip() != "round":
            break
        for c in cases:
            c.time_once()
        print("DONE", flush=True)
    diag = {}
    if threads == 1:
        diag["kernel_split_ms"] = kernel_split(*prob)
        diag["simdiff_overhead"] = simdiff_overhead(*prob)
    res = {}
    for c in cases:
        r = res[c.key] = {"label": c.label, "steps": c.steps, "ms_median": 1e3 * statistics.median(c.times),
                          "ms_min": 1e3 * min(c.times), "ms_all": [1e3 * x for x in c.times],
                          "first_call_s": c.first_call_s}
        if hasattr(c, "outer"):
            outer = [w for n, w in c.outer[1:] if n == c.steps]
            r["simulate_ms_per_step_median"] = 1e3 * statistics.median(outer) / c.steps
    out = {"threads": threads, "numba_threads": nb.get_num_threads(), "pypde": pypde_version,
           "pypde_skipped": None if use_pypde is True else use_pypde, "loadavg_mid": load_mid,
           "loadavg_end": loadavg(), "wall_s": time.perf_counter() - t_start, "results": res, **extra, **diag}
    Path(a.worker_out).write_text(json.dumps(out))


def run_workers(a, log):
    return _run_workers(a, log, script=__file__, threads_list=a.threads, note=" (py-pde compiles ~40 s)")


# ----------------------------------------------------------------------------------------------
# (2) cold start

BREAKDOWN = """\
import time, json
t = [time.perf_counter()]
import numpy, numba
t.append(time.perf_counter())
import simdiff
t.append(time.perf_counter())
import simdiff.pde as P
t.append(time.perf_counter())
g = P.Grid((256, 256), extent=2.5, periodic=True)
m = P.GrayScott.preset("spots")
u = m.initial(g, seed=0)
m.problem(g, method="euler")
t.append(time.perf_counter())
P.simulate(m, g, u, t_end=1.0, method="euler", n_frames=2)
t.append(time.perf_counter())
dt = m.default_dt(g, "etdrk4")
t.append(time.perf_counter())
P.simulate(m, g, u, t_end=dt, dt=dt, method="etdrk4", n_frames=2)
t.append(time.perf_counter())
P.simulate(m, g, u, t_end=dt, dt=dt, method="etdrk4", n_frames=2)
t.append(time.perf_counter())
print("BREAKDOWN" + json.dumps([b - a for a, b in zip(t, t[1:])]))
"""
BREAKDOWN_PARTS = ["import numpy+numba", "import simdiff", "import simdiff.pde",
                   "GrayScott + euler problem (loads kernels)", "simulate 1 euler step", "default_dt",
                   "simulate 1 etdrk4 step (first)", "simulate 1 etdrk4 step (again)"]


def breakdown(cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", BREAKDOWN], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    m = re.search(r"BREAKDOWN(\[.*\])", p.stdout)
    if not m:
        return {"error": (p.stdout + p.stderr).strip()[-500:]}
    return dict(zip(BREAKDOWN_PARTS, json.loads(m.group(1))), process_wall_s=wall)


def cold_start(a, log):
    cmd0 = cli_command()
    res = {"runs": []}
    if cmd0 is None or subprocess.run(cmd0 + ["pde", "gray-scott", "--help"], capture_output=True).returncode != 0:
        res["skipped"] = "no `simdiff pde gray-scott` command"
        return res
    cache = tempfile.mkdtemp(prefix="bench_rd_numba_")
    work = tempfile.mkdtemp(prefix="bench_rd_out_")
    try:
        def one(label, extra):
            # t_end = 1 is below the explicit step (1.07) and equal to the default ETD step: one step
            cmd = cmd0 + ["pde", "gray-scott", "--preset", PRESET, "--t-end", "1", "--frames", "2",
                          "--out", os.path.join(work, "cs.h5"), "--no-progress", *extra]
            env = dict(os.environ, NUMBA_CACHE_DIR=cache, NUMBA_DEBUG_CACHE="1")
            t0 = time.perf_counter()
            p = subprocess.run(cmd, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            text = p.stdout + p.stderr
            m = re.search(r"(\d+) steps? in ([0-9.]+) s", text)
            mm = re.search(r"with method '([a-z0-9_]+)'", text)
            r = {"label": label, "args": extra, "wall_s": wall, "rc": p.returncode,
                 "method": mm.group(1) if mm else None,
                 "cache_saved": text.count("[cache] data saved"), "cache_loaded": text.count("[cache] data loaded"),
                 "steps": int(m.group(1)) if m else None, "solve_s": float(m.group(2)) if m else None}
            if p.returncode != 0:
                r["error"] = text.strip().splitlines()[-1:] if text.strip() else ""
            log(f"  {label}: {wall:.2f} s (numba cache: {r['cache_saved']} compiled and saved, "
                f"{r['cache_loaded']} loaded)")
            res["runs"].append(r)

        one("cold (empty cache), euler", ["--method", "euler"])
        one("warm, euler", ["--method", "euler"])
        one("warm again, euler", ["--method", "euler"])
        one("warm, default (auto)", [])
        one("warm, etdrk4", ["--method", "etdrk4"])
        one("warm, --preset mazes, euler", ["--method", "euler", "--preset", "mazes"])
        one("warm, 128x128, euler", ["--method", "euler", "--shape", "128", "128", "--extent", "1.25"])
        res["breakdown_warm"] = breakdown(cache)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import numpy, numba"], capture_output=True)
        res["python_numpy_numba_s"] = time.perf_counter() - t0
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return res


# ----------------------------------------------------------------------------------------------
# (3) and (4) time to a settled pattern

def spots(v):
    from scipy import ndimage

    return int(ndimage.label(v > SPOT_LEVEL)[1])


def changes(run):
    """Relative L2 change of v between consecutive frames."""
    V = run.y[:, 1]
    return [float(np.linalg.norm(V[i] - V[i - 1]) / np.linalg.norm(V[i])) for i in range(1, len(V))]


def settle_time(run):
    """First frame time from which every later frame-to-frame change stays below SETTLE_TOL."""
    d = changes(run)
    for i in range(len(d)):
        if all(x < SETTLE_TOL for x in d[i:]):
            return float(run.t[i + 1])
    return None


def etd_breakdown(model, grid, u0, dt, reps=20, phi_dts=()):
    """What one ETDRK4 step costs, piece by piece (numpy path): fastest of 3, ms."""
    import scipy.fft as sf

    from simdiff.core.phi import phi

    prob = model.problem(grid, method="etdrk4")
    N = prob.rhs
    lin = prob.linear
    axes, shape = lin.axes, grid.shape
    yh = sf.rfftn(u0, axes=axes)
    parts = {"rfftn (2 fields)": lambda: sf.rfftn(u0, axes=axes),
             "irfftn (2 fields)": lambda: sf.irfftn(yh, s=shape, axes=axes),
             "reaction N(t, y) (kernel call)": lambda: N(0.0, u0),
             "complex a*x + b*y (one term)": lambda: yh * yh + yh * yh}
    out = {}
    for name, f in parts.items():
        f()
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(reps):
                f()
            best = min(best, (time.perf_counter() - t0) / reps)
        out[name] = 1e3 * best
    z = dt * lin.symbol
    t0 = time.perf_counter()
    phi(z, 3)
    phi(0.5 * z, 3)
    out["phi functions (h and h/2, once per run)"] = 1e3 * (time.perf_counter() - t0)
    for d in phi_dts:
        t0 = time.perf_counter()
        phi(d * lin.symbol, 3)
        phi(0.5 * d * lin.symbol, 3)
        out[f"phi functions at dt={d:g}"] = 1e3 * (time.perf_counter() - t0)
    return out


def settle(a, log):
    from simdiff.errors import SimdiffError
    from simdiff.pde import GrayScott, Grid, simulate

    model = GrayScott.preset(PRESET)
    grid = Grid(SETTLE_SHAPE, extent=SETTLE_EXTENT, periodic=True)
    u0 = model.initial(grid, seed=0, amplitude=0.0)
    nfr = int(T_REF / FRAME_DT) + 1
    out = {"shape": list(SETTLE_SHAPE), "extent": SETTLE_EXTENT, "init": "seeded, amplitude 0 (no noise)",
           "frame_dt": FRAME_DT, "settle_tol": SETTLE_TOL, "match_tol": MATCH_TOL, "T_ref": T_REF}
    t0 = time.perf_counter()
    ref = simulate(model, grid, u0, T_REF, method="euler", n_frames=nfr)
    ref_wall = time.perf_counter() - t0
    ts = settle_time(ref)
    if ts is None:
        out["error"] = f"the euler reference did not settle by t={T_REF:g}"
        log(f"  {out['error']}")
        return out
    iref = int(round(ts / FRAME_DT))
    vref = ref.y[iref, 1]
    out.update(t_settle=ts, euler_dt=ref.dt, ref_spots=spots(vref), ref_wall_s=ref_wall,
               ref_changes=changes(ref))
    log(f"  euler reference: {ref.solution.stats.steps} steps to t={T_REF:g} in {ref_wall:.1f} s; settled at "
        f"t={ts:g} with {out['ref_spots']} spots")

    def check(run):
        v = run.y[-1, 1]
        d = changes(run)
        return {"max_diff_rel": float(np.max(np.abs(v - vref)) / np.max(np.abs(vref))), "spots": spots(v),
                "last_change": d[-1] if d else None}

    search = {}
    best = None
    nts = int(round(ts / FRAME_DT)) + 1
    for dt in ETD_DTS:
        t0 = time.perf_counter()
        try:
            run = simulate(model, grid, u0, ts, method="etdrk4", dt=dt, n_frames=nts)
        except SimdiffError as err:
            msg = str(err)
            m = re.search(r"at t=([0-9.e+-]+)|by t=([0-9.e+-]+)", msg)
            when = f" by t={m.group(1) or m.group(2)}" if m else ""
            what = "went negative" if "negative" in msg else "non-finite" if "non-finite" in msg else msg[:80]
            search[str(dt)] = {"failed": f"{type(err).__name__}, {what}{when}", "message": msg,
                               "wall_s": time.perf_counter() - t0}
            log(f"  etdrk4 dt={dt:g}: failed ({type(err).__name__})")
            continue
        c = check(run)
        c["wall_s"] = time.perf_counter() - t0
        c["ok"] = c["max_diff_rel"] <= MATCH_TOL and c["spots"] == out["ref_spots"]
        search[str(dt)] = c
        log(f"  etdrk4 dt={dt:g}: max|dv|/max|v| {c['max_diff_rel']:.1e}, {c['spots']} spots, last change "
            f"{c['last_change']:.1e} -> {'match' if c['ok'] else 'no match'} ({c['wall_s']:.1f} s)")
        if c["ok"]:
            best = dt
            break
    out["search"] = search
    out["etd_dt"] = best
    if best is None:
        return out

    # timed: euler and ETDRK4 at best, 0 -> t_s, two frames, alternating
    reps = 2 if a.quick else 3
    walls = {"euler": [], "etdrk4": []}
    info = {}
    for _ in range(reps):
        for meth, dt in (("euler", None), ("etdrk4", best)):
            t0 = time.perf_counter()
            run = simulate(model, grid, u0, ts, method=meth, dt=dt, n_frames=2)
            walls[meth].append(time.perf_counter() - t0)
            info[meth] = {"steps": run.solution.stats.steps, "dt": run.dt, "path": run.solution.stats.path,
                          **check(run)}
    for meth in walls:
        info[meth].update(s_median=statistics.median(walls[meth]), s_min=min(walls[meth]), s_all=walls[meth])
        info[meth]["ms_per_step"] = 1e3 * info[meth]["s_median"] / info[meth]["steps"]
    out["timed"] = info
    out["speedup"] = info["euler"]["s_median"] / info["etdrk4"]["s_median"]
    out["speedup_min"] = info["euler"]["s_min"] / info["etdrk4"]["s_min"]
    out["etd_breakdown"] = {f"{SETTLE_SHAPE[0]}x{SETTLE_SHAPE[1]}": etd_breakdown(model, grid, u0, best)}
    g2 = Grid(SHAPE, extent=EXTENT, periodic=True)
    out["etd_breakdown"][f"{SHAPE[0]}x{SHAPE[1]}"] = etd_breakdown(model, g2, model.initial(g2, seed=0), best,
                                                                          phi_dts=(model.default_dt(g2, "etdrk4"),))
    log(f"  timed: euler {info['euler']['s_median']:.2f} s, etdrk4 dt={best:g} {info['etdrk4']['s_median']:.2f} s")
    return out


def stiff(a, log, st):
    """256x256 on the settle case's box: the explicit limit 4x smaller; both to the same t_s, once."""
    from simdiff.errors import SimdiffError
    from simdiff.pde import GrayScott, Grid, simulate

    model = GrayScott.preset(PRESET)
    grid = Grid(STIFF_SHAPE, extent=SETTLE_EXTENT, periodic=True)
    u0 = model.initial(grid, seed=0, amplitude=0.0)
    ts, dt_etd = st["t_settle"], st["etd_dt"]
    nts = int(round(ts / FRAME_DT)) + 1
    out = {"shape": list(STIFF_SHAPE), "extent": SETTLE_EXTENT, "t_end": ts}
    runs = {}
    for meth, dt in (("euler", None), ("etdrk4", dt_etd)):
        t0 = time.perf_counter()
        try:
            runs[meth] = simulate(model, grid, u0, ts, method=meth, dt=dt, n_frames=nts)
        except SimdiffError as err:
            out[meth] = {"failed": str(err)[:200]}
            log(f"  stiff {meth}: failed ({err})")
            return out
        wall = time.perf_counter() - t0
        r = runs[meth]
        d = changes(r)
        out[meth] = {"steps": r.solution.stats.steps, "dt": r.dt, "s": wall, "spots": spots(r.y[-1, 1]),
                     "last_change": d[-1], "settled": d[-1] < SETTLE_TOL, "ms_per_step": 1e3 * wall / r.solution.stats.steps}
        log(f"  stiff {meth}: {r.solution.stats.steps} steps, {wall:.1f} s, last change {d[-1]:.1e}")
    ve, vd = runs["euler"].y[-1, 1], runs["etdrk4"].y[-1, 1]
    out["max_diff_rel"] = float(np.max(np.abs(vd - ve)) / np.max(np.abs(ve)))
    out["match"] = out["max_diff_rel"] <= MATCH_TOL and out["etdrk4"]["spots"] == out["euler"]["spots"]
    out["speedup"] = out["euler"]["s"] / out["etdrk4"]["s"]
    return out


# ----------------------------------------------------------------------------------------------
# Report

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer steps, 3 repeats, no py-pde, no stiff variant")
    ap.add_argument("--no-pypde", action="store_true")
    ap.add_argument("--threads", default="1", help="comma list of thread counts for the per-step workers (1,2)")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: perstep,cold,settle,stiff")
    ap.add_argument("--json", default=str(HERE / "bench_rd.json"))
    ap.add_argument("--worker-out", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.quick:
        a.no_pypde = True
        a.repeats = min(a.repeats, 3)
    if a.worker_out:
        return worker(a)
    a.threads = [int(x) for x in a.threads.split(",") if x]
    skip = set(filter(None, a.skip.split(",")))
    if a.quick:
        skip.add("stiff")

    info = {
        "date": _dt.date.today().isoformat(), "cpu": cpu_model(), "cores": os.cpu_count(), "caches": caches(),
        "python": platform.python_version(), "numpy": np.__version__, "numba": nb.__version__,
        "scipy": _version("scipy"), "py-pde": None if a.no_pypde else _version("pde"), "simdiff": simdiff.__version__,
    }
    load0 = loadavg()
    info["loadavg_before"] = load0
    print(f"machine: {info['cpu']}, {info['cores']} cores, caches L1d/L2/L3 {info['caches']} | python {info['python']} "
          f"numpy {info['numpy']} numba {info['numba']} scipy {info['scipy']} py-pde {info['py-pde']} "
          f"simdiff {info['simdiff']}")
    print(f"load average before: {load0}")
    wall0 = time.perf_counter()
    log = lambda m: print(m, flush=True)  # noqa: E731

    per = run_workers(a, log) if "perstep" not in skip else None
    cold = None
    if "cold" not in skip:
        log("cold start (fresh processes) ...")
        cold = cold_start(a, log)
    st = stf = None
    if "settle" not in skip:
        log(f"time to a settled pattern ({SETTLE_SHAPE[0]}x{SETTLE_SHAPE[1]}, box {SETTLE_EXTENT:g}) ...")
        st = settle(a, log)
        if "stiff" not in skip and st.get("etd_dt"):
            log(f"stiffer variant ({STIFF_SHAPE[0]}x{STIFF_SHAPE[1]}, box {SETTLE_EXTENT:g}) ...")
            stf = stiff(a, log, st)

    ok = lambda b: "OK" if b else "MISSED"  # noqa: E731
    goals, noisy = {}, []
    if per is not None:
        w1 = per[a.threads[0]]
        print()
        print(f"Per explicit Euler step: Gray–Scott '{PRESET}', {SHAPE[0]}x{SHAPE[1]} periodic on a {EXTENT:g} box, "
              f"dt = {w1['dt']:.4g} (0.9 x simdiff's stable step for u0); ms per step, median of {a.repeats} rounds (min in "
              f"the next column). 'x py-pde' = py-pde's time / this one (speed-up); '/floor' = this time / a copy "
              f"of both fields.")
        hdr = f"{'method':<36}{'thr':>4} | {'median':>9}{'min':>9}{'x py-pde':>10}{'/floor':>8}"
        print(hdr)
        print("-" * len(hdr))
        for key in ("simdiff", "numpy", "pypde", "numba_plain", "numba_fast", "floor"):
            for thr in a.threads:
                w = per[thr]
                res = w["results"]
                if key not in res:
                    if key == "pypde" and w["pypde_skipped"]:
                        print(f"{'py-pde':<36}{thr:>4}   skipped: {w['pypde_skipped']}")
                    continue
                r, pp, fl = res[key], res.get("pypde"), res["floor"]
                isfloor = key == "floor"
                r["x_pypde"] = pp["ms_median"] / r["ms_median"] if pp and not isfloor else None
                r["x_pypde_min"] = pp["ms_min"] / r["ms_min"] if pp and not isfloor else None
                r["per_floor"] = r["ms_median"] / fl["ms_median"]
                r["per_floor_min"] = r["ms_min"] / fl["ms_min"]
                if max(r["ms_all"]) > 1.3 * min(r["ms_all"]):
                    noisy.append(f"{r['label']} {thr} thr")
                xp = f"{r['x_pypde']:.2f}x" if r["x_pypde"] else "-"
                print(f"{r['label']:<36}{thr:>4} | {fmt_ms(r['ms_median']):>9}{fmt_ms(r['ms_min']):>9}{xp:>10}"
                      f"{r['per_floor']:>7.2f}x")
        print()
        for thr in a.threads:
            w = per[thr]
            comp = f"{w['pypde_compile_s']:.1f} s" if "pypde_compile_s" in w else "-"
            dtxt = ", ".join(f"{k} {v:.1e}" for k, v in w["max_diff_vs_numba_20_steps"].items())
            print(f"{thr} thread(s) (numba reports {w['numba_threads']}): py-pde compile (make_stepper + first step, "
                  f"not in the table): {comp}; simdiff whole simulate() per step (ms, with its setup): "
                  f"{w['results']['simdiff']['simulate_ms_per_step_median']:.4g}; load average mid/end "
                  f"{w['loadavg_mid']} / {w['loadavg_end']}")
            print(f"  agreement after 20 steps, max |y - numba hoisted| (values up to {w['scale_20_steps']:.2f}): {dtxt}")
        w = per.get(1)
        if w and "kernel_split_ms" in w:
            print("simdiff's step split (its kernel called directly, fastest of 3): "
                  + ", ".join(f"{k} {v:.4f} ms" for k, v in w["kernel_split_ms"].items()))
            o = w["simdiff_overhead"]
            print(f"simdiff fixed costs: a one-step solve {o['one_step_solve_ms']:.2f} ms, of which "
                  f"{o['fixed_ms']:.2f} ms is not the step (= {o['fixed_ms'] / o['per_step_ms']:.1f} steps); "
                  f"{o['per_frame_ms']:.3f} ms per extra saved frame")
        if 1 in per:
            r = per[1]["results"]["simdiff"]
            print()
            if r.get("x_pypde"):
                met, metmin = r["x_pypde"] >= GOAL_VS_PYPDE, r["x_pypde_min"] >= GOAL_VS_PYPDE
                print(f"goal simdiff >= {GOAL_VS_PYPDE:g}x py-pde per step (1 thread): {r['x_pypde']:.2f}x (fastest "
                      f"rounds {r['x_pypde_min']:.2f}x) -> {ok(met)} (median), {ok(metmin)} (fastest)")
                goals["vs_pypde"] = {"target": GOAL_VS_PYPDE, "median": r["x_pypde"], "fastest": r["x_pypde_min"],
                                     "met_median": met, "met_fastest": metmin}
            else:
                print("goal vs py-pde: not checked (py-pde not run)")
            fm, fmin = r["per_floor"], r["per_floor_min"]
            print(f"goal simdiff within {GOAL_FLOOR:g}x of the memory floor (1 thread): {fm:.2f}x (fastest rounds "
                  f"{fmin:.2f}x) -> {ok(fm <= GOAL_FLOOR)} (median), {ok(fmin <= GOAL_FLOOR)} (fastest)")
            goals["floor"] = {"target": GOAL_FLOOR, "median": fm, "fastest": fmin, "met_median": fm <= GOAL_FLOOR,
                              "met_fastest": fmin <= GOAL_FLOOR}

    if cold is not None:
        print()
        if "skipped" in cold:
            print(f"cold start: skipped ({cold['skipped']})")
        else:
            print(f"Cold start: fresh `simdiff pde gray-scott --preset {PRESET} --t-end 1 --frames 2 [...]` (one step, "
                  f"256x256 unless said), wall time of the process; numba cache in a fresh folder")
            hdr = f"{'run':<30}{'method':>9}{'wall s':>9}{'solve s':>9}{'compiled':>10}{'loaded':>8}"
            print(hdr)
            print("-" * len(hdr))
            for r in cold["runs"]:
                sol = "-" if r["solve_s"] is None else f"{r['solve_s']:.2f}"
                print(f"{r['label']:<30}{r['method'] or '-':>9}{r['wall_s']:>9.2f}{sol:>9}{r['cache_saved']:>10}"
                      f"{r['cache_loaded']:>8}" + (f"  FAILED: {r['error']}" if r["rc"] else ""))
            b = cold.get("breakdown_warm")
            if b and "error" not in b:
                print(f"breakdown, warm cache (python -c, process {b['process_wall_s']:.2f} s): "
                      + ", ".join(f"{k} {v:.3f} s" for k, v in b.items() if k != "process_wall_s"))
            elif b:
                print(f"breakdown, warm cache: failed: {b['error']}")
            print(f"`python -c 'import numpy, numba'` alone: {cold['python_numpy_numba_s']:.2f} s")
            runs = cold["runs"]
            warm = [r for r in runs[1:] if r["rc"] == 0]
            worst = max((r["wall_s"] for r in warm), default=float("nan"))
            failed = [r["label"] for r in runs if r["rc"] != 0]
            recompiled = [r["label"] for r in runs[1:] if r["cache_saved"] > 0]
            met = worst < GOAL_WARM_S and not failed
            print(f"goal first step of a fresh `simdiff pde gray-scott` under {GOAL_WARM_S:g} s with a warm disk cache: "
                  f"slowest warm run {worst:.2f} s (euler {runs[1]['wall_s']:.2f} s, default method "
                  f"({runs[3]['method']}) {runs[3]['wall_s']:.2f} s, etdrk4 {runs[4]['wall_s']:.2f} s) -> {ok(met)}; "
                  f"recompiled when warm: {', '.join(recompiled) or 'nothing'}"
                  f"; cold (empty cache) {runs[0]['wall_s']:.1f} s, {runs[0]['cache_saved']} functions compiled")
            goals["cold_start"] = {"target_s": GOAL_WARM_S, "warm_worst_s": worst, "warm_euler_s": runs[1]["wall_s"],
                                   "warm_default_s": runs[3]["wall_s"], "warm_default_method": runs[3]["method"],
                                   "warm_etdrk4_s": runs[4]["wall_s"], "cold_s": runs[0]["wall_s"],
                                   "recompiled": recompiled, "failed": failed, "met": met}

    if st is not None:
        print()
        if "error" in st:
            print(f"time to settled: {st['error']}")
        else:
            print(f"Time to a settled '{PRESET}' pattern: {st['shape'][0]}x{st['shape'][1]} periodic on a {st['extent']:g} "
                  f"box (Pearson's dx), {st['init']}. Settled = relative L2 change of v over {FRAME_DT:g} time units "
                  f"< {SETTLE_TOL:g} from then to t={T_REF:g}: the euler reference (dt {st['euler_dt']:.4g}) settles at "
                  f"t_s = {st['t_settle']:g} with {st['ref_spots']} spots (v > {SPOT_LEVEL:g}). ETDRK4 step: the "
                  f"largest of {', '.join(f'{x:g}' for x in ETD_DTS)} (tried largest first) whose v(t_s) is within "
                  f"{MATCH_TOL:.0%} of max|v| of the reference, with the same spot count.")
            print("  search: " + "; ".join(
                f"dt {k}: " + (f"failed ({v['failed']})" if "failed" in v else
                               f"max|dv|/max|v| {v['max_diff_rel']:.1e}, {v['spots']} spots, last change "
                               f"{v['last_change']:.1e} -> {'match' if v['ok'] else 'no match'}")
                for k, v in st["search"].items()))
            if st.get("etd_dt") is None:
                print("  no ETDRK4 step matched")
            else:
                tm = st["timed"]
                hdr = (f"{'method':<10}{'dt':>8}{'steps':>8}{'ms/step':>9}{'time s':>9}{'min s':>8}{'vs euler':>10}"
                       f"{'max|dv|/max|v|':>16}{'spots':>7}")
                print(f"Time to solution, 0 -> t_s, wall of simulate() (two frames), median of {len(tm['euler']['s_all'])}:")
                print(hdr)
                print("-" * len(hdr))
                for meth in ("euler", "etdrk4"):
                    r = tm[meth]
                    sp = tm["euler"]["s_median"] / r["s_median"]
                    print(f"{meth:<10}{r['dt']:>8.4g}{r['steps']:>8}{r['ms_per_step']:>9.3f}{r['s_median']:>9.2f}"
                          f"{r['s_min']:>8.2f}{sp:>9.2f}x{r['max_diff_rel']:>16.1e}{r['spots']:>7}")
                for g, br in st["etd_breakdown"].items():
                    fw, bw = br["rfftn (2 fields)"], br["irfftn (2 fields)"]
                    nn, ar = br["reaction N(t, y) (kernel call)"], br["complex a*x + b*y (one term)"]
                    print(f"  ETDRK4 step pieces at {g} (fastest of 3): rfftn {fw:.3f} ms, irfftn {bw:.3f} ms, reaction "
                          f"{nn:.3f} ms, one complex a*x+b*y {ar:.3f} ms; a step = 5 rfftn + 4 irfftn + 4 reactions "
                          f"= {5 * fw + 4 * bw + 4 * nn:.2f} ms + elementwise complex work; phi functions once per run "
                          f"{br['phi functions (h and h/2, once per run)']:.0f} ms"
                          + "".join(f", {k} {v:.0f} ms" for k, v in br.items() if k.startswith("phi functions at")))
                sp, spm = st["speedup"], st["speedup_min"]
                met = sp >= GOAL_ETD
                print(f"goal ETDRK4 time to settled >= {GOAL_ETD:g}x shorter than explicit stepping: {sp:.2f}x (fastest "
                      f"{spm:.2f}x) -> {ok(met)}")
                goals["etd_settle"] = {"target": GOAL_ETD, "speedup": sp, "speedup_fastest": spm, "met": met,
                                       "etd_dt": st["etd_dt"]}
        if stf is not None:
            if "max_diff_rel" not in stf:
                print(f"stiffer variant: failed ({stf})")
            else:
                e, d = stf["euler"], stf["etdrk4"]
                print(f"Stiffer variant, {stf['shape'][0]}x{stf['shape'][1]} on the same box (dx halved; euler's step "
                      f"{st['euler_dt'] / e['dt']:.1f}x smaller, the diffusion part of its limit 4x), "
                      f"0 -> {stf['t_end']:g}, one run each (frames every {FRAME_DT:g}): euler dt {e['dt']:.4g}, "
                      f"{e['steps']} steps, {e['s']:.1f} s ({e['ms_per_step']:.3f} ms/step); etdrk4 dt {d['dt']:g}, "
                      f"{d['steps']} steps, {d['s']:.1f} s ({d['ms_per_step']:.2f} ms/step) -> {stf['speedup']:.2f}x; "
                      f"max|dv|/max|v| {stf['max_diff_rel']:.1e}, spots {e['spots']} / {d['spots']} "
                      f"({'match' if stf['match'] else 'NO MATCH'}); last change euler {e['last_change']:.1e}, "
                      f"etdrk4 {d['last_change']:.1e} ({'settled' if e['settled'] and d['settled'] else 'not yet settled on this grid'})")
                goals["etd_stiff"] = {"speedup": stf["speedup"], "match": stf["match"],
                                      "met": stf["speedup"] >= GOAL_ETD and stf["match"]}

    if noisy:
        print()
        print(f"WARNING: repeats spread by more than 30% for {len(noisy)} rows ({', '.join(noisy)}): the machine "
              f"was busy (load average before: {load0}, now {loadavg()}); medians and their ratios are unreliable, "
              f"the 'min' columns less so; rerun on an idle machine.")
    total = time.perf_counter() - wall0
    print(f"total benchmark time: {total:.1f} s")
    out = {"info": info, "config": {"preset": PRESET, "shape": SHAPE, "extent": EXTENT,
                                    "steps": STEPS_QUICK if a.quick else STEPS, "repeats": a.repeats, "quick": a.quick,
                                    "threads": a.threads},
           "per_step": per, "cold_start": cold, "settle": st, "stiff": stf, "goals": goals, "noisy": noisy,
           "loadavg_end": loadavg(), "total_s": total}
    Path(a.json).write_text(json.dumps(out, indent=2, default=float) + "\n")
    print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
