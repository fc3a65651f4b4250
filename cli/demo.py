r"""``simdiff demo``: a short real job that checks itself against closed forms.

Two ensembles through :func:`simdiff.solve`, keeping per-frame moments (``save_fn``) instead of
the states:

* Ornstein-Uhlenbeck :math:`dX = -\theta X\,dt + \sigma\,dW`, Euler-Maruyama on the compiled path
  (numba drift kernel, constant diffusion):
  :math:`E X_t = x_0 e^{-\theta t}`, :math:`\mathrm{Var}\,X_t = \sigma^2 (1 - e^{-2\theta t}) / (2\theta)`.
* Geometric Brownian motion :math:`dX = \mu X\,dt + \sigma X\,dW`, Milstein (multiplicative noise):
  :math:`E X_t = x_0 e^{\mu t}`, :math:`\mathrm{Var}\,X_t = x_0^2 e^{2\mu t}(e^{\sigma^2 t} - 1)`.

Deviations are measured against the sampling error: the standard error of a mean is
:math:`\sqrt{v/n}`, that of a variance :math:`\sqrt{(m_4 - v^2)/n}` (:math:`m_4` the fourth
central moment); a deviation fails beyond 6 standard errors plus 1% of the curve's peak (room for
the methods' O(dt) bias, which shows once ``--n`` is large enough to resolve it).
"""
from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import click
import numpy as np

from simdiff_cli.errors import CommandError

OU = {"theta": 1.0, "sigma": 1.0, "x0": 2.0, "t_span": [0.0, 5.0], "dt": 1e-3, "save_at": 51,
      "method": "euler_maruyama"}
GBM = {"mu": 1.0, "sigma": 0.5, "x0": 1.0, "t_span": [0.0, 1.0], "dt": 1e-3, "save_at": 51,
       "method": "milstein"}
# A point fails when |simulated - exact| > Z_FAIL standard errors + REL_BIAS * the curve's peak.
# REL_BIAS allows for the O(dt) bias of these weak-order-1 methods, which only sampling error hides
# at moderate n: at dt = 1e-3 it is 0.05% for OU's variance (sigma^2 / (2 theta - theta^2 dt)) and
# about 0.3% for GBM's variance under Milstein (-(mu^2 + 2 mu sigma^2) dt T in E X^2).
Z_FAIL = 6.0
REL_BIAS = 0.01


def moments(t: float, y: np.ndarray) -> np.ndarray:
    """Per-frame statistic: mean, variance and fourth central moment of the ensemble."""
    m = float(np.mean(y))
    d2 = (y - m) ** 2
    return np.array([m, float(np.mean(d2)), float(np.mean(d2 * d2))])


def ou_exact(t: np.ndarray, theta: float, sigma: float, x0: float) -> tuple[np.ndarray, np.ndarray]:
    return x0 * np.exp(-theta * t), sigma**2 * (1.0 - np.exp(-2.0 * theta * t)) / (2.0 * theta)


def gbm_exact(t: np.ndarray, mu: float, sigma: float, x0: float) -> tuple[np.ndarray, np.ndarray]:
    return x0 * np.exp(mu * t), x0**2 * np.exp(2.0 * mu * t) * np.expm1(sigma**2 * t)


def compare(sol, exact_mean: np.ndarray, exact_var: np.ndarray, n: int) -> dict:
    """Simulated vs exact moments: relative deviations (to each curve's peak) and z-scores."""
    mean, var, m4 = sol.y[:, 0], sol.y[:, 1], sol.y[:, 2]
    se_mean = np.sqrt(var / n)
    se_var = np.sqrt(np.maximum(m4 - var**2, 0.0) / n)
    out = {"t": np.asarray(sol.t), "mean": mean, "var": var, "exact_mean": exact_mean,
           "exact_var": exact_var, "se_mean": se_mean, "se_var": se_var}
    rel, z, ok = 0.0, 0.0, True
    for sim, exact, se in ((mean, exact_mean, se_mean), (var, exact_var, se_var)):
        dev = np.abs(sim - exact)
        peak = float(np.abs(exact).max())
        rel = max(rel, float(dev.max()) / peak)
        # at t = 0 every particle sits at x0: no spread, and the deviation is zero too
        z = max(z, float(np.max(np.divide(dev, se, out=np.zeros_like(dev), where=se > 0))))
        ok = ok and bool(np.all(dev <= Z_FAIL * se + REL_BIAS * peak))
    return {"arrays": out, "rel": rel, "z": z, "ok": ok}


