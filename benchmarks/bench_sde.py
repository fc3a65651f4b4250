"""Ornstein–Uhlenbeck throughput: simdiff vs vectorized numpy vs torchsde, one process, one thread.

    dX = -theta X dt + sigma dW,   X_0 = 0,   100,000 particles, 1,000 Euler–Maruyama steps,
    float64, final state only.

Measured (median of ``--repeats`` interleaved rounds, after a timed first call):

(a) simdiff, compiled path   (drift a ``@simdiff.kernel``, one numba call per saved frame)
(b) simdiff, generic path    (drift a plain numpy lambda; for information)
(c) vectorized numpy         (``x += -theta x dt + sigma sqrt(dt) rng.standard_normal(n)`` per step)
(d) the normal-draw floor    (1e8 normals from a numpy Generator: inline in one numba loop, and
                              vectorized ``rng.standard_normal(n, out=buf)``)
(e) torchsde                 (``sdeint(method='euler')``, fixed dt, float64, 1 thread; on fewer
                              steps, ``--torchsde-steps``, since it is slow), when importable
(f) a hand-fused numba loop  (this one model's EM update written out in one @njit loop with inline
                              normals: what a compiled loop can reach; reference)

Throughput is particle-steps per second. Beside speed, each method's final sample variance is
compared with the closed form sigma^2 (1 - exp(-2 theta T)) / (2 theta) (and with Euler–Maruyama's
own exact discrete variance). Results go to ``benchmarks/bench_sde.json``.

Run:  .venv/bin/python benchmarks/bench_sde.py            (about 30 s)
      .venv/bin/python benchmarks/bench_sde.py --quick    (smaller, for a smoke test)
"""
from __future__ import annotations

import os

# Single thread everywhere; must be set before numpy/numba/torch load.
for _v in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import datetime as _dt
import json
import math
import platform
import statistics
import time
from pathlib import Path

import numba as nb
import numpy as np

import simdiff

HERE = Path(__file__).resolve().parent
from _common import cpu_model  # noqa: E402
THETA, SIGMA, T = 1.0, 1.0, 1.0


# ----------------------------------------------------------------------------------------------
# Compiled functions: module level in a file, so numba caches them on disk.

@simdiff.kernel
def ou_drift(t, y, out, p, ip):
    th = p[0]
    for i in range(y.size):
        out[i] = -th * y[i]


@nb.njit(cache=True)
def _draw_inline(rng, buf, reps):
    """The floor: ``reps * buf.size`` normals drawn one by one inside numba."""
    for _ in range(reps):
        for i in range(buf.size):
            buf[i] = rng.standard_normal()
    return buf[0]


@nb.njit(cache=True)
def _em_fused(rng, x, theta, sigma, dt, steps):
    """Reference: Euler–Maruyama for OU hand-written in one numba loop, normals drawn inline."""
    sq = sigma * np.sqrt(dt)
    for _ in range(steps):
        for i in range(x.size):
            x[i] += -theta * x[i] * dt + sq * rng.standard_normal()
    return x


# ----------------------------------------------------------------------------------------------
# Helpers

def ou_var(t):
    """Closed-form variance of the OU process started at 0."""
    return SIGMA ** 2 * (1.0 - math.exp(-2.0 * THETA * t)) / (2.0 * THETA)


def em_var(h, steps):
    """Exact variance of the Euler–Maruyama chain: v <- (1 - theta h)^2 v + sigma^2 h."""
    v = 0.0
    a = (1.0 - THETA * h) ** 2
    for _ in range(steps):
        v = a * v + SIGMA ** 2 * h
    return v




def _version(mod):
    try:
        return __import__(mod).__version__
    except ImportError:
        return None


def fmt_rate(x):
    return f"{x:.3g}" if x is not None else "-"


def fmt_ratio(x):
    return f"{x:.2f}x" if x is not None else "-"


# ----------------------------------------------------------------------------------------------
# The methods. Each ``setup_*`` returns a Case: a callable doing the timed work and returning the
# final state (or None), after its first call (compile / cache load) has been timed.

