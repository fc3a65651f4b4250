"""``simdiff pde <model>``, ``presets`` and ``turing``: commands generated from the model registry."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from simdiff.io import read_run
from simdiff.pde import Schnakenberg, models, turing
from simdiff_cli.main import cli
from simdiff_cli.pde import RD_METHODS, _scan_models, model_index
from tests.cli.test_help import assert_one_line_error

MODELS = sorted(models())
QUIET = ("--no-progress",)
PNG = b"\x89PNG\r\n\x1a\n"


def invoke(*args: str):
    return CliRunner().invoke(cli, ["pde", *args], catch_exceptions=False)


def run_model(tmp_path, name: str, *args: str, out: str = "run.h5"):
    """A tiny run: 16x16 cells, a hundredth of the model's run length, 3 frames."""
    cls = models()[name]
    result = invoke(name, "--shape", "16", "16", "--t-end", f"{cls.t_end / 100:g}", "--frames", "3",
                    "--out", str(tmp_path / out), *QUIET, *args)
    return result, tmp_path / out


# ---- help and listing ---------------------------------------------------------------------------

def test_index_read_from_source_matches_the_registry():
    scanned = _scan_models()          # what `simdiff pde --help` lists before the registry is imported
    assert set(scanned) == set(MODELS) == set(model_index())
    for name, cls in models().items():
        assert scanned[name] == (cls.description, len(cls.species))


def test_rd_method_names_match_the_library():
    from simdiff.pde.reaction_diffusion import METHODS

    assert RD_METHODS == METHODS
    for cls in models().values():
        assert tuple(cls.methods) == METHODS


def test_group_help_lists_every_model_with_its_description():
    out = invoke("--help").output
    for name, cls in models().items():
        assert name in out and cls.description.split()[0] in out
    for command in ("diffusion", "presets", "turing"):
        assert command in out


@pytest.mark.parametrize("name", MODELS)
def test_model_help_has_its_parameters_ranges_and_defaults(name):
    cls = models()[name]
    result = invoke(name, "--help")
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    for p, default in cls.parameters.items():
        lo, hi = cls.ranges[p]
        assert f"--{p} X" in out and f"in [{lo:g}, {hi:g}]" in out and f"[default: {default:g}" in out
    for s in cls.species:
        assert f"--D-{s}" in out
    for flag in ("--preset", "--shape", "--extent", "--periodic / --walls", "--method", "--dt", "--frames", "--seed",
                 "--noise", "--mask", "--config", "--resume", "--out", "--plot", "--movie", "--field"):
        assert flag in out
    assert f"[default: {cls.extent:g}]" in out and f"[default: {float(cls.t_end)}]" in out
    for preset in cls.presets:
        assert preset in out


@pytest.mark.parametrize("name", [n for n in MODELS if len(models()[n].species) > 1])
def test_turing_help(name):
    result = invoke("turing", name, "--help")
    assert result.exit_code == 0 and "--plot" in result.output and "--preset" in result.output


