"""Stage 3, typography: language-aware spacing and punctuation, inline Markdown to HTML.

Runs on validated models and returns new models: plain text fields get their
non-breaking spaces and typographic punctuation; rich text fields become safe HTML
(`Markup`) rendered by markdown-it-py with raw HTML disabled. URLs, e-mail addresses
and phone numbers inside text keep their characters; a phone number's spaces become
non-breaking, so that it never breaks across two lines.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from typing import Any, TypeVar

from markupsafe import Markup
from pydantic import BaseModel

from guidepress.markup import inline_markdown
from guidepress.models import Brand, TextKind
from guidepress.validate import font_characters

NBSP = "\u00a0"
NNBSP = "\u202f"

M = TypeVar("M", bound=BaseModel)

_PROTECTED = re.compile(
    r"(https?://\S+|www\.\S+|[\w.+-]+@[\w-]+\.[\w.-]+|(?:\+\d{2}\s?|0)\d(?:[ .]?\d{2}){4})")


@dataclass(frozen=True)
class Typesetter:
    """Typographic rules for one language and the glyphs the brand's fonts have."""

    lang: str
    narrow_space: str

    def text(self, value: str) -> str:
        """Return `value` with the language's spacing and punctuation."""
        rules = _french if self.lang == "fr" else _english
        result = []
        for index, part in enumerate(_PROTECTED.split(value)):
            if index % 2:  # an address or a phone number (the only ones with spaces)
                result.append(part.replace(" ", NBSP))
                continue
            # The punctuation rules look one letter back: let them see the end of an address
            # (never a digit, so that a phone number is not glued to the next word).
            before = result[-1][-1:] if result and result[-1][-1:].isalpha() else ""
            result.append(rules(before + part, self.narrow_space)[len(before):])
        return "".join(result)

    def rich(self, value: str) -> Markup:
        """Render inline Markdown to HTML, typesetting only the words, never the links."""
        parser = inline_markdown()
        tokens = parser.parseInline(value)
        for token in tokens:
            for child in token.children or []:
                if child.type == "text":
                    child.content = self.text(child.content)
        return Markup(parser.renderer.render(tokens, parser.options, {}))


def typesetter_for(lang: str, brand: Brand) -> Typesetter:
    """Pick the narrow no-break space only when every brand font has that glyph."""
    has_narrow = all(ord(NNBSP) in font_characters(face.files.regular)
                     for face in brand.fonts.families)
    return Typesetter(lang, NNBSP if has_narrow else NBSP)


def typeset(model: M, setter: Typesetter) -> M:
    """Return a copy of `model` whose text fields are typeset."""
    return _apply(model, type(model), setter)


def _apply(value: Any, annotation: Any, setter: Typesetter) -> Any:
    if value is None:
        return None
    if isinstance(value, BaseModel):
        updates = {}
        for name, field in type(value).model_fields.items():
            kind = _kind([*field.metadata, *_optional_members(field.annotation)])
            current = getattr(value, name)
            if kind is not None and isinstance(current, str):
                updates[name] = _setter_for(kind, setter)(current)
            else:
                new = _apply(current, field.annotation, setter)
                if new is not current:
                    updates[name] = new
        return value.model_copy(update=updates) if updates else value
    if isinstance(value, list):
        item_annotation = _list_item(annotation)
        kind = _kind(typing.get_args(item_annotation)[1:]) if item_annotation else None
        if kind is not None:
            return [_setter_for(kind, setter)(item) for item in value]
        return [_apply(item, item_annotation, setter) for item in value]
    return value


def _setter_for(kind: TextKind, setter: Typesetter) -> typing.Callable[[str], str]:
    return setter.rich if kind is TextKind.RICH else setter.text


def _kind(metadata: typing.Iterable[Any]) -> TextKind | None:
    for item in metadata:
        if isinstance(item, TextKind):
            return item
        if typing.get_origin(item) is typing.Annotated:
            found = _kind(typing.get_args(item)[1:])
            if found:
                return found
    return None


def _optional_members(annotation: Any) -> tuple[Any, ...]:
    """The members of `X | None`, where a text marker of an optional field sits."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return ()


def _list_item(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is list:
        item = typing.get_args(annotation)[0]
        # Flatten nested Annotated so the marker sits in the first level of metadata.
        if typing.get_origin(item) is typing.Annotated:
            return typing.Annotated[(_base(item), *_all_metadata(item))]
        return item
    return None


def _base(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _all_metadata(annotation: Any) -> list[Any]:
    found: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        args = typing.get_args(annotation)
        found.extend(args[1:])
        annotation = args[0]
    return found


def _common(text: str) -> str:
    text = text.replace("...", "…")
    return re.sub(r"(?<=\w)'(?=\w)", "’", text)


def _french(text: str, narrow: str) -> str:
    text = _common(text)
    text = re.sub(r'"(\S[^"]*?)"', r"« \1 »", text)
    text = re.sub(r"(?<=[\w»…)])[ \u00a0\u202f]*([;!?]+)", rf"{narrow}\1", text)
    text = re.sub(r"(?<=[\w»…)])[ \u00a0]*:(?=\s|$)", f"{NBSP}:", text)
    text = re.sub(r"(?<=\S)[ \u00a0\u202f]*»", f"{narrow}»", text)
    text = re.sub(r"«[ \u00a0]*", f"«{narrow}", text)
    text = re.sub(r"(?<=\d) (?=\d{3}\b)", narrow, text)
    text = re.sub(r"(?<=\d) (?=[%€$]|\w)", NBSP, text)
    return text


def _english(text: str, narrow: str) -> str:
    text = _common(text)
    text = re.sub(r'"(\S[^"]*?)"', "\u201c\\1\u201d", text)
    text = re.sub(r"(?<=\w) +([;:!?])", r"\1", text)
    return re.sub(r"(?<=\d) (?=\w)", NBSP, text)
