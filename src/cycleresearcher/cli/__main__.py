"""``python -m cycleresearcher.cli`` (same as the ``cycleresearcher`` command)."""

from . import main

main()