def run_ou(n: int, rng: np.random.Generator):
    import simdiff
    from simdiff_cli.kernels import ou_drift

    p = OU
    sde = simdiff.SDE(drift=simdiff.Kernel(ou_drift, p=[p["theta"], 0.0], pointwise=True), diffusion=p["sigma"])
    sol = simdiff.solve(sde, np.full(n, p["x0"]), tuple(p["t_span"]), dt=p["dt"], method=p["method"],
                        save_at=p["save_at"], save_fn=moments, seed=rng)
    return sol, compare(sol, *ou_exact(np.asarray(sol.t), p["theta"], p["sigma"], p["x0"]), n)


def run_gbm(n: int, rng: np.random.Generator):
    import simdiff

    p = GBM
    mu, sigma = p["mu"], p["sigma"]
    sde = simdiff.SDE(drift=lambda t, y: mu * y, diffusion=lambda t, y: sigma * y, noise="diagonal")
    sol = simdiff.solve(sde, np.full(n, p["x0"]), tuple(p["t_span"]), dt=p["dt"], method=p["method"],
                        save_at=p["save_at"], save_fn=moments, seed=rng)
    return sol, compare(sol, *gbm_exact(np.asarray(sol.t), mu, sigma, p["x0"]), n)


def write_npz(path: Path, ou: dict, gbm: dict, meta: dict) -> None:
    from simdiff_cli._io import atomic_write

    arrays = dict(ou["arrays"])
    arrays.update({f"gbm_{k}": v for k, v in gbm["arrays"].items()})
    with atomic_write(path) as f:
        np.savez(f, **arrays, config=np.array(json.dumps(meta)))


def write_png(path: Path, ou: dict, gbm: dict, n: int) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from simdiff_cli._io import atomic_write

    fig = Figure(figsize=(13, 7), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 3)
    rows = (
        (ou, "Ornstein-Uhlenbeck", f"θ={OU['theta']:g}, σ={OU['sigma']:g}, x₀={OU['x0']:g}, Euler-Maruyama"),
        (gbm, "GBM", f"μ={GBM['mu']:g}, σ={GBM['sigma']:g}, x₀={GBM['x0']:g}, Milstein"),
    )
    for (res, name, params), row in zip(rows, axes):
        a = res["arrays"]
        for ax, key, label in ((row[0], "mean", "mean"), (row[1], "var", "variance")):
            ax.plot(a["t"], a[f"exact_{key}"], color="k", lw=1.5, label="exact")
            ax.plot(a["t"], a[key], "o", ms=3.5, color="C1", label=f"simulated, n={n:,}")
            ax.set_ylabel(label)
            ax.set_title(f"{name} {label} ({params})", fontsize=9)
        z = row[2]
        for key, label, color in (("mean", "mean", "C0"), ("var", "variance", "C3")):
            se = a[f"se_{key}"]
            dev = a[key] - a[f"exact_{key}"]
            z.plot(a["t"], np.divide(dev, se, out=np.zeros_like(dev), where=se > 0), "o-", ms=3, lw=0.8,
                   color=color, label=label)
        z.axhspan(-2, 2, color="0.85", zorder=0, label="±2 s.e.")
        z.axhline(0, color="k", lw=0.8)
        z.set_ylabel("(simulated - exact) / standard error")
        z.set_title(f"{name}: deviation in standard errors", fontsize=9)
        for ax in row:
            ax.set_xlabel("t")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.suptitle(f"simdiff demo: ensemble moments vs closed forms (largest deviation "
                 f"{max(ou['z'], gbm['z']):.1f} standard errors)", fontsize=12)
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=100)


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default="demo_output",
              show_default=True, help="Directory for ou.npz and ou.png (created if missing).")