class Case:
    def __init__(self, key, label, fn, particle_steps, t_end=None, steps=None):
        self.key, self.label, self.fn = key, label, fn
        self.particle_steps, self.t_end, self.steps = particle_steps, t_end, steps
        self.times, self.out = [], None
        t0 = time.perf_counter()
        self.out = fn()
        self.first_call_s = time.perf_counter() - t0

    def time_once(self):
        t0 = time.perf_counter()
        self.out = self.fn()
        self.times.append(time.perf_counter() - t0)


def setup_simdiff_compiled(n, steps):
    y0 = np.zeros(n)
    prob = simdiff.SDE(drift=simdiff.Kernel(ou_drift, p=[THETA], pointwise=True), diffusion=SIGMA, noise="additive")
    dt = T / steps
    info = {}

    def once():
        sol = simdiff.solve(prob, y0, (0.0, T), dt=dt, method="euler_maruyama", seed=0)
        info["path"] = sol.stats.path
        return sol.final

    c = Case("simdiff_compiled", "simdiff compiled", once, n * steps, T, steps)
    assert info["path"] == "compiled", info
    return c


def frame_overhead(steps, repeats):
    """The same solve saved at every step (one numba call and one Python round trip per step) on
    a small ensemble, against one frame: simdiff's cost per saved frame."""
    small = 1000
    dt = T / steps
    ys = np.zeros(small)
    prob = simdiff.SDE(drift=simdiff.Kernel(ou_drift, p=[THETA], pointwise=True), diffusion=SIGMA, noise="additive")
    one = Case("one", "", lambda: simdiff.solve(prob, ys, (0.0, T), dt=dt, seed=0), 0)
    every = Case("every", "", lambda: simdiff.solve(prob, ys, (0.0, T), dt=dt, seed=0, save_at=steps + 1), 0)
    for _ in range(repeats):
        one.time_once()
        every.time_once()
    a, b = statistics.median(one.times), statistics.median(every.times)
    return dict(particles=small, steps=steps, one_frame_s=a, every_step_s=b, per_frame_us=(b - a) / steps * 1e6)


def setup_simdiff_generic(n, steps):
    y0 = np.zeros(n)
    prob = simdiff.SDE(drift=lambda t, y: -THETA * y, diffusion=SIGMA, noise="additive")
    dt = T / steps
    info = {}

    def once():
        sol = simdiff.solve(prob, y0, (0.0, T), dt=dt, method="euler_maruyama", seed=0)
        info["path"] = sol.stats.path
        return sol.final

    c = Case("simdiff_generic", "simdiff generic", once, n * steps, T, steps)
    assert info["path"] == "generic", info
    return c


def setup_numpy(n, steps):
    dt = T / steps
    sq = SIGMA * math.sqrt(dt)

    def once():
        rng = np.random.default_rng(0)
        x = np.zeros(n)
        for _ in range(steps):
            x += -THETA * x * dt + sq * rng.standard_normal(n)
        return x

    return Case("numpy", "numpy vectorized", once, n * steps, T, steps)


def setup_floor(n, steps):
    buf = np.empty(n)
    rng = np.random.default_rng(0)

    def inline():
        _draw_inline(rng, buf, steps)

    def vec():
        for _ in range(steps):
            rng.standard_normal(n, out=buf)

    return [Case("floor_numba", "floor: numba inline normals", inline, n * steps),
            Case("floor_numpy", "floor: numpy standard_normal(out=)", vec, n * steps)]


def setup_fused(n, steps):
    dt = T / steps
    return Case("numba_fused", "numba hand-fused loop (reference)",
                lambda: _em_fused(np.random.default_rng(0), np.zeros(n), THETA, SIGMA, dt, steps),
                n * steps, T, steps)


def setup_torchsde(n, steps, ts_steps):
    """torchsde on ``ts_steps`` steps of the same dt (it is slow); a string (why) if not importable."""
    try:
        import torch
        import torchsde
    except ImportError as err:
        return f"not importable ({err})"
    torch.set_num_threads(1)
    dt = T / steps
    t_end = ts_steps * dt

    class OU(torch.nn.Module):
        noise_type = "diagonal"
        sde_type = "ito"

        def f(self, t, y):
            return -THETA * y

        def g(self, t, y):
            return torch.full_like(y, SIGMA)

    sde = OU()
    y0 = torch.zeros(n, 1, dtype=torch.float64)
    tspan = torch.tensor([0.0, t_end], dtype=torch.float64)

    def once():
        torch.manual_seed(0)         # torchsde's Brownian interval draws from torch's global generator
        with torch.no_grad():
            return torchsde.sdeint(sde, y0, tspan, method="euler", dt=dt, adaptive=False)[-1].numpy()

    return Case("torchsde", f"torchsde euler ({ts_steps} steps)", once, n * ts_steps, t_end, ts_steps)


