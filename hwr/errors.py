"""Exceptions hwr raises for bad input.  Each message names the input."""


class HwrError(Exception):
    """Base class of the errors hwr reports to users."""


class InputError(HwrError, ValueError):
    """An input file or object cannot be used (unreadable, malformed, empty, too large)."""


class ModelError(HwrError):
    """A model file cannot be loaded or does not fit the input."""


class TrainingError(HwrError, RuntimeError):
    """A training run ended without a model to write (and says how to resume)."""
