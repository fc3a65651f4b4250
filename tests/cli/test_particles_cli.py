"""``simdiff particles``: help, every process writes readable trajectory files, the fitted exponent,
``analyze`` on HDF5 / .npy / CSV, one-line errors."""
from __future__ import annotations

import re

import numpy as np
import pytest
from click.testing import CliRunner

from simdiff.errors import InputError
from simdiff.particles.io import read_attributes, read_trajectories, write_trajectories
from simdiff_cli.main import cli
from tests.cli.test_help import assert_one_line_error

PNG = b"\x89PNG\r\n\x1a\n"
PROCESSES = {
    "brownian": (), "langevin": (), "fbm": ("--hurst", "0.3"), "sbm": ("--alpha", "0.7"),
    "ctrw": ("--alpha", "0.6"), "levy-flight": ("--alpha", "1.5"), "levy-walk": ("--alpha", "1.5"),
    "attm": ("--alpha", "0.5"),
}
ALPHA = re.compile(r"alpha = (-?[\d.]+) \[(-?[\d.]+), (-?[\d.]+)\]")


def invoke(*args: str):
    return CliRunner().invoke(cli, ["particles", *args], catch_exceptions=False)


def fitted(output: str) -> tuple[float, float, float]:
    m = ALPHA.search(output)
    assert m, output
    return tuple(float(v) for v in m.groups())


@pytest.fixture(scope="module")
def fbm_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("fbm") / "fbm.h5"
    result = invoke("fbm", "--hurst", "0.3", "--n", "500", "--steps", "500", "--seed", "1", "--out", str(path))
    assert result.exit_code == 0, result.output
    return path, result.output


# ---- help ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [None, *PROCESSES, "analyze"])
def test_help(command):
    result = invoke(*([command] if command else []), "--help")
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    if command in PROCESSES:
        for opt in ("--n", "--steps", "--dt", "--seed", "--out", "--plot"):
            assert opt in result.output
    if command is None:
        for name in [*PROCESSES, "analyze"]:
            assert name in result.output


def test_process_specific_options_in_help():
    assert "--hurst" in invoke("fbm", "--help").output
    out = invoke("langevin", "--help").output
    for opt in ("--potential", "--k", "--underdamped", "--gamma", "--mass", "--V0", "--tilt"):
        assert opt in out


# ---- runs -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("process", list(PROCESSES))
def test_process_writes_readable_trajectories(tmp_path, process):
    out = tmp_path / f"{process}.h5"
    result = invoke(process, "--n", "50", "--steps", "200", "--out", str(out), *PROCESSES[process])
    assert result.exit_code == 0, result.output
    assert str(out) in result.output and "50 particles" in result.output
    lo_alpha = fitted(result.output)
    assert lo_alpha[1] <= lo_alpha[0] <= lo_alpha[2]
    t, x = read_trajectories(out)
    assert t.shape == (201,) and x.shape == (50, 201, 1)
    np.testing.assert_allclose(t, np.arange(201.0), atol=1e-9)
    attrs = read_attributes(out)
    assert attrs["process"] == process and attrs["seed"] == 0
    assert attrs["parameters"]["n"] == 50 and attrs["parameters"]["steps"] == 200


def test_fbm_exponent(fbm_file):
    alpha, low, high = fitted(fbm_file[1])
    assert abs(alpha - 0.6) < 0.1
    assert low < alpha < high
    assert "expected 0.6" in fbm_file[1]


def test_plot_and_dimensions(tmp_path):
    out = tmp_path / "b.h5"
    result = invoke("brownian", "--n", "20", "--steps", "50", "--dim", "2", "--dt", "0.1", "--plot", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "b.png").read_bytes().startswith(PNG)
    t, x = read_trajectories(out)
    assert x.shape == (20, 51, 2) and t[-1] == pytest.approx(5.0)


def test_langevin_underdamped_and_potentials(tmp_path):
    for extra in (("--potential", "double-well", "--underdamped", "--dt", "0.05"),
                  ("--potential", "washboard", "--tilt", "0.5", "--dt", "0.05"),
                  ("--potential", "none", "--D", "0.5")):
        out = tmp_path / "l.h5"
        result = invoke("langevin", "--n", "20", "--steps", "50", "--out", str(out), *extra)
        assert result.exit_code == 0, result.output
        assert read_trajectories(out)[1].shape == (20, 51, 1)


