"""Particle generators: simdiff vs fbm, stochastic, andi-datasets and vectorized numpy, one thread.

Three parts (median of ``--repeats`` interleaved rounds, after a timed first call):

(1) fBM, 10,000 trajectories of length T = 1024 (unit steps) at H = 0.3 and H = 0.7:
    simdiff ``fbm`` against the ``fbm`` package (``FBM(method="daviesharte").fbm()`` per path, one
    object per H), ``stochastic`` (``FractionalBrownianMotion.sample`` per path), andi-datasets
    (``models_theory().fbm`` per path, which wraps ``stochastic``), a batched numpy Davies–Harte
    written for this script, whole-batch and in blocks of 512 trajectories (references), and the floor: drawing the 2 (T-1) n normals and the
    batched complex FFTs of length 2 (T-1) that simdiff's Davies–Harte needs (numpy and scipy.fft,
    the faster counts). Slow peers run on fewer trajectories; rates are per trajectory.
(2) CTRW (alpha 0.5), Lévy walk (alpha 1.5) and ATTM (alpha 0.5), same size, against andi-datasets.
(3) Brownian particles in a harmonic trap (k = 1, kT = 1, gamma = 1), 100,000 particles x 1,000
    Euler–Maruyama steps of dt = 1e-3, final state only: simdiff ``overdamped`` (compiled path)
    against vectorized numpy. Particle-steps per second.

Correctness beside speed: each fBM / renewal row prints the exponent fitted to its ensemble MSD
<x(t)^2> (numpy polyfit of log MSD against log t over t = 2..100); the trap rows print the final
variance against Euler–Maruyama's exact discrete variance. Results go to
``benchmarks/bench_particles.json``.

Run:  .venv/bin/python benchmarks/bench_particles.py            (about 1-2 min)
      .venv/bin/python benchmarks/bench_particles.py --quick    (smaller, for a smoke test)
"""
from __future__ import annotations

import os

# Single thread everywhere; must be set before numpy/numba/scipy load.
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
from simdiff.core.drivers import fgn_spectrum
from simdiff.particles.anomalous import attm, ctrw, fbm, levy_walk
from simdiff.particles.langevin import harmonic, overdamped

HERE = Path(__file__).resolve().parent
from _common import cpu_model  # noqa: E402
LAGS = np.arange(2, 101)


# ----------------------------------------------------------------------------------------------
# Helpers



def _version(mod):
    try:
        m = __import__(mod)
    except Exception:  # noqa: BLE001 - a peer may fail to import in any way
        return None
    v = getattr(m, "__version__", None)
    if v is None:
        try:
            from importlib.metadata import version
            v = version(mod.replace("_", "-"))
        except Exception:  # noqa: BLE001
            v = "?"
    return v


def fmt_rate(x):
    return f"{x:.3g}" if x is not None else "-"


def fmt_ratio(x):
    return f"{x:.2f}x" if x is not None else "-"


def msd_exponent(x):
    """Exponent of the ensemble MSD <(x(t) - x(0))^2> over t = 2..100 (unit steps), polyfit in log-log."""
    x = np.asarray(x, dtype=float)
    m = np.mean((x[:, LAGS] - x[:, :1]) ** 2, axis=0)
    return float(np.polyfit(np.log(LAGS), np.log(m), 1)[0])


def em_var(theta, sigma2, h, steps):
    """Exact variance of the Euler–Maruyama chain v <- (1 - theta h)^2 v + sigma^2 h, from 0."""
    v, a = 0.0, (1.0 - theta * h) ** 2
    for _ in range(steps):
        v = a * v + sigma2 * h
    return v


class Case:
    """A timed callable doing ``count`` units of work (trajectories or particle-steps)."""

    def __init__(self, key, label, fn, count, expect=None, timer=None):
        self.key, self.label, self.fn, self.count, self.expect = key, label, fn, count, expect
        self.timer = timer          # optional: fn's own reported time (seconds) from its output
        self.times, self.out = [], None
        t0 = time.perf_counter()
        out = fn()
        self.first_call_s = time.perf_counter() - t0
        # Checks use the first call's output; large outputs are not kept (10,000 x 1024 is 82 MB
        # each, and a process holding a dozen of them slows every large allocation).
        self.exponent = msd_exponent(out) if expect is not None else None
        self.out = out if out is not None and np.asarray(out).nbytes <= 8_000_000 else None

    def time_once(self):
        t0 = time.perf_counter()
        out = self.fn()
        self.times.append(time.perf_counter() - t0)
        if self.out is not None:
            self.out = out
        del out


