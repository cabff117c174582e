"""Errors a receiver answers with a specific status."""


class PayloadError(ValueError):
    """The delivery is well signed but not a payload we can understand: a 400 with this reason."""
