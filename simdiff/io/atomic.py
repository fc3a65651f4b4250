"""Atomic file writes: a temporary file beside the target, fsync, rename."""
from simdiff.core.checkpoint import atomic_write

__all__ = ["atomic_write"]
