r"""Linear stability of a homogeneous steady state: dispersion relation and Turing band.

Perturbing the steady state :math:`u^*` by :math:`\delta u\, e^{\lambda t + i k\cdot x}` gives the
eigenvalue problem :math:`\lambda \delta u = (J - k^2 \mathbf{D})\delta u`, with :math:`J` the
reaction Jacobian at :math:`u^*` and :math:`\mathbf{D} = \mathrm{diag}(D_s)`. A Turing instability
is a steady state that is stable to uniform perturbations (:math:`\max\Re\lambda(0) < 0`) but
unstable on a band :math:`k_1 < |k| < k_2`; the fastest-growing :math:`k_{max}` predicts the
pattern wavelength :math:`2\pi / k_{max}` (Murray, *Mathematical Biology II*, ch. 2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simdiff.errors import InputError


@dataclass
class TuringAnalysis:
    """Result of :func:`analyse`. Wavenumbers in radians per length unit."""

    steady_state: np.ndarray
    jacobian: np.ndarray
    k: np.ndarray
    growth: np.ndarray          # max real part of the eigenvalues at each k
    band: tuple[float, float] | None
    k_max: float | None
    wavelength: float | None
    turing: bool                # stable at k = 0, unstable on a band of k > 0
    hopf: bool                  # unstable at k = 0 with complex eigenvalues (oscillation)

    def summary(self) -> str:
        ss = ", ".join(f"{x:.4g}" for x in self.steady_state)
        if self.turing:
            return (f"steady state ({ss}) is Turing-unstable for {self.band[0]:.4g} < k < {self.band[1]:.4g}; "
                    f"fastest growth at k = {self.k_max:.4g} (rate {self.growth.max():.3g}): predicted "
                    f"wavelength {self.wavelength:.4g}.")
        if self.hopf:
            return f"steady state ({ss}) is oscillatory (Hopf): uniform perturbations grow while rotating."
        if self.growth.max() > 0:
            return f"steady state ({ss}) is unstable at k = 0 (not a Turing instability)."
        return f"steady state ({ss}) is linearly stable at every wavenumber: no Turing pattern."


def growth_rates(model, k, state=None) -> np.ndarray:
    """Eigenvalues of ``J - k^2 D`` for each wavenumber in ``k``: shape (len(k), n_species)."""
    J = model.jacobian(state)
    D = np.diag([model.D[s] for s in model.species])
    k = np.atleast_1d(np.asarray(k, dtype=float))
    return np.array([np.linalg.eigvals(J - kk ** 2 * D) for kk in k])


def analyse(model, k=None, state=None, n: int = 4000) -> TuringAnalysis:
    """Dispersion relation, unstable band and predicted wavelength of ``model``'s steady state."""
    if len(model.species) < 2:
        raise InputError(f"{model.name} has one species; a Turing instability needs at least two.")
    ss = model.steady_state() if state is None else np.asarray(state, dtype=float)
    J = model.jacobian(ss)
    if k is None:
        # beyond k ~ sqrt(|J| / D_min) diffusion damps everything; look a little further
        Dmin = min(d for d in model.D.values() if d > 0) if any(d > 0 for d in model.D.values()) else 1.0
        kmax = 4.0 * np.sqrt(max(np.abs(J).max(), 1e-12) / Dmin)
        k = np.linspace(0.0, kmax, n)
    k = np.asarray(k, dtype=float)
    lam = growth_rates(model, k, ss)
    growth = lam.real.max(axis=1)
    at0 = growth_rates(model, [0.0], ss)[0]
    hopf = bool(at0.real.max() > 0 and np.abs(at0.imag).max() > 0)
    unstable = (growth > 0) & (k > 0)
    turing = bool(at0.real.max() < 0 and unstable.any())
    band = kmx = wl = None
    if turing:
        idx = np.flatnonzero(unstable)
        band = (float(k[idx[0]]), float(k[idx[-1]]))
        i = int(idx[np.argmax(growth[idx])])
        # refine the maximum with a parabola through the three samples around it
        if 0 < i < len(k) - 1:
            y0, y1, y2 = growth[i - 1], growth[i], growth[i + 1]
            den = y0 - 2 * y1 + y2
            shift = 0.5 * (y0 - y2) / den if den != 0 else 0.0
            kmx = float(k[i] + shift * (k[i + 1] - k[i]))
        else:
            kmx = float(k[i])
        wl = float(2 * np.pi / kmx)
    return TuringAnalysis(ss, J, k, growth, band, kmx, wl, turing, hopf)


def plot(analysis: TuringAnalysis, path=None, ax=None, title: str | None = None):
    """The dispersion curve max Re lambda(k), with the unstable band shaded; saved to ``path``
    (PNG, written atomically) when given. Returns the figure."""
    from simdiff.viz._common import new_figure, savefig

    fig = ax.figure if ax is not None else new_figure((6, 4))
    ax = ax if ax is not None else fig.add_subplot()
    ax.plot(analysis.k, analysis.growth, color="C0", lw=2)
    ax.axhline(0.0, color="0.4", lw=0.8)
    if analysis.band is not None:
        ax.axvspan(*analysis.band, color="C1", alpha=0.2, label="unstable band")
        ax.axvline(analysis.k_max, color="C3", ls="--",
                   label=f"k_max = {analysis.k_max:.3g} (wavelength {analysis.wavelength:.3g})")
        ax.legend(loc="best")
    ax.set_xlabel("wavenumber k")
    ax.set_ylabel("max Re λ(k)")
    ax.set_title(title or "dispersion relation")
    if path is not None:
        savefig(fig, path, dpi=120)
    return fig
