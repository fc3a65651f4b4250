"""Turing dispersion relations against growth rates measured in simulations.

Curves: max Re lambda(k) of J - k^2 D at the steady state (``simdiff.pde.turing.analyse``) for
Schnakenberg (``spots``) and the Brusselator (``turing``), with the unstable band shaded. Dots:
the growth rate of every Fourier mode of a simulation started from the steady state plus noise
of 1e-10 (periodic 128 x 128 box, explicit Euler), log(|u_k(t1)| / |u_k(t0)|) / (t1 - t0)
averaged over rings of |k|, while the perturbation is still linear. Why it is right: the modes of
the linearised system grow at exactly lambda(k), so the dots of the unstable band sit on the
curve; stable modes decay below the harmonics of the growing ones and are not shown. Right: the
Schnakenberg pattern the instability grows into, with its predicted wavelength 2 pi / k_max.
"""
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from simdiff.pde import Brusselator, Grid, Schnakenberg, simulate, turing  # noqa: E402

FAST = os.environ.get("SIMDIFF_GALLERY_FAST") == "1"
OUT = Path(os.environ.get("SIMDIFF_GALLERY_OUT") or Path(__file__).parent / "_output")
n = 64 if FAST else 128
fig, axes = plt.subplots(1, 3, figsize=(16, 4.6), layout="constrained")
for ax, (cls, preset, t1, dt) in zip(axes, [(Schnakenberg, "spots", 12.5, None), (Brusselator, "turing", 1.6, 2e-3)]):
    model, L = cls.preset(preset), cls.extent
    analysis = turing.analyse(model)
    grid = Grid((n, n), extent=L, periodic=True)
    run = simulate(model, grid, model.initial(grid, "steady", seed=0, amplitude=1e-10), t1, method="euler",
                   dt=dt, n_frames=6)
    a0, a1 = (np.abs(np.fft.fft2(run.y[i, 0])).ravel() for i in (2, 5))
    rate = np.log(np.maximum(a1, 1e-300) / np.maximum(a0, 1e-300)) / (run.t[5] - run.t[2])
    k = 2 * np.pi * np.fft.fftfreq(n, d=L / n)
    ring = np.round(np.hypot(*np.meshgrid(k, k, indexing="ij")).ravel() / (2 * np.pi / L)).astype(int)
    count = np.bincount(ring)
    ks = np.flatnonzero(count) * 2 * np.pi / L
    measured = np.bincount(ring, rate)[count > 0] / count[count > 0]
    band = (ks >= analysis.band[0]) & (ks <= analysis.band[1])
    turing.plot(analysis, ax=ax, title=f"{cls.name} ({preset}): {analysis.summary().split(';')[0][13:]}")
    ax.plot(ks[band], measured[band], "ko", ms=4, label="measured growth of the simulated modes")
    ax.set_xlim(0, 2 * analysis.band[1])
    ax.set_ylim(1.5 * analysis.growth[analysis.k < 2 * analysis.band[1]].min(), 1.3 * analysis.growth.max())
    ax.legend(fontsize=8, loc="lower left")
    ax.title.set_fontsize(9)

model = Schnakenberg.preset("spots")
analysis = turing.analyse(model)
grid = Grid((n, n), extent=Schnakenberg.extent, periodic=True)
u = simulate(model, grid, model.initial(grid, "steady", seed=0), 40 if FAST else 200, method="euler",
             n_frames=2).y[-1, 0]
axes[2].imshow(u.T, origin="lower", cmap="magma", extent=(0, grid.lengths[0]) * 2)
axes[2].plot([10, 10 + analysis.wavelength], [5, 5], "w-", lw=4)
axes[2].set_title(f"Schnakenberg spots at t = {40 if FAST else 200}; bar: predicted wavelength "
                  f"{analysis.wavelength:.3g}", fontsize=9)
OUT.mkdir(parents=True, exist_ok=True)
fig.savefig(OUT / "turing_dispersion.png", dpi=90)
