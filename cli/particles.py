"""``simdiff particles``: Langevin ensembles, anomalous diffusion and trajectory analysis.

One command per process (``brownian``, ``langevin``, ``fbm``, ``sbm``, ``ctrw``, ``levy-flight``,
``levy-walk``, ``attm``) shares the ensemble options (``--n``, ``--steps``, ``--dt``, ``--seed``,
``--out``, ``--plot``, ``--lag-range``) and hands a generator to :func:`run_process`, which times
the run, writes the trajectories (:func:`simdiff.particles.io.write_trajectories`), fits the
ensemble MSD exponent, prints a one-paragraph summary and draws the figure. ``analyze`` reads a
trajectory file (HDF5, ``.npy`` or CSV) and reports the MSD and TAMSD exponents and the
ergodicity-breaking parameter.

numpy, numba, the physics and matplotlib are imported inside the commands, so
``simdiff particles --help`` stays light.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable

import click

from simdiff_cli.errors import CommandError, one_line

POTENTIALS = ("none", "harmonic", "double-well", "washboard")


class ParticlesCommand(click.Command):
    """Usage errors (a bad type, a value out of range, an unknown flag) are one ``Error: ...`` line
    with exit code 2; so are simdiff's input errors raised by the command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as err:
            if isinstance(err, click.NoSuchOption) or not err.ctx:
                path = " ".join(["simdiff", *ctx.command_path.split()[1:]])
                raise CommandError(f"{err.format_message()} (see `{path} --help`)") from None
            raise CommandError(err.format_message()) from None

    def invoke(self, ctx: click.Context):
        from simdiff.errors import SimdiffError

        try:
            return super().invoke(ctx)
        except SimdiffError as err:
            raise CommandError(one_line(err)) from None


def _group(*decorators: Callable) -> Callable:
    def apply(f):
        for d in reversed(decorators):
            f = d(f)
        return f

    return apply


LAG_RANGE = click.option(
    "--lag-range", type=(float, float), default=None, metavar="LO HI",
    help="Fit the MSD exponent over lag times LO <= tau <= HI (time units). [default: every lag]")

ENSEMBLE_OPTIONS = _group(
    click.option("--n", type=click.IntRange(min=1), default=1000, show_default=True, help="Number of particles."),
    click.option("--steps", type=click.IntRange(min=2), default=1000, show_default=True,
                 help="Time steps; each trajectory has steps + 1 samples, t = 0, dt, ..., steps*dt."),
    click.option("--dt", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
                 help="Time step (sampling interval)."),
    click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                 help="Random seed; the same seed gives the same trajectories. Recorded in the file."),
    click.option("--out", default="traj.h5", show_default=True, metavar="FILE.h5",
                 help="HDF5 trajectory file: /t (T,), /x (n, T, dim), process, parameters, seed."),
    click.option("--plot", is_flag=True,
                 help="Also write <out stem>.png: sample paths and the log-log ensemble MSD with its fit."),
    LAG_RANGE,
)


def _alpha(default: float, rule: str) -> Callable:
    return click.option("--alpha", type=float, default=default, show_default=True, help=f"Anomalous exponent, {rule}.")


# ---- analysis and figure --------------------------------------------------------------------------

def _log_lags(n_times: int, count: int = 40):
    import numpy as np

    return np.unique(np.round(np.geomspace(1, n_times - 1, count)).astype(int))


def _uniform_dt(t) -> float:
    import numpy as np

    steps = np.diff(t)
    dt = float(steps.mean())
    if not np.allclose(steps, dt, rtol=1e-6, atol=0.0):
        raise CommandError(f"the samples are not evenly spaced in time (steps {steps.min():g} to {steps.max():g}); "
                           f"MSD analysis needs a uniform time grid.")
    return dt


