"""Stage 1, load: read YAML files strictly, keeping the line of every key.

Every scalar is read as text (or None when empty) so that YAML 1.1 never turns
`non` into False or `08` into a number behind an editor's back; the models of the
next stage decide what each value must be.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from guidepress.problems import InputError, InputErrors

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 24

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class SourceFile:
    """A YAML file read into plain data, with the line where each value starts."""

    path: Path
    display: str
    data: Any
    lines: dict[KeyPath, int] = field(repr=False)
    problems: tuple[InputError, ...] = ()

    def line_of(self, key_path: KeyPath) -> int:
        """Return the line of the deepest known part of `key_path`."""
        for end in range(len(key_path), -1, -1):
            line = self.lines.get(tuple(key_path[:end]))
            if line is not None:
                return line
        return 1

    def error(self, key_path: KeyPath, message: str) -> InputError:
        """Build an error located at `key_path` in this file."""
        return InputError(self.display, self.line_of(key_path), format_key(key_path), message)


def format_key(key_path: KeyPath) -> str:
    """Write a key path as editors see it: `sections[2].blocks[0].text`."""
    text = ""
    for part in key_path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


class _TooDeep(yaml.MarkedYAMLError):
    """Lists or groups nested deeper than MAX_DEPTH."""


class _StrictLoader(yaml.SafeLoader):
    """Safe loader that refuses anchors and aliases (they hide where a value comes from).

    It also stops at MAX_DEPTH levels of nesting, before PyYAML's recursive composer can
    exhaust Python's stack (`[` written 400 times would end in a RecursionError).
    """

    depth = 0

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201 - PyYAML signature
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.MarkedYAMLError(
                problem="anchors and aliases (& and *) are not allowed in guide files; "
                "write the value out in full",
                problem_mark=event.start_mark,
            )
        if self.depth > MAX_DEPTH:
            raise _TooDeep(problem="nesting is too deep", problem_mark=event.start_mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class FileRefused(ValueError):
    """A file that must not be read: not a regular file, outside its folder, or too large."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def read_regular_file(path: Path, limit: int, subject: str, folder: Path | None = None) -> bytes:
    """Read a regular file lying inside `folder` (by default its own), at most `limit` bytes.

    A link leading out of the folder, a device, a pipe or a socket is refused before a
    single byte is read, so that `/dev/zero` cannot fill the memory and a pipe cannot
    hang the build. `subject` starts each message ("this file", '"logo.png"').
    """
    real = path.resolve()
    if not real.is_relative_to((folder or path.parent).resolve()):
        raise FileRefused(f"{subject} is a link to something outside its folder; put the file "
                          "itself in the folder")
    try:
        # O_NONBLOCK: opening a pipe returns at once instead of waiting for a writer.
        handle = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise FileRefused(f"{subject} is missing") from None
    except OSError as exc:
        raise FileRefused(f"{subject} cannot be opened ({exc.strerror})") from None
    with os.fdopen(handle, "rb") as stream:
        info = os.fstat(handle)
        if stat.S_ISDIR(info.st_mode):
            raise FileRefused(f"{subject} is a folder; a file is expected here")
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"{subject} is not a regular file (it is a device, a pipe or a "
                              "socket); put a plain file here")
        data = stream.read(limit + 1)  # never more, even if the file grows meanwhile
    if len(data) > limit or info.st_size > limit:
        raise FileRefused(f"{subject} is too large ({max(len(data), info.st_size)} bytes; the "
                          f"limit is {limit})", too_large=True)
    return data


def load_yaml(path: Path, display: str) -> SourceFile:
    """Read one YAML file; raise InputErrors when it cannot be read at all.

    Problems that still leave readable data (a key written twice) are returned in
    `problems`, so that validation can go on and report everything in one run.
    """
    raw = _read_bytes(path, display)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputErrors([InputError(display, line, "", "this file is not saved as UTF-8 text; "
                                      "save it again with the UTF-8 encoding")]) from None
    tab_errors = _tab_indentation(text, display)
    if tab_errors:
        raise InputErrors(tab_errors)
    try:
        root = yaml.compose(text, Loader=_StrictLoader)
    except _TooDeep as exc:
        raise InputErrors([InputError(display, exc.problem_mark.line + 1, "",
                                      f"nesting is too deep (more than {MAX_DEPTH} levels of "
                                      "lists or groups); flatten the structure")]) from None
    except yaml.MarkedYAMLError as exc:
        raise InputErrors([_syntax_error(exc, display)]) from None
    reader = _NodeReader(display)
    data = reader.read(root, ()) if root is not None else None
    return SourceFile(path, display, data, reader.lines, tuple(reader.errors))


def _read_bytes(path: Path, display: str) -> bytes:
    try:
        return read_regular_file(path, MAX_FILE_BYTES, "this file")
    except FileRefused as exc:
        raise InputErrors([InputError(display, 1 if exc.too_large else 0, "", str(exc))]) \
            from None


def _tab_indentation(text: str, display: str) -> list[InputError]:
    errors = []
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and line.strip():
            errors.append(InputError(display, number, "", "this line is indented with a tab; "
                                     "YAML needs spaces for indentation"))
    return errors


def _syntax_error(exc: yaml.MarkedYAMLError, display: str) -> InputError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    problem = (exc.problem or "the file is not valid YAML").replace("\t", "\\t")
    if "found character" in problem and "cannot start any token" in problem:
        problem += " (put the value in double quotes)"
    elif "mapping values are not allowed here" in problem:
        problem = "a ':' followed by a space inside a value; put the whole value in double quotes"
    return InputError(display, line, "", f"YAML syntax error: {problem}")


class _NodeReader:
    """Turns a composed YAML node tree into dicts, lists and strings, noting lines."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.lines: dict[KeyPath, int] = {}
        self.errors: list[InputError] = []

    def read(self, node: yaml.Node, key_path: KeyPath) -> Any:
        self.lines.setdefault(key_path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._read_mapping(node, key_path)
        if isinstance(node, yaml.SequenceNode):
            return [self.read(item, (*key_path, index)) for index, item in enumerate(node.value)]
        return self._read_scalar(node)

    def _read_mapping(self, node: yaml.MappingNode, key_path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.errors.append(InputError(self.display, line, format_key(key_path),
                                              "a key must be a plain word"))
                continue
            key = key_node.value
            child = (*key_path, key)
            if key in result:
                first = self.lines[child]
                self.errors.append(InputError(self.display, line, format_key(child),
                                              f"this key appears twice (first on line {first}); "
                                              "keep only one"))
                continue
            self.lines[child] = line
            result[key] = self.read(value_node, child)
        return result

    @staticmethod
    def _read_scalar(node: yaml.ScalarNode) -> str | None:
        if node.tag == "tag:yaml.org,2002:null" and node.style is None:
            return None
        return node.value
