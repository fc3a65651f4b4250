"""Diffusion on grids: simdiff vs vectorized numpy vs py-pde, per explicit Euler step, cold start, stiff case.

(1) Per step. ``dc/dt = D lap c``, D = 1, periodic box [0, 1]^d, explicit Euler at 90% of its
    stability limit, float64, random initial field; 2D 256x256 and 3D 128^3. Each thread count
    (``NUMBA_NUM_THREADS`` = 1 and 2) runs in its own fresh process, in which the methods take
    turns over ``--repeats`` rounds after a timed first call; the table gives the median and the
    fastest round, in ms per step (wall time of many steps / steps):

    simdiff             ``simulate(model, grid, u0, t_end=n*dt, dt=dt, method="euler", n_frames=2)``:
                        one numba call for all n steps (the stencil writes ``u + dt f(u)`` itself);
                        the time is its ``solution.stats.wall_time`` (the ``solve`` call)
    numpy vectorized    ``v = (1 - 2 d r) u + r * (neighbours)`` with slices, preallocated buffers
    py-pde              ``EulerSolver(DiffusionPDE(1.0), backend="numba", adaptive=False)``: its
                        compiled fixed-step loop (``make_stepper``), timed after its compile (apart);
                        multithreading "never" at 1 thread, "always" (parallel numba) at 2 threads
    plain numba         the 5/7-point update in one ``@njit`` loop over all steps (``prange`` over
                        the outer axis at 2 threads): what a fused compiled stencil reaches
    memory floor        ``np.copyto(a, b)`` on one field (each field read once and written once per
                        step), measured in the same process

(2) Cold start. Wall time of a fresh ``simdiff pde diffusion`` process that takes one Euler step
    (2D 256x256), with ``NUMBA_CACHE_DIR`` a fresh empty folder (cold) and then the same folder
    (warm); then with another D and other grid sizes (warm: nothing may recompile, counted from
    ``NUMBA_DEBUG_CACHE``), and a breakdown (imports, build, first step) in a ``python -c`` process.

(3) Stiff case. 2D 256x256, D = 1, a Gaussian (width 0.05) run to T = 0.02 (thousands of explicit
    steps). Dirichlet walls (u = 0): euler at its stable step against crank_nicolson and adi at the
    largest dt = T/n whose max error stays below ``--target`` (1e-4) against the exact solution of
    the same semi-discrete system (sine transform). Periodic: euler against spectral (one step),
    against the exact continuous solution of the periodised Gaussian (Fourier). Time to solution =
    wall time of ``simulate`` (operator build and factorisation included).

Results go to ``benchmarks/bench_pde.json``.

Run:  .venv/bin/python benchmarks/bench_pde.py            (about 2-3 minutes; py-pde compiles ~4 times)
      .venv/bin/python benchmarks/bench_pde.py --quick    (fewer steps and repeats, no py-pde)
"""
from __future__ import annotations

import os

# One thread in this (parent) process: the stiff case runs here. The per-step workers set their own.
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

HERE = Path(__file__).resolve().parent
from _common import cpu_model  # noqa: E402
D = 1.0
SHAPES = {2: (256, 256), 3: (128, 128, 128)}
# steps per timed call (default, --quick): the fast methods run many steps, the slow ones fewer
STEPS = {2: {"simdiff": 2000, "numba": 2000, "pypde": 1000, "numpy": 300, "floor": 2000},
         3: {"simdiff": 50, "numba": 50, "pypde": 20, "numpy": 8, "floor": 50}}
STEPS_QUICK = {2: {"simdiff": 500, "numba": 500, "pypde": 200, "numpy": 60, "floor": 500},
               3: {"simdiff": 12, "numba": 12, "pypde": 5, "numpy": 3, "floor": 12}}
GOAL_VS_PYPDE = 3.5
GOAL_FLOOR_3D = 1.5
GOAL_WARM_S = 3.0


# ----------------------------------------------------------------------------------------------
# Plain numba stencils (module level in a file, so numba caches them): r = D dt / dx^2, periodic.

@nb.njit(cache=True)
def _euler2d(u, v, r, steps):
    n0, n1 = u.shape
    c = 1.0 - 4.0 * r
    for _ in range(steps):
        for i in range(n0):
            im = i - 1 if i > 0 else n0 - 1
            ip = i + 1 if i < n0 - 1 else 0
            v[i, 0] = c * u[i, 0] + r * (u[im, 0] + u[ip, 0] + u[i, n1 - 1] + u[i, 1])
            for j in range(1, n1 - 1):
                v[i, j] = c * u[i, j] + r * (u[im, j] + u[ip, j] + u[i, j - 1] + u[i, j + 1])
            v[i, n1 - 1] = c * u[i, n1 - 1] + r * (u[im, n1 - 1] + u[ip, n1 - 1] + u[i, n1 - 2] + u[i, 0])
        u, v = v, u
    return u


@nb.njit(cache=True, parallel=True)
def _euler2d_par(u, v, r, steps):
    n0, n1 = u.shape
    c = 1.0 - 4.0 * r
    for _ in range(steps):
        for i in nb.prange(n0):
            im = i - 1 if i > 0 else n0 - 1
            ip = i + 1 if i < n0 - 1 else 0
            v[i, 0] = c * u[i, 0] + r * (u[im, 0] + u[ip, 0] + u[i, n1 - 1] + u[i, 1])
            for j in range(1, n1 - 1):
                v[i, j] = c * u[i, j] + r * (u[im, j] + u[ip, j] + u[i, j - 1] + u[i, j + 1])
            v[i, n1 - 1] = c * u[i, n1 - 1] + r * (u[im, n1 - 1] + u[ip, n1 - 1] + u[i, n1 - 2] + u[i, 0])
        u, v = v, u
    return u