def _fit(lags, values, lag_range):
    """The power-law fit over the lags in ``lag_range`` where the MSD is positive (a log-log fit
    cannot use lags at which no particle has moved yet, as in a CTRW's first waiting time), and a
    description of the lags used."""
    import numpy as np

    from simdiff.particles.analysis import fit_exponent

    lags, values = np.asarray(lags, float), np.asarray(values, float)
    keep = values > 0
    if lag_range is not None:
        keep &= (lags >= lag_range[0]) & (lags <= lag_range[1])
    if keep.sum() < 3:
        where = "" if lag_range is None else f" in --lag-range {lag_range[0]:g} {lag_range[1]:g}"
        raise CommandError(f"the fit needs at least 3 lags with a positive MSD; {int(keep.sum())} found{where} "
                           f"(widen --lag-range, or run more --steps or particles).")
    fit = fit_exponent(lags[keep], values[keep])
    return fit, f"lags {lags[keep].min():g} to {lags[keep].max():g}"


def _fit_text(fit) -> str:
    return f"alpha = {fit.alpha:.3f} [{fit.alpha_low:.3f}, {fit.alpha_high:.3f}]"


def _figure(path: str, t, x, title: str, curves: list[tuple[Any, Any, str]], fit, lag_range,
            expected: float | None, tamsd_single=None) -> str:
    """Sample paths (first coordinate) beside the log-log MSD curves with the fitted power law and
    the expected slope for reference."""
    import numpy as np

    from simdiff.viz._common import new_figure, savefig

    fig = new_figure((10.0, 4.0))
    ax1, ax2 = fig.subplots(1, 2)
    for i in range(min(8, x.shape[0])):
        ax1.plot(t, x[i, :, 0], lw=0.8)
    ax1.set_xlabel("t")
    ax1.set_ylabel("x" if x.shape[2] == 1 else "x (first coordinate)")
    ax1.set_title(f"{min(8, x.shape[0])} of {x.shape[0]} paths")
    if tamsd_single is not None:
        lags, single = tamsd_single
        for row in single[:20]:
            ax2.loglog(lags, np.where(row > 0, row, np.nan), color="0.8", lw=0.5)
    for lags, values, label in curves:
        values = np.asarray(values, dtype=float)
        ax2.loglog(lags, np.where(values > 0, values, np.nan), "o-", ms=3, lw=1, label=label)
    lags0, values0 = curves[0][0], curves[0][1]
    keep = values0 > 0
    if lag_range is not None:
        keep &= (lags0 >= lag_range[0]) & (lags0 <= lag_range[1])
    lk = lags0[keep]
    ax2.loglog(lk, fit.K * lk ** fit.alpha, "k--", lw=1.5, label=f"fit: alpha = {fit.alpha:.3f}")
    if expected is not None:
        anchor = values0[keep][0] / lk[0] ** expected
        ax2.loglog(lk, anchor * lk ** expected, ":", color="tab:red", lw=1.5, label=f"expected: alpha = {expected:g}")
    ax2.set_xlabel("lag time tau")
    ax2.set_ylabel("MSD")
    ax2.legend(fontsize=8)
    fig.suptitle(title)
    return savefig(fig, path, 120)


# ---- processes ------------------------------------------------------------------------------------

