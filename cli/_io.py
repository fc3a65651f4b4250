"""Atomic file writes for CLI outputs (see simdiff.io.atomic)."""
from simdiff.io.atomic import atomic_open as atomic_write

__all__ = ["atomic_write"]
