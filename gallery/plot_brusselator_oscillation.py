"""Brusselator: the uniform limit-cycle oscillation at one cell beside the ODE, and a Turing pattern.

Left and middle: the ``oscillation`` preset (A = 1, B = 3 > 1 + A^2, Hopf-unstable) on a periodic
64 x 64 box, ETDRK4, from the steady state (A, B/A) shifted uniformly by du = 0.1 plus noise of
1e-3. With equal diffusivities every non-uniform perturbation grows no faster than the uniform
mode and then decays as exp(-D k^2 t), so the centre cell should follow the homogeneous ODE
u' = A - (B+1)u + u^2 v, v' = Bu - u^2 v from the box mean, solved apart by simdiff.solve
(adaptive Dormand–Prince): same period, same orbit. (From noise alone, the long waves start as
large as the uniform mode and the box fills with phase waves instead.) Right: the ``turing`` preset
(A = 3, B = 9, D_v/D_u = 8: stable without diffusion, Turing-unstable with it) grows a stationary
pattern of spots and stripes from the same kind of noise (explicit Euler, dt = 0.002).
"""
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import simdiff  # noqa: E402
from simdiff.pde import Brusselator, Grid, simulate  # noqa: E402

FAST = os.environ.get("SIMDIFF_GALLERY_FAST") == "1"
OUT = Path(os.environ.get("SIMDIFF_GALLERY_OUT") or Path(__file__).parent / "_output")
OUT.mkdir(parents=True, exist_ok=True)
n, t_end, t_turing = (32, 30.0, 10.0) if FAST else (64, 60.0, 100.0)
model = Brusselator.preset("oscillation")
grid = Grid((n, n), extent=Brusselator.extent, periodic=True)
u0 = model.initial(grid, "steady", seed=0, amplitude=1e-3) + np.array([0.1, 0.0])[:, None, None]
run = simulate(model, grid, u0, t_end, method="etdrk4", dt=0.02, n_frames=int(t_end * 10) + 1)
cell = run.y[:, :, n // 2, n // 2]
ode = simdiff.ODE(lambda t, y: np.stack(model.reaction(y[:, None])[:, 0]))
sol = simdiff.solve(ode, u0.mean(axis=(1, 2)), (0.0, t_end), save_at=run.t, rtol=1e-9, atol=1e-9)
periods = []
for u in (cell[:, 0], sol.y[:, 0]):          # mean of the last three intervals between upward crossings of A
    up = np.flatnonzero((u[:-1] < model.A) & (u[1:] >= model.A))
    periods.append(np.diff(run.t[up] + 0.1 * (model.A - u[up]) / (u[up + 1] - u[up]))[-3:].mean())

fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.6), layout="constrained", width_ratios=[1.6, 1, 1])
ax1.plot(run.t, cell[:, 0], lw=2.5, label=f"PDE, centre cell (period {periods[0]:.3f})")
ax1.plot(sol.t, sol.y[:, 0], "k--", lw=1.2, label=f"ODE from the box mean (period {periods[1]:.3f})")
ax1.set(xlabel="t", ylabel="u", title=f"uniform oscillation (A=1, B=3, D_u=D_v=1): max |u_cell - u_ODE| = "
                                      f"{np.abs(cell[:, 0] - sol.y[:, 0]).max():.1e}")
ax1.legend(loc="upper left", fontsize=8)
ax2.plot(cell[:, 0], cell[:, 1], lw=2.5, label="PDE cell")
ax2.plot(sol.y[:, 0], sol.y[:, 1], "k--", lw=1.2, label="ODE")
ax2.plot(model.A, model.B / model.A, "r+", ms=12, label="steady state (A, B/A)")
ax2.set(xlabel="u", ylabel="v", title="phase plane: the same limit cycle")
ax2.legend(fontsize=8)
turing_model = Brusselator.preset("turing")
tgrid = Grid((2 * n, 2 * n), extent=Brusselator.extent, periodic=True)
pattern = simulate(turing_model, tgrid, turing_model.initial(tgrid, "steady", seed=0), t_turing,
                   method="euler", dt=0.002, n_frames=2).y[-1, 0]
im = ax3.imshow(pattern.T, origin="lower", cmap="magma", extent=(0, tgrid.lengths[0]) * 2)
fig.colorbar(im, ax=ax3, label="u")
ax3.set_title(f"Turing preset (A=3, B=9, D_v=8) at t = {t_turing:g}")
fig.savefig(OUT / "brusselator_oscillation.png", dpi=90)
