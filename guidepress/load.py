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

from guidepress.i18n import _, ordinal
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
    """Write a key path as editors count: `contacts (2e).phone`, `blocks (1st).text`.

    The keys stay as written in the file (so they can be searched for); a list position
    is said as an ordinal counted from one, after the list's key.
    """
    text = ""
    previous: str | int = ""
    for part in key_path:
        if isinstance(part, int):
            text += f" ({ordinal(part, str(previous))})"
        else:
            text += f".{part}" if text else str(part)
        previous = part
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


def _strict_compose(text: str) -> yaml.Node | None:
    """Compose with PyYAML's pure-Python parser: its errors are those `_syntax_error`
    explains, and `_StrictLoader` refuses anchors and deep nesting itself."""
    return yaml.compose(text, Loader=_StrictLoader)


_CLoader = getattr(yaml, "CSafeLoader", None)  # libyaml's parser, when PyYAML has it


def _fast_path_fits(text: str) -> bool:
    """Whether libyaml's C parser may compose `text`: it must be there, and the text must
    hold no tab (libyaml takes a tab for a space where PyYAML refuses it) and no character
    PyYAML's reader refuses; such texts are read, or refused, as they always were."""
    return (_CLoader is not None and "\t" not in text
            and not yaml.reader.Reader.NON_PRINTABLE.search(text))


def _fast_compose(text: str) -> yaml.Node | None:
    """Compose with libyaml's C parser, several times faster, with the same nodes and
    line marks. A text it finds wrong, or one with something the strict loader refuses
    or where the two parsers differ (see `_needs_strict`), is composed again by
    `_strict_compose`, whose messages are the ones users read. tests/test_queue_speed.py
    checks that both give the same result on mutated copies of the project's YAML files."""
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_CLoader):
            if _needs_strict(event, depth, text):
                return _strict_compose(text)
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return yaml.compose(text, Loader=_CLoader)
    except yaml.YAMLError:
        return _strict_compose(text)


def _needs_strict(event: yaml.Event, depth: int, text: str) -> bool:
    """Whether an event of the C parser, `depth` lists or groups deep, calls for the strict
    loader: anchors and aliases, nesting deeper than MAX_DEPTH (found here, before the C
    composer, which recurses), and what libyaml accepts and PyYAML refuses: a !tag, a | or
    > block (`|#`), a question mark in a text with [lists] or {groups} (`{u?nit: mm}`).
    No file of the project has any of them."""
    return (isinstance(event, yaml.AliasEvent) or bool(getattr(event, "anchor", None))
            or (isinstance(event, yaml.NodeEvent) and depth > MAX_DEPTH)
            or bool(getattr(event, "tag", None))
            or getattr(event, "style", None) in ("|", ">")
            or (isinstance(event, yaml.CollectionStartEvent) and bool(event.flow_style)
                and "?" in text))


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
        raise FileRefused(_("{subject} is a link to something outside its folder; put the file "
                            "itself in the folder").format(subject=subject))
    try:
        # O_NONBLOCK: opening a pipe returns at once instead of waiting for a writer.
        handle = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise FileRefused(_("{subject} is missing").format(subject=subject)) from None
    except OSError as exc:
        raise FileRefused(_("{subject} cannot be opened ({reason})").format(
            subject=subject, reason=exc.strerror)) from None
    with os.fdopen(handle, "rb") as stream:
        info = os.fstat(handle)
        if stat.S_ISDIR(info.st_mode):
            raise FileRefused(_("{subject} is a folder; a file is expected here").format(
                subject=subject))
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(_("{subject} is not a regular file (it is a device, a pipe or a "
                                "socket); put a plain file here").format(subject=subject))
        data = stream.read(limit + 1)  # never more, even if the file grows meanwhile
    if len(data) > limit or info.st_size > limit:
        raise FileRefused(_("{subject} is too large ({size} bytes; the limit is {limit})").format(
            subject=subject, size=max(len(data), info.st_size), limit=limit), too_large=True)
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
        raise InputErrors([InputError(display, line, "", _("this file is not saved as UTF-8 text; save it again with the UTF-8 encoding"))]) from None
    tab_errors = _tab_indentation(text, display)
    if tab_errors:
        raise InputErrors(tab_errors)
    try:
        root = _fast_compose(text) if _fast_path_fits(text) else _strict_compose(text)
    except _TooDeep as exc:
        raise InputErrors([InputError(display, exc.problem_mark.line + 1, "",
                                      _("nesting is too deep (more than {depth} levels of lists or groups); flatten the "
                                        "structure").format(depth=MAX_DEPTH))]) from None
    except yaml.MarkedYAMLError as exc:
        raise InputErrors([_syntax_error(exc, text, display)]) from None
    reader = _NodeReader(display)
    data = reader.read(root, ()) if root is not None else None
    return SourceFile(path, display, data, reader.lines, tuple(reader.errors))


def _read_bytes(path: Path, display: str) -> bytes:
    try:
        return read_regular_file(path, MAX_FILE_BYTES, _("this file"))
    except FileRefused as exc:
        raise InputErrors([InputError(display, 1 if exc.too_large else 0, "", str(exc))]) \
            from None