def test_help_of_the_new_commands_imports_no_numba():
    code = ("import sys\nfrom click.testing import CliRunner\nimport simdiff_cli.main as m\n"
            "for args in (['pde', '--help'], ['pde', 'turing', '--help'], ['pde', 'presets', '--help']):\n"
            "    r = CliRunner().invoke(m.cli, args)\n    assert r.exit_code == 0, r.output\n"
            "    assert 'gray-scott' in r.output or args[1] == 'presets', r.output\n"
            "print(','.join(x for x in ('numba', 'matplotlib', 'simdiff.pde') if x in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_presets_lists_every_preset_with_parameters_and_description():
    result = invoke("presets")
    assert result.exit_code == 0
    table, model = {}, None
    for row in result.output.splitlines()[1:]:
        if not row.startswith(" "):
            model = row.split()[0]
        table[model, row.split()[1 if row == row.lstrip() else 0]] = row
    for name, cls in models().items():
        assert "(defaults)" in " ".join(k[1] for k in table if k[0] == name)
        for preset, values in cls.presets.items():
            row = table[name, preset]
            assert row.endswith(values["description"])
            for k, v in values.items():
                if k != "description":
                    assert f"{k}={v:g}" in row
    assert "F=0.035 k=0.065" in table["gray-scott", "spots"]        # Pearson's spots


def test_presets_of_one_model_and_unknown_model():
    out = invoke("presets", "gray-scott").output
    assert "spots" in out and "schnakenberg" not in out
    assert_one_line_error(CliRunner().invoke(cli, ["pde", "presets", "nope"]), "nope", "gray-scott", "schnakenberg")


# ---- Turing -------------------------------------------------------------------------------------

def test_turing_schnakenberg_prints_the_wavelength_and_plots(tmp_path):
    png = tmp_path / "turing.png"
    result = invoke("turing", "schnakenberg", "--preset", "spots", "--plot", str(png))
    assert result.exit_code == 0, result.output
    analysis = turing.analyse(Schnakenberg.preset("spots"))
    assert analysis.summary() in result.output
    assert f"wavelength {analysis.wavelength:.4g}" in result.output and "Turing-unstable" in result.output
    assert png.read_bytes()[:8] == PNG


def test_turing_options_change_the_model():
    base = invoke("turing", "brusselator", "--A", "3", "--B", "9", "--D-v", "8").output
    assert "Turing-unstable" in base and "A=3, B=9" in base and "D_v=8" in base
    assert "oscillatory (Hopf)" in invoke("turing", "brusselator", "--preset", "oscillation").output
    assert "no Turing pattern" in invoke("turing", "gray-scott").output       # u=1, v=0 is linearly stable
    stated = invoke("turing", "schnakenberg", "--state", "1,0.9").output
    assert "(1, 0.9)" in stated


def test_turing_errors():
    assert_one_line_error(CliRunner().invoke(cli, ["pde", "turing", "fisher-kpp"]), "one species")
    assert_one_line_error(CliRunner().invoke(cli, ["pde", "turing", "nope"]), "nope", "schnakenberg")
    assert_one_line_error(CliRunner().invoke(cli, ["pde", "turing", "schnakenberg", "--state", "1"]),
                          "--state", "u, v")


# ---- runs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", MODELS)
def test_tiny_run_writes_every_species(tmp_path, name):
    cls = models()[name]
    result, out = run_model(tmp_path, name)
    assert result.exit_code == 0, result.output
    run = read_run(out)
    assert sorted(run["fields"]) == sorted(cls.species)
    for s in cls.species:
        assert run["fields"][s].shape == (3, 16, 16) and np.isfinite(run["fields"][s]).all()
    assert run["attrs"]["model"]["model"] == name
    assert run["attrs"]["config"]["command"] == f"simdiff pde {name}"
    assert np.allclose([hi - lo for lo, hi in run["attrs"]["grid"]["extent"]], cls.extent)
    assert f"{name} on a 16x16 grid" in result.output and f"wrote {out} (run file)" in result.output


def test_preset_options_override_and_walls(tmp_path):
    result, out = run_model(tmp_path, "gray-scott", "--preset", "spots", "--F", "0.04", "--D-v", "2e-5", "--walls",
                            "--dt", "1")
    assert result.exit_code == 0, result.output
    attrs = read_run(out)["attrs"]
    assert attrs["model"]["F"] == 0.04 and attrs["model"]["k"] == 0.065 and attrs["model"]["D_v"] == 2e-5
    assert attrs["grid"]["periodic"] == [False, False]
    assert set(attrs["config"]["bc"].values()) == {"neumann"} and attrs["config"]["preset"] == "spots"


def test_periodic_default_1d_euler_and_steady_init(tmp_path):
    result, out = run_model(tmp_path, "schnakenberg", "--dim", "1", "--shape", "64", "--method", "euler",
                            "--init", "steady")
    assert result.exit_code == 0, result.output
    run = read_run(out)
    assert run["fields"]["u"].shape == (3, 64) and run["attrs"]["grid"]["periodic"] == [True]
    assert run["attrs"]["method"] == "euler"
    assert abs(run["fields"]["u"][0].mean() - 1.0) < 0.01                     # steady state (a + b) = 1


def test_noise_switches_to_euler_maruyama(tmp_path):
    result, out = run_model(tmp_path, "gray-scott", "--noise", "1e-3", "--seed", "4")
    assert result.exit_code == 0, result.output
    attrs = read_run(out)["attrs"]
    assert attrs["method"] == "euler_maruyama" and attrs["seed"] == 4


def test_plot_and_movie_of_one_field_or_all(tmp_path):
    result, out = run_model(tmp_path, "gray-scott", "--preset", "spots", "--field", "v", "--plot", "--movie",
                            out="gs.h5")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "gs.png").read_bytes()[:8] == PNG and (tmp_path / "gs.gif").exists()
    result, out = run_model(tmp_path, "brusselator", "--field", "all", "--plot", out="b.h5")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "b-u.png").exists() and (tmp_path / "b-v.png").exists()


