"""Errors that are the user's to fix: the command line prints them without a traceback."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """A mistake in the user's input (a file, a key, a value); the message says what to fix."""


class ScenarioError(UserError):
    """A mistake in a scenario: the message names the file (and line), key path and fix."""

    def __init__(self, where: str, path: str, message: str) -> None:
        self.where = where
        self.path = path
        self.message = message
        super().__init__(f"{where}: {path}: {message}" if path else f"{where}: {message}")

    def __reduce__(self):  # picklable, so errors in worker processes reach the parent intact
        return (type(self), (self.where, self.path, self.message))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices`` to ``word``; '' if none is."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
