"""``python -m cycleresearcher`` (same as the ``cycleresearcher`` command)."""

from .cli import main

main()