def run_process(ctx: click.Context, opts: dict, generate: Callable[[], tuple[Any, Any]], *, process: str,
                parameters: dict, expected: float | None, expected_note: str = "") -> None:
    """Run ``generate() -> (t, x (n, T, dim))``, write the file, fit the MSD, print the summary and
    (with ``--plot``) draw the figure."""
    import numpy as np

    from simdiff.particles.analysis import msd
    from simdiff.particles.io import write_trajectories

    out = opts["out"]
    if not out:
        raise CommandError("--out is empty; give the trajectory file's path, e.g. --out traj.h5.")
    start = time.perf_counter()
    t, x = generate()
    wall = time.perf_counter() - start
    x = np.asarray(x, dtype=float)
    if x.ndim == 2:
        x = x[:, :, None]
    if not np.all(np.isfinite(x)):
        raise CommandError(f"{process}: the trajectories became non-finite; reduce --dt or the forces.")
    params = {"n": opts["n"], "steps": opts["steps"], "dt": opts["dt"], **parameters}
    write_trajectories(out, t, x, {"process": process, "parameters": params, "seed": opts["seed"],
                                   "command": f"simdiff {ctx.command_path.split(' ', 1)[-1]}"})
    written = [out]
    lags, values = msd(x, opts["dt"], _log_lags(x.shape[1]))
    fit, used = _fit(lags, values, opts["lag_range"])
    if opts["plot"]:
        png = os.path.splitext(out)[0] + ".png"
        shown = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in parameters.items())
        written.append(_figure(png, t, x, f"{process} ({shown})", [(lags, values, "ensemble MSD")], fit,
                               opts["lag_range"], expected))
    shown = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in parameters.items())
    exp_text = f"expected {expected:g}" if expected is not None else "no single expected value"
    if expected_note:
        exp_text += f" ({expected_note})"
    files = " and ".join(f"{p} ({'trajectories' if p == out else 'figure'})" for p in written)
    click.echo(f"{process} ({shown}): {x.shape[0]} particles, {opts['steps']} steps of dt={opts['dt']:g}"
               f"{'' if x.shape[2] == 1 else f' in {x.shape[2]}D'}, simulated in {wall:.2f} s. Ensemble MSD "
               f"exponent {_fit_text(fit)} (95% CI, {used}), {exp_text}. "
               f"Wrote {files}.")


def _grid(opts: dict):
    import numpy as np

    return opts["dt"] * np.arange(opts["steps"] + 1, dtype=float)


@click.group()
def particles() -> None:
    """Langevin particle ensembles, anomalous diffusion and trajectory analysis.

    Each process command simulates --n particles for --steps steps of --dt, writes the trajectories
    to an HDF5 file (--out), prints the fitted ensemble MSD exponent with its 95% confidence interval
    and, with --plot, draws sample paths and the log-log MSD. `simdiff particles analyze FILE`
    analyses trajectories from HDF5, .npy or CSV files.
    """


def _langevin(opts: dict, potential: str | None, dim: int, D: float | None, kT: float, gamma: float,
              mass: float, underdamped: bool):
    import numpy as np

    from simdiff.particles import langevin as lg

    n, steps, dt, seed = opts["n"], opts["steps"], opts["dt"], opts["seed"]
    t_end = steps * dt
    if underdamped:
        force = _python_force(potential, opts)
        traj = lg.underdamped(n, dim=dim, t_end=t_end, dt=dt, gamma=gamma, mass=mass, kT=kT, force=force,
                              save_at=steps + 1, seed=seed)
    else:
        pot = None
        if potential == "harmonic":
            pot = lg.harmonic(opts["k"])
        elif potential == "double-well":
            pot = lg.double_well(opts["a"], opts["b"])
        elif potential == "washboard":
            pot = lg.washboard(opts["V0"], opts["period"], opts["tilt"])
        traj = lg.overdamped(n, dim=dim, t_end=t_end, dt=dt, D=D, kT=kT, gamma=gamma, potential=pot,
                             save_at=steps + 1, seed=seed)
    return np.asarray(traj.t, dtype=float), np.transpose(np.asarray(traj.x), (1, 0, 2))


def _python_force(potential: str | None, opts: dict):
    """The force of a potential on positions (n, dim), for the underdamped integrator."""
    import numpy as np

    if potential in (None, "none"):
        return None
    if potential == "harmonic":
        k = opts["k"]
        return lambda x: -k * x
    if potential == "double-well":
        a, b = opts["a"], opts["b"]
        return lambda x: -4.0 * a * x ** 3 + 2.0 * b * x
    V0, L, f = opts["V0"], opts["period"], opts["tilt"]
    if not L > 0:
        raise CommandError(f"--period={L:g} must be > 0.")
    q = 2.0 * np.pi / L
    return lambda x: -V0 * q * np.sin(q * x) + f


DIM = click.option("--dim", type=click.IntRange(1, 3), default=1, show_default=True,
                   help="Space dimensions (1, 2 or 3).")


