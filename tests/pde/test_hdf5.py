"""Run files: layout (time first, coordinates as dimension scales, attributes), interrupted runs
keep their frames, and resume continues to the same final state."""
from __future__ import annotations

import json

import numpy as np
import pytest

import simdiff
from simdiff.pde import Diffusion, Dirichlet, Grid, simulate

h5py = pytest.importorskip("h5py")


def _setup(nd=2):
    grid = Grid((12, 10), extent=((0.0, 1.0), (-0.5, 0.5))) if nd == 2 else Grid((40,), extent=2.0)
    mesh = grid.mesh()
    u0 = np.exp(-sum((x - 0.2) ** 2 for x in mesh) / 0.05)
    model = Diffusion(D=0.05, bc={"x-": Dirichlet(0.5)})
    return grid, model, u0


def test_layout_and_attributes(tmp_path):
    grid, model, u0 = _setup()
    path = tmp_path / "run.h5"
    run = simulate(model, grid, u0, 0.5, method="adi", n_frames=6, out=path)
    assert run.out == str(path)
    with h5py.File(path, "r") as h5:
        t = h5["t"][()]
        c = h5["c"]
        assert c.shape == (6, 12, 10)                         # time first
        assert np.array_equal(t, run.t)
        assert np.array_equal(c[()], run.y)
        assert c.dims[0][0].name.endswith("/t")
        assert c.dims[1][0].name.endswith("/x") and c.dims[2][0].name.endswith("/y")
        assert np.allclose(h5["x"][()], grid.coords(0)) and np.allclose(h5["y"][()], grid.coords(1))
        attrs = dict(h5.attrs)
    assert attrs["simdiff_version"] == simdiff.__version__
    assert json.loads(attrs["grid"]) == grid.to_dict()
    assert Grid.from_dict(json.loads(attrs["grid"])) == grid
    model_cfg = json.loads(attrs["model"])
    assert model_cfg["model"] == "diffusion" and model_cfg["D"] == 0.05
    assert attrs["method"] == "adi"
    assert float(attrs["dt"]) == run.dt
    assert not list(tmp_path.glob(".tmp-*"))                  # the temporary name was renamed away


def test_read_run_round_trip(tmp_path):
    from simdiff.io.hdf5 import read_run

    grid, model, u0 = _setup(nd=1)
    run = simulate(model, grid, u0, 0.2, method="crank_nicolson", n_frames=4, out=tmp_path / "r.h5")
    back = read_run(tmp_path / "r.h5")
    assert np.array_equal(back["t"], run.t)
    assert np.array_equal(back["fields"]["c"], run.y)
    assert np.allclose(back["coords"][0], grid.coords(0))
    assert back["attrs"]["grid"] == grid.to_dict()


def _interrupt_after(k):
    seen = []

    def cb(t, y):
        seen.append(t)
        if len(seen) == k + 1:       # frames 0..k have been computed
            raise KeyboardInterrupt

    return cb, seen


@pytest.mark.parametrize("method,dt", [("crank_nicolson", None), ("adi", None), ("rk4", 0.0025),
                                       ("rk4", None)])   # rk4's default dt does not divide the frame interval
def test_interrupt_keeps_frames_and_resume_matches(method, dt, tmp_path):
    grid, model, u0 = _setup()
    T, nf = 0.6, 7
    full = simulate(model, grid, u0, T, method=method, dt=dt, n_frames=nf, out=tmp_path / "full.h5")

    path = tmp_path / "run.h5"
    cb, seen = _interrupt_after(3)
    with pytest.raises(KeyboardInterrupt):
        simulate(model, grid, u0, T, method=method, dt=dt, n_frames=nf, out=path, callbacks=[cb])
    with h5py.File(path, "r") as h5:                          # readable, frames so far, time first
        t_part, c_part = h5["t"][()], h5["c"][()]
    n_part = len(t_part)
    assert n_part == 4 == len(seen)
    assert c_part.shape == (n_part, *grid.shape)
    assert np.array_equal(t_part, full.t[:n_part])
    assert np.max(np.abs(c_part - full.y[:n_part])) <= 1e-12 * np.max(np.abs(full.y))

    resumed = simulate(model, grid, u0, T, method=method, dt=dt, n_frames=nf, out=path, resume=True)
    assert resumed.t[0] == pytest.approx(t_part[-1])
    with h5py.File(path, "r") as h5:
        t_all, c_all = h5["t"][()], h5["c"][()]
    assert np.allclose(t_all, full.t, rtol=0, atol=1e-12)     # every frame once, none repeated
    assert np.max(np.abs(c_all[-1] - full.y[-1])) <= 1e-12 * np.max(np.abs(full.y[-1]))
    assert np.max(np.abs(resumed.y[-1] - full.y[-1])) <= 1e-12 * np.max(np.abs(full.y[-1]))


