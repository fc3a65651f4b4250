"""The gallery scripts run (at reduced size, SIMDIFF_GALLERY_FAST=1) and write their figures."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

GALLERY = Path(__file__).resolve().parents[1] / "gallery"
SCRIPTS = sorted(GALLERY.glob("plot_*.py"))
# figures besides <name>.png that a script writes
EXTRA = {"plot_fitzhugh_nagumo_spiral": ["fitzhugh_nagumo_spiral.gif"]}


def test_there_are_gallery_scripts():
    assert len(SCRIPTS) >= 5


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_script_is_short_and_says_what_it_shows(script):
    text = script.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 60, f"{script.name} has {len(text.splitlines())} lines; keep it under 60"
    doc = ast.get_docstring(ast.parse(text))
    assert doc and len(doc.splitlines()) >= 3, f"{script.name} needs a docstring: what it shows and why it is right"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_script_runs_and_writes_its_figure(script, tmp_path):
    env = {**os.environ, "SIMDIFF_GALLERY_FAST": "1", "SIMDIFF_GALLERY_OUT": str(tmp_path / "out"),
           "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    name = script.stem.removeprefix("plot_")
    for figure in [f"{name}.png", *EXTRA.get(script.stem, [])]:
        path = tmp_path / "out" / figure
        assert path.exists(), f"{script.name} did not write {figure}"
        assert path.stat().st_size > 10_000
    assert (tmp_path / "out" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