# ----------------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--particles", type=int, default=100_000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--torchsde-steps", type=int, default=100)
    ap.add_argument("--no-torchsde", action="store_true")
    ap.add_argument("--quick", action="store_true", help="10,000 particles, 3 repeats")
    ap.add_argument("--json", default=str(HERE / "bench_sde.json"))
    a = ap.parse_args(argv)
    if a.quick:
        a.particles, a.repeats = 10_000, 3
    n, steps, R = a.particles, a.steps, a.repeats

    info = {
        "date": _dt.date.today().isoformat(), "cpu": cpu_model(), "cores": os.cpu_count(),
        "python": platform.python_version(), "numpy": np.__version__, "numba": nb.__version__,
        "torch": _version("torch"), "torchsde": _version("torchsde"), "simdiff": simdiff.__version__,
        "threads": {v: os.environ.get(v) for v in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS")},
    }
    load0 = " ".join(f"{x:.2f}" for x in os.getloadavg())
    info["loadavg_before"] = load0
    print(f"machine: {info['cpu']}, {info['cores']} cores | python {info['python']} numpy {info['numpy']} "
          f"numba {info['numba']} torch {info['torch']} torchsde {info['torchsde']} simdiff {info['simdiff']}")
    print(f"OU dX = -{THETA:g} X dt + {SIGMA:g} dW, X0 = 0, T = {T:g}: {n:,} particles x {steps:,} "
          f"Euler-Maruyama steps, float64, final state only; median of {R}, 1 thread; "
          f"load average {load0}")

    wall0 = time.perf_counter()
    cases = [setup_simdiff_compiled(n, steps), setup_simdiff_generic(n, steps), setup_numpy(n, steps)]
    skipped = {}
    if a.no_torchsde:
        skipped["torchsde"] = "--no-torchsde"
    else:
        c = setup_torchsde(n, steps, min(a.torchsde_steps, steps))
        if isinstance(c, str):
            skipped["torchsde"] = c
        else:
            cases.append(c)
    cases += [setup_fused(n, steps), *setup_floor(n, steps)]
    # Interleaved rounds: a slow spell on a shared machine hits every method, not just one.
    for _ in range(R):
        for c in cases:
            c.time_once()
    overhead = frame_overhead(steps, R)

    res = {}
    for c in cases:
        r = res[c.key] = dict(label=c.label, seconds=statistics.median(c.times), min_s=min(c.times),
                              times=c.times, first_call_s=c.first_call_s, particle_steps=c.particle_steps)
        r["rate"] = c.particle_steps / r["seconds"]
        if c.out is not None and c.t_end is not None:
            r.update(T=c.t_end, steps=c.steps, var=float(np.var(c.out)))
    for k, why in skipped.items():
        res[k] = dict(label=k, skipped=why)
    res["simdiff_frame_overhead"] = overhead
    rows = [k for k in ("simdiff_compiled", "simdiff_generic", "numpy", "torchsde", "numba_fused", "floor_numba",
                        "floor_numpy") if k in res]
    np_rate = res["numpy"]["rate"]
    floor_rate = res["floor_numba"]["rate"]
    for k in rows:
        r = res[k]
        if "rate" in r:
            r["vs_numpy"] = r["rate"] / np_rate
            r["vs_floor"] = r["rate"] / floor_rate
        if "var" in r:
            r["var_exact"] = ou_var(r["T"])
            r["var_em"] = em_var(T / steps, r["steps"])
            # standard error of a sample variance of n Gaussians
            r["var_z"] = (r["var"] - r["var_em"]) / (r["var_em"] * math.sqrt(2.0 / n))

    print()
    hdr = (f"{'method':<36}{'time s':>9}{'min s':>8}{'p-steps/s':>11}{'vs numpy':>10}{'vs floor':>10}"
           f"{'var':>10}{'exact var':>11}{'z(EM)':>7}")
    print(hdr)
    print("-" * len(hdr))
    for k in rows:
        r = res[k]
        if "skipped" in r:
            print(f"{r['label']:<36}  skipped: {r['skipped']}")
            continue
        var = f"{r['var']:.5f}" if "var" in r else "-"
        ex = f"{r['var_exact']:.5f}" if "var" in r else "-"
        z = f"{r['var_z']:+.1f}" if "var" in r else "-"
        print(f"{r['label']:<36}{r['seconds']:>9.3f}{r['min_s']:>8.3f}{fmt_rate(r['rate']):>11}"
              f"{fmt_ratio(r['vs_numpy']):>10}{fmt_ratio(r['vs_floor']):>10}{var:>10}{ex:>11}{z:>7}")
    c = res["simdiff_compiled"]
    o = res["simdiff_frame_overhead"]
    print()
    print(f"floor = numba inline normals ({fmt_rate(floor_rate)}/s). 'exact var' = "
          f"sigma^2(1-exp(-2 theta T))/(2 theta) at that row's T; z(EM) = (var - EM's exact discrete "
          f"variance) / std. error.")
    fc = lambda k: f"{res[k]['first_call_s']:.3f} s ({res[k]['first_call_s'] - res[k]['min_s']:+.3f})"  # noqa: E731
    print(f"first calls, not in the table (in brackets: above the fastest repeat, i.e. numba compile or "
          f"disk-cache load): "
          f"simdiff compiled {fc('simdiff_compiled')}, hand-fused loop {fc('numba_fused')}, "
          f"floor loop {fc('floor_numba')}")
    print(f"simdiff per-frame overhead: {o['particles']:,} particles x {o['steps']} steps, 1 frame "
          f"{o['one_frame_s'] * 1e3:.1f} ms vs a frame every step {o['every_step_s'] * 1e3:.1f} ms "
          f"-> {o['per_frame_us']:.1f} us per frame")
    # Goal, from the medians (as in the table) and from the fastest repeats (robust to a busy machine).
    min_np = res["numpy"]["min_s"] / c["min_s"]
    min_fl = res["floor_numba"]["min_s"] / c["min_s"]
    goal_np, goal_fl = c["vs_numpy"] >= 1.2, c["vs_floor"] >= 0.8
    ok = lambda b: "OK" if b else "MISSED"  # noqa: E731
    print(f"goal (simdiff compiled >= 1.2x numpy and >= 0.8x floor): medians {c['vs_numpy']:.2f}x numpy "
          f"{ok(goal_np)}, {c['vs_floor']:.2f}x floor {ok(goal_fl)}; fastest repeats {min_np:.2f}x numpy "
          f"{ok(min_np >= 1.2)}, {min_fl:.2f}x floor {ok(min_fl >= 0.8)}")
    noisy = [res[k]["label"] for k in rows
             if "times" in res[k] and max(res[k]["times"]) > 1.3 * min(res[k]["times"])]
    if noisy:
        print(f"WARNING: repeats spread by more than 30% for {len(noisy)} of {len(cases)} methods "
              f"({', '.join(noisy)}): the machine was busy (load average before: {load0}); the medians "
              f"and their ratios are unreliable, rerun on an idle machine.")
    total = time.perf_counter() - wall0
    print(f"total benchmark time: {total:.1f} s")

    out = {"info": info, "config": {"particles": n, "steps": steps, "repeats": R, "theta": THETA, "sigma": SIGMA,
                                    "T": T, "dt": T / steps, "torchsde_steps": min(a.torchsde_steps, steps)},
           "results": res,
           "goal": {"vs_numpy_min": 1.2, "vs_floor_min": 0.8, "met_median": bool(goal_np and goal_fl),
                    "fastest_vs_numpy": min_np, "fastest_vs_floor": min_fl,
                    "met_fastest": bool(min_np >= 1.2 and min_fl >= 0.8)},
           "noisy": noisy,
           "total_s": total}
    Path(a.json).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
