"""The library's exceptions: every message is one line that names the problem and the fix."""

from __future__ import annotations


class LookalikeError(Exception):
    """Base class: a problem with the job's input or its run, explained in one line."""


class InputError(LookalikeError, ValueError):
    """Bad input: an unknown table or column, a bad parameter, an empty seed..."""


class NoFeatureSelected(LookalikeError):
    """No feature diverges enough from the population to describe the seed."""


class EngineError(LookalikeError):
    """The warehouse refused or failed a statement; says which step and which dialect."""


class StatementTimeout(EngineError):
    """A statement ran longer than the job's timeout and was cancelled."""
