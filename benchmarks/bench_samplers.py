"""Diffusion samplers on an exact score: simdiff against diffusers' schedulers, accuracy vs NFE.

Data: Gaussian mixtures whose score is known in closed form at every noise level (a 2-D one and a
``--dim``-D one, ``--modes`` components each, ``GaussianMixture.random(seed=0)``), so the only error
left is the sampler's. Every sampler draws ``--n`` samples; quality is the per-mode W2 of
``simdiff.generative.mode_w2`` (samples against the mixture's parameters) and the total-variation
error of the mode weights, at 10, 20, 50 and 100 network evaluations (NFE, ``--nfe``), and at 1000
(``--long-nfe``) for every sampler on the chain and two on the VP SDE.

Rows:

(a) every simdiff sampler (``samplers()``) through ``sample(model, sde, shape, method=, steps=NFE)``
    on the DDPM chain ``DDPMChain(1000, "linear")`` and, separately, on ``VPSDE()``, at its default
    time grid; ``ode_adaptive`` (dopri5 on the flow ODE) at a few tolerances, with its own NFE;
(b) diffusers (if importable; else these rows are skipped with a note) on the same chain (betas
    linspace 1e-4..0.02, 1000 steps): ``DDIMScheduler`` (``clip_sample=False``; the default
    "leading" timesteps, and "trailing"), ``DPMSolverMultistepScheduler`` (dpmsolver++, order 2,
    with and without Karras sigmas), ``UniPCMultistepScheduler`` and ``EulerDiscreteScheduler``,
    defaults otherwise. The model is the same exact mixture as an epsilon prediction at the noise
    level each scheduler itself uses: ``alphas_cumprod[t]`` for DDIM, ``scheduler.sigmas[i]`` (VE
    sigma, alpha = 1/sqrt(1+sigma^2)) for the others, whose Karras / fractional timesteps are not
    table entries; for Euler the input is ``scale_model_input(x)``. One more row evaluates the
    Karras run's model at the rounded integer timestep, as a trained network would see it;
(c) a grid-spacing sweep (``spacing=`` "time", "quadratic", "log_snr", "karras") for dpmpp_2m,
    dpmpp_3m, heun, sde_dpmpp_2m and sde_dpmpp_3m on both forward processes (``--no-sweep``: none);
(d) an equivalence check: simdiff's ddim and dpmpp_2m solved (``simdiff.solve`` with ``grid=``) on
    exactly diffusers' timestep grid (times (k+1)/1000 for diffusers' timestep k, then 0; Karras
    and EulerDiscrete sigmas mapped to the chain times with the same sigma) from the same x_T; the
    max abs difference of the final samples, against the float32 roundoff of simdiff's own run.

All runs share one initial noise x_T (scaled to each process's prior), so deterministic samplers
differ only by their own error. The exact score is a closed-form posterior mean written here for
speed (the same formula as ``GaussianMixture.model``, checked against it at start-up, about 3x
faster); every row, simdiff's and diffusers', calls the same function. Wall time per sample is the
whole sampling call / samples, with the model's share measured apart (one thread). The Monte-Carlo
floor is the same metric on true samples: against the parameters (what a perfect sampler scores
in the tables) and, as in ``mode_w2``'s docs, true samples against a second true set. The script
also counts the model calls of ``sample(steps=N)`` and says so if they are not N. Results go to
``benchmarks/bench_samplers.json``.

Run:  .venv/bin/python benchmarks/bench_samplers.py            (about 8-10 minutes)
      .venv/bin/python benchmarks/bench_samplers.py --quick    (5,000 samples, NFE 10/20/50, ~1 min)
"""
from __future__ import annotations

import os

# Single thread everywhere; must be set before numpy/torch load.
for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

import simdiff
from simdiff.generative import DDPMChain, Denoiser, GaussianMixture, VPSDE, mode_w2, sample, samplers
from simdiff.generative.sde import DiffusionSDE

HERE = Path(__file__).resolve().parent
from _common import diffusers_version as _diffusers_version, source_state as _source_state, torch_run_info  # noqa: E402
SPACINGS = ("time", "quadratic", "log_snr", "karras")
# the samplers of the spacing sweep (those of them that samplers() lists)
SWEEP = ("dpmpp_2m", "dpmpp_3m", "heun", "sde_dpmpp_2m", "sde_dpmpp_3m")
# the first-order stochastic baselines the new stochastic samplers are measured against
BASELINES = ("euler_maruyama", "ddpm")
# the samplers that also run at the largest NFE (1000): all on the chain (where 1000 is every step
# of the chain, so every spacing gives the same grid), two on the VP SDE. diffusers' DDIM at 1000
# steps runs on the same 1000 times as simdiff's ddim on the chain.
LONG = {"chain": ("ddpm", "ddim", "euler_maruyama", "pc", "heun", "dpmpp_2m", "dpmpp_3m", "sde_dpmpp_2m",
                  "sde_dpmpp_3m"),
        "vp": ("euler_maruyama", "sde_dpmpp_2m"),
        "diffusers": ()}
