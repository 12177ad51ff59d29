"""Checks of the CSS a brand brings in its `templates/` folder, made before anything renders.

Brand CSS is untrusted. Rendering is bounded in time and memory anyway; these checks turn
the known ways of making WeasyPrint work for minutes or fail deep inside into a clear
error with the file and line: custom properties that expand exponentially through nested
`var()`, and sizes far beyond any page (`font-size: 1e7px`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import tinycss2
from tinycss2 import ast

from guidepress.i18n import _

MAX_TEMPLATE_BYTES = 1_000_000  # as validate.check_brand_templates allows
MAX_NUMBER = 2000  # an A3 page is 1123 px wide; no size, count or percentage needs more
MAX_MULTIPLIER = 100  # product of the plain numbers of one calc()
MAX_EXPANSION = 10_000  # values a custom property may expand to through var()
_MATH = {"calc", "min", "max", "clamp"}
_STYLE_ELEMENT = re.compile(r"<style[^>]*>(.*?)</style>", re.IGNORECASE | re.DOTALL)
_STYLE_ATTRIBUTE = re.compile(r"""\bstyle\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class CssProblem:
    """A problem in a brand's CSS, at a line of its file."""

    line: int
    message: str


def check_brand_css(folder: Path) -> dict[Path, list[CssProblem]]:
    """Every problem in the CSS of a brand's templates folder, by file."""
    found: dict[Path, list[CssProblem]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.suffix not in (".css", ".j2"):
            continue  # links and special files are refused by validate.check_brand_templates
        problems = check_file(path)
        if problems:
            found[path] = problems
    return found


def check_file(path: Path) -> list[CssProblem]:
    """Problems of a stylesheet, or of the `<style>` elements and attributes of a template."""
    if path.stat().st_size > MAX_TEMPLATE_BYTES:
        return []  # validate.check_brand_templates refuses it, with its size
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".css":
        return check_css(text)
    text = _JINJA.sub(_blank, text)
    problems = []
    for match in _STYLE_ELEMENT.finditer(text):
        offset = text.count("\n", 0, match.start(1))
        problems += [CssProblem(p.line + offset, p.message) for p in check_css(match.group(1))]
    for match in _STYLE_ATTRIBUTE.finditer(text):
        offset = text.count("\n", 0, match.start(2))
        declarations = tinycss2.parse_blocks_contents(match.group(2), skip_comments=True,
                                                      skip_whitespace=True)
        problems += [CssProblem(p.line + offset, p.message)
                     for p in _check_nodes(declarations, {})]
    return problems


# Jinja's tags, expressions and comments: a template's styles may hold them (the default
# poster template's `<style>{{ brand_css }}</style>`), and what they stand for is checked
# where it comes from (brand.css) or made by the engine
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def _blank(match: re.Match[str]) -> str:
    """Spaces in place of a Jinja piece, its line breaks kept (lines are reported)."""
    return re.sub(r"[^\n]", " ", match.group(0))


def check_css(text: str) -> list[CssProblem]:
    """Problems of one stylesheet's text; lines count from 1."""
    rules = tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True)
    definitions: dict[str, list[ast.Node]] = {}
    for rule in rules:
        if isinstance(rule, ast.QualifiedRule) or (isinstance(rule, ast.AtRule) and rule.content):
            for node in tinycss2.parse_blocks_contents(rule.content, skip_comments=True,
                                                       skip_whitespace=True):
                if isinstance(node, ast.Declaration) and node.name.startswith("--"):
                    definitions[node.name] = node.value
    problems = _check_nodes(rules, definitions)
    return sorted(set(problems), key=lambda p: (p.line, p.message))