@particles.command(cls=ParticlesCommand)
@ENSEMBLE_OPTIONS
@DIM
@click.option("--D", "D", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Diffusivity: MSD = 2 dim D t.")
@click.pass_context
def brownian(ctx: click.Context, D: float, dim: int, **opts) -> None:
    """Free Brownian particles (overdamped Langevin, no force); expected MSD exponent 1."""
    run_process(ctx, opts, lambda: _langevin(opts, None, dim, D, 1.0, 1.0, 1.0, False), process="brownian",
                parameters={"D": D, "dim": dim}, expected=1.0)


@particles.command(cls=ParticlesCommand)
@ENSEMBLE_OPTIONS
@DIM
@click.option("--potential", type=click.Choice(POTENTIALS), default="harmonic", show_default=True,
              help="Potential U(x), per coordinate: harmonic k x^2/2, double-well a x^4 - b x^2, washboard "
                   "-V0 cos(2 pi x / period) - tilt x, or none.")
@click.option("--k", type=float, default=1.0, show_default=True, help="Harmonic stiffness k.")
@click.option("--a", type=float, default=1.0, show_default=True, help="Double-well quartic coefficient a.")
@click.option("--b", type=float, default=2.0, show_default=True, help="Double-well quadratic coefficient b.")
@click.option("--V0", "V0", type=float, default=1.0, show_default=True, help="Washboard amplitude V0 (>= 0).")
@click.option("--period", type=float, default=1.0, show_default=True, help="Washboard period.")
@click.option("--tilt", type=float, default=0.0, show_default=True, help="Washboard tilt (constant force).")
@click.option("--kT", "kT", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Thermal energy.")
@click.option("--gamma", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Friction coefficient.")
@click.option("--D", "D", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Diffusivity (overdamped only). [default: kT / gamma]")
@click.option("--underdamped", is_flag=True,
              help="Integrate the underdamped (inertial) Langevin equation with BAOAB instead.")
@click.option("--mass", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Particle mass (with --underdamped).")
@click.pass_context
def langevin(ctx: click.Context, dim: int, potential: str, kT: float, gamma: float, D: float | None,
             underdamped: bool, mass: float, **opts) -> None:
    """Langevin particles in a potential, overdamped (default) or underdamped (--underdamped).

    Free overdamped particles have MSD exponent 1; free underdamped ones are ballistic (2) for
    t << mass/gamma and diffusive (1) after; in a confining potential the MSD levels off (0).
    """
    if underdamped and D is not None:
        raise CommandError("--D applies to overdamped runs; with --underdamped set --kT, --gamma and --mass.")
    params: dict[str, Any] = {"potential": potential, "dim": dim, "kT": kT, "gamma": gamma}
    params.update({"harmonic": {"k": opts["k"]}, "double-well": {"a": opts["a"], "b": opts["b"]},
                   "washboard": {"V0": opts["V0"], "period": opts["period"], "tilt": opts["tilt"]},
                   "none": {}}[potential])
    if underdamped:
        params.update(underdamped=True, mass=mass)
    elif D is not None:
        params["D"] = D
    pot = None if potential == "none" else potential
    expected, note = None, ""
    if pot is None:
        expected, note = (1.0, "long times; 2 for t << mass/gamma") if underdamped else (1.0, "")
    elif potential == "washboard":
        note = "washboard: sub- or superdiffusive transients, 1 at long times (2 with a strong tilt)"
    else:
        expected, note = 0.0, "confined: the MSD levels off at long times"
    run_process(ctx, opts, lambda: _langevin(opts, pot, dim, D, kT, gamma, mass, underdamped), process="langevin",
                parameters=params, expected=expected, expected_note=note)


def _anomalous(name: str):
    def generate(opts: dict, **kw):
        import numpy as np

        from simdiff.particles import anomalous

        x = getattr(anomalous, name)(opts["n"], opts["steps"] + 1, dt=opts["dt"], seed=opts["seed"], **kw)
        return _grid(opts), np.asarray(x, dtype=float)

    return generate


@particles.command(cls=ParticlesCommand)
@ENSEMBLE_OPTIONS
@DIM
@click.option("--hurst", type=float, default=0.5, show_default=True,
              help="Hurst index H in (0, 1); MSD exponent alpha = 2H (0.5 is Brownian motion).")
@click.option("--D", "D", type=float, default=1.0, show_default=True, help="Diffusivity: MSD = 2 D t^(2H) per axis.")
@click.pass_context
def fbm(ctx: click.Context, hurst: float, D: float, dim: int, **opts) -> None:
    """Fractional Brownian motion (exact, Davies-Harte); expected MSD exponent 2H."""
    run_process(ctx, opts, lambda: _anomalous("fbm")(opts, hurst=hurst, D=D, dim=dim), process="fbm",
                parameters={"hurst": hurst, "D": D, "dim": dim}, expected=2 * hurst)


@particles.command(cls=ParticlesCommand)
@ENSEMBLE_OPTIONS
@_alpha(0.5, "0 < alpha <= 2 (1 is Brownian motion)")
@click.option("--K", "K", type=float, default=1.0, show_default=True, help="Generalised diffusivity: MSD = 2 K t^alpha.")
@click.pass_context
def sbm(ctx: click.Context, alpha: float, K: float, **opts) -> None:
    """Scaled Brownian motion (time-dependent diffusivity); expected MSD exponent alpha."""
    run_process(ctx, opts, lambda: _anomalous("sbm")(opts, alpha=alpha, K=K), process="sbm",
                parameters={"alpha": alpha, "K": K}, expected=alpha)


@particles.command(cls=ParticlesCommand)
@ENSEMBLE_OPTIONS
@_alpha(0.5, "0 < alpha <= 1 (waiting-time exponent)")
@click.option("--sigma", type=float, default=1.0, show_default=True, help="Jump length standard deviation.")
@click.option("--tau0", type=float, default=1.0, show_default=True, help="Shortest waiting time.")
@click.pass_context
def ctrw(ctx: click.Context, alpha: float, sigma: float, tau0: float, **opts) -> None:
    """Continuous-time random walk with Pareto waiting times; MSD exponent alpha at long times
    (fit with --lag-range well above tau0)."""
    run_process(ctx, opts, lambda: _anomalous("ctrw")(opts, alpha=alpha, sigma=sigma, tau0=tau0), process="ctrw",
                parameters={"alpha": alpha, "sigma": sigma, "tau0": tau0}, expected=alpha, expected_note="long times")


@particles.command("levy-flight", cls=ParticlesCommand)
@ENSEMBLE_OPTIONS
@_alpha(1.5, "here the stability index, 0 < alpha <= 2")
@click.option("--scale", type=float, default=1.0, show_default=True, help="Scale of the alpha-stable jumps.")
@click.pass_context
def levy_flight(ctx: click.Context, alpha: float, scale: float, **opts) -> None:
    """Levy flight: sums of alpha-stable jumps. Its MSD is infinite for alpha < 2, so the sample
    MSD (dominated by the largest jumps) has no expected exponent; alpha = 2 is Brownian."""
    run_process(ctx, opts, lambda: _anomalous("levy_flight")(opts, alpha=alpha, scale=scale), process="levy-flight",
                parameters={"alpha": alpha, "scale": scale}, expected=1.0 if alpha == 2 else None,
                expected_note="" if alpha == 2 else "the ensemble MSD diverges for alpha < 2")


@particles.command("levy-walk", cls=ParticlesCommand)
@ENSEMBLE_OPTIONS
@_alpha(1.5, "1 < alpha < 2 (superdiffusive)")
@click.option("--v", "v", type=float, default=1.0, show_default=True, help="Flight speed.")
@click.option("--tau0", type=float, default=1.0, show_default=True, help="Shortest flight duration.")
@click.pass_context
def levy_walk(ctx: click.Context, alpha: float, v: float, tau0: float, **opts) -> None:
    """Levy walk: constant-speed flights of Pareto durations; MSD exponent alpha at long times."""
    run_process(ctx, opts, lambda: _anomalous("levy_walk")(opts, alpha=alpha, v=v, tau0=tau0), process="levy-walk",
                parameters={"alpha": alpha, "v": v, "tau0": tau0}, expected=alpha, expected_note="long times")


@particles.command(cls=ParticlesCommand)
@ENSEMBLE_OPTIONS
@_alpha(0.5, "0 < alpha < 1")
@click.option("--sigma", type=float, default=None,
              help="Exponent of P(D) ~ D^(sigma-1), in (0, alpha/(1-alpha)). [default: min(1, alpha/(2(1-alpha)))]")
@click.pass_context
def attm(ctx: click.Context, alpha: float, sigma: float | None, **opts) -> None:
    """Annealed transient time motion (random, renewing diffusivity); MSD exponent alpha at long times."""
    params: dict[str, Any] = {"alpha": alpha}
    if sigma is not None:
        params["sigma"] = sigma
    run_process(ctx, opts, lambda: _anomalous("attm")(opts, alpha=alpha, sigma=sigma), process="attm",
                parameters=params, expected=alpha, expected_note="long times")


# ---- analyze --------------------------------------------------------------------------------------

@particles.command(cls=ParticlesCommand)
@click.argument("path", metavar="FILE")
@click.option("--dt", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Sampling step of a .npy array (t = k dt). [default: 1; HDF5 and CSV files carry their times]")
@LAG_RANGE
@click.option("--eb-lag", type=click.IntRange(min=1), default=None,
              help="Lag (in steps) of the ergodicity-breaking parameter. [default: a tenth of the samples]")
@click.option("--plot", default=None, metavar="OUT.png",
              help="Write a figure: sample paths, ensemble MSD, mean and single TAMSDs with the fit.")
def analyze(path: str, dt: float | None, lag_range, eb_lag: int | None, plot: str | None) -> None:
    """Analyse trajectories: MSD and TAMSD exponents with 95% intervals, ergodicity breaking.

    FILE is an HDF5 file written by simdiff particles (/t, /x), a .npy array (n, T) or (n, T, dim)
    sampled every --dt, or a CSV file with columns particle, t, x[, y, z] (one row per sample,
    optional header, every particle at the same times).
    """
    from simdiff.particles.analysis import eb_parameter, msd, tamsd
    from simdiff.particles.io import read_attributes, read_trajectories

    t, x = read_trajectories(path, dt=dt)
    if dt is not None and not path.lower().endswith(".npy"):
        click.echo(f"note: --dt is ignored for {os.path.basename(path)}; the file carries its own times.", err=True)
    step = _uniform_dt(t)
    n, T, dim = x.shape
    attrs = read_attributes(path)
    origin = f", process {attrs['process']}, seed {attrs.get('seed')}" if attrs.get("process") else ""
    click.echo(f"{path}: {n} particles, {T} samples (dt={step:g}), dim {dim}{origin}")
    lags_steps = _log_lags(T)
    lags, values = msd(x, step, lags_steps)
    fit, used = _fit(lags, values, lag_range)
    click.echo(f"ensemble MSD exponent {_fit_text(fit)} (95% CI, {used})")
    tlags, single = tamsd(x, step, lags_steps)
    mean_tamsd = single.mean(axis=0)
    tfit, used = _fit(tlags, mean_tamsd, lag_range)
    click.echo(f"time-averaged MSD exponent {_fit_text(tfit)} (mean TAMSD over particles, 95% CI, {used})")
    lag = eb_lag if eb_lag is not None else max(1, (T - 1) // 10)
    if lag > T - 1:
        raise CommandError(f"--eb-lag={lag} must be at most {T - 1} (the trajectories have {T} samples).")
    if n >= 2:
        eb = eb_parameter(x, lag)
        click.echo(f"ergodicity-breaking parameter EB = {eb:.4g} at lag {lag} (tau = {lag * step:g}; "
                   f"Brownian motion: {4 * lag / (3 * dim * T):.3g})")
    else:
        click.echo("ergodicity-breaking parameter: needs at least 2 particles")
    if plot:
        written = _figure(plot, t - t[0], x, os.path.basename(path),
                          [(lags, values, "ensemble MSD"), (tlags, mean_tamsd, "mean TAMSD")], fit, lag_range,
                          None, tamsd_single=(tlags, single))
        click.echo(f"wrote {written} (figure)")
