"""The command line: help and version everywhere, lazy imports, the demo, one-line errors."""
from __future__ import annotations

import subprocess
import sys

import click
import numpy as np
import pytest
from click.testing import CliRunner

import simdiff
from simdiff_cli.generative import TORCH_INSTALL, torch_available
from simdiff_cli.main import COMMANDS, cli

SUBCOMMANDS = sorted(COMMANDS)


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def assert_one_line_error(result, *words: str) -> str:
    assert result.exit_code == 2, result.output
    msg = result.stderr.strip()
    assert "\n" not in msg and msg.startswith("Error: "), msg
    assert "Traceback" not in result.output
    for w in words:
        assert w in msg, msg
    return msg


def test_root_help_lists_every_command_with_its_short_help():
    result = invoke("--help")
    assert result.exit_code == 0, result.output
    for name, (_, short) in COMMANDS.items():
        assert name in result.output and short in result.output


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_subcommand_help(name):
    result = invoke(name, "--help")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: cli {name}") or f"Usage: simdiff {name}" in result.output
    assert len(result.output.splitlines()) > 3


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_lazy_table_points_at_a_click_command(name):
    cmd = cli.get_command(click.Context(cli), name)
    assert isinstance(cmd, click.Command)
    assert cmd.name == name


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag):
    result = invoke(flag)
    assert result.exit_code == 0
    assert result.output.strip() == f"simdiff {simdiff.__version__}"


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "simdiff_cli", "--version"], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == f"simdiff {simdiff.__version__}"


def test_help_imports_neither_numba_nor_torch():
    args = [["--help"], ["--version"]] + [[name, "--help"] for name in SUBCOMMANDS]
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "import simdiff_cli.main as m\n"
        f"for args in {args!r}:\n"
        "    r = CliRunner().invoke(m.cli, args)\n"
        "    assert r.exit_code == 0, (args, r.output)\n"
        "print(','.join(x for x in ('numba', 'torch', 'matplotlib') if x in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"--help imported {out.stdout.strip()}"


def test_methods_prints_the_table():
    result = invoke("methods")
    assert result.exit_code == 0
    assert result.output.strip() == str(simdiff.methods()).strip()
    for name in ("euler_maruyama", "milstein", "rk4", "etdrk4"):
        assert name in result.output


def test_demo_writes_both_files_and_agrees_with_theory(tmp_path):
    out = tmp_path / "demo"
    result = invoke("demo", "--out", str(out), "--n", "2000", "--seed", "3")
    assert result.exit_code == 0, result.output
    npz, png = out / "ou.npz", out / "ou.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == ["ou.npz", "ou.png"]   # no temporary left behind
    with np.load(npz) as d:
        t, mean, var = d["t"], d["mean"], d["var"]
        assert t.shape == mean.shape == var.shape == (51,)
        assert t[0] == 0.0 and t[-1] == 5.0
        np.testing.assert_allclose(d["exact_mean"], 2.0 * np.exp(-t), rtol=1e-12)
        np.testing.assert_allclose(d["exact_var"], (1 - np.exp(-2 * t)) / 2, rtol=1e-12)
        # stationary variance 1/2 after t = 3, within sampling error of 2000 particles
        assert abs(var[-1] - 0.5) < 5 * 0.5 * np.sqrt(2 / 2000)
        assert d["gbm_mean"].shape == (51,)
        assert '"seed": 3' in str(d["config"])
    for words in ("2,000 particles", "particle-steps/s", "standard errors", str(npz), str(png)):
        assert words in result.output


def test_demo_check_flags_a_wrong_solver():
    from types import SimpleNamespace

    from simdiff_cli.demo import compare

    n, t = 10_000, np.linspace(0.0, 1.0, 11)
    mean, var = np.exp(-t), 0.5 * (1 - np.exp(-2 * t))
    m4 = 3 * var**2                                           # Gaussian fourth moment
    good = SimpleNamespace(t=t, y=np.stack([mean, var, m4], axis=1))
    assert compare(good, mean, var, n)["ok"]
    bad = SimpleNamespace(t=t, y=np.stack([mean * 1.05, var, m4], axis=1))   # 5% off: a wrong drift
    res = compare(bad, mean, var, n)
    assert not res["ok"] and res["z"] > 6


def test_demo_refuses_too_few_particles(tmp_path):
    result = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path), "--n", "0"])
    assert_one_line_error(result, "--n=0")
    assert not any(tmp_path.iterdir())


def test_demo_refuses_negative_seed(tmp_path):
    assert_one_line_error(CliRunner().invoke(cli, ["demo", "--out", str(tmp_path), "--seed", "-1"]), "--seed")


def test_simdiff_errors_become_one_line_exit_2(monkeypatch):
    @click.command()
    def boom():
        simdiff.solve(simdiff.ODE(lambda t, y: -y), [1.0], (0.0, 1.0), method="no_such_method", dt=0.1)

    monkeypatch.setitem(cli.commands, "boom", boom)
    msg = assert_one_line_error(CliRunner().invoke(cli, ["boom"]), "no_such_method", "euler_maruyama")
    assert "Valid methods" in msg


@pytest.mark.parametrize("name", ["train", "generate", "evaluate"])
def test_torch_commands_without_torch(monkeypatch, name):
    monkeypatch.setitem(sys.modules, "torch", None)      # `import torch` now fails
    assert not torch_available()
    args = [name, "--data", "digits"] if name == "train" else [name]
    assert_one_line_error(CliRunner().invoke(cli, args), f"simdiff {name} needs torch", TORCH_INSTALL)
    assert invoke(name, "--help").exit_code == 0


def test_train_needs_data():
    result = CliRunner().invoke(cli, ["train"])
    assert result.exit_code == 2 and "--data" in result.output
