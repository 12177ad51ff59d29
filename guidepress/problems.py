"""What can stop a build, shared by every stage: input errors that name the file, the line
and the key; documents that could not be produced; and the one list a build reports."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


def close_names(name: object, known: Iterable[str], count: int = 3) -> list[str]:
    """The known names closest to a mistyped one (a pictogram, a format), best first."""
    return difflib.get_close_matches(str(name), list(known), n=count, cutoff=0.6)


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
    """A document could not be produced although its inputs were valid.

    `subject` names the output when the raiser knows it, and `detail` says why, so that
    callers never need to take the message apart.
    """

    def __init__(self, detail: str, subject: str = "") -> None:
        self.subject = subject
        self.detail = detail
        super().__init__(f"{subject}: {detail}" if subject else detail)


@dataclass(frozen=True)
class Problem:
    """One thing that stopped (part of) a build, reported once.

    `brand` is the brand it keeps from being published; `where` is what failed: a target
    ("default/fr poster stade"), the brand itself, or its proof sheet. `input` is set when
    the cause is bad input, located in its file: such a problem makes the exit code 2.
    """

    brand: str
    where: str
    message: str
    input: InputError | None = None

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"

    @classmethod
    def from_input(cls, brand: str, where: str, error: InputError) -> Problem:
        """A problem caused by bad input, told with its file, line and key."""
        return cls(brand, where, str(error), error)


def exit_code(problems: list[Problem]) -> int:
    """0 when nothing went wrong, 2 when any input was bad, 1 for any other failure."""
    if any(problem.input is not None for problem in problems):
        return 2
    return 1 if problems else 0
