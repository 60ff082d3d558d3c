"""Errors raised while reading an inbox file: each names the file, and the row and rule where there is one."""

from __future__ import annotations


class IngestError(Exception):
    """A whole file cannot be loaded. The message names the file and what is wrong with it."""

    def __init__(self, path: str, rule: str, message: str):
        self.path = str(path)
        self.rule = rule
        self.message = message
        super().__init__(f"{self.path}: [{rule}] {message}")