@nb.njit(cache=True)
def _euler3d(u, v, r, steps):
    n0, n1, n2 = u.shape
    c = 1.0 - 6.0 * r
    for _ in range(steps):
        for i in range(n0):
            im = i - 1 if i > 0 else n0 - 1
            ip = i + 1 if i < n0 - 1 else 0
            for j in range(n1):
                jm = j - 1 if j > 0 else n1 - 1
                jp = j + 1 if j < n1 - 1 else 0
                v[i, j, 0] = c * u[i, j, 0] + r * (u[im, j, 0] + u[ip, j, 0] + u[i, jm, 0] + u[i, jp, 0]
                                                   + u[i, j, n2 - 1] + u[i, j, 1])
                for k in range(1, n2 - 1):
                    v[i, j, k] = c * u[i, j, k] + r * (u[im, j, k] + u[ip, j, k] + u[i, jm, k] + u[i, jp, k]
                                                       + u[i, j, k - 1] + u[i, j, k + 1])
                k = n2 - 1
                v[i, j, k] = c * u[i, j, k] + r * (u[im, j, k] + u[ip, j, k] + u[i, jm, k] + u[i, jp, k]
                                                   + u[i, j, k - 1] + u[i, j, 0])
        u, v = v, u
    return u


@nb.njit(cache=True, parallel=True)
def _euler3d_par(u, v, r, steps):
    n0, n1, n2 = u.shape
    c = 1.0 - 6.0 * r
    for _ in range(steps):
        for i in nb.prange(n0):
            im = i - 1 if i > 0 else n0 - 1
            ip = i + 1 if i < n0 - 1 else 0
            for j in range(n1):
                jm = j - 1 if j > 0 else n1 - 1
                jp = j + 1 if j < n1 - 1 else 0
                v[i, j, 0] = c * u[i, j, 0] + r * (u[im, j, 0] + u[ip, j, 0] + u[i, jm, 0] + u[i, jp, 0]
                                                   + u[i, j, n2 - 1] + u[i, j, 1])
                for k in range(1, n2 - 1):
                    v[i, j, k] = c * u[i, j, k] + r * (u[im, j, k] + u[ip, j, k] + u[i, jm, k] + u[i, jp, k]
                                                       + u[i, j, k - 1] + u[i, j, k + 1])
                k = n2 - 1
                v[i, j, k] = c * u[i, j, k] + r * (u[im, j, k] + u[ip, j, k] + u[i, jm, k] + u[i, jp, k]
                                                   + u[i, j, k - 1] + u[i, j, 0])
        u, v = v, u
    return u


# ----------------------------------------------------------------------------------------------
# Helpers



def caches():
    """Cache sizes of cpu0 (L1d, L2, L3) from sysfs, e.g. '48K/1024K/32768K'."""
    out = []
    for idx in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            if (idx / "type").read_text().strip() != "Instruction":
                out.append((idx / "size").read_text().strip())
        except OSError:
            pass
    return "/".join(out) or "unknown"


def _version(mod):
    try:
        return __import__(mod).__version__
    except ImportError:
        return None


def loadavg():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def numpy_euler(u0, r, steps):
    """Vectorized numpy, periodic: v = (1 - 2 d r) u + sum over axes of r * (u shifted by +-1)."""
    nd = u0.ndim
    u, v, ru = u0.copy(), np.empty_like(u0), np.empty_like(u0)
    c = 1.0 - 2.0 * nd * r
    pairs = []     # (destination slice, source slice) for both neighbours along every axis, wrap included
    for ax in range(nd):
        def s(sl, ax=ax):
            t = [slice(None)] * nd
            t[ax] = sl
            return tuple(t)
        pairs += [(s(slice(None, -1)), s(slice(1, None))), (s(slice(-1, None)), s(slice(None, 1))),
                  (s(slice(1, None)), s(slice(None, -1))), (s(slice(None, 1)), s(slice(-1, None)))]
    for _ in range(steps):
        np.multiply(u, r, out=ru)
        np.multiply(u, c, out=v)
        for dst, src in pairs:
            v[dst] += ru[src]
        u, v = v, u
    return u


class Case:
    """One timed method: ``fn(steps)`` runs ``steps`` steps and returns (seconds, final state or None)."""

    def __init__(self, key, label, dim, threads, fn, steps, verify=None):
        self.key, self.label, self.dim, self.threads, self.fn, self.steps = key, label, dim, threads, fn, steps
        self.verify = verify
        self.times = []
        t0 = time.perf_counter()
        fn(steps)
        self.first_call_s = time.perf_counter() - t0

    def time_once(self):
        s, _ = self.fn(self.steps)
        self.times.append(s / self.steps)


# ----------------------------------------------------------------------------------------------
# (1) per-step worker: one process per thread count

