"""Gray–Scott presets: the v field of every preset of ``GrayScott`` after t = 20,000.

Each panel runs one preset on Pearson's setup (Science 261, 1993): a periodic 2.5 x 2.5 box of
256 x 256 cells, D_u = 2e-5, D_v = 1e-5, explicit Euler at 90% of its stability limit
(dt about 1, as Pearson's), from u = 1, v = 0 with a central square at u = 1/2, v = 1/4 and 1%
noise. Why it is right: the same (F, k) give the pattern classes of Pearson's phase
diagram, e.g. spots replicating outwards at (0.035, 0.065), a labyrinth at (0.029, 0.057) and
holes in a v sheet at (0.039, 0.058). A panel titled "uniform" decayed back to u = 1, v = 0
within the run: that preset does not grow from this start.
"""
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from simdiff.pde import GrayScott, Grid, simulate  # noqa: E402

FAST = os.environ.get("SIMDIFF_GALLERY_FAST") == "1"
OUT = Path(os.environ.get("SIMDIFF_GALLERY_OUT") or Path(__file__).parent / "_output")
n, t_end = (64, 2_000) if FAST else (256, 20_000)
grid = Grid((n, n), extent=GrayScott.extent * n / 256, periodic=True)     # Pearson's cell size

names = list(GrayScott.presets)
cols = (len(names) + 1) // 2
fig, axes = plt.subplots(2, cols, figsize=(2.6 * cols, 6.0), layout="constrained")
for ax, name in zip(axes.flat, names):
    model = GrayScott.preset(name)
    run = simulate(model, grid, model.initial(grid, "seeded", seed=1), t_end, method="euler", n_frames=2)
    v = run.y[-1, 1]
    ax.imshow(v.T, origin="lower", cmap="viridis", vmin=0.0, vmax=0.45, extent=(0, grid.lengths[0]) * 2)
    state = "uniform: decayed to u = 1, v = 0" if np.ptp(v) < 1e-3 else GrayScott.presets[name]["description"]
    ax.set_title(f"{name}  (F={model.F:g}, k={model.k:g})\n{state}", fontsize=8)
    ax.set_axis_off()
for ax in axes.flat[len(names):]:
    ax.remove()
fig.suptitle(f"Gray–Scott presets: v at t = {t_end:,} on a periodic {n}x{n} grid "
             f"({grid.lengths[0]:g} x {grid.lengths[0]:g}), explicit Euler dt = {run.dt:.3g}")
OUT.mkdir(parents=True, exist_ok=True)
fig.savefig(OUT / "gray_scott_presets.png", dpi=90)
