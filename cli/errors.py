"""How commands fail: one line on stderr, exit code 2 for bad input, never a traceback."""
from __future__ import annotations

import click


class CommandError(click.ClickException):
    """A usage or input error, shown as one ``Error: ...`` line; exit code 2 (click's usage code)."""

    exit_code = 2


def one_line(err: BaseException) -> str:
    """The first line of an error message (simdiff appends tables to some, e.g. unknown method)."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
