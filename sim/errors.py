"""Errors that are the user's to fix: the command line prints them without a traceback."""

from __future__ import annotations


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
