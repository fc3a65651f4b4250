"""``python -m simdiff_cli`` runs the ``simdiff`` command."""
from simdiff_cli.main import cli

cli(prog_name="simdiff")
