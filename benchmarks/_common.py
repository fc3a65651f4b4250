"""Helpers the benchmark scripts share: the machine's CPU and the state of the measured sources."""
from __future__ import annotations

import datetime
import hashlib
import os
import platform
import warnings
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def source_state(files: list[str]) -> dict:
    """The git commit, whether ``files`` (repository paths) have local changes, and their hash."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", *files],
                               capture_output=True, text=True, timeout=10).stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        head, dirty = "unknown", None
    h = hashlib.sha1()
    for f in files:
        if (ROOT / f).exists():
            h.update((ROOT / f).read_bytes())
    return {"commit": head, "sources_dirty": dirty, "sources_sha1": h.hexdigest()[:12]}


def diffusers_version(*names: str) -> tuple[str | None, str | None]:
    """``(version, None)`` when diffusers (and ``names`` from it) import, else ``(None, why)``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import diffusers

            for name in names:
                getattr(diffusers, name)
        return diffusers.__version__, None
    except Exception as err:                    # ImportError, or one of its own imports failing
        return None, f"{type(err).__name__}: {err}"


def torch_run_info(dver: str | None, source: dict) -> dict:
    """Machine and library versions of a torch benchmark run (the JSON's ``info``)."""
    import numpy as np
    import torch

    import simdiff

    return {"date": datetime.date.today().isoformat(), "cpu": cpu_model(), "cores": os.cpu_count(),
            "python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
            "diffusers": dver, "simdiff": simdiff.__version__, "threads": torch.get_num_threads(),
            "loadavg_before": " ".join(f"{v:.2f}" for v in os.getloadavg()), "source": source}