def try_import(name, what):
    """Import a peer; a string (why) if it fails."""
    try:
        return __import__(name, fromlist=["_"]), None
    except Exception as err:  # noqa: BLE001
        return None, f"{what} not importable ({type(err).__name__}: {err})"


# ----------------------------------------------------------------------------------------------
# (1) fBM

def numpy_davies_harte(rng, n, T, hurst):
    """Batched Davies–Harte in plain numpy/scipy, written for speed: one draw straight into a
    complex array (half, 2(T-1)), in-place scaling, FFT along the contiguous axis, the real and
    imaginary parts cumulatively summed into the output."""
    import scipy.fft as sfft
    m1 = T - 1
    m = 2 * m1
    sq = np.sqrt(fgn_spectrum(m1, hurst) / m)
    half = (n + 1) // 2
    z = rng.standard_normal(2 * m * half).view(np.complex128).reshape(half, m)
    z *= sq
    w = sfft.fft(z, axis=1, overwrite_x=True, workers=1)
    out = np.zeros((2 * half, T))
    np.cumsum(w.real[:, :m1], axis=1, out=out[:half, 1:])
    np.cumsum(w.imag[:, :m1], axis=1, out=out[half:, 1:])
    return out[:n]


def numpy_davies_harte_blocked(rng, n, T, hurst, block=512):
    """The same in blocks of ``block`` trajectories through one reused 8 MB buffer (at T = 1024):
    no full-size temporaries, only the output is allocated."""
    import scipy.fft as sfft
    m1 = T - 1
    m = 2 * m1
    sq = np.sqrt(fgn_spectrum(m1, hurst) / m)
    out = np.empty((n, T))
    out[:, 0] = 0.0
    hb = (block + 1) // 2
    buf = np.empty(2 * m * hb)
    z = buf.view(np.complex128).reshape(hb, m)
    for s in range(0, n, block):
        e = min(n, s + block)
        h = (e - s + 1) // 2
        rng.standard_normal(out=buf[:2 * m * h])
        zz = z[:h]
        zz *= sq
        w = sfft.fft(zz, axis=1, overwrite_x=True, workers=1)
        np.cumsum(w.real[:, :m1], axis=1, out=out[s:s + h, 1:])
        np.cumsum(w.imag[:e - s - h, :m1], axis=1, out=out[s + h:e, 1:])
    return out


def setup_fbm_cases(n, T, H, counts, skipped):
    cases = []
    tag = f"H={H:g}"
    cases.append(Case(f"simdiff_{H}", "simdiff fbm", lambda: fbm(n, T, H, seed=0), n, 2 * H))
    cases.append(Case(f"numpy_dh_{H}", "numpy Davies-Harte (reference)",
                      lambda: numpy_davies_harte(np.random.default_rng(0), n, T, H), n, 2 * H))
    cases.append(Case(f"numpy_dhb_{H}", "numpy Davies-Harte, blocks of 512",
                      lambda: numpy_davies_harte_blocked(np.random.default_rng(0), n, T, H), n, 2 * H))

    stoch, why = try_import("stochastic.processes.continuous", "stochastic")
    if stoch is None:
        skipped["stochastic"] = why
    else:
        k = min(n, counts["stochastic"])

        def run_stoch(k=k):
            g = stoch.FractionalBrownianMotion(hurst=H, t=T - 1, rng=np.random.default_rng(0))
            return np.array([g.sample(T - 1) for _ in range(k)])
        cases.append(Case(f"stochastic_{H}", f"stochastic ({k:,})", run_stoch, k, 2 * H))

    andi, why = try_import("andi_datasets.models_theory", "andi-datasets")
    if andi is None:
        skipped["andi-datasets"] = why
    else:
        k = min(n, counts["andi_fbm"])
        mt = andi.models_theory()

        def run_andi(k=k):
            np.random.seed(0)
            return np.array([mt.fbm(T, 2 * H) for _ in range(k)])
        cases.append(Case(f"andi_{H}", f"andi-datasets ({k:,})", run_andi, k, 2 * H))

    fbmpkg, why = try_import("fbm", "fbm")
    if fbmpkg is None:
        skipped["fbm"] = why
    else:
        k = min(n, counts["fbm"])

        def run_fbmpkg(k=k):
            np.random.seed(0)
            g = fbmpkg.FBM(n=T - 1, hurst=H, length=T - 1, method="daviesharte")
            return np.array([g.fbm() for _ in range(k)])
        cases.append(Case(f"fbmpkg_{H}", f"fbm package ({k:,})", run_fbmpkg, k, 2 * H))
    for c in cases:
        c.H, c.tag = H, tag
    return cases


