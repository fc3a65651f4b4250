"""``simdiff train`` / ``generate`` / ``evaluate`` end to end on tiny models, and their one-line errors."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from simdiff_cli.main import cli
from tests.cli.test_help import assert_one_line_error

pytestmark = pytest.mark.torch
PNG = b"\x89PNG\r\n\x1a\n"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _train(path, *extra):
    r = invoke("train", "--data", "digits", "--steps", "3", "--channels", "32", "--channel-mult", "1",
               "--res-blocks", "1", "--out", str(path), "--no-progress", "--sample-every", "0", "--batch-size", "32",
               *extra)
    assert r.exit_code == 0, r.output
    return r


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("digits")
    r = _train(d)
    assert "trained 3 steps" in r.output and "10 classes" in r.output
    return d


@pytest.fixture(scope="module")
def uncond_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("uncond")
    _train(d, "--unconditional")
    return d


def test_train_writes_a_checkpoint_and_resumes(run_dir, tmp_path):
    for f in ("model.json", "weights.safetensors", "state.pt", "log.csv"):
        assert (run_dir / f).is_file(), f
    d = tmp_path / "again"
    shutil.copytree(run_dir, d)
    assert_one_line_error(CliRunner().invoke(cli, ["train", "--data", "digits", "--out", str(d)]), "--resume")
    r = invoke("train", "--data", "digits", "--out", str(d), "--resume", "--no-progress")
    assert r.exit_code == 0 and "resuming" in r.output and "step 3/3" in r.output, r.output
    assert_one_line_error(CliRunner().invoke(cli, ["train", "--data", "digits", "--out", str(tmp_path / "none"),
                                                   "--resume"]), "no checkpoint")


def test_generate_png_npz_trajectory(run_dir, tmp_path):
    png, gif = tmp_path / "g.png", tmp_path / "g.gif"
    r = invoke("generate", str(run_dir), "--n", "12", "--steps", "4", "--out", str(png), "--trajectory", str(gif))
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:8] == PNG and gif.read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    npz = tmp_path / "g.npz"
    r = invoke("generate", str(run_dir), "--n", "6", "--label", "3", "--guidance", "2", "--steps", "3", "--out", str(npz))
    assert r.exit_code == 0, r.output
    with np.load(npz) as f:
        assert f["images"].shape == (6, 1, 8, 8) and f["images"].dtype == np.float32
        assert f["images"].min() >= 0 and f["images"].max() <= 1 and np.isfinite(f["images"]).all()
        assert f["labels"].tolist() == [3] * 6
    r = invoke("generate", str(run_dir), "--forward", "--out", str(tmp_path / "f.png"))
    assert r.exit_code == 0 and "forward noising" in r.output, r.output


def test_generate_is_deterministic(run_dir, tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    for p in (a, b):
        assert invoke("generate", str(run_dir), "--n", "4", "--steps", "3", "--seed", "5", "--out", str(p)).exit_code == 0
    with np.load(a) as fa, np.load(b) as fb:
        assert np.array_equal(fa["images"], fb["images"])


def test_evaluate(run_dir):
    r = invoke("evaluate", str(run_dir), "--n", "40", "--steps", "2", "--batch", "20")
    assert r.exit_code == 0, r.output
    assert "fid" in r.output and "coverage" in r.output


def test_generate_errors(run_dir, uncond_dir, tmp_path):
    assert_one_line_error(CliRunner().invoke(cli, ["generate", str(tmp_path / "missing")]), "missing")
    bad = tmp_path / "bad"
    shutil.copytree(run_dir, bad)
    (bad / "weights.safetensors").write_bytes(b"not a safetensors file")
    assert_one_line_error(CliRunner().invoke(cli, ["generate", str(bad), "--n", "2"]), "corrupt")
    assert_one_line_error(CliRunner().invoke(cli, ["generate", str(run_dir), "--label", "12"]), "--label 12", "0..9")
    assert_one_line_error(CliRunner().invoke(cli, ["generate", str(uncond_dir), "--guidance", "2"]),
                          "--guidance", "unconditional")
    assert_one_line_error(CliRunner().invoke(cli, ["generate", str(uncond_dir), "--label", "1"]), "unconditional")
    assert_one_line_error(CliRunner().invoke(cli, ["generate", str(run_dir), "--n", "2", "--steps", "2",
                                                   "--out", str(tmp_path / "x.jpg")]), ".png", ".npz")
    assert_one_line_error(CliRunner().invoke(cli, ["generate", str(run_dir), "--sampler", "nope"]), "unknown sampler")
    assert_one_line_error(CliRunner().invoke(cli, ["generate", str(run_dir), "--steps", "0"]), "steps")
