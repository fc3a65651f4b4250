"""FitzHugh–Nagumo: a rotating spiral wave in an excitable medium (also written as a GIF).

The ``spiral`` preset's seed is a broken wave: an excited half-line with a refractory band on one
side, in a 200 x 200 box with no-flux walls (256 x 256 cells, explicit Euler, dt = 0.1). The free end of the
front cannot move into the refractory band, so the front curls round it into a spiral. Why it is
right: a spiral is a rotating wave, so every point away from the core fires periodically with one
common period; the bottom panel shows u at two distant cells firing with the same period, and
the top row shows the arm turning a quarter turn per quarter period.
"""
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from simdiff.pde import FitzHughNagumo, Grid, simulate  # noqa: E402
from simdiff.viz import animate  # noqa: E402

FAST = os.environ.get("SIMDIFF_GALLERY_FAST") == "1"
OUT = Path(os.environ.get("SIMDIFF_GALLERY_OUT") or Path(__file__).parent / "_output")
# dt below 2 / (8 D / dx^2 + max|1 - u^2|): Euler's limit with the reaction's -3 at u = +-2 included
n, t_end, dt = (96, 300.0, 0.25) if FAST else (256, 700.0, 0.1)
grid = Grid((n, n), extent=FitzHughNagumo.extent, periodic=False)
# eps = 0.04: slow recovery gives a compact core; at eps = 0.08 the tip circles a core as wide as the box
model = FitzHughNagumo.preset("spiral", eps=0.04)
run = simulate(model, grid, model.initial(grid, "seeded", seed=0), t_end, method="euler", dt=dt,
               n_frames=int(t_end / 2.5) + 1)
u = run.y[:, 0]

probes = {"(150, 100)": (3 * n // 4, n // 2), "(50, 50)": (n // 4, n // 4)}
periods = []
for label, (i, j) in probes.items():
    up = np.flatnonzero((u[:-1, i, j] < 0) & (u[1:, i, j] >= 0))      # upstrokes, interpolated in time
    t_up = run.t[up] + 2.5 * u[up, i, j] / (u[up, i, j] - u[up + 1, i, j])
    periods.append(np.diff(t_up)[1:].mean())
period = float(np.mean(periods))

fig, axes = plt.subplot_mosaic("ABCD;EEEE", figsize=(12, 6.4), layout="constrained")
for k, key in enumerate("ABCD"):
    i = int(np.argmin(np.abs(run.t - (t_end - (3 - k) * period / 4))))
    axes[key].imshow(u[i].T, origin="lower", cmap="RdBu_r", vmin=-2.2, vmax=2.2, extent=(0, 200, 0, 200))
    axes[key].set_title(f"u at t = {run.t[i]:.0f}" + (" (+1/4 period each)" if k == 0 else ""))
for (label, (i, j)), p in zip(probes.items(), periods):
    axes["E"].plot(run.t, u[:, i, j], label=f"u at {label}: period {p:.1f}")
axes["E"].set(xlabel="t", ylabel="u", title=f"Every cell fires once per rotation: period {period:.1f}")
axes["E"].legend(loc="lower right")
fig.suptitle(f"FitzHugh–Nagumo spiral (a={model.a:g}, b={model.b:g}, eps={model.eps:g}), "
             f"{n}x{n} cells, no-flux walls")
OUT.mkdir(parents=True, exist_ok=True)
fig.savefig(OUT / "fitzhugh_nagumo_spiral.png", dpi=90)
animate(run.t, u, grid, OUT / "fitzhugh_nagumo_spiral.gif", fps=12, label="u", cmap="RdBu_r", title="FitzHugh–Nagumo",
        max_frames=80, dpi=60)
