"""How commands fail: one line on stderr, exit code 2 for bad input, never a traceback."""
from __future__ import annotations

import click


class CommandError(click.ClickException):
    """A usage or input error, shown as one ``Error: ...`` line; exit code 2 (click's usage code)."""

    exit_code = 2


def one_line(err: BaseException) -> str:
    """The first line of an error message (simdiff appends tables to some, e.g. unknown method),
    plus a source excerpt with a caret under the offending token when the message has one."""
    text = str(err).strip()
    if not text:
        return type(err).__name__
    lines = text.splitlines()
    if len(lines) >= 3 and set(lines[2].strip()) <= {"^"} and lines[2].strip():
        return "\n".join(lines[:3])
    return lines[0]