ADAPTIVE_TOL = (1e-2, 1e-3, 1e-4)


# ----------------------------------------------------------------------------------------------
# The exact model

class ExactMixture:
    """Closed-form posterior mean :math:`E[x_0 | x_t]` of a Gaussian mixture at one noise level
    ``(alpha, sigma)`` for the whole batch (float64 inside, chunked for the cache); the same formula
    as ``GaussianMixture.model`` but with the per-level constants computed once per call."""

    def __init__(self, mix: GaussianMixture, chunk: int = 1024):
        K, d = mix.means.shape
        f = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float64)  # noqa: E731
        U = f(mix.eigvecs)                                   # Sigma_k = U_k diag(lam_k) U_k^T
        self.K, self.d, self.chunk = K, d, chunk
        self.mu, self.lam, self.logw = f(mix.means), f(mix.eigvals), f(np.log(mix.weights))
        self.Ucat = U.permute(1, 0, 2).reshape(d, K * d).contiguous()      # x @ Ucat: projections
        self.UcatT = self.Ucat.T.contiguous()
        self.muU = torch.einsum("kd,kde->ke", self.mu, U).reshape(1, -1)
        self.calls, self.seconds = 0, 0.0

    def x0(self, x: torch.Tensor, a: float, s: float) -> torch.Tensor:
        t0 = time.perf_counter()
        n = x.shape[0]
        xd = x.reshape(n, -1).double()
        var = a * a * self.lam + s * s                                      # (K, d)
        iv = 1.0 / var
        c0 = self.logw - 0.5 * torch.log(var).sum(-1)
        coef = a * self.lam * iv
        out = torch.empty_like(xd)
        for i in range(0, n, self.chunk):
            xs = xd[i:i + self.chunk]
            m = xs.shape[0]
            p = torch.addmm(self.muU, xs, self.Ucat, alpha=1.0, beta=-a).view(m, self.K, self.d)
            r = torch.softmax(c0 - 0.5 * (p * p * iv).sum(-1), 1)          # responsibilities (m, K)
            q = p.mul_(coef).mul_(r[:, :, None]).reshape(m, -1)
            torch.addmm(r @ self.mu, q, self.UcatT, out=out[i:i + self.chunk])
        self.calls += 1
        self.seconds += time.perf_counter() - t0
        return out.to(x.dtype).reshape(x.shape)

    def eps(self, x: torch.Tensor, sigma_ve: float) -> torch.Tensor:
        """Epsilon prediction for the VP-scaled input ``x`` at VE noise ``sigma_ve`` (sigma/alpha)."""
        sv = float(sigma_ve)
        a = 1.0 / math.sqrt(1.0 + sv * sv)
        s = sv * a
        x0 = self.x0(x, a, s)
        return ((x.double() - a * x0.double()) / s).to(x.dtype)

    def model(self, sde: DiffusionSDE):
        """``model(x, t) -> x0`` for simdiff (all samples of a call share one time)."""
        def f(x, t):
            tt = float(t.reshape(-1)[0])
            a, s = sde.alpha_sigma(tt)
            return self.x0(x, a, s)

        f.prediction = "x0"
        return f

    def reset(self):
        self.calls, self.seconds = 0, 0.0