def setup_floor(n, T):
    """What simdiff's Davies–Harte cannot avoid: 2 (T-1) n normals and n/2 complex FFTs of length
    2 (T-1). Timed apart: the draw (into a preallocated buffer), numpy's FFT and scipy's FFT
    (contiguous axis, in place, 1 worker)."""
    import scipy.fft as sfft
    m = 2 * (T - 1)
    half = (n + 1) // 2
    rng = np.random.default_rng(0)
    buf = np.empty(2 * m * half)
    z = buf.view(np.complex128).reshape(half, m)
    rng.standard_normal(out=buf)
    z2 = z.copy()

    def draw():
        rng.standard_normal(out=buf)

    def fft_np():
        np.fft.fft(z, axis=1)

    def fft_sp():
        z2[...] = z     # a copy so that overwrite_x does not feed its own output back
        sfft.fft(z2, axis=1, overwrite_x=True, workers=1)

    def copy():
        z2[...] = z

    return [Case("floor_draw", f"floor: {2 * m * half:,} normals", draw, n),
            Case("floor_fft_numpy", f"floor: numpy fft ({half:,} x {m})", fft_np, n),
            Case("floor_fft_scipy", f"floor: scipy fft ({half:,} x {m}) + copy", fft_sp, n),
            Case("floor_copy", "floor: the copy in the scipy row", copy, n)]


# ----------------------------------------------------------------------------------------------
# (2) renewal models

RENEWAL = [("ctrw", "CTRW", 0.5), ("lw", "Levy walk", 1.5), ("attm", "ATTM", 0.5)]


def setup_renewal_cases(n, T, counts, skipped):
    cases = []
    sim = {"ctrw": lambda a: ctrw(n, T, a, seed=0), "lw": lambda a: levy_walk(n, T, a, seed=0),
           "attm": lambda a: attm(n, T, a, seed=0)}
    andi, why = try_import("andi_datasets.models_theory", "andi-datasets")
    if andi is None:
        skipped["andi-datasets (renewal)"] = why
    mt = andi.models_theory() if andi is not None else None
    for key, name, a in RENEWAL:
        c = Case(f"simdiff_{key}", "simdiff", lambda f=sim[key], a=a: f(a), n, a)
        c.model = name
        cases.append(c)
        if mt is not None:
            k = min(n, counts[f"andi_{key}"])

            def run(key=key, a=a, k=k):
                np.random.seed(0)
                return np.array([getattr(mt, key)(T, a) for _ in range(k)])
            c = Case(f"andi_{key}", f"andi-datasets ({k:,})", run, k, a)
            c.model = name
            cases.append(c)
    return cases


# ----------------------------------------------------------------------------------------------
# (3) harmonic trap

K_TRAP, KT, GAMMA = 1.0, 1.0, 1.0


def setup_trap(n, steps, dt):
    t_end = steps * dt
    info = {}

    def sim():
        tr = overdamped(n, t_end=t_end, dt=dt, kT=KT, gamma=GAMMA, potential=harmonic(k=K_TRAP), seed=0)
        info["wall"] = tr.stats.wall_time
        info["path"] = getattr(tr.stats, "path", None)
        return np.asarray(tr.x[-1]).ravel()

    c_sim = Case("trap_simdiff", "simdiff overdamped", sim, n * steps)
    c_sim.info = info
    theta, sq = K_TRAP / GAMMA, math.sqrt(2.0 * KT / GAMMA * dt)

    def numpy_em():
        rng = np.random.default_rng(0)
        x = np.zeros(n)
        buf = np.empty(n)
        a = 1.0 - theta * dt
        for _ in range(steps):
            rng.standard_normal(out=buf)
            x *= a
            buf *= sq
            x += buf
        return x

    c_np = Case("trap_numpy", "numpy vectorized", numpy_em, n * steps)
    rng = np.random.default_rng(0)
    buf = np.empty(n)

    def draw():
        for _ in range(steps):
            rng.standard_normal(out=buf)

    c_fl = Case("trap_floor", "floor: numpy normals", draw, n * steps)
    return [c_sim, c_np, c_fl]


