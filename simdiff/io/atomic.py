"""Atomic file writes: a reader never sees half a file, and a failed write leaves the old one.

Everything simdiff writes (checkpoints, run files, figures, animations, arrays) goes through here:
a temporary file beside the target (same suffix, so writers that pick a format from the name
still work), normal permissions, ``fsync``, then ``os.replace`` onto the target.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from typing import BinaryIO, Callable, Iterator

__all__ = ["atomic_path", "atomic_open", "atomic_write"]


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """A temporary file name beside ``path``; renamed onto ``path`` when the block succeeds,
    removed when it fails."""
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    stem, suffix = os.path.splitext(os.path.basename(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=f".{stem}.", suffix=f".tmp{suffix}")
    os.close(fd)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)        # mkstemp makes 0600; give the file normal permissions
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


@contextmanager
def atomic_open(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file to write ``path`` through, atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            yield fh


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(fileobj)`` and put the result at ``path`` atomically."""
    with atomic_open(path) as fh:
        write(fh)