def test_config_file_and_resume(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('preset = "mazes"\nF = 0.03\nshape = [16, 16]\nt-end = 50\nframes = 3\nprogress = false\n'
                      'dt = 1.0\n')
    out = tmp_path / "gs.h5"
    result = invoke("gray-scott", "--config", str(config), "--out", str(out), "--method", "euler")
    assert result.exit_code == 0, result.output
    attrs = read_run(out)["attrs"]
    assert attrs["model"]["F"] == 0.03 and attrs["model"]["k"] == 0.057
    result = invoke("gray-scott", "--config", str(config), "--out", str(out), "--method", "euler", "--resume",
                    "--t-end", "100")
    assert result.exit_code == 0, result.output
    run = read_run(out)
    # frames = 3 from the file now spans 0..100: the continuation adds t = 100 after 0, 25, 50
    assert run["t"].tolist() == [0, 25, 50, 100] and run["fields"]["v"].shape == (4, 16, 16)


# ---- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["gray-scott", "--preset", "nope"], ["nope", "spots", "stripes", "mazes", "holes"]),
    (["gray-scott", "--F", "0.5"], ["F=0.5", "outside its valid range [0, 0.1]"]),
    (["brusselator", "--D-v", "-1"], ["D_v=-1", ">= 0"]),
    (["gray-scott", "--F", "abc"], ["--F", "abc"]),
    (["gray-scott", "--field", "w"], ["--field", "w"]),
    (["gray-scott", "--noise", "-1"], ["--noise"]),
    (["gray-scott", "--shape", "16", "16", "--method", "nope"], ["nope", "etdrk4"]),
    (["gray-scott", "--shape", "16", "16", "--walls", "--method", "etdrk4"], ["periodic"]),
    (["gray-scott", "--no-such-flag"], ["--no-such-flag", "simdiff pde gray-scott --help"]),
    (["no-such-model"], ["no-such-model", "gray-scott", "diffusion"]),
])
def test_bad_input_is_one_line_exit_2(tmp_path, args, words):
    result = CliRunner().invoke(cli, ["pde", *args, "--out", str(tmp_path / "x.h5"), *QUIET])
    assert_one_line_error(result, *words)
    assert not (tmp_path / "x.h5").exists() or args[-1] in ("etdrk4", "nope")


# ---- a model written on the command line ----------------------------------------------------------

GS_CUSTOM = ("--species", "u", "v", "--D", "2e-5", "1e-5", "--reaction", "u: -u*v**2 + F*(1-u)",
             "--reaction", "v: u*v**2 - (F+k)*v", "--param", "F=0.035", "--param", "k=0.065")


def test_custom_command_runs_gray_scott(tmp_path):
    """`simdiff pde custom` with Gray–Scott's expressions runs and writes both species; its kernel is
    the built-in one's maths (checked to 1e-13 in tests/pde/test_custom.py)."""
    common = ("--shape", "16", "16", "--extent", "2.5", "--t-end", "200", "--frames", "3", "--method", "euler",
              "--dt", "1", *QUIET)
    r1 = invoke("custom", *GS_CUSTOM, *common, "--out", str(tmp_path / "c.h5"))
    assert r1.exit_code == 0, r1.output
    run = read_run(tmp_path / "c.h5")
    assert set(run["fields"]) == {"u", "v"} and run["fields"]["v"].shape == (3, 16, 16)
    assert np.all(np.isfinite(run["fields"]["u"]))
    assert run["attrs"]["model"]["custom"]["species"] == ["u", "v"]


def test_custom_command_errors():
    result = invoke("custom", "--species", "u", "v", "--reaction", "u: -u*v**2 + Fx*(1-u)", "--reaction", "v: u",
                    "--param", "F=1")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("Error: ") and "Fx" in lines[0]
    assert lines[-1].strip() == "^^" and lines[-1].index("^") == lines[-2].index("Fx")     # the caret points at it
    assert_one_line_error(invoke("custom", "--species", "u", "v", "--D", "1", "2", "3", "--reaction", "u: 0",
                                 "--reaction", "v: 0"), "--D", "3 values")
    assert_one_line_error(invoke("custom", "--species", "u", "--reaction", "u: -u", "--param", "F0.1"), "--param")
    result = invoke("custom", "--species", "u", "--reaction", "u: __import__('os')")
    assert result.exit_code == 2 and "unknown function '__import__'" in result.stderr
