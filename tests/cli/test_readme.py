"""README.md stays true: its Python example runs and its method table is the current one."""
from __future__ import annotations

import re
from pathlib import Path


README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", README.read_text(encoding="utf-8"), flags=re.M | re.S)


def test_readme_python_example_runs(capsys):
    (code,) = _blocks("python")
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert "method='dopri5'" in out


def test_readme_method_table_is_current():
    import subprocess
    import sys

    (table,) = _blocks("text")
    # a fresh process: the table of `simdiff methods`, not one that other tests registered into
    current = subprocess.run([sys.executable, "-c", "import simdiff; print(simdiff.methods())"],
                             capture_output=True, text=True, check=True).stdout
    assert table.strip() == current.strip(), (
        "README.md's method table is stale: paste the output of `simdiff methods` into it")