# ----------------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="trajectories (parts 1 and 2)")
    ap.add_argument("--T", type=int, default=1024, help="trajectory length (grid points)")
    ap.add_argument("--particles", type=int, default=100_000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip", default="", help="comma list of parts to skip: fbm,renewal,trap")
    ap.add_argument("--quick", action="store_true", help="2,000 trajectories, 20,000 particles, 2 repeats")
    ap.add_argument("--json", default=str(HERE / "bench_particles.json"))
    a = ap.parse_args(argv)
    counts = dict(stochastic=10_000, andi_fbm=10_000, fbm=300, andi_ctrw=10_000, andi_lw=1000, andi_attm=5000)
    if a.quick:
        a.n, a.particles, a.repeats = 2000, 20_000, 2
        counts = {k: max(50, v // 10) for k, v in counts.items()}
    n, T, R = a.n, a.T, a.repeats
    skip = {s.strip() for s in a.skip.split(",") if s.strip()}

    import scipy
    info = {
        "date": _dt.date.today().isoformat(), "cpu": cpu_model(), "cores": os.cpu_count(),
        "python": platform.python_version(), "numpy": np.__version__, "numba": nb.__version__,
        "scipy": scipy.__version__, "simdiff": simdiff.__version__, "fbm": _version("fbm"),
        "stochastic": _version("stochastic"), "andi_datasets": _version("andi_datasets"),
        "threads": {v: os.environ.get(v) for v in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS")},
    }
    load0 = " ".join(f"{x:.2f}" for x in os.getloadavg())
    info["loadavg_before"] = load0
    print(f"machine: {info['cpu']}, {info['cores']} cores | python {info['python']} numpy {info['numpy']} "
          f"numba {info['numba']} scipy {info['scipy']} simdiff {info['simdiff']} | fbm {info['fbm']} "
          f"stochastic {info['stochastic']} andi-datasets {info['andi_datasets']}")
    print(f"median of {R} interleaved rounds (fastest in brackets), 1 thread; load average {load0}")
    wall0 = time.perf_counter()
    skipped, res, all_cases = {}, {}, []
    ok = lambda b: "OK" if b else "MISSED"  # noqa: E731

    def run_rounds(cases):
        for _ in range(R):
            for c in cases:
                c.time_once()
        for c in cases:
            r = res[c.key] = dict(label=c.label, seconds=statistics.median(c.times), min_s=min(c.times),
                                  times=c.times, first_call_s=c.first_call_s, count=c.count)
            r["rate"] = c.count / r["seconds"]
            r["rate_best"] = c.count / r["min_s"]
            if c.expect is not None:
                r["expected_exponent"] = c.expect
                r["exponent"] = c.exponent
        all_cases.extend(cases)

    # ---- (1) fBM ---------------------------------------------------------------------------
    goals = {}
    if "fbm" not in skip:
        floor = setup_floor(n, T)
        for H in (0.3, 0.7):
            cases = setup_fbm_cases(n, T, H, counts, skipped)
            run_rounds(cases + (floor if H == 0.3 else []))
            for c in cases:
                res[c.key]["H"] = H
        fl = res
        floor_s = fl["floor_draw"]["seconds"] + min(fl["floor_fft_numpy"]["seconds"],
                                                    fl["floor_fft_scipy"]["seconds"] - fl["floor_copy"]["seconds"])
        floor_min = fl["floor_draw"]["min_s"] + min(fl["floor_fft_numpy"]["min_s"],
                                                    fl["floor_fft_scipy"]["min_s"] - fl["floor_copy"]["min_s"])
        res["floor_fbm"] = dict(seconds=floor_s, min_s=floor_min, rate=n / floor_s, rate_best=n / floor_min)
        print(f"\n(1) fBM: {n:,} trajectories x T = {T} (unit steps); trajectories/s; "
              f"exponent = MSD fit over t = 2..{LAGS[-1]} (expected 2H)")
        hdr = (f"{'H':>4}  {'method':<34}{'time s':>9}{'(min)':>8}{'traj/s':>10}{'simdiff x':>11}"
               f"{'/ floor':>9}{'exponent':>10}")
        print(hdr)
        print("-" * len(hdr))
        for H in (0.3, 0.7):
            sd = res[f"simdiff_{H}"]
            peers = []
            for pre in ("simdiff", "numpy_dh", "numpy_dhb", "stochastic", "andi", "fbmpkg"):
                k = f"{pre}_{H}"
                if k not in res:
                    continue
                r = res[k]
                r["simdiff_x"] = sd["rate"] / r["rate"]
                r["vs_floor"] = res["floor_fbm"]["seconds"] / r["seconds"] * (n / r["count"])
                if pre in ("stochastic", "andi", "fbmpkg"):
                    peers.append(k)
                print(f"{H:>4.1f}  {r['label']:<34}{r['seconds']:>9.3f}{r['min_s']:>8.3f}{fmt_rate(r['rate']):>10}"
                      f"{fmt_ratio(r['simdiff_x']) if pre != 'simdiff' else '1':>11}"
                      f"{r['seconds'] / r['count'] * n / floor_s:>8.2f}x{r['exponent']:>10.3f}")
            best = max(peers, key=lambda k: res[k]["rate"]) if peers else None
            best_min = max(peers, key=lambda k: res[k]["rate_best"]) if peers else None
            goals[f"fbm_{H}"] = g = dict(
                fastest_peer=res[best]["label"] if best else None,
                vs_fastest_peer=sd["rate"] / res[best]["rate"] if best else None,
                vs_fastest_peer_best=sd["rate_best"] / res[best_min]["rate_best"] if best else None,
                over_floor=sd["seconds"] / floor_s, over_floor_best=sd["min_s"] / floor_min,
                exponent=sd["exponent"], exponent_ok=abs(sd["exponent"] - 2 * H) < 0.05)
        for k in ("floor_draw", "floor_fft_numpy", "floor_fft_scipy", "floor_copy"):
            r = res[k]
            print(f"{'':>4}  {r['label']:<34}{r['seconds']:>9.3f}{r['min_s']:>8.3f}")
        print(f"{'':>4}  {'floor = normals + faster FFT':<34}{floor_s:>9.3f}{floor_min:>8.3f}"
              f"{fmt_rate(n / floor_s):>10}{'':>11}{1:>8.2f}x")
        for H in (0.3, 0.7):
            g = goals[f"fbm_{H}"]
            if g["fastest_peer"] is None:
                print(f"goal H={H}: no peer importable")
                continue
            print(f"goal H={H} (>= 3x the fastest peer, <= 1.5x the floor): {g['vs_fastest_peer']:.2f}x "
                  f"{g['fastest_peer']} {ok(g['vs_fastest_peer'] >= 3)} (fastest rounds "
                  f"{g['vs_fastest_peer_best']:.2f}x), {g['over_floor']:.2f}x the floor "
                  f"{ok(g['over_floor'] <= 1.5)} (fastest rounds {g['over_floor_best']:.2f}x); exponent "
                  f"{g['exponent']:.3f} vs {2 * H:g} {'OK' if g['exponent_ok'] else 'OFF'}")

    # ---- (2) renewal -----------------------------------------------------------------------
    if "renewal" not in skip:
        cases = setup_renewal_cases(n, T, counts, skipped)
        run_rounds(cases)
        print(f"\n(2) renewal models: {n:,} trajectories x T = {T}; trajectories/s; exponent = MSD fit "
              f"over t = 2..{LAGS[-1]}")
        hdr = f"{'model':<11}{'alpha':>6}  {'method':<24}{'time s':>9}{'(min)':>8}{'traj/s':>10}{'simdiff x':>11}{'exponent':>10}"
        print(hdr)
        print("-" * len(hdr))
        need = {"ctrw": 5, "lw": 10, "attm": 10}
        for key, name, alpha in RENEWAL:
            sd = res[f"simdiff_{key}"]
            for k in (f"simdiff_{key}", f"andi_{key}"):
                if k not in res:
                    continue
                r = res[k]
                r["simdiff_x"] = sd["rate"] / r["rate"]
                print(f"{name:<11}{alpha:>6g}  {r['label']:<24}{r['seconds']:>9.3f}{r['min_s']:>8.3f}"
                      f"{fmt_rate(r['rate']):>10}{fmt_ratio(r['simdiff_x']) if k.startswith('andi') else '1':>11}"
                      f"{r['exponent']:>10.3f}")
            if f"andi_{key}" in res:
                ar = res[f"andi_{key}"]
                goals[key] = dict(need=need[key], vs_andi=ar["simdiff_x"],
                                  vs_andi_best=sd["rate_best"] / ar["rate_best"], exponent=sd["exponent"])
        for key, name, _ in RENEWAL:
            if key in goals:
                g = goals[key]
                print(f"goal {name} (>= {g['need']}x andi-datasets): {g['vs_andi']:.1f}x {ok(g['vs_andi'] >= g['need'])}"
                      f" (fastest rounds {g['vs_andi_best']:.1f}x)")
        print("(andi-datasets' Levy walk draws its speed uniformly in [0, 10) per trajectory, ATTM's sigma at "
              "random per trajectory; CTRW and ATTM approach alpha only for t >> 1)")

    # ---- (3) harmonic trap -----------------------------------------------------------------
    if "trap" not in skip:
        dt = 1e-3
        cases = setup_trap(a.particles, a.steps, dt)
        sim_walls = []
        # the simdiff case records its own wall_time per call
        orig = cases[0].time_once

        def time_sim():
            orig()
            sim_walls.append(cases[0].info["wall"])
        cases[0].time_once = time_sim
        run_rounds(cases)
        res["trap_simdiff"]["stats_wall_time"] = sim_walls
        theta, sig2 = K_TRAP / GAMMA, 2.0 * KT / GAMMA
        v_em = em_var(theta, sig2, dt, a.steps)
        print(f"\n(3) harmonic trap k = {K_TRAP:g}, kT = {KT:g}, gamma = {GAMMA:g}: {a.particles:,} particles x "
              f"{a.steps:,} Euler-Maruyama steps, dt = {dt:g}; particle-steps/s; var vs EM's exact {v_em:.5f}")
        hdr = f"{'method':<26}{'time s':>9}{'(min)':>8}{'p-steps/s':>11}{'vs numpy':>10}{'var':>10}{'z(EM)':>8}"
        print(hdr)
        print("-" * len(hdr))
        npr = res["trap_numpy"]
        for c in cases:
            r = res[c.key]
            r["vs_numpy"] = r["rate"] / npr["rate"]
            var = z = None
            if c.key != "trap_floor":
                var = float(np.var(c.out))
                z = (var - v_em) / (v_em * math.sqrt(2.0 / a.particles))
                r.update(var=var, var_em=v_em, var_z=z)
            print(f"{r['label']:<26}{r['seconds']:>9.3f}{r['min_s']:>8.3f}{fmt_rate(r['rate']):>11}"
                  f"{fmt_ratio(r['vs_numpy']):>10}{(f'{var:.5f}' if var is not None else '-'):>10}"
                  f"{(f'{z:+.1f}' if z is not None else '-'):>8}")
        sr = res["trap_simdiff"]
        inner = statistics.median(sim_walls)
        print(f"simdiff stats.wall_time (the solve alone) median {inner:.3f} s: "
              f"{sr['seconds'] - inner:.3f} s of each call is set-up and output outside it; first call "
              f"{sr['first_call_s']:.3f} s (compile or cache load)")
        goals["trap"] = dict(vs_numpy=sr["vs_numpy"], vs_numpy_best=npr["min_s"] / sr["min_s"])
        print(f"goal trap (>= 1.2x numpy): {sr['vs_numpy']:.2f}x {ok(sr['vs_numpy'] >= 1.2)} "
              f"(fastest rounds {goals['trap']['vs_numpy_best']:.2f}x)")

    for k, why in skipped.items():
        print(f"skipped {k}: {why}")
    noisy = [f"{c.label} [{c.key}]" for c in all_cases if c.times and max(c.times) > 1.3 * min(c.times)]
    if noisy:
        print(f"WARNING: repeats spread by more than 30% for {len(noisy)} of {len(all_cases)} rows "
              f"({', '.join(noisy)}): the machine was busy (load average before: {load0}); the medians "
              f"are unreliable, rerun or read the fastest rounds")
    total = time.perf_counter() - wall0
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"total benchmark time: {total:.1f} s")
    out = {"info": info,
           "config": {"n": n, "T": T, "particles": a.particles, "steps": a.steps, "repeats": R, "counts": counts,
                      "fit_lags": [int(LAGS[0]), int(LAGS[-1])]},
           "results": res, "goals": goals, "skipped": skipped, "noisy": noisy, "total_s": total}
    Path(a.json).write_text(json.dumps(out, indent=2, default=float) + "\n")
    print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