def test_seed_reproducible(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    for p in (a, b):
        assert invoke("sbm", "--n", "10", "--steps", "20", "--seed", "3", "--out", str(p)).exit_code == 0
    np.testing.assert_array_equal(read_trajectories(a)[1], read_trajectories(b)[1])


# ---- analyze --------------------------------------------------------------------------------------

def _check_analysis(result, dt: float = 1.0):
    assert result.exit_code == 0, result.output
    assert "ensemble MSD exponent" in result.output and "time-averaged MSD exponent" in result.output
    assert "ergodicity-breaking parameter EB" in result.output
    assert abs(fitted(result.output)[0] - 0.6) < 0.1
    assert f"dt={dt:g}" in result.output


def test_analyze_h5(fbm_file, tmp_path):
    png = tmp_path / "a.png"
    result = invoke("analyze", str(fbm_file[0]), "--plot", str(png), "--eb-lag", "10")
    _check_analysis(result)
    assert "at lag 10" in result.output and "process fbm" in result.output
    assert png.read_bytes().startswith(PNG)


def test_analyze_npy(fbm_file, tmp_path):
    t, x = read_trajectories(fbm_file[0])
    path = tmp_path / "x.npy"
    np.save(path, x[:, :, 0])
    _check_analysis(invoke("analyze", str(path), "--dt", "0.5"), dt=0.5)
    t2, x2 = read_trajectories(path, dt=0.5)
    assert x2.shape == x.shape and t2[1] == 0.5


def test_analyze_csv(fbm_file, tmp_path):
    t, x = read_trajectories(fbm_file[0])
    n, T, _ = x.shape
    rows = np.column_stack([np.repeat(np.arange(n), T), np.tile(t, n), x.reshape(-1)])
    path = tmp_path / "x.csv"
    rng = np.random.default_rng(0)
    np.savetxt(path, rows[rng.permutation(len(rows))], delimiter=",", header="particle,t,x", comments="")
    _check_analysis(invoke("analyze", str(path), "--lag-range", "1", "100"))
    t2, x2 = read_trajectories(path)
    np.testing.assert_allclose(x2, x)
    np.testing.assert_allclose(t2, t)


def test_write_read_roundtrip_3d(tmp_path):
    x = np.random.default_rng(0).standard_normal((4, 6, 3))
    t = 0.25 * np.arange(6)
    path = write_trajectories(tmp_path / "r.h5", t, x, {"process": "test", "parameters": {"a": 1}, "seed": 7})
    t2, x2 = read_trajectories(path)
    np.testing.assert_array_equal(x2, x)
    np.testing.assert_array_equal(t2, t)
    assert read_attributes(path)["parameters"] == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.h5"]        # no temporary file left behind


def test_reader_rejects_bad_shapes(tmp_path):
    p = tmp_path / "bad.npy"
    np.save(p, np.zeros(5))
    with pytest.raises(InputError, match="shape"):
        read_trajectories(p)
    c = tmp_path / "ragged.csv"
    c.write_text("0,0,1\n0,1,2\n1,0,3\n")
    with pytest.raises(InputError, match="same"):
        read_trajectories(c)


# ---- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("hurst", ["0", "1", "1.5", "-0.2"])
def test_hurst_out_of_range(tmp_path, hurst):
    result = invoke("fbm", "--hurst", hurst, "--n", "5", "--steps", "10", "--out", str(tmp_path / "f.h5"))
    assert_one_line_error(result, "hurst")
    assert not (tmp_path / "f.h5").exists()


def test_n_zero(tmp_path):
    assert_one_line_error(invoke("brownian", "--n", "0", "--out", str(tmp_path / "b.h5")), "--n")


def test_missing_file(tmp_path):
    assert_one_line_error(invoke("analyze", str(tmp_path / "nope.h5")), "no such file")


@pytest.mark.parametrize("name", ["bad.h5", "bad.npy", "bad.csv"])
def test_corrupt_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"not a trajectory\x00\x01 file\n")
    assert_one_line_error(invoke("analyze", str(path)), name)


def test_truncated_h5(fbm_file, tmp_path):
    path = tmp_path / "cut.h5"
    path.write_bytes(fbm_file[0].read_bytes()[:64])
    assert_one_line_error(invoke("analyze", str(path)), "cut.h5")


def test_bad_lag_range(fbm_file):
    assert_one_line_error(invoke("analyze", str(fbm_file[0]), "--lag-range", "1", "2"), "at least 3")
