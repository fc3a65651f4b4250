"""The ``simdiff`` command line, installed as the package ``simdiff_cli``.

Each command parses its options, calls simdiff's public API and writes files; the mathematics lives
in :mod:`simdiff`. Subcommands load lazily (see :mod:`simdiff_cli.main`), so ``simdiff --help``
imports neither numba nor torch.
"""