def setup_dim(dim, threads, steps, use_pypde, log):
    from simdiff.pde import Diffusion, Grid, simulate

    shape = SHAPES[dim]
    grid = Grid(shape, extent=1.0, periodic=True)
    model = Diffusion(D=D)
    dt = 0.9 * model.stable_dt(grid, "euler")
    h = grid.dx[0]
    r = D * dt / h ** 2
    u0 = np.random.default_rng(1).random(shape)
    st = steps[dim]
    cases, extra = [], {"dt": dt, "r": r, "shape": list(shape)}
    name = "x".join(map(str, shape))

    # simdiff
    sd_outer = []

    def sd(n):
        t0 = time.perf_counter()
        run = simulate(model, grid, u0, t_end=n * dt, dt=dt, method="euler", n_frames=2)
        sd_outer.append((n, time.perf_counter() - t0))
        s = run.solution.stats
        assert s.steps == n and s.path == "compiled", (s.steps, n, s.path)
        return s.wall_time, run.y[-1]
    cases.append(Case("simdiff", "simdiff euler (fused stencil)", dim, threads, sd, st["simdiff"]))
    cases[-1].outer = sd_outer

    # numpy
    def npy(n):
        t0 = time.perf_counter()
        u = numpy_euler(u0, r, n)
        return time.perf_counter() - t0, u
    cases.append(Case("numpy", "numpy vectorized", dim, threads, npy, st["numpy"]))

    # py-pde
    if use_pypde is True:
        import pde

        pde.config["backend.numba.multithreading"] = "always" if threads > 1 else "never"
        pgrid = pde.CartesianGrid([[0.0, 1.0]] * dim, list(shape), periodic=True)
        field = pde.ScalarField(pgrid, u0.copy())
        eq = pde.DiffusionPDE(diffusivity=D)
        solver = pde.solvers.EulerSolver(eq, backend="numba", adaptive=False)
        t0 = time.perf_counter()
        stepper = solver.make_stepper(field, dt)
        stepper(field, 0.0, dt)
        compile_s = time.perf_counter() - t0
        log(f"  py-pde {name} compiled in {compile_s:.1f} s (multithreading "
            f"{pde.config['backend.numba.multithreading']})")
        extra["pypde_compile_s"] = compile_s

        def pp(n):
            field.data[...] = u0
            t0 = time.perf_counter()
            stepper(field, 0.0, n * dt)
            return time.perf_counter() - t0, field.data.copy()
        cases.append(Case("pypde", f"py-pde euler (numba{', parallel' if threads > 1 else ''})", dim, threads, pp,
                          st["pypde"]))

    # plain numba
    fn = {(2, False): _euler2d, (2, True): _euler2d_par, (3, False): _euler3d, (3, True): _euler3d_par}[dim, threads > 1]
    ua, ub = np.empty_like(u0), np.empty_like(u0)

    def nbf(n):
        ua[...] = u0
        t0 = time.perf_counter()
        u = fn(ua, ub, r, n)
        return time.perf_counter() - t0, u.copy()
    cases.append(Case("numba", "plain numba stencil" + (" (prange)" if threads > 1 else ""), dim, threads, nbf,
                      st["numba"]))

    # memory floor: one copy of the field per step
    ca, cb = np.empty_like(u0), u0.copy()

    def floor(n):
        t0 = time.perf_counter()
        for _ in range(n):
            np.copyto(ca, cb)
        return time.perf_counter() - t0, None
    cases.append(Case("floor", "memory floor: np.copyto", dim, threads, floor, st["floor"]))
    if dim == 3 and threads == 1:
        # the same at 8x the field's size, beyond the last-level cache: main memory for sure (per field)
        big_a, big_b = np.empty(8 * u0.size), np.ones(8 * u0.size)

        def dram(n):
            t0 = time.perf_counter()
            for _ in range(n):
                np.copyto(big_a, big_b)
            return (time.perf_counter() - t0) / 8, None
        cases.append(Case("floor_dram", "floor, main memory (8x size copy)", dim, threads, dram, 4 if st is STEPS else 2))

    # agreement: every method, the same 20 steps, against the serial plain-numba loop
    k = 20
    ref = (_euler2d if dim == 2 else _euler3d)(u0.copy(), np.empty_like(u0), r, k)
    agree = {}
    for c in cases:
        if not c.key.startswith("floor"):
            _, u = c.fn(k)
            agree[c.key] = float(np.max(np.abs(np.asarray(u).reshape(shape) - ref)))
    extra["max_diff_vs_numba_20_steps"] = agree
    return cases, extra


