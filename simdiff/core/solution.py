"""What a solve returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stats:
    """Work done by a solve. ``nfe`` counts drift/rhs evaluations, ``nge`` diffusion evaluations."""

    steps: int = 0
    rejected: int = 0
    nfe: int = 0
    nge: int = 0
    wall_time: float = 0.0
    method: str = ""
    path: str = ""        # "compiled" (numba loop per frame) or "generic" (Python step loop)
    backend: str = ""     # "numpy" or "torch"

    def as_dict(self) -> dict:
        return dict(vars(self))


@dataclass
class Solution:
    """Saved frames of a solve: ``t`` (n_frames,), ``y`` (n_frames, ...) with time leading."""

    t: Any
    y: Any
    stats: Stats = field(default_factory=Stats)

    @property
    def final(self) -> Any:
        """The state (or ``save_fn`` value) at the last saved time."""
        return self.y[-1]

    def __repr__(self) -> str:
        shape = tuple(getattr(self.y, "shape", ()))
        return (f"Solution(n_frames={len(self.t)}, y.shape={shape}, method={self.stats.method!r}, "
                f"steps={self.stats.steps}, nfe={self.stats.nfe}, path={self.stats.path!r})")