@click.option("--n", "n", type=int, default=100_000, show_default=True,
              help="Particles in each ensemble (at least 2).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed (>= 0); the two ensembles get independent child seeds from it.")
def demo(out_dir: Path, n: int, seed: int) -> None:
    """Run a short real job and check it against theory.

    Integrates an Ornstein-Uhlenbeck ensemble (theta=1, sigma=1, x0=2, t in [0, 5], dt=1e-3,
    Euler-Maruyama on a compiled numba drift) and a geometric Brownian motion ensemble
    (mu=1, sigma=0.5, x0=1, t in [0, 1], dt=1e-3, Milstein), keeping the mean and variance of
    51 frames. Compares them with the closed forms, writes OUT/ou.npz (all curves and the
    configuration) and OUT/ou.png (simulated vs exact), and prints a summary.
    Exits with code 1 if a moment is off by more than 6 standard errors (+1% for the O(dt) bias).
    """
    if n < 2:
        raise CommandError(f"--n={n}: the demo needs at least 2 particles (a variance needs two); "
                           f"pass --n 2 or more.")
    if seed < 0:
        raise CommandError(f"--seed={seed}: pass a seed >= 0.")
    import simdiff

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise click.ClickException(f"cannot create --out directory {str(out_dir)!r}: {err.strerror}") from None

    wall0 = time.perf_counter()
    ou_ss, gbm_ss = np.random.SeedSequence(seed).spawn(2)
    ou_sol, ou = run_ou(n, np.random.default_rng(ou_ss))
    gbm_sol, gbm = run_gbm(n, np.random.default_rng(gbm_ss))

    meta = {"simdiff_version": simdiff.__version__, "seed": seed, "n": n, "ou": OU, "gbm": GBM,
            "arrays": "t, mean, var, exact_*, se_* (standard errors) for OU; gbm_* the same for GBM"}
    npz, png = out_dir / "ou.npz", out_dir / "ou.png"
    try:
        write_npz(npz, ou, gbm, meta)
        write_png(png, ou, gbm, n)
    except OSError as err:
        raise click.ClickException(f"cannot write to {str(out_dir)!r}: {err.strerror or err}") from None
    total = time.perf_counter() - wall0

    def rate(sol) -> str:
        return f"{n * sol.stats.steps / sol.stats.wall_time:.2e}"

    z, ok = max(ou["z"], gbm["z"]), ou["ok"] and gbm["ok"]
    if z <= Z_FAIL:
        verdict = "agreeing with theory within sampling error"
    elif ok:
        verdict = f"agreeing with theory within sampling error plus the methods' O(dt) bias ({REL_BIAS:.0%} allowed)"
    else:
        verdict = f"DISAGREEING with theory (beyond {Z_FAIL:g} standard errors + {REL_BIAS:.0%})"
    summary = (
        f"Ornstein-Uhlenbeck: {n:,} particles x {ou_sol.stats.steps:,} Euler-Maruyama steps "
        f"({ou_sol.stats.path} path) in {ou_sol.stats.wall_time:.2f} s, {rate(ou_sol)} particle-steps/s; "
        f"geometric Brownian motion: {n:,} particles x {gbm_sol.stats.steps:,} Milstein steps "
        f"({gbm_sol.stats.path} path) in {gbm_sol.stats.wall_time:.2f} s, {rate(gbm_sol)} particle-steps/s; "
        f"{total:.2f} s wall time in all. "
        f"Max relative deviation of mean and variance from the closed forms (relative to each curve's "
        f"largest value): OU {100 * ou['rel']:.2f}%, GBM {100 * gbm['rel']:.2f}%; the largest is "
        f"{z:.1f} standard errors, {verdict}."
    )
    # paths go on the paragraph's last line unbroken, so they can be copied
    click.echo(textwrap.fill(summary, width=100, break_on_hyphens=False) + f"\nWrote {npz} and {png}.")
    if not ok:
        raise click.ClickException(f"demo moments deviate from theory by {z:.1f} standard errors, beyond "
                                   f"{Z_FAIL:g} standard errors + {REL_BIAS:.0%} of the curve; the solver is wrong.")
