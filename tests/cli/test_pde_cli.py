"""``simdiff pde``: help, runs that write valid run files and figures, TOML config, one-line errors."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from simdiff.io import read_run
from simdiff.pde import Grid
from simdiff_cli.main import cli
from simdiff_cli.pde import METHODS, pde
from tests.cli.test_help import assert_one_line_error

PNG = b"\x89PNG\r\n\x1a\n"
QUIET = ("--no-progress",)


def invoke(*args: str):
    return CliRunner().invoke(cli, ["pde", *args], catch_exceptions=False)


def diffusion(tmp_path, *args: str, out: str = "run.h5"):
    result = invoke("diffusion", "--out", str(tmp_path / out), *QUIET, *args)
    return result, tmp_path / out


def grid_of(run: dict) -> Grid:
    return Grid.from_dict(run["attrs"]["grid"])


def relative_mass_change(run: dict) -> float:
    grid = grid_of(run)
    mass = np.array([grid.integrate(f) for f in run["fields"]["c"]])
    return float(np.max(np.abs(mass - mass[0])) / mass[0])


# ---- help ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["pde", "--help"], ["pde", "diffusion", "--help"], ["pde", "diffusion", "-h"]])
def test_help(args):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_group_help_lists_every_model():
    result = invoke("--help")
    for name, cmd in pde.commands.items():
        assert name in result.output and cmd.get_short_help_str(limit=200) in result.output
    assert "diffusion" in pde.commands


def test_diffusion_help_names_every_option_and_method():
    out = invoke("diffusion", "--help").output
    for flag in ("--dim", "--shape", "--extent", "--D", "--bc", "--init", "--t-end", "--method", "--dt", "--frames",
                 "--out", "--plot", "--movie", "--mask", "--config", "--seed", "--decay", "--source", "--resume"):
        assert flag in out
    (method,) = [p for p in pde.commands["diffusion"].params if p.name == "method"]
    for m in METHODS:
        assert m in method.help


def test_method_names_match_the_library():
    from simdiff.pde.diffusion import METHODS as LIBRARY

    assert {m.replace("-", "_") for m in METHODS} == set(LIBRARY) | {"auto"}


# ---- runs ---------------------------------------------------------------------------------------

def test_1d_run_writes_run_file_plot_and_movie(tmp_path):
    from PIL import Image

    result, out = diffusion(tmp_path, "--dim", "1", "--shape", "60", "--D", "1e-2", "--t-end", "2",
                            "--frames", "6", "--init", "step", "--plot", "--movie")
    assert result.exit_code == 0, result.output
    run = read_run(out)
    t, c = run["t"], run["fields"]["c"]
    np.testing.assert_allclose(t, np.linspace(0.0, 2.0, 6))
    assert c.shape == (6, 60)
    assert relative_mass_change(run) < 1e-10                  # no-flux walls conserve mass
    assert c[-1, 0] < 1.0 and c[-1, -1] > 0.0                 # and the step has spread
    assert run["attrs"]["config"]["init"] == "step" and run["attrs"]["seed"] == 0
    assert run["attrs"]["bc"]["x-"] == {"kind": "neumann", "value": 0.0}
    png, gif = tmp_path / "run.png", tmp_path / "run.gif"
    assert png.read_bytes()[:8] == PNG
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames == 6
    assert sorted(os.listdir(tmp_path)) == ["run.gif", "run.h5", "run.png"]   # no temporaries left
    for path in (out, png, gif):
        assert f"wrote {path}" in result.output
    assert "Mass" in result.output and "'crank_nicolson'" in result.output


def test_2d_run_random_init_is_seeded_and_conserves_mass(tmp_path):
    result, out = diffusion(tmp_path, "--shape", "24", "16", "--extent", "1", "0.5", "--init", "random",
                            "--seed", "3", "--t-end", "1", "--frames", "5", "--method", "crank-nicolson")
    assert result.exit_code == 0, result.output
    run = read_run(out)
    c = run["fields"]["c"]
    assert c.shape == (5, 24, 16)
    np.testing.assert_array_equal(c[0], np.random.default_rng(3).uniform(0.0, 1.0, (24, 16)))
    assert relative_mass_change(run) < 1e-10
    assert run["attrs"]["method"] == "crank_nicolson" and run["attrs"]["seed"] == 3
    assert grid_of(run).lengths == (1.0, 0.5)


def test_dirichlet_walls_reach_the_linear_steady_state(tmp_path):
    # c(0) = 1, c(L) = 0: after t >> L^2/(pi^2 D) the profile is 1 - x/L (exact for cell-centred ghosts)
    # (backward Euler: L-stable, so the step's high modes die at once; Crank-Nicolson keeps them ringing)
    result, out = diffusion(tmp_path, "--dim", "1", "--shape", "40", "--D", "0.1", "--t-end", "10", "--frames", "3",
                            "--bc", "x-=dirichlet:1", "--bc", "x+=dirichlet:0", "--init", "step",
                            "--method", "backward-euler")
    assert result.exit_code == 0, result.output
    run = read_run(out)
    x = run["coords"][0]
    np.testing.assert_allclose(run["fields"]["c"][-1], 1.0 - x, atol=1e-3)


def test_periodic_bc_makes_the_grid_periodic(tmp_path):
    result, out = diffusion(tmp_path, "--shape", "16,16", "--bc", "periodic", "--init", "random", "--t-end", "1",
                            "--frames", "3")
    assert result.exit_code == 0, result.output
    run = read_run(out)
    assert run["attrs"]["method"] == "spectral"               # auto on a periodic box
    assert grid_of(run).periodic == (True, True)
    assert relative_mass_change(run) < 1e-10


@pytest.mark.parametrize("shape", [["12", "10"], ["12,10"], ["12x10"]])
def test_shape_forms(tmp_path, shape):
    result, out = diffusion(tmp_path, "--shape", *shape, "--t-end", "0.1", "--frames", "2")
    assert result.exit_code == 0, result.output
    assert read_run(out)["fields"]["c"].shape == (2, 12, 10)


def test_one_shape_number_fills_every_axis_and_dim_follows_the_count(tmp_path):
    result, out = diffusion(tmp_path, "--dim", "3", "--shape", "6", "--t-end", "0.1", "--frames", "2")
    assert result.exit_code == 0, result.output
    assert read_run(out)["fields"]["c"].shape == (2, 6, 6, 6)
    result, out = diffusion(tmp_path, "--shape", "6", "5", "4", "--t-end", "0.1", "--frames", "2", out="b.h5")
    assert result.exit_code == 0, result.output
    assert read_run(out)["fields"]["c"].shape == (2, 6, 5, 4)


def test_image_init_and_mask(tmp_path):
    from PIL import Image

    img = np.zeros((20, 30), dtype=np.uint8)                  # 20 rows (y, top-down) x 30 columns (x)
    img[:10, :15] = 255                                        # white top-left quadrant
    Image.fromarray(img).save(tmp_path / "init.png")
    Image.fromarray(np.full((20, 30), 255, dtype=np.uint8)).save(tmp_path / "mask.png")
    result, out = diffusion(tmp_path, "--shape", "30", "20", "--init", f"image:{tmp_path / 'init.png'}",
                            "--mask", str(tmp_path / "mask.png"), "--t-end", "0.1", "--frames", "2", "--plot")
    assert result.exit_code == 0, result.output
    c0 = read_run(out)["fields"]["c"][0]
    assert c0[:15, 10:].min() == 1.0 and c0[15:, :].max() == 0.0 and c0[:, :10].max() == 0.0   # x left, y up
    assert (tmp_path / "run.png").read_bytes()[:8] == PNG


def test_progress_bar_and_source_decay(tmp_path):
    result = CliRunner().invoke(cli, ["pde", "diffusion", "--out", str(tmp_path / "s.h5"), "--dim", "1", "--shape",
                                      "20", "--source", "1", "--decay", "2", "--t-end", "5", "--frames", "3",
                                      "--init", "random"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "step" in result.stderr                             # tqdm writes to stderr
    c = read_run(tmp_path / "s.h5")["fields"]["c"][-1]
    np.testing.assert_allclose(c, 0.5, atol=1e-3)              # steady state s/k


def test_resume_continues_the_run(tmp_path):
    args = ("--dim", "1", "--shape", "30", "--D", "1e-2")
    assert diffusion(tmp_path, *args, "--t-end", "1", "--frames", "3")[0].exit_code == 0
    result, out = diffusion(tmp_path, *args, "--t-end", "2", "--resume")
    assert result.exit_code == 0, result.output
    run = read_run(out)
    np.testing.assert_allclose(run["t"], [0.0, 0.5, 1.0, 1.5, 2.0])      # the file's frame spacing
    assert relative_mass_change(run) < 1e-10
    result, out = diffusion(tmp_path, *args, "--t-end", "3", "--frames", "3", "--resume")   # 0, 1.5, 3 on [0, 3]
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(read_run(out)["t"], [0.0, 0.5, 1.0, 1.5, 2.0, 3.0])
    result, _ = diffusion(tmp_path, "--dim", "1", "--shape", "31", "--t-end", "4", "--resume")
    assert_one_line_error(result, "--resume", "shape")
    result, _ = diffusion(tmp_path, *args, "--D", "2e-2", "--t-end", "4", "--resume")
    assert_one_line_error(result, "--resume", "D")


# ---- configuration ------------------------------------------------------------------------------

def test_config_file_and_cli_override(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text('dim = 1\nshape = [25]\nD = 0.05\nt-end = 3.0\nframes = 4\ninit = "step"\n'
                   'progress = false\nmethod = "backward_euler"\n[bc]\n"x-" = "dirichlet:1"\n')
    result = invoke("diffusion", "--config", str(cfg), "--out", str(tmp_path / "a.h5"))
    assert result.exit_code == 0, result.output
    run = read_run(tmp_path / "a.h5")
    assert run["fields"]["c"].shape == (4, 25) and run["t"][-1] == 3.0
    assert run["attrs"]["method"] == "backward_euler"
    assert run["attrs"]["bc"]["x-"] == {"kind": "dirichlet", "value": 1.0}
    assert run["attrs"]["config"]["D"] == 0.05 and run["attrs"]["config"]["config"] == str(cfg)

    result = invoke("diffusion", "--config", str(cfg), "--out", str(tmp_path / "b.h5"), "--t-end", "1",
                    "--frames", "3", "--bc", "neumann", "--D", "0.01")
    assert result.exit_code == 0, result.output
    run = read_run(tmp_path / "b.h5")
    assert run["t"][-1] == 1.0 and run["fields"]["c"].shape == (3, 25)
    assert run["attrs"]["config"]["D"] == 0.01 and run["attrs"]["bc"]["x-"]["kind"] == "neumann"
    assert json.loads(json.dumps(run["attrs"]["config"]))["method"] == "backward_euler"   # kept from the file


def test_config_out_and_dashes_or_underscores(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'out = "{tmp_path / "cfg.h5"}"\nshape = "8x8"\nt_end = 0.5\nframes = 2\nprogress = false\n'
                   f'bc = ["neumann", "x-=dirichlet:2"]\n')
    result = invoke("diffusion", "--config", str(cfg))
    assert result.exit_code == 0, result.output
    run = read_run(tmp_path / "cfg.h5")
    assert run["t"][-1] == 0.5 and run["attrs"]["bc"]["x-"]["value"] == 2.0


@pytest.mark.parametrize("text, words", [
    ("bogus = 1\n", ["unknown option 'bogus'", "t-end"]),
    ("frames = \"many\"\n", ["frames", "not a valid integer"]),
    ("t-end = [\n", ["not valid TOML"]),
])
def test_bad_config(tmp_path, text, words):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    result, out = diffusion(tmp_path, "--config", str(cfg))
    assert_one_line_error(result, "--config", *words)
    assert not out.exists()


# ---- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["--D", "-1e-3"], ["diffusivity D must be >= 0"]),
    (["--dim", "2", "--shape", "8", "8", "8"], ["--shape", "3 numbers", "--dim is 2"]),
    (["--bc", "sticky"], ["unknown kind 'sticky'", "dirichlet"]),
    (["--bc", "w-=dirichlet"], ["'w-' is not a side"]),
    (["--bc", "dirichlet=1"], ["'dirichlet' is not a side"]),
    (["--bc", "z+=dirichlet:1"], ["'z+' is not a side of a 2D box"]),
    (["--bc", "x-=periodic"], ["x- is periodic but x+ is not"]),
    (["--bc", "robin:1"], ["robin takes ALPHA,BETA"]),
    (["--bc", "dirichlet:one"], ["not numbers"]),
    (["--init", "image:no_such.png"], ["does not exist"]),
    (["--init", "sinusoid"], ["--init 'sinusoid'", "gaussian"]),
    (["--mask", "no_such_mask.png"], ["mask image", "does not exist"]),
    (["--method", "euler", "--dt", "10"], ["unstable for dt=10", "the limit is"]),
    (["--method", "leapfrog"], ["unknown method 'leapfrog'", "crank_nicolson"]),
    (["--method", "spectral"], ["spectral", "periodic"]),
    (["--frames", "1"], ["--frames=1"]),
    (["--t-end", "0"], ["t_end=0"]),
    (["--dim", "4"], ["--dim", "4"]),
    (["--shape", "8", "two"], ["unexpected extra argument (two)"]),
    (["--shape", "2"], ["at least 3 cells"]),
    (["--extent", "1", "2", "3"], ["--extent has 3 numbers"]),
    (["--seed", "-1"], ["--seed"]),
    (["--no-such-flag"], ["No such option"]),
    (["--config", "missing.toml"], ["--config", "does not exist"]),
])
def test_bad_input_is_one_line_exit_2(tmp_path, args, words):
    result, out = diffusion(tmp_path, "--shape", "8", *args) if "--shape" not in args and "--dim" not in args \
        else diffusion(tmp_path, *args)
    assert_one_line_error(result, *words)
    assert not out.exists()


def test_mp4_without_ffmpeg_fails_before_the_run(tmp_path, monkeypatch):
    from matplotlib import animation

    monkeypatch.setattr(animation.writers, "is_available", lambda name: False)
    result, out = diffusion(tmp_path, "--shape", "8", "--movie", "--movie-format", "mp4")
    assert_one_line_error(result, "ffmpeg", "gif")
    assert not out.exists()


def test_readme_toml_example_runs(tmp_path):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    (toml,) = re.findall(r"^```toml\n(.*?)^```", readme, flags=re.M | re.S)
    cfg = tmp_path / "run.toml"
    cfg.write_text(toml)
    result, out = diffusion(tmp_path, "--config", str(cfg), "--shape", "16", "8", "--t-end", "0.5", "--frames", "3")
    assert result.exit_code == 0, result.output
    run = read_run(out)
    assert run["fields"]["c"].shape == (3, 16, 8) and run["attrs"]["bc"]["x-"]["kind"] == "dirichlet"
    assert (tmp_path / "run.png").exists()


def test_model_help_stays_light():
    import subprocess
    import sys

    code = ("import sys\nfrom click.testing import CliRunner\nimport simdiff_cli.main as m\n"
            "r = CliRunner().invoke(m.cli, ['pde', 'diffusion', '--help'])\nassert r.exit_code == 0, r.output\n"
            "print(','.join(x for x in ('numba', 'torch', 'matplotlib', 'h5py', 'simdiff.pde') if x in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
