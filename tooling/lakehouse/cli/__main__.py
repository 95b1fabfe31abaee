"""``python -m lakehouse.cli``: the ``lakehouse`` command (how the SQL warehouse is started)."""

from lakehouse.cli import main

main()
