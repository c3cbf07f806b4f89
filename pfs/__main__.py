"""``python -m pfs`` runs the command line."""

from pfs.cli import entry_point

entry_point()
