"""The one exception type for mistakes in a user's files or settings."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """A user's file, folder or setting is wrong; the message says which and why.

    Raised for anything a researcher can fix (a transcript that cannot be
    decoded, a malformed codebook, an annotation row with an unknown code).
    The command line and the Snakefile catch it and print one line; programming
    errors keep their traceback.
    """

    def __init__(self, source: str | Path | None, problem: str, line: int | None = None):
        self.source = str(source) if source is not None else None
        self.problem = problem
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source or ""
        if self.line is not None:
            where = f"{where}, line {self.line}" if where else f"line {self.line}"
        return f"{where}: {self.problem}" if where else self.problem
