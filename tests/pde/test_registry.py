"""The method table in a fresh process: order of first use must not matter (registering a method into
the empty, not yet loaded table once hid every built-in method)."""
from __future__ import annotations

import subprocess
import sys


SCRIPT = """
import numpy as np
from simdiff.pde import Diffusion, Grid, simulate
g = Grid((8, 8), extent=1.0)
simulate(Diffusion(), g, np.ones((8, 8)), 0.1, method="adi")
simulate(Diffusion(), g, np.ones((8, 8)), 0.1, method="crank_nicolson")
print("ok")
"""


def test_adi_first_then_other_methods_in_fresh_process():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"
