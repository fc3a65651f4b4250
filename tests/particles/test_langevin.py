"""Overdamped Langevin dynamics against exact results."""
import numpy as np
import pytest
from scipy import stats

from simdiff.errors import InputError
from simdiff.particles.langevin import double_well, harmonic, overdamped, washboard


def test_harmonic_trap_stationary_variance():
    """Var = kT/k; Euler–Maruyama's own stationary variance is kT/k / (1 - k dt / (2 gamma))."""
    k, kT, gamma, dt = 2.0, 1.0, 1.0, 1e-3
    n = 40_000
    tr = overdamped(n, t_end=6.0, dt=dt, kT=kT, gamma=gamma, potential=harmonic(k=k), x0=1.0, seed=0)
    assert tr.stats.path == "compiled"
    var_em = (kT / k) / (1 - k * dt / (2 * gamma))
    v = tr.x[-1, :, 0].var(ddof=1)
    assert abs(v - var_em) < 4 * np.sqrt(2 / (n - 1)) * var_em + 1e-3, v
    assert abs(tr.x[-1, :, 0].mean()) < 4 * np.sqrt(var_em / n) + 1.0 * np.exp(-k * 6.0)


def test_mean_first_passage_time_interval():
    """Reflecting at 0, absorbing at L, start x0: MFPT = (L^2 - x0^2) / (2 D). A walk checked at
    discrete times crosses late; the continuity correction (Broadie, Glasserman & Kou 1997) moves
    the level out by 0.5826 sqrt(2 D dt)."""
    L, x0, D, dt = 1.0, 0.3, 0.5, 2e-4
    n = 5_000
    tr = overdamped(n, t_end=8.0, dt=dt, D=D, x0=x0, box=(0.0, 5.0), absorb=[(0, L, 1)], seed=1)
    assert np.isnan(tr.fpt).mean() < 2e-3
    Leff = L + 0.5826 * np.sqrt(2 * D * dt)
    exact = (Leff ** 2 - x0 ** 2) / (2 * D)
    sd = np.nanstd(tr.fpt)
    assert abs(np.nanmean(tr.fpt) - exact) < 4 * sd / np.sqrt(n) + 0.005 * exact, (np.nanmean(tr.fpt), exact)


def test_reflecting_box_keeps_particles_inside_and_relaxes_to_uniform():
    n = 20_000
    tr = overdamped(n, dim=2, t_end=3.0, dt=1e-3, D=1.0, x0=(0.5, 0.5), box=[(0.0, 1.0), (0.0, 2.0)], seed=2)
    x = tr.x[-1]
    assert x[:, 0].min() >= 0 and x[:, 0].max() <= 1 and x[:, 1].min() >= 0 and x[:, 1].max() <= 2
    assert stats.kstest(x[:, 0], stats.uniform(0, 1).cdf).pvalue > 1e-3
    assert stats.kstest(x[:, 1], stats.uniform(0, 2).cdf).pvalue > 1e-3


def test_double_well_is_symmetric_and_washboard_drifts_with_tilt():
    n = 20_000
    tr = overdamped(n, t_end=5.0, dt=1e-3, kT=1.0, potential=double_well(a=1.0, b=2.0), seed=3)
    right = (tr.x[-1, :, 0] > 0).mean()
    assert abs(right - 0.5) < 4 * 0.5 / np.sqrt(n)
    # with V0 = 0 the washboard is a constant force f: mean displacement f t / gamma
    tr = overdamped(n, t_end=2.0, dt=1e-3, kT=1.0, gamma=2.0, potential=washboard(V0=0.0, tilt=1.5), seed=4)
    m = tr.x[-1, :, 0].mean()
    assert abs(m - 1.5 * 2.0 / 2.0) < 4 * np.sqrt(2 * 0.5 * 2.0 / n)


def test_reproducible_with_seed():
    a = overdamped(100, t_end=1.0, dt=1e-2, potential=harmonic(), seed=7).x
    b = overdamped(100, t_end=1.0, dt=1e-2, potential=harmonic(), seed=7).x
    c = overdamped(100, t_end=1.0, dt=1e-2, potential=harmonic(), seed=8).x
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("kw, name", [
    (dict(n=0), "n="), (dict(D=-1.0), "D="), (dict(gamma=0.0), "gamma="), (dict(dim=4), "dim="),
    (dict(box=(1.0, 0.0)), "box="), (dict(x0=5.0, box=(0.0, 1.0)), "outside"),
    (dict(absorb=[(3, 1.0, 1)]), "absorb"),
])
def test_bad_input(kw, name):
    args = dict(n=10, t_end=1.0, dt=0.1)
    args.update(kw)
    with pytest.raises(InputError, match=name):
        overdamped(**args)
    with pytest.raises(InputError, match="k="):
        harmonic(k=-1.0)


def test_baoab_harmonic_configuration_is_exact():
    """BAOAB samples x exactly for a harmonic force at any stable step: Var x = kT / k."""
    from simdiff.particles.langevin import underdamped

    k, n = 2.0, 50_000
    tr = underdamped(n, t_end=20.0, dt=0.2, gamma=1.0, kT=1.0, force=lambda x: -k * x, x0=1.0, seed=0, save_at=2)
    assert tr.stats.method == "baoab"
    v = tr.x[-1, :, 0].var(ddof=1)
    assert abs(v - 1.0 / k) < 4 * np.sqrt(2 / (n - 1)) / k, v


def test_baoab_free_particle_msd_crosses_from_ballistic_to_diffusive():
    """Free particle with Maxwellian velocities: <x^2> = 2 kT/(m gamma^2) (gamma t - 1 + e^{-gamma t})."""
    from simdiff.particles.langevin import underdamped

    gamma, kT, n = 2.0, 1.0, 40_000
    tr = underdamped(n, t_end=5.0, dt=0.01, gamma=gamma, kT=kT, seed=1, save_at=[0.0, 0.1, 1.0, 5.0])
    for t, x in zip(tr.t[1:], tr.x[1:]):
        exact = 2 * kT / gamma ** 2 * (gamma * t - 1 + np.exp(-gamma * t))
        m2 = (x[:, 0] ** 2).mean()
        assert abs(m2 - exact) < 4 * np.sqrt(2 / n) * exact + 1e-3 * exact, (t, m2, exact)


@pytest.mark.parametrize("hurst", [0.3, 0.7])
def test_fractional_gaussian_driver_gives_fbm_and_fractional_ou(hurst):
    """Free particles driven by fGn are fBM: MSD = 2 D t^(2H) (exact increments, any dt)."""
    import simdiff

    n, D, dt = 4000, 0.5, 0.01
    tr = overdamped(n, t_end=2.0, dt=dt, D=D, seed=5, save_at=[0.0, 0.5, 2.0],
                    driver=simdiff.FractionalGaussian(hurst))
    assert tr.stats.path == "compiled"
    for t, x in zip(tr.t[1:], tr.x[1:]):
        m2 = (x[:, 0] ** 2).mean()
        exact = 2 * D * t ** (2 * hurst)
        assert abs(m2 - exact) < 4 * np.sqrt(2 / n) * exact, (t, m2, exact)
    # in a harmonic trap the same noise gives a stationary (fractional OU) spread below the free one
    trap = overdamped(n, t_end=2.0, dt=dt, D=D, potential=harmonic(k=5.0), seed=5,
                      driver=simdiff.FractionalGaussian(hurst))
    assert 0 < trap.x[-1, :, 0].var() < 2 * D * 2.0 ** (2 * hurst)