def _check_nodes(nodes: list[ast.Node], definitions: dict[str, list[ast.Node]]
                 ) -> list[CssProblem]:
    problems = []
    for node in _walk(nodes):
        if isinstance(node, ast.ParseError):
            problems.append(CssProblem(node.source_line, _("CSS syntax error: {reason}").format(
                reason=node.message)))
        elif isinstance(node, (ast.NumberToken, ast.PercentageToken, ast.DimensionToken)):
            if not math.isfinite(node.value) or abs(node.value) > MAX_NUMBER:
                problems.append(CssProblem(node.source_line, _(
                    'the value "{value}" is out of range: brand styles use numbers between '
                    "-{limit} and {limit}").format(value=node.serialize(), limit=MAX_NUMBER)))
        elif isinstance(node, ast.FunctionBlock) and node.lower_name in _MATH:
            product = math.prod(abs(t.value) for t in _walk(node.arguments)
                                if isinstance(t, ast.NumberToken) and t.value)
            if product > MAX_MULTIPLIER:
                problems.append(CssProblem(node.source_line, _(
                    "{function}() multiplies by {product}, more than {limit}; write the size "
                    "itself").format(function=node.name, product=f"{product:g}",
                                     limit=MAX_MULTIPLIER)))
        elif isinstance(node, ast.FunctionBlock) and node.lower_name in _GRADIENTS:
            colour = _printed_in_cmyk(node.arguments, definitions, {})
            if colour is not None:
                problems.append(CssProblem(node.source_line, _(
                    "{function}() uses {colour}, which prints in CMYK: WeasyPrint cannot "
                    "draw a gradient between CMYK colours; write the gradient's colours as "
                    "#RRGGBB (they are converted for the printer)").format(
                        function=node.name, colour=colour)))
        elif isinstance(node, ast.Declaration) and node.name.startswith("--"):
            size = _expanded_size(node.name, definitions, {}, ())
            if size > MAX_EXPANSION:
                problems.append(CssProblem(node.source_line, _(
                    "the custom property {name} expands to more than {limit} values through "
                    "nested var(); write its value out").format(name=node.name,
                                                                limit=MAX_EXPANSION)))
    return problems


def _walk(nodes: list[ast.Node]) -> Iterator[ast.Node]:
    """Every node, and every node inside rules, blocks, functions and declarations."""
    for node in nodes:
        yield node
        if isinstance(node, (ast.QualifiedRule, ast.AtRule)):
            yield from _walk(node.prelude or [])
            if node.content is not None:
                yield from _walk(tinycss2.parse_blocks_contents(node.content,
                                                                skip_comments=True,
                                                                skip_whitespace=True))
        elif isinstance(node, ast.Declaration):
            yield from _walk(node.value)
        elif isinstance(node, ast.FunctionBlock):
            yield from _walk(node.arguments)
        elif isinstance(node, (ast.ParenthesesBlock, ast.SquareBracketsBlock,
                               ast.CurlyBracketsBlock)):
            yield from _walk(node.content)


_GRADIENTS = {f"{repeating}{kind}-gradient" for repeating in ("", "repeating-")
              for kind in ("linear", "radial", "conic")}


def _printed_in_cmyk(nodes: list[ast.Node], definitions: dict[str, list[ast.Node]],
                     holding: dict[str, bool]) -> str | None:
    """The first colour among `nodes` that print documents give in CMYK, as written: a
    brand colour (`var(--gp-…-color)`, separated for the printer by render.brand_stylesheet),
    a `device-cmyk()`, or a custom property of the brand's own that holds one.

    `holding` keeps, per custom property, whether it holds one: each definition is read
    once, however often and deeply the properties refer to each other."""
    for node in _walk(nodes):
        if not isinstance(node, ast.FunctionBlock):
            continue
        if node.lower_name == "device-cmyk":
            return node.serialize()
        name = next((t.value for t in node.arguments if isinstance(t, ast.IdentToken)), None)
        if node.lower_name != "var" or name is None:
            continue
        if name.startswith("--gp-") and name.endswith("-color"):
            return node.serialize()
        if name in definitions and name not in holding:
            holding[name] = False  # a cycle meets this: CSS makes the property invalid
            holding[name] = _printed_in_cmyk(definitions[name], definitions,
                                             holding) is not None
        if holding.get(name):
            return node.serialize()
    return None


def _expanded_size(name: str, definitions: dict[str, list[ast.Node]],
                   sizes: dict[str, int], visiting: tuple[str, ...]) -> int:
    """How many values a custom property becomes once every var() in it is replaced."""
    if name in sizes:
        return sizes[name]
    if name in visiting or name not in definitions:
        return 1  # a cycle or an unknown property: CSS makes it invalid, not large
    size = 0
    for node in _walk(definitions[name]):
        size += 1
        if isinstance(node, ast.FunctionBlock) and node.lower_name == "var":
            referenced = next((t.value for t in node.arguments
                               if isinstance(t, ast.IdentToken)), None)
            if referenced is not None:
                size += _expanded_size(referenced, definitions, sizes, (*visiting, name))
        if size > MAX_EXPANSION:
            break
    sizes[name] = size
    return size
