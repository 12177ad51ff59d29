"""The one inline Markdown parser used by every stage: emphasis, strong and links only."""

from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt


@lru_cache(maxsize=1)
def inline_markdown() -> MarkdownIt:
    """Return a parser with raw HTML disabled and only emphasis and links enabled."""
    return MarkdownIt("zero", {"html": False}).enable(["emphasis", "link"])


def link_targets(text: str) -> list[str]:
    """Return the targets of the links written in an inline Markdown text."""
    targets = []
    for token in inline_markdown().parseInline(text):
        for child in token.children or []:
            if child.type == "link_open":
                targets.append(str(child.attrGet("href")))
    return targets
