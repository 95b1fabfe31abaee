"""Errors the CLI reports as one line: what was wrong and what to do."""


class LakehouseError(RuntimeError):
    """A failure with an actionable message."""