def simdiff_overhead(steps):
    """simdiff's fixed cost per ``simulate`` call (a one-step solve) and per saved frame (k steps with
    a frame at every step against two frames), from ``stats.wall_time``; fastest of 3."""
    from simdiff.pde import Diffusion, Grid, simulate

    out = {}
    for dim in (2, 3):
        grid = Grid(SHAPES[dim], extent=1.0, periodic=True)
        model = Diffusion(D=D)
        dt = 0.9 * model.stable_dt(grid, "euler")
        u0 = np.random.default_rng(1).random(grid.shape)
        k = max(2, steps[dim]["simdiff"] // 10)

        def wall(n, frames):
            return min(simulate(model, grid, u0, t_end=n * dt, dt=dt, method="euler", n_frames=frames)
                       .solution.stats.wall_time for _ in range(3))
        one, few, every = wall(1, 2), wall(k, 2), wall(k, k + 1)
        per_step = (few - one) / (k - 1)
        out[dim] = {"one_step_solve_ms": 1e3 * one, "per_step_ms": 1e3 * per_step,
                    "fixed_ms": 1e3 * (one - per_step), "frames_k": k,
                    "per_frame_ms": 1e3 * (every - few) / (k - 1)}
    return out


def worker(a):
    threads = int(os.environ.get("NUMBA_NUM_THREADS", "1"))
    t_start = time.perf_counter()
    msgs = []

    def log(m):
        msgs.append(m)
        print(m, file=sys.stderr, flush=True)

    use_pypde = not a.no_pypde
    if use_pypde:
        try:
            import pde
            use_pypde = True
            pypde_version = pde.__version__
        except ImportError as err:
            use_pypde, pypde_version = f"not importable ({err})", None
    else:
        use_pypde, pypde_version = "--no-pypde", None
    steps = STEPS_QUICK if a.quick else STEPS
    cases, extras = [], {}
    for dim in (2, 3):
        c, e = setup_dim(dim, threads, steps, use_pypde, log)
        cases += c
        extras[dim] = e
    load_mid = loadavg()
    # Rounds on the parent's command, so that the two workers (1 and 2 threads) take turns too; inside
    # a round the methods take turns: a slow spell of the shared machine hits every row, not one.
    print("READY", flush=True)
    for line in sys.stdin:
        if line.strip() != "round":
            break
        for c in cases:
            c.time_once()
        print("DONE", flush=True)
    overhead = simdiff_overhead(steps) if threads == 1 else None
    out = {"threads": threads, "numba_threads": nb.get_num_threads(), "pypde": pypde_version,
           "simdiff_overhead": overhead,
           "pypde_skipped": None if use_pypde is True else use_pypde, "loadavg_mid": load_mid,
           "loadavg_end": loadavg(), "wall_s": time.perf_counter() - t_start, "dims": {}}
    for dim in (2, 3):
        res = {}
        for c in cases:
            if c.dim != dim:
                continue
            r = res[c.key] = {"label": c.label, "steps": c.steps, "ms_median": 1e3 * statistics.median(c.times),
                              "ms_min": 1e3 * min(c.times), "ms_all": [1e3 * x for x in c.times],
                              "first_call_s": c.first_call_s}
            if hasattr(c, "outer"):      # simdiff: simulate()'s own wall time around solve()
                outer = [w for n, w in c.outer[1:] if n == c.steps]
                r["simulate_ms_per_step_median"] = 1e3 * statistics.median(outer) / c.steps
        out["dims"][dim] = {"results": res, **extras[dim]}
    Path(a.worker_out).write_text(json.dumps(out))


def _expect(p, token):
    """Read the worker's stdout up to a line ``token`` (passing anything else on); False at its end."""
    for line in p.stdout:
        if line.strip() == token:
            return True
        sys.stderr.write(line)
    return False


def run_workers(a, log, script: str = __file__, threads_list=(1, 2), note: str = ""):
    """Start one worker per thread count (each sets up and compiles in turn), then alternate their
    timed rounds (1 thread, 2 threads, 1 thread, ...): a slow spell of the shared machine hits
    every row and thread count alike. ``script`` is the benchmark whose ``--worker-out`` mode runs."""
    workers = {}
    try:
        for threads in threads_list:
            env = dict(os.environ)
            for v in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
                env[v] = str(threads)
            fd, path = tempfile.mkstemp(suffix=".json", prefix=f"{Path(script).stem}_worker_")
            os.close(fd)
            cmd = [sys.executable, script, "--worker-out", path, "--repeats", str(a.repeats)]
            cmd += ["--quick"] * a.quick + ["--no-pypde"] * a.no_pypde
            log(f"per-step worker, {threads} thread(s): setting up{note} ...")
            p = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            workers[threads] = (p, path)
            if not _expect(p, "READY"):
                raise SystemExit(f"worker with {threads} thread(s) failed during setup (exit {p.wait()})")
        for rnd in range(a.repeats):
            for threads, (p, _) in workers.items():
                p.stdin.write("round\n")
                p.stdin.flush()
                if not _expect(p, "DONE"):
                    raise SystemExit(f"worker with {threads} thread(s) failed in round {rnd + 1} (exit {p.wait()})")
            log(f"  round {rnd + 1}/{a.repeats} done (load average {loadavg()})")
        per = {}
        for threads, (p, path) in workers.items():
            p.stdin.write("finish\n")
            p.stdin.close()
            if p.wait() != 0:
                raise SystemExit(f"worker with {threads} thread(s) failed (exit {p.returncode})")
            per[threads] = json.loads(Path(path).read_text())
        return per
    finally:
        for p, path in workers.values():
            if p.poll() is None:
                p.kill()
                p.wait()
            if os.path.exists(path):
                os.unlink(path)


# ----------------------------------------------------------------------------------------------
# (2) cold start

def cli_command():
    exe = Path(sys.executable).parent / "simdiff"
    return [str(exe)] if exe.exists() else None


BREAKDOWN = """\
import time, json
t = [time.perf_counter()]
import numpy, numba
t.append(time.perf_counter())
import simdiff
t.append(time.perf_counter())
import simdiff.pde as P
t.append(time.perf_counter())
g = P.Grid((256, 256), extent=1.0, periodic=True)
m = P.Diffusion(D=1e-3)
m.problem(g, method="euler")
t.append(time.perf_counter())
u = numpy.random.default_rng(0).random(g.shape)
P.simulate(m, g, u, t_end=1e-3, method="euler", n_frames=2)
t.append(time.perf_counter())
print("BREAKDOWN" + json.dumps([b - a for a, b in zip(t, t[1:])]))
"""
BREAKDOWN_PARTS = ["import numpy+numba", "import simdiff", "import simdiff.pde", "build problem", "simulate 1 step"]


def breakdown(cache):
    """Timestamps inside a fresh ``python -c`` process: imports, building the problem, one step."""
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
    if cmd0 is None or subprocess.run(cmd0 + ["pde", "diffusion", "--help"], capture_output=True).returncode != 0:
        res["skipped"] = "no `simdiff pde diffusion` command"
        return res
    cache = tempfile.mkdtemp(prefix="bench_pde_numba_")
    work = tempfile.mkdtemp(prefix="bench_pde_out_")
    try:
        def one(label, shape, Dv, t_end=1e-3):
            # t_end below the stable step: one Euler step, two frames
            cmd = cmd0 + ["pde", "diffusion", "--dim", str(len(shape)), "--shape", *map(str, shape), "--D", str(Dv),
                          "--t-end", str(t_end), "--frames", "2", "--method", "euler", "--bc", "periodic",
                          "--out", os.path.join(work, "cs.h5"), "--no-progress"]
            env = dict(os.environ, NUMBA_CACHE_DIR=cache, NUMBA_DEBUG_CACHE="1")
            t0 = time.perf_counter()
            p = subprocess.run(cmd, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            text = p.stdout + p.stderr
            m = re.search(r"(\d+) steps? in ([0-9.]+) s", text)
            r = {"label": label, "shape": list(shape), "D": Dv, "wall_s": wall, "rc": p.returncode,
                 "cache_saved": text.count("[cache] data saved"), "cache_loaded": text.count("[cache] data loaded"),
                 "steps": int(m.group(1)) if m else None, "solve_s": float(m.group(2)) if m else None}
            if p.returncode != 0:
                r["error"] = text.strip().splitlines()[-1:] if text.strip() else ""
            log(f"  {label}: {wall:.2f} s (numba cache: {r['cache_saved']} compiled and saved, "
                f"{r['cache_loaded']} loaded)")
            res["runs"].append(r)
            return r

        one("cold (empty cache)", (256, 256), 1e-3)
        one("warm", (256, 256), 1e-3)
        one("warm again", (256, 256), 1e-3)
        one("other D (2e-3)", (256, 256), 2e-3)
        one("other grid (200x200)", (200, 200), 1e-3)
        one("other grid (3D 64^3)", (64, 64, 64), 1e-3)
        # where the time goes: a plain python process, timestamps inside; warm (the cache above) and cold
        res["breakdown_warm"] = breakdown(cache)
        cold_cache = tempfile.mkdtemp(prefix="bench_pde_numba_")
        try:
            res["breakdown_cold"] = breakdown(cold_cache)
        finally:
            shutil.rmtree(cold_cache, ignore_errors=True)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import numpy, numba"], capture_output=True)
        res["python_numpy_numba_s"] = time.perf_counter() - t0
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return res


# ----------------------------------------------------------------------------------------------
# (3) stiff case

def stiff(a, log):
    import scipy.fft as sf

    from simdiff.pde import Diffusion, Dirichlet, Grid, simulate

    n, T, sig, target = 256, 0.02, 0.05, a.target
    reps = 2 if a.quick else 3
    out = {"shape": [n, n], "T": T, "D": D, "init": f"gaussian width {sig} at the centre", "target": target,
           "walls": {}, "periodic": {}}

    def timed(model, grid, u0, method, dt, ref):
        best, walls, err, steps = None, [], None, None
        for _ in range(reps):
            t0 = time.perf_counter()
            run = simulate(model, grid, u0, t_end=T, dt=dt, method=method, n_frames=2)
            walls.append(time.perf_counter() - t0)
            err = float(np.max(np.abs(run.y[-1] - ref)))
            steps = run.solution.stats.steps
            best = run.dt
        return {"dt": best, "steps": steps, "err": err, "s_median": statistics.median(walls), "s_min": min(walls),
                "s_all": walls}

    def largest_dt(model, grid, u0, method, ref):
        """Fewest steps n (dt = T/n) with error <= target: doubling, then bisection to ~10%."""
        def err(k):
            run = simulate(model, grid, u0, t_end=T, dt=T / k, method=method, n_frames=2)
            return float(np.max(np.abs(run.y[-1] - ref)))
        tried = {}
        k = 1
        while True:
            tried[k] = err(k)
            if tried[k] <= target or k >= 1 << 14:
                break
            k *= 2
        lo, hi = k // 2, k
        while hi - lo > max(1, lo // 10) and lo >= 1:
            mid = (lo + hi) // 2
            tried[mid] = err(mid)
            if tried[mid] <= target:
                hi = mid
            else:
                lo = mid
        return hi, tried

    # Dirichlet walls: the exact solution of the semi-discrete system by the type-II sine transform
    # (sin(pi m x) on cell centres is an eigenvector of the ghost-cell Laplacian, u_ghost = -u_edge)
    grid = Grid((n, n), extent=1.0, periodic=False)
    model = Diffusion(D=D, bc=Dirichlet(0.0))
    X, Y = grid.mesh()
    u0 = np.exp(-((X - 0.5) ** 2 + (Y - 0.5) ** 2) / (2 * sig ** 2))
    h = grid.dx[0]
    m = np.arange(1, n + 1)
    lam1 = -(4.0 / h ** 2) * np.sin(np.pi * m * h / 2) ** 2
    ref = sf.idstn(np.exp(D * (lam1[:, None] + lam1[None, :]) * T) * sf.dstn(u0, type=2, norm="ortho"),
                   type=2, norm="ortho")
    simulate(model, grid, u0, t_end=T / 5, method="euler", n_frames=2)   # warm the compiled path
    res = out["walls"]
    res["euler"] = timed(model, grid, u0, "euler", None, ref)
    log(f"  walls: euler {res['euler']['steps']} steps, {res['euler']['s_median']:.3f} s")
    for meth in ("crank_nicolson", "adi"):
        k, tried = largest_dt(model, grid, u0, meth, ref)
        r = res[meth] = timed(model, grid, u0, meth, T / k, ref)
        r["search"] = {str(kk): v for kk, v in sorted(tried.items())}
        log(f"  walls: {meth} {k} steps (error {r['err']:.2g}), {r['s_median']:.3f} s")

    # periodic: euler vs spectral; references: exact semi-discrete (2nd-order Laplacian symbol) for
    # euler, exact continuous (symbol -k^2, what spectral integrates) for both
    pgrid = Grid((n, n), extent=1.0, periodic=True)
    pmodel = Diffusion(D=D)
    k = 2 * np.pi * np.fft.fftfreq(n, d=h)
    K2 = k[:, None] ** 2 + k[None, :] ** 2
    Kd = (4.0 / h ** 2) * (np.sin(k * h / 2)[:, None] ** 2 + np.sin(k * h / 2)[None, :] ** 2)
    U0 = np.fft.fft2(u0)
    ref_cont = np.real(np.fft.ifft2(np.exp(-D * K2 * T) * U0))
    ref_disc = np.real(np.fft.ifft2(np.exp(-D * Kd * T) * U0))
    simulate(pmodel, pgrid, u0, t_end=T, method="spectral", n_frames=2)   # warm
    res = out["periodic"]
    res["euler"] = timed(pmodel, pgrid, u0, "euler", None, ref_disc)
    r = run_e = simulate(pmodel, pgrid, u0, t_end=T, method="euler", n_frames=2)
    res["euler"]["err_vs_continuous"] = float(np.max(np.abs(run_e.y[-1] - ref_cont)))
    res["spectral"] = timed(pmodel, pgrid, u0, "spectral", None, ref_cont)
    res["fd_space_error"] = float(np.max(np.abs(ref_disc - ref_cont)))
    del r
    log(f"  periodic: euler {res['euler']['s_median']:.3f} s, spectral {res['spectral']['s_median'] * 1e3:.1f} ms")
    return out


# ----------------------------------------------------------------------------------------------
# Report

def fmt_ms(x):
    return "-" if x is None else (f"{x:.4f}" if x < 0.1 else f"{x:.3f}" if x < 10 else f"{x:.1f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer steps, 3 repeats, no py-pde")
    ap.add_argument("--no-pypde", action="store_true")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: perstep,cold,stiff")
    ap.add_argument("--target", type=float, default=1e-4, help="stiff case: max error allowed")
    ap.add_argument("--json", default=str(HERE / "bench_pde.json"))
    ap.add_argument("--worker-out", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.quick:
        a.no_pypde = True
        a.repeats = min(a.repeats, 3)
    if a.worker_out:
        return worker(a)
    skip = set(filter(None, a.skip.split(",")))

    info = {
        "date": _dt.date.today().isoformat(), "cpu": cpu_model(), "cores": os.cpu_count(), "caches": caches(),
        "python": platform.python_version(), "numpy": np.__version__, "numba": nb.__version__,
        "scipy": _version("scipy"), "py-pde": None if a.no_pypde else _version("pde"), "simdiff": simdiff.__version__,
    }
    load0 = loadavg()
    info["loadavg_before"] = load0
    print(f"machine: {info['cpu']}, {info['cores']} cores, caches L1d/L2/L3 {info['caches']} | python {info['python']} numpy {info['numpy']} "
          f"numba {info['numba']} scipy {info['scipy']} py-pde {info['py-pde']} simdiff {info['simdiff']}")
    print(f"load average before: {load0}")
    wall0 = time.perf_counter()
    log = lambda m: print(m, flush=True)  # noqa: E731

    per = run_workers(a, log) if "perstep" not in skip else None
    cold = None
    if "cold" not in skip:
        log("cold start (fresh processes) ...")
        cold = cold_start(a, log)
    st = None
    if "stiff" not in skip:
        log("stiff case ...")
        st = stiff(a, log)

    ok = lambda b: "OK" if b else "MISSED"  # noqa: E731
    goals, noisy = {}, []
    if per is not None:
        print()
        print(f"Per explicit Euler step, periodic, D = {D:g}, dt = 0.9 x stable; ms per step, median of {a.repeats} "
              f"rounds (min in the next column). 'x py-pde' = py-pde's time / this one at the same thread count "
              f"(speed-up); '/floor' = this time / one field copy (1 = the memory floor).")
        hdr = (f"{'method':<34}{'thr':>4} | {'2D median':>10}{'min':>9}{'x py-pde':>9}{'/floor':>8} | "
               f"{'3D median':>10}{'min':>9}{'x py-pde':>9}{'/floor':>8}")
        print(hdr)
        print("-" * len(hdr))
        order = ["simdiff", "numpy", "pypde", "numba", "floor", "floor_dram"]
        for key in order:
            for thr in (1, 2):
                w = per[thr]
                cells, label = [], None
                for dim in ("2", "3"):
                    res = w["dims"][dim]["results"]
                    if key not in res:
                        cells.append(None)
                        continue
                    r = res[key]
                    label = r["label"]
                    pp = res.get("pypde")
                    fl = res["floor"]
                    isfloor = key.startswith("floor")
                    r["x_pypde"] = pp["ms_median"] / r["ms_median"] if pp and not isfloor else None
                    r["x_pypde_min"] = pp["ms_min"] / r["ms_min"] if pp and not isfloor else None
                    r["per_floor"] = r["ms_median"] / fl["ms_median"]
                    r["per_floor_min"] = r["ms_min"] / fl["ms_min"]
                    cells.append(r)
                    if max(r["ms_all"]) > 1.3 * min(r["ms_all"]):
                        noisy.append(f"{r['label']} {'2D' if dim == '2' else '3D'} {thr} thr")
                if label is None:
                    if key == "pypde" and thr == 1 and w["pypde_skipped"]:
                        print(f"{'py-pde':<34}  skipped: {w['pypde_skipped']}")
                    continue
                line = f"{label:<34}{thr:>4} |"
                for r in cells:
                    if r is None:
                        line += f"{'-':>10}{'-':>9}{'-':>9}{'-':>8} |"
                        continue
                    xp = f"{r['x_pypde']:.2f}x" if r["x_pypde"] else "-"
                    line += (f"{fmt_ms(r['ms_median']):>10}{fmt_ms(r['ms_min']):>9}{xp:>9}"
                             f"{r['per_floor']:>7.2f}x |")
                print(line.rstrip(" |"))
        print()
        for thr in (1, 2):
            w = per[thr]
            comp = [f"{'2D' if d == '2' else '3D'} {w['dims'][d]['pypde_compile_s']:.1f} s" for d in ("2", "3")
                    if "pypde_compile_s" in w["dims"][d]]
            diffs = {d: w["dims"][d]["max_diff_vs_numba_20_steps"] for d in ("2", "3")}
            dtxt = "; ".join(f"{'2D' if d == '2' else '3D'} " + ", ".join(f"{k} {v:.1e}" for k, v in diffs[d].items())
                             for d in diffs)
            sim = [f"{'2D' if d == '2' else '3D'} {w['dims'][d]['results']['simdiff']['simulate_ms_per_step_median']:.4g}"
                   for d in ("2", "3")]
            print(f"{thr} thread(s) (numba reports {w['numba_threads']}): py-pde compile (make_stepper + first "
                  f"step, not in the table): {', '.join(comp) or '-'}; simdiff whole simulate() per step "
                  f"(ms, with its setup): {', '.join(sim)}; load average mid/end {w['loadavg_mid']} / "
                  f"{w['loadavg_end']}")
            print(f"  agreement after 20 steps, max |u - plain numba|: {dtxt}")

        o = per[1].get("simdiff_overhead")
        if o:
            print("simdiff fixed costs (1 thread, fastest of 3, from stats.wall_time): "
                  + "; ".join(f"{'2D' if d == '2' else '3D'}: a one-step solve {v['one_step_solve_ms']:.2f} ms of "
                              f"which {v['fixed_ms']:.2f} ms is not the step (= {v['fixed_ms'] / v['per_step_ms']:.1f} "
                              f"steps), {v['per_frame_ms']:.3f} ms per extra saved frame"
                              for d, v in o.items()))

        # goals
        g1 = per[1]["dims"]
        g2 = per[2]["dims"]
        have_pp = "pypde" in g1["2"]["results"]
        vs = {}
        for thr, g in ((1, g1), (2, g2)):
            for d in ("2", "3"):
                r = g[d]["results"]["simdiff"]
                if "pypde" in g[d]["results"]:
                    vs[f"{d}D_{thr}thr"] = (r["x_pypde"], r["x_pypde_min"])
        s3 = g1["3"]["results"]["simdiff"]
        fl3, fl3min = s3["per_floor"], s3["per_floor_min"]
        thr_ratio = {d: g2[d]["results"]["simdiff"]["ms_median"] / g1[d]["results"]["simdiff"]["ms_median"]
                     for d in ("2", "3")}
        thr_ratio_min = {d: g2[d]["results"]["simdiff"]["ms_min"] / g1[d]["results"]["simdiff"]["ms_min"]
                         for d in ("2", "3")}
        print()
        if have_pp:
            met = all(v[0] >= GOAL_VS_PYPDE for k, v in vs.items() if k.endswith("1thr"))
            metmin = all(v[1] >= GOAL_VS_PYPDE for k, v in vs.items() if k.endswith("1thr"))
            print(f"goal simdiff >= {GOAL_VS_PYPDE}x py-pde (2D and 3D, 1 thread): "
                  + ", ".join(f"{k.replace('_', ' ')} {v[0]:.2f}x (fastest {v[1]:.2f}x)" for k, v in vs.items())
                  + f" -> {ok(met)} (medians), {ok(metmin)} (fastest, 1 thread)")
            goals["vs_pypde"] = {"target": GOAL_VS_PYPDE, "ratios": vs, "met_median": met, "met_fastest": metmin}
        else:
            print("goal vs py-pde: not checked (py-pde not run)")
        print(f"goal simdiff 3D within {GOAL_FLOOR_3D}x the memory floor (1 thread): {fl3:.2f}x (fastest rounds "
              f"{fl3min:.2f}x) -> {ok(fl3 <= GOAL_FLOOR_3D)} (median), {ok(fl3min <= GOAL_FLOOR_3D)} (fastest)")
        goals["floor_3d"] = {"target": GOAL_FLOOR_3D, "median": fl3, "fastest": fl3min, "met_median": fl3 <= GOAL_FLOOR_3D,
                             "met_fastest": fl3min <= GOAL_FLOOR_3D}
        dr = g1["3"]["results"].get("floor_dram")
        if dr:
            x, xmin = s3["ms_median"] / dr["ms_median"], s3["ms_min"] / dr["ms_min"]
            fl = g1["3"]["results"]["floor"]
            print(f"  the field copy ({fl['ms_median']:.3f} ms) is partly cache-resident here (two 128^3 fields, "
                  f"33.6 MB, about the size of the last-level cache); against a main-memory copy of the same bytes "
                  f"({dr['ms_median']:.3f} ms): {x:.2f}x (fastest {xmin:.2f}x) -> {ok(x <= GOAL_FLOOR_3D)}")
            goals["floor_3d"].update(dram_ms=dr["ms_median"], vs_dram=x, vs_dram_fastest=xmin,
                                     met_dram=x <= GOAL_FLOOR_3D)
        helps = all(v < 0.9 for v in thr_ratio.values())
        hurts = any(v > 1.1 for v in thr_ratio.values())
        print("goal threads help (simdiff 2 threads / 1 thread, < 0.9 = helps, > 1.1 = hurts): "
              + ", ".join(f"{'2D' if d == '2' else '3D'} {v:.2f} (fastest {thr_ratio_min[d]:.2f})"
                          for d, v in thr_ratio.items())
              + f" -> {'OK' if helps else 'MISSED'} ({'helps' if helps else 'hurts' if hurts else 'no effect'}"
              f"{'' if helps else ': simdiff kernels run on one thread'})")
        goals["threads"] = {"ratio_2_over_1": thr_ratio, "ratio_fastest": thr_ratio_min, "helps": helps, "hurts": hurts}

    if cold is not None:
        print()
        if "skipped" in cold:
            print(f"cold start: skipped ({cold['skipped']})")
        else:
            print("Cold start: fresh `simdiff pde diffusion --dim 2 --shape 256 256 --method euler --bc periodic "
                  "--t-end 1e-3 --frames 2` (one step), wall time of the process; numba cache in a fresh folder")
            hdr = f"{'run':<26}{'grid':>12}{'D':>8}{'wall s':>9}{'solve s':>9}{'compiled':>10}{'loaded':>8}"
            print(hdr)
            print("-" * len(hdr))
            for r in cold["runs"]:
                sol = "-" if r["solve_s"] is None else f"{r['solve_s']:.2f}"
                print(f"{r['label']:<26}{'x'.join(map(str, r['shape'])):>12}{r['D']:>8g}{r['wall_s']:>9.2f}{sol:>9}"
                      f"{r['cache_saved']:>10}{r['cache_loaded']:>8}" + (f"  FAILED: {r['error']}" if r["rc"] else ""))
            for which in ("warm", "cold"):
                b = cold.get(f"breakdown_{which}")
                if b and "error" not in b:
                    print(f"breakdown, {which} cache (python -c, process {b['process_wall_s']:.2f} s): "
                          + ", ".join(f"{k} {v:.3f} s" for k, v in b.items() if k != "process_wall_s"))
                elif b:
                    print(f"breakdown, {which} cache: failed: {b['error']}")
            print(f"`python -c 'import numpy, numba'` alone: {cold['python_numpy_numba_s']:.2f} s")
            runs = cold["runs"]
            warm = min(r["wall_s"] for r in runs[1:3])
            later = runs[3:]
            recompiled = [r["label"] for r in later if r["cache_saved"] > 0]
            slow = [r["label"] for r in later if r["wall_s"] > 1.5 * warm + 0.3]
            failed = [r["label"] for r in runs if r["rc"] != 0]
            print(f"goal warm start under {GOAL_WARM_S:g} s: {warm:.2f} s -> {ok(warm < GOAL_WARM_S and not failed)}; "
                  f"no recompilation when D or the grid change: "
                  + (f"{ok(not recompiled and not slow)} (" + ", ".join(
                      f"{r['label']} {r['wall_s']:.2f} s, {r['cache_saved']} compiled" for r in later) + ")"))
            goals["cold_start"] = {"warm_s": warm, "cold_s": runs[0]["wall_s"], "met_warm": warm < GOAL_WARM_S,
                                   "recompiled": recompiled, "slow": slow, "failed": failed,
                                   "met_no_recompile": not recompiled and not slow}

    if st is not None:
        print()
        print(f"Stiff case: 2D {st['shape'][0]}x{st['shape'][1]}, D = {st['D']:g}, {st['init']}, T = {st['T']:g}; "
              f"target max error {st['target']:g} (peak 1); time to solution = wall of simulate(), median of "
              f"{len(st['walls']['euler']['s_all'])}")
        hdr = f"{'case':<12}{'method':<16}{'steps':>7}{'dt':>10}{'max error':>11}{'time s':>9}{'min s':>8}{'vs euler':>10}"
        print(hdr)
        print("-" * len(hdr))
        for case in ("walls", "periodic"):
            rs = st[case]
            e = rs["euler"]["s_median"]
            for meth in ("euler", "crank_nicolson", "adi", "spectral"):
                if meth not in rs:
                    continue
                r = rs[meth]
                r["speedup_vs_euler"] = e / r["s_median"]
                flag = "" if r["err"] <= st["target"] else "  (misses target)"
                print(f"{case:<12}{meth:<16}{r['steps']:>7}{r['dt']:>10.3g}{r['err']:>11.2e}{r['s_median']:>9.3f}"
                      f"{r['s_min']:>8.3f}{r['speedup_vs_euler']:>9.1f}x{flag}")
        p = st["periodic"]
        print(f"errors: walls against the exact semi-discrete solution (sine transform); periodic euler against its "
              f"semi-discrete solution (against the PDE: {p['euler']['err_vs_continuous']:.1e}; the 2nd-order "
              f"stencil's own space error {p['fd_space_error']:.1e}), spectral against the PDE.")
        for meth in ("crank_nicolson", "adi"):
            s = st["walls"][meth]["search"]
            print(f"  {meth} search (steps: error): " + ", ".join(f"{k}: {v:.1e}" for k, v in s.items()))

    if noisy:
        print()
        print(f"WARNING: repeats spread by more than 30% for {len(noisy)} rows ({', '.join(noisy)}): the machine "
              f"was busy (load average before: {load0}, now {loadavg()}); medians and their ratios are unreliable, "
              f"the 'min' columns less so; rerun on an idle machine.")
    total = time.perf_counter() - wall0
    print(f"total benchmark time: {total:.1f} s")
    out = {"info": info, "config": {"D": D, "shapes": SHAPES, "steps": STEPS_QUICK if a.quick else STEPS,
                                    "repeats": a.repeats, "quick": a.quick, "target": a.target},
           "per_step": per, "cold_start": cold, "stiff": st, "goals": goals, "noisy": noisy,
           "loadavg_end": loadavg(), "total_s": total}
    Path(a.json).write_text(json.dumps(out, indent=2, default=float) + "\n")
    print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