def _tab_indentation(text: str, display: str) -> list[InputError]:
    errors = []
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and line.strip():
            errors.append(InputError(display, number, "", _("this line is indented with a tab; YAML needs spaces for indentation")
                                     + _quote(text.splitlines(), number, indent.index("\t"))))
    return errors


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, display: str) -> InputError:
    """Say what PyYAML's parser or scanner error means, quoting the line with a caret."""
    mark = exc.problem_mark or exc.context_mark
    lines = text.splitlines()
    number = min(mark.line + 1, max(len(lines), 1)) if mark else 1
    column = mark.column if mark else 0
    context_line = exc.context_mark.line + 1 if exc.context_mark else number
    problem = exc.problem or ""
    unclosed = _unclosed_quote(lines, number)
    if unclosed is not None:
        number, column = unclosed
        sentence = _("the quote opened on line {line} is never closed; add the closing "
                     "quote").format(line=number)
    elif "expected <block end>" in problem or "mapping values are not allowed here" in problem:
        aligned = _misaligned(lines, number)
        if aligned is not None:
            column = _indent(lines[number - 1])
            sentence = _("line {line} is out of line: align it with line {other}").format(
                line=number, other=aligned)
        elif "mapping values" in problem:
            sentence = _("a colon followed by a space inside a value; put the whole value in "
                         "double quotes")
        elif "<scalar>" in problem:
            sentence = _("there is text after the closing quote; put the whole value inside "
                         "the quotes")
        else:
            sentence = _("this line does not fit the structure above it; check its "
                         "indentation and its dash")
    elif "unexpected end of stream" in problem and "quoted" in (exc.context or ""):
        number, column = context_line, exc.context_mark.column if exc.context_mark else 0
        sentence = _("the quote opened on line {line} is never closed; add the closing "
                     "quote").format(line=context_line)
    elif "could not find expected ':'" in problem:
        number, column = context_line, 0
        sentence = _("line {line} has no colon after its key; write it as key: value").format(
            line=context_line)
    elif "cannot start any token" in problem:
        sentence = _("a value cannot start with {character}; put the whole value in double "
                     "quotes").format(character=problem.split("'")[1] if "'" in problem else "?")
    elif "flow" in (exc.context or ""):
        number = context_line
        column = exc.context_mark.column if exc.context_mark else 0
        sentence = _("the bracket opened on line {line} is not closed properly; close it, or "
                     "put the whole value in double quotes").format(line=context_line)
    elif "anchors and aliases" in problem:
        sentence = _("anchors and aliases (& and *) are not allowed in guide files; write the "
                     "value out in full")
    else:
        sentence = _("this line is not valid YAML ({problem}); compare it with the lines "
                     "around it").format(problem=problem.replace("\t", "\\t") or "?")
    return InputError(display, number, "", sentence + _quote(lines, number, column))


def _unclosed_quote(lines: list[str], number: int) -> tuple[int, int] | None:
    """The first line up to `number` with an odd count of double quotes: a quote left open
    swallows the lines after it, and PyYAML then complains about a later line."""
    for index, line in enumerate(lines[:number], start=1):
        code = line.split(" #")[0] if not line.lstrip().startswith("#") else ""
        if (code.count('"') - code.count('\\"')) % 2:
            return index, code.index('"')
    return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _misaligned(lines: list[str], number: int) -> int | None:
    """The earlier line the misaligned line `number` should line up with, if it is one."""
    if not 0 < number <= len(lines):
        return None
    line = lines[number - 1]
    indent, is_item = _indent(line), line.lstrip().startswith("- ")
    best: tuple[int, int] | None = None
    for other in range(number - 1, 0, -1):
        previous = lines[other - 1]
        if not previous.strip() or previous.lstrip().startswith("#"):
            continue
        if previous.lstrip().startswith("- ") != is_item:
            continue
        distance = abs(_indent(previous) - indent)
        if distance == 0:
            return None  # already aligned with a sibling: the problem is elsewhere
        if best is None or distance < best[0]:
            best = (distance, other)
        if _indent(previous) < indent and not is_item:
            break  # a parent: siblings lie below it
    return best[1] if best is not None and best[0] <= 4 else None


def _quote(lines: list[str], number: int, column: int) -> str:
    """The line quoted under the message, with a caret under the place of the problem."""
    if not 0 < number <= len(lines):
        return ""
    text = lines[number - 1].replace("\t", " ")
    gutter = f"    {number} | "
    return f"\n{gutter}{text}\n{' ' * (len(gutter) - 2)}| {' ' * min(column, len(text))}^"


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
                                              _("a key must be a plain word")))
                continue
            key = key_node.value
            child = (*key_path, key)
            if key in result:
                first = self.lines[child]
                self.errors.append(InputError(self.display, line, format_key(child),
                                              _("this key appears twice (first on line {line}); keep only one")
                                              .format(line=first)))
                continue
            self.lines[child] = line
            result[key] = self.read(value_node, child)
        return result

    @staticmethod
    def _read_scalar(node: yaml.ScalarNode) -> str | None:
        # plain (unquoted) and empty: style None from PyYAML's parser, "" from libyaml's
        if node.tag == "tag:yaml.org,2002:null" and not node.style:
            return None
        return node.value