def check_exact(mix, ex, sde):
    """Max abs difference between this model and the library's ``GaussianMixture.model``."""
    ref = mix.model(sde, "x0")
    x = torch.as_tensor(mix.sample(2000, seed=7), dtype=torch.float64)
    worst = 0.0
    for t in (sde.t_min, 0.01, 0.1, 0.5, 1.0):
        a, s = sde.alpha_sigma(t)
        xt = a * x + s * torch.randn(x.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
        y0 = ref(xt, torch.full((len(xt),), t, dtype=torch.float64))
        worst = max(worst, float((y0 - ex.x0(xt, a, s)).abs().max()))
    ex.reset()
    return worst


# ----------------------------------------------------------------------------------------------
# Problems and one run

class Problem:
    def __init__(self, dim, modes, n, seed=0, dtype=torch.float32):
        self.dim, self.modes, self.n, self.dtype = dim, modes, n, dtype
        self.mix = GaussianMixture.random(dim=dim, modes=modes, seed=seed)
        self.ex = ExactMixture(self.mix)
        self.z = torch.randn((n, dim), generator=torch.Generator().manual_seed(1234), dtype=torch.float64)
        true = [self.mix.sample(n, seed=100 + i) for i in range(4)]
        vs_par = [mode_w2(x, self.mix) for x in true]
        self.floor = float(np.mean([r["w2"] for r in vs_par]))
        self.floor_sd = float(np.std([r["w2"] for r in vs_par], ddof=1))
        self.floor_tv = float(np.mean([r["weight_tv"] for r in vs_par]))
        pair = mode_w2(true[0], self.mix, true[1])
        self.floor2, self.floor2_tv = pair["w2"], pair["weight_tv"]
        self.name = f"{dim}-D, {modes} modes, {n:,} samples"

    def score(self, x):
        if not torch.isfinite(x).all():
            return math.inf, 1.0
        r = mode_w2(x, self.mix)
        return r["w2"], r["weight_tv"]


def _result(pb, x, wall, nfe_req, **extra):
    w2, tv = pb.score(x)
    ex = pb.ex
    return dict(w2=w2, tv=tv, nfe=ex.calls, nfe_requested=nfe_req, wall_s=wall, model_s=ex.seconds,
                us_per_sample=wall / pb.n * 1e6, sampler_ms_per_step=(wall - ex.seconds) / max(ex.calls, 1) * 1e3,
                **extra)


#: sampler -> model calls ``sample(steps=N)`` makes beyond N (measured by :func:`nfe_audit`)
AUDIT: dict = {}


def run_simdiff(pb, sde, method, nfe, spacing=None, seed=0, **kw):
    pb.ex.reset()
    x_T = (sde.prior_std * pb.z).to(pb.dtype)
    t0 = time.perf_counter()
    x = sample(pb.ex.model(sde), sde, (pb.n, pb.dim), method=method, steps=nfe, seed=seed, spacing=spacing,
               x_T=x_T, prediction="x0", dtype=pb.dtype, **kw)
    wall = time.perf_counter() - t0
    return _result(pb, x, wall, nfe, expected_extra=AUDIT.get(method, 0)), x


def nfe_audit():
    """Model calls of ``sample(steps=N)`` minus N, per sampler, for N = 3..6 on a tiny batch (one
    number per sampler when it does not depend on N)."""
    mix = GaussianMixture.random(dim=2, modes=2, seed=0)
    ex = ExactMixture(mix)
    out = {}
    for sde in (DDPMChain(1000, "linear"), VPSDE()):
        for m in samplers():
            if m == "ode_adaptive":
                continue
            extra = set()
            for n in range(3, 7):
                ex.reset()
                sample(ex.model(sde), sde, (8, 2), method=m, steps=n, seed=0, prediction="x0")
                extra.add(ex.calls - n)
            e = extra.pop() if len(extra) == 1 else sorted(extra)
            out[m] = e if out.get(m, e) == e else [out[m], e]
    return out


# -- diffusers ----------------------------------------------------------------------------------

def diffusers_version():
    return _diffusers_version()


DIFFUSERS = {
    # key: (label, class name, config overrides, model noise level: "table" | "sigmas" | "rounded")
    "ddim": ("DDIM (leading)", "DDIMScheduler", dict(clip_sample=False), "table"),
    "ddim_trailing": ("DDIM (trailing)", "DDIMScheduler", dict(clip_sample=False, timestep_spacing="trailing"),
                      "table"),
    "dpmpp_2m": ("DPM-Solver++ 2M", "DPMSolverMultistepScheduler",
                 dict(algorithm_type="dpmsolver++", solver_order=2), "sigmas"),
    "dpmpp_2m_karras": ("DPM-Solver++ 2M Karras", "DPMSolverMultistepScheduler",
                        dict(algorithm_type="dpmsolver++", solver_order=2, use_karras_sigmas=True), "sigmas"),
    "dpmpp_2m_karras_int": ("DPM-Solver++ 2M Karras, model at rounded t", "DPMSolverMultistepScheduler",
                            dict(algorithm_type="dpmsolver++", solver_order=2, use_karras_sigmas=True), "rounded"),
    "unipc": ("UniPC (bh2, order 2)", "UniPCMultistepScheduler", dict(), "sigmas"),
    "euler": ("Euler (EulerDiscrete)", "EulerDiscreteScheduler", dict(), "sigmas"),
}


def make_scheduler(key, nfe):
    import diffusers

    _, cls, cfg, _ = DIFFUSERS[key]
    s = getattr(diffusers, cls)(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02, beta_schedule="linear",
                                prediction_type="epsilon", **cfg)
    s.set_timesteps(nfe)
    return s


def _table_sigma(s, t):
    ab = float(s.alphas_cumprod[int(t)])
    return math.sqrt((1.0 - ab) / ab)


def run_diffusers(pb, key, nfe, dtype=None, x_T=None):
    """One diffusers sampling loop; returns (result, samples, scheduler)."""
    dtype = dtype or pb.dtype
    s = make_scheduler(key, nfe)
    level = DIFFUSERS[key][3]
    pb.ex.reset()
    t0 = time.perf_counter()
    x = (pb.z if x_T is None else x_T).to(dtype) * float(s.init_noise_sigma)
    with torch.no_grad():
        for i, t in enumerate(s.timesteps):
            if level == "table" or level == "rounded":
                sv = _table_sigma(s, t)
            else:
                sv = float(s.sigmas[i])
            inp = s.scale_model_input(x, t)
            x = s.step(pb.ex.eps(inp, sv), t, x).prev_sample
    wall = time.perf_counter() - t0
    return _result(pb, x, wall, nfe), x, s


# -- simdiff on diffusers' grid -------------------------------------------------------------------

def chain_time_of_sigma(chain, sigma_ve):
    """Chain time whose sigma/alpha equals ``sigma_ve`` (bisection on the chain's own interpolation)."""
    lam = -np.log(np.asarray(sigma_ve, dtype=float))
    return DiffusionSDE.t_of_log_snr(chain, lam)


def diffusers_grid(s, chain, key):
    """simdiff times of a diffusers run: (k+1)/1000 for integer timesteps k whose noise level is the
    table's; the chain time of the scheduler's own sigma otherwise (Karras, EulerDiscrete)."""
    fractional = DIFFUSERS[key][2].get("use_karras_sigmas") or key == "euler"
    if DIFFUSERS[key][3] == "table" or not fractional:
        ts = (s.timesteps.numpy().astype(np.float64) + 1.0) / 1000.0
    else:
        ts = chain_time_of_sigma(chain, s.sigmas[:-1].double().numpy())
    return np.concatenate([ts, [0.0]])


def run_simdiff_grid(pb, chain, method, grid, x_T):
    den = Denoiser(pb.ex.model(chain), chain, "x0")
    prob = chain.probability_flow(den)
    with torch.no_grad():
        sol = simdiff.solve(prob, x_T, (float(grid[0]), float(grid[-1])), grid=grid, method=method)
    return sol.y[-1]


# ----------------------------------------------------------------------------------------------
# Formatting

def f_w2(x):
    return "inf" if not math.isfinite(x) else (f"{x:.4f}" if x < 10 else f"{x:.3g}")


def cell(r):
    if r is None:
        return "–"
    c = f"{f_w2(r['w2'])} / {r['tv']:.3f}"
    if r["nfe"] - r["nfe_requested"] != r.get("expected_extra", 0):
        c += f" (NFE {r['nfe']}!)"
    return c


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def label_of(group, name, spacing=None):
    if group == "diffusers":
        return f"diffusers {DIFFUSERS[name][0]}"
    return f"{name} ({spacing})" if spacing else name


# ----------------------------------------------------------------------------------------------

def bench_problem(pb, nfes, long_nfe, have_diffusers, sweep=True, log=print):
    chain, vp = DDPMChain(1000, "linear"), VPSDE()
    sdes = {"chain": chain, "vp": vp}
    res = {"chain": {}, "vp": {}, "diffusers": {}, "sweep": {"chain": {}, "vp": {}}, "adaptive": {}}
    from simdiff.generative.samplers import SAMPLERS

    names = [m for m in samplers() if m != "ode_adaptive"]
    for g, sde in sdes.items():
        for m in names:
            sp = SAMPLERS[m][1]
            res[g][m] = {"spacing": sp, "runs": {}}
            for nfe in nfes + ([long_nfe] if long_nfe and m in LONG[g] else []):
                r, _ = run_simdiff(pb, sde, m, nfe)
                res[g][m]["runs"][nfe] = r
            log(f"  {g:<6} {m:<15} " + "  ".join(f"{k}:{f_w2(v['w2'])}" for k, v in res[g][m]["runs"].items()))
        res["adaptive"][g] = {}
        for tol in ADAPTIVE_TOL:
            r, _ = run_simdiff(pb, sde, "ode_adaptive", 1, rtol=tol, atol=tol)
            r["nfe_requested"] = r["nfe"]
            res["adaptive"][g][tol] = r
        log(f"  {g:<6} ode_adaptive    " + "  ".join(f"{k:g}:{f_w2(v['w2'])}@{v['nfe']}"
                                                   for k, v in res["adaptive"][g].items()))
        if sweep:
            for m in [m for m in SWEEP if m in names]:
                for sp in SPACINGS:
                    if sp == SAMPLERS[m][1]:
                        res["sweep"][g][(m, sp)] = res[g][m]["runs"]      # already run at the default
                        continue
                    res["sweep"][g][(m, sp)] = {nfe: run_simdiff(pb, sde, m, nfe, spacing=sp)[0] for nfe in nfes}
                log(f"  {g:<6} sweep {m:<15} done")
    if have_diffusers:
        for key in DIFFUSERS:
            res["diffusers"][key] = {"runs": {}}
            for nfe in nfes + ([long_nfe] if long_nfe and key in LONG["diffusers"] else []):
                res["diffusers"][key]["runs"][nfe] = run_diffusers(pb, key, nfe)[0]
            log(f"  diffusers {key:<20} " + "  ".join(f"{k}:{f_w2(v['w2'])}"
                                                       for k, v in res["diffusers"][key]["runs"].items()))
    return res


def equivalence(pb, nfes):
    """simdiff ddim / dpmpp_2m on diffusers' grids from the same x_T, float64."""
    chain = DDPMChain(1000, "linear")
    out = {}
    # EulerDiscrete is DDIM in (sigma/alpha, x/alpha): a check of the wrapper of its scaled input
    pairs = (("ddim", "ddim"), ("ddim_trailing", "ddim"), ("dpmpp_2m", "dpmpp_2m"), ("dpmpp_2m_karras", "dpmpp_2m"),
             ("euler", "ddim"))
    for key, method in pairs:
        for nfe in nfes:
            r_d, x_d, s = run_diffusers(pb, key, nfe, dtype=torch.float64)
            grid = diffusers_grid(s, chain, key)
            # diffusers' x_T is z * init_noise_sigma in its own variable: for EulerDiscrete that is
            # x/alpha, and its init_noise_sigma is sigma_max (not sqrt(sigma_max^2 + 1))
            f = float(s.init_noise_sigma) / math.sqrt(1.0 + float(s.sigmas[0]) ** 2) if key == "euler" else 1.0
            pb.ex.reset()
            x_s = run_simdiff_grid(pb, chain, method, grid, f * pb.z)
            w2_s, _ = pb.score(x_s)
            # the same comparison in float32 (the precision of the tables)
            _, x_d32, _ = run_diffusers(pb, key, nfe, dtype=torch.float32)
            x_s32 = run_simdiff_grid(pb, chain, method, grid, (f * pb.z).float())
            d32 = x_s32.double() - x_d32.double()
            out[(key, nfe)] = dict(method=method, grid_first=float(grid[0]), grid_last=float(grid[-2]),
                                   max_abs=float((x_s - x_d).abs().max()), max_abs_f32=float(d32.abs().max()),
                                   rms_f32=float(d32.pow(2).mean().sqrt()),
                                   roundoff=float((x_s32.double() - x_s).abs().max()),
                                   w2_diffusers=r_d["w2"], w2_simdiff=w2_s)
    return out


def report(pb, res, eq, nfes, long_nfe, have_diffusers, diff_note, out_lines):
    def p(s=""):
        print(s)
        out_lines.append(s)

    cols = nfes + ([long_nfe] if long_nfe else [])
    hdr = ["sampler"] + [f"NFE {n}" for n in cols]
    p(f"### {pb.name}")
    p()
    p(f"Monte-Carlo floor (true samples, same metric): against the parameters {pb.floor:.4f} "
      f"(sd {pb.floor_sd:.4f} over 4 sets; weight TV {pb.floor_tv:.3f}); true against a second true set "
      f"`mode_w2(true1, mix, true2)` {pb.floor2:.4f} (weight TV {pb.floor2_tv:.3f}).")
    p()
    titles = {"chain": "simdiff on `DDPMChain(1000, 'linear')`", "vp": "simdiff on `VPSDE()`"}
    for g in ("chain", "vp"):
        p(f"{titles[g]}: per-mode W2 / weight TV (default spacing in brackets)")
        p()
        rows = [[label_of(g, m, v["spacing"])] + [cell(v["runs"].get(n)) for n in cols] for m, v in res[g].items()]
        p(md_table(hdr, rows))
        p()
    if have_diffusers:
        p("diffusers on the same chain, the same exact model as an epsilon prediction: per-mode W2 / weight TV")
        p()
        rows = [[DIFFUSERS[k][0]] + [cell(v["runs"].get(n)) for n in cols] for k, v in res["diffusers"].items()]
        p(md_table(hdr, rows))
        p()
    else:
        p(f"diffusers rows skipped: {diff_note}")
        p()
    p("`ode_adaptive` (dopri5 on the flow ODE from T to t_min, then one step to sigma = 0): "
      "W2 / weight TV at the NFE it took")
    p()
    rows = []
    for tol in ADAPTIVE_TOL:
        rows.append([f"rtol = atol = {tol:g}"] + [f"{cell(res['adaptive'][g][tol])} @ {res['adaptive'][g][tol]['nfe']}"
                                                  for g in ("chain", "vp")])
    p(md_table(["tolerance", "chain", "VPSDE"], rows))
    p()

    # -- ratio tables --------------------------------------------------------------------------
    p(f"W2 / floor ({pb.floor:.4f}), the main rows (1.0 = as good as exact samples):")
    p()
    rows = []
    for g in ("chain", "vp"):
        for m, v in res[g].items():
            rows.append([f"{m} ({'chain' if g == 'chain' else 'VP'})"]
                        + [f"{v['runs'][n]['w2'] / pb.floor:.2f}" if n in v["runs"] else "–" for n in cols])
    for k, v in res["diffusers"].items():
        rows.append([f"diffusers {DIFFUSERS[k][0]}"]
                    + [f"{v['runs'][n]['w2'] / pb.floor:.2f}" if n in v["runs"] else "–" for n in cols])
    p(md_table(hdr, rows))
    p()

    # -- time -----------------------------------------------------------------------------------
    ev = [r for g in ("chain", "vp") for v in res[g].values() for r in v["runs"].values()]
    per_eval = sum(r["model_s"] for r in ev) / sum(r["nfe"] for r in ev)
    p(f"Wall time per sample, µs (the whole sampling call / {pb.n:,}; the exact model takes "
      f"{per_eval * 1e3:.1f} ms per evaluation = {per_eval / pb.n * 1e6:.2f} µs per sample per NFE); last "
      f"column: the sampler's own time per step (wall minus model, ms per step for the whole batch, at the "
      f"largest NFE run)")
    p()
    rows = []
    groups = [("chain", res["chain"]), ("vp", res["vp"])] + ([("diffusers", res["diffusers"])] if have_diffusers else [])
    for g, d in groups:
        for m, v in d.items():
            lab = (f"diffusers {DIFFUSERS[m][0]}" if g == "diffusers" else f"{m} ({'chain' if g == 'chain' else 'VP'})")
            big = v["runs"][max(v["runs"])]
            rows.append([lab] + [f"{v['runs'][n]['us_per_sample']:.1f}" if n in v["runs"] else "–" for n in cols]
                        + [f"{big['sampler_ms_per_step']:.2f}"])
    p(md_table(hdr + ["sampler ms/step"], rows))
    p()

    # -- spacing sweep --------------------------------------------------------------------------
    if res["sweep"]["chain"]:
        tol = 2 * pb.floor_sd
        p(f"Grid spacing sweep: per-mode W2 (weight TV in the JSON); * = best of the four spacings at that NFE, "
          f"+ = within 2 sd of the floor's spread ({tol:.4f}) of the best")
        p()
        best_sp = {}
        sweep_names = list(dict.fromkeys(m for m, _ in res["sweep"]["chain"]))
        for g in ("chain", "vp"):
            sw = res["sweep"][g]
            rows = []
            for m in sweep_names:
                for sp in SPACINGS:
                    runs = sw[(m, sp)]
                    row = [f"{m} {sp} ({'chain' if g == 'chain' else 'VP'})"]
                    for n in nfes:
                        allw = {s2: sw[(m, s2)][n]["w2"] for s2 in SPACINGS}
                        b = min(allw, key=allw.get)
                        best_sp[(g, m, n)] = b
                        w = runs[n]["w2"]
                        mark = "*" if sp == b else ("+" if w - allw[b] <= tol else "")
                        row.append(f"{f_w2(w)}{mark}")
                    rows.append(row)
            p(md_table(["sampler, spacing"] + [f"NFE {n}" for n in nfes], rows))
            p()
        p("Best spacing per NFE:")
        p()
        rows = [[f"{m} ({'chain' if g == 'chain' else 'VP'})"] + [best_sp[(g, m, n)] for n in nfes]
                for g in ("chain", "vp") for m in sweep_names]
        p(md_table(["sampler"] + [f"NFE {n}" for n in nfes], rows))
        p()

    # -- goals -----------------------------------------------------------------------------------
    cand = {}
    for g in ("chain", "vp"):
        for m, v in res[g].items():
            for n, r in v["runs"].items():
                cand.setdefault(n, []).append((r["w2"], f"{m} ({v['spacing']}, {'chain' if g == 'chain' else 'VP'})"))
        for (m, sp), runs in res["sweep"][g].items():
            for n, r in runs.items():
                cand.setdefault(n, []).append((r["w2"], f"{m} ({sp}, {'chain' if g == 'chain' else 'VP'})"))
    from simdiff.generative.samplers import SAMPLERS

    new_sto = [m for m in res["chain"] if SAMPLERS[m][0] == "reverse" and m not in BASELINES]
    rows = []
    for n in cols:
        sb = min(cand.get(n, [(math.inf, "–")]))
        d2 = res["chain"].get("dpmpp_2m", {}).get("runs", {}).get(n)
        dv = [(v["runs"][n]["w2"], DIFFUSERS[k][0]) for k, v in res["diffusers"].items() if n in v["runs"]]
        db = min(dv) if dv else (math.inf, "–")
        em = res["chain"]["euler_maruyama"]["runs"].get(n)
        dd = res["chain"]["ddpm"]["runs"].get(n)
        st = min([(v["runs"][n]["w2"], f"{m} ({'chain' if g == 'chain' else 'VP'})")
                  for g in ("chain", "vp") for m, v in res[g].items()
                  if m in new_sto and n in v["runs"]] or [(math.inf, "–")])
        base = min([r["w2"] for r in (em, dd) if r] or [math.inf])
        rows.append([n, f"{f_w2(sb[0])} {sb[1]}", f_w2(d2["w2"]) if d2 else "–",
                     f"{f_w2(db[0])} {db[1]}" if dv else "–",
                     f"{sb[0] / db[0]:.2f}" if dv else "–",
                     f"{f_w2(st[0])} {st[1]}",
                     f_w2(em["w2"]) if em else "–", f_w2(dd["w2"]) if dd else "–",
                     f"{st[0] / base:.2f}" if math.isfinite(base) and math.isfinite(st[0]) else "–"])
    p(f"Goals: simdiff's best (over every sampler, spacing and process above) against diffusers' best, and the "
      f"best of the stochastic samplers {', '.join(new_sto)} against Euler–Maruyama and DDPM ancestral (chain, "
      f"default spacing). The floor is {pb.floor:.4f} (sd {pb.floor_sd:.4f}); a minimum over many rows is biased "
      f"low by about that spread")
    p()
    p(md_table(["NFE", "simdiff best", "dpmpp_2m (chain, default)", "diffusers best", "simdiff/diffusers",
                "best stochastic", "euler_maruyama", "ddpm", "stochastic/min(EM, DDPM)"], rows))
    p()
    if eq:
        p("Equivalence on diffusers' grid, same x_T: |x_simdiff - x_diffusers| over all samples and coordinates, "
          "with simdiff in float64 (diffusers' DPM-Solver and Euler steps compute in float32 whatever the input) "
          "and both in float32; 'roundoff' is simdiff float32 against simdiff float64 on the same grid, the "
          "size of a difference that float32 arithmetic alone makes (data scale about 1.5)")
        p()
        rows = []
        for (key, nfe), e in eq.items():
            rows.append([f"{e['method']} vs {DIFFUSERS[key][0]}", nfe, f"{e['grid_first']:.4f}..{e['grid_last']:.4f}",
                         f"{e['max_abs']:.1e}", f"{e['max_abs_f32']:.1e}", f"{e['rms_f32']:.1e}", f"{e['roundoff']:.1e}",
                         f_w2(e["w2_simdiff"]), f_w2(e["w2_diffusers"])])
        p(md_table(["pair", "NFE", "grid (t)", "max, f64", "max, f32", "rms, f32", "roundoff", "W2 simdiff",
                    "W2 diffusers"], rows))
        p()


def _jsonable(res):
    if isinstance(res, dict):
        return {(" ".join(map(str, k)) if isinstance(k, tuple) else str(k)): _jsonable(v) for k, v in res.items()}
    if isinstance(res, (list, tuple)):
        return [_jsonable(v) for v in res]
    if isinstance(res, float) and not math.isfinite(res):
        return str(res)
    return res


def source_state():
    """The commit and the state of the sources this benchmark exercises."""
    files = ("samplers.py", "sde.py", "denoiser.py", "problems.py", "parameterization.py", "mixture.py")
    return _source_state([f"simdiff/generative/{f}" for f in files] + ["simdiff/core/solve.py"])




def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20_000, help="samples per run")
    ap.add_argument("--dim", type=int, default=16, help="dimension of the second mixture (the first is 2-D)")
    ap.add_argument("--modes", type=int, default=8)
    ap.add_argument("--nfe", default="10,20,50,100", help="NFE columns for every row")
    ap.add_argument("--long-nfe", type=int, default=1000,
                    help="one more column for the samplers still converging (0: none)")
    ap.add_argument("--no-sweep", action="store_true", help="skip the grid-spacing sweep")
    ap.add_argument("--no-diffusers", action="store_true")
    ap.add_argument("--quick", action="store_true", help="5,000 samples, NFE 10/20/50, no 1000 column")
    ap.add_argument("--json", default=str(HERE / "bench_samplers.json"))
    a = ap.parse_args(argv)
    if a.quick:
        a.n, a.nfe, a.long_nfe = min(a.n, 5000), "10,20,50", 0
    nfes = [int(s) for s in a.nfe.split(",") if s.strip()]
    if max(nfes + [a.long_nfe]) > 1000:
        ap.error("NFE above 1000: the DDPM chain has 1000 steps, so a sampler on it has at most 1000 times")
    torch.set_num_threads(1)

    dver, dnote = (None, "--no-diffusers") if a.no_diffusers else diffusers_version()
    have = dver is not None
    info = torch_run_info(dver, source_state())
    print(f"machine: {info['cpu']}, {info['cores']} cores | python {info['python']} torch {info['torch']} "
          f"diffusers {dver or 'not importable'} simdiff {info['simdiff']} | 1 thread | load average "
          f"{info['loadavg_before']}")
    src = info["source"]
    print(f"simdiff at {src['commit']}{' with local changes to the sampler sources' if src['sources_dirty'] else ''} "
          f"(sampler sources {src['sources_sha1']})")
    if not have:
        print(f"diffusers rows skipped: {dnote}")
    wall0 = time.perf_counter()
    AUDIT.update(nfe_audit())
    if any(AUDIT.values()):
        print(f"NOTE: simdiff's sample(steps=N) calls the model more than N times: extra calls per sampler "
              f"{AUDIT} (the tables count N, the times include them)")
    lines = []
    allres = {}
    for dim in (2, a.dim):
        pb = Problem(dim, a.modes, a.n)
        dev = check_exact(pb.mix, pb.ex, DDPMChain(1000, "linear"))
        print(f"\n== {pb.name}: floor {pb.floor:.4f}; benchmark model vs GaussianMixture.model: max abs diff "
              f"{dev:.1e}")
        t0 = time.perf_counter()
        res = bench_problem(pb, nfes, a.long_nfe, have, sweep=not a.no_sweep)
        eq = equivalence(pb, [n for n in nfes if n <= 50]) if have else {}
        print(f"  ({time.perf_counter() - t0:.0f} s)\n")
        report(pb, res, eq, nfes, a.long_nfe, have, dnote, lines)
        allres[pb.name] = {"floor": pb.floor, "floor_sd": pb.floor_sd, "floor_tv": pb.floor_tv,
                           "floor_true_vs_true": pb.floor2, "model_check_max_abs": dev,
                           "results": res, "equivalence": eq}
    total = time.perf_counter() - wall0
    print(f"total benchmark time: {total:.0f} s")
    end = source_state()["sources_sha1"]
    info["sources_sha1_end"] = end
    if end != src["sources_sha1"]:
        print(f"WARNING: simdiff's sampler sources changed during the run ({src['sources_sha1']} -> {end}): "
              f"rows run before and after the change are not comparable; rerun.")
    Path(a.json).write_text(json.dumps(_jsonable({"info": info, "config": vars(a), "nfe_audit": AUDIT,
                                                  "problems": allres,
                                                  "total_s": total}), indent=1) + "\n")
    print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
