"""Errors that name the file, the line and the key, shared by every stage."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InputError:
    """One problem in an input file, told in words an editor understands."""

    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class InputErrors(Exception):
    """Every problem found in the inputs of one run, reported together."""

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = sorted(set(errors), key=lambda e: (e.file, e.line, e.key, e.message))
        super().__init__("\n".join(str(error) for error in self.errors))


class RenderError(Exception):
    """A document could not be produced although its inputs were valid."""