def test_interrupted_frame_is_in_the_file(tmp_path):
    """The file holds every frame the callbacks saw, the one whose callback stopped the run included."""
    grid, model, u0 = _setup()
    path = tmp_path / "run.h5"
    cb, seen = _interrupt_after(3)
    with pytest.raises(KeyboardInterrupt):
        simulate(model, grid, u0, 0.6, method="crank_nicolson", n_frames=7, out=path, callbacks=[cb])
    with h5py.File(path, "r") as h5:
        assert np.array_equal(h5["t"][()], seen)


def test_resume_of_finished_run_is_refused(tmp_path):
    from simdiff.errors import InputError

    grid, model, u0 = _setup(nd=1)
    path = tmp_path / "done.h5"
    simulate(model, grid, u0, 0.1, method="crank_nicolson", n_frames=3, out=path)
    with pytest.raises(InputError, match="nothing to resume"):
        simulate(model, grid, u0, 0.1, method="crank_nicolson", n_frames=3, out=path, resume=True)


def test_resume_without_file_starts_fresh(tmp_path):
    grid, model, u0 = _setup(nd=1)
    a = simulate(model, grid, u0, 0.1, method="crank_nicolson", n_frames=3, out=tmp_path / "new.h5", resume=True)
    b = simulate(model, grid, u0, 0.1, method="crank_nicolson", n_frames=3)
    assert np.array_equal(a.y, b.y)


@pytest.mark.parametrize("change", ["shape", "extent", "D", "method"])
def test_resume_refuses_a_file_of_another_run(change, tmp_path):
    from simdiff.errors import CheckpointError, InputError

    grid, model, u0 = _setup(nd=1)
    path = tmp_path / "a.h5"
    cb, _ = _interrupt_after(1)
    with pytest.raises(KeyboardInterrupt):
        simulate(model, grid, u0, 0.2, method="crank_nicolson", n_frames=5, out=path, callbacks=[cb])
    if change == "shape":
        grid, u0 = Grid((30,), extent=2.0), np.ones(30)
    elif change == "extent":
        grid = Grid((40,), extent=3.0)
    elif change == "D":
        model = Diffusion(D=5.0, bc=model.bc)
    method = "backward_euler" if change == "method" else "crank_nicolson"
    with pytest.raises((CheckpointError, InputError), match=r"cannot resume .*(grid|model|method)"):
        simulate(model, grid, u0, 0.2, method=method, n_frames=5, out=path, resume=True)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_resume_crank_nicolson_within_the_rannacher_start(k, tmp_path):
    """One step per frame, interrupted after frame k: the resumed run takes the remaining start steps
    (k = 1 once resumed with plain Crank–Nicolson, skipping the second start step)."""
    grid, model, u0 = _setup()
    h = 0.01
    full = simulate(model, grid, u0, 0.1, method="crank_nicolson", dt=h, save_every=h)
    path = tmp_path / "cn.h5"
    cb, _ = _interrupt_after(k)
    with pytest.raises(KeyboardInterrupt):
        simulate(model, grid, u0, 0.1, method="crank_nicolson", dt=h, save_every=h, out=path, callbacks=[cb])
    resumed = simulate(model, grid, u0, 0.1, method="crank_nicolson", dt=h, save_every=h, out=path, resume=True)
    assert np.max(np.abs(resumed.y[-1] - full.y[-1])) <= 1e-12 * np.max(np.abs(full.y[-1]))


RESUME_SCRIPT = """
import sys, numpy as np
from simdiff.pde import Diffusion, Dirichlet, Grid, simulate
grid = Grid((40,), extent=2.0)
u0 = np.exp(-(grid.coords(0) - 1.0) ** 2 / 0.05)
model = Diffusion(D=0.05, bc={"x-": Dirichlet(lambda x, t: np.sin(t))}, source=lambda x: 0.1 * x)
path = sys.argv[1]
if sys.argv[2] == "first":
    def stop(t, y):
        if t > 0.05:
            raise KeyboardInterrupt
    try:
        simulate(model, grid, u0, 0.2, method="crank_nicolson", n_frames=5, out=path, callbacks=[stop])
    except KeyboardInterrupt:
        print("interrupted")
else:
    run = simulate(model, grid, u0, 0.2, method="crank_nicolson", n_frames=5, out=path, resume=True)
    print("resumed", run.t[-1])
"""


def test_resume_in_a_new_process_with_function_values(tmp_path):
    """The usual case: the first process was stopped, a new one resumes (function-valued walls and source)."""
    import subprocess
    import sys

    path = str(tmp_path / "run.h5")
    first = subprocess.run([sys.executable, "-c", RESUME_SCRIPT, path, "first"], capture_output=True, text=True,
                           timeout=120)
    assert first.stdout.strip() == "interrupted", first.stderr[-2000:]
    second = subprocess.run([sys.executable, "-c", RESUME_SCRIPT, path, "second"], capture_output=True, text=True,
                            timeout=120)
    assert second.returncode == 0, second.stderr[-2000:]
    assert second.stdout.strip() == "resumed 0.2"
