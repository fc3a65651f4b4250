"""Exceptions raised by simdiff.

Every error a user can trigger names the parameter, the value, the rule and the fix.
"""
from __future__ import annotations

from typing import Any


class SimdiffError(Exception):
    """Base class of every simdiff error."""


class InputError(SimdiffError, ValueError):
    """A parameter has a bad value (shape, sign, finiteness, range, name)."""


class InputTypeError(SimdiffError, TypeError):
    """A parameter has the wrong type (a tensor where an array is needed, a non-callable)."""


class MethodMismatch(InputError):
    """A method cannot solve this problem (wrong kind, noise kind, calculus or missing linear part)."""


class CheckpointError(SimdiffError, ValueError):
    """A checkpoint file is missing, corrupt, or belongs to another run."""


class StabilityError(SimdiffError, RuntimeError):
    """The state became non-finite. ``partial`` holds every frame saved before it happened."""

    def __init__(self, message: str, *, t: float, step: int, partial: Any = None):
        super().__init__(message)
        self.t = t
        self.step = step
        self.partial = partial
