"""The build plan: the project's folders, the editions to build and their targets.

An edition is one guide of one brand in one language. A target is one unit of work for a
worker: an edition's booklet (print, screen and office PDFs), one of its posters (print
and screen), or its web page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from guidepress.models import Brand, Guide, PrinterTicket


@dataclass(frozen=True)
class Project:
    """The folders of a guidepress project."""

    root: Path

    @property
    def templates(self) -> Path:
        return self.root / "templates"


@dataclass(frozen=True)
class Edition:
    """One brand's guide in one language, validated and typeset, with its printer ticket."""

    brand: Brand
    guide: Guide
    ticket: PrinterTicket
    draft: bool = False  # not yet approved: print PDFs carry a watermark in their slug

    @property
    def where(self) -> str:
        """The edition's folder inside the brand's output: `<guide>/<lang>`."""
        return f"{self.guide.info.slug}/{self.guide.lang}"


@dataclass(frozen=True)
class Target:
    """One unit of work: an edition's booklet (three PDFs) or one of its posters (two)."""

    edition: Edition
    poster_index: int | None = None
    web: bool = False  # the guide as one web page rather than the booklet

    @property
    def label(self) -> str:
        where = f"{self.edition.brand.slug}/{self.edition.where}"
        if self.web:
            return f"{where} web page"
        if self.poster_index is None:
            return f"{where} booklet"
        return f"{where} poster {self.edition.guide.posters[self.poster_index].id}"

    @property
    def title(self) -> str:
        """What people call the document: the guide's title, or the poster's headline."""
        if self.poster_index is None:
            return self.edition.guide.meta.title
        return self.edition.guide.posters[self.poster_index].headline

    @property
    def names(self) -> list[str]:
        """The files this target produces."""
        if self.web:
            return ["web/index.html"]
        if self.poster_index is None:
            return ["guide-print.pdf", "guide-screen.pdf", "guide-office.pdf"]
        poster_id = self.edition.guide.posters[self.poster_index].id
        return [f"poster-{poster_id}.pdf", f"poster-{poster_id}-screen.pdf"]


def plan(editions: list[Edition]) -> list[Target]:
    """List the targets of a build: each edition's booklet, its posters, its web page
    (those of the formats its guide offers)."""
    targets = []
    for edition in editions:
        formats = edition.guide.info.formats
        if "booklet" in formats:
            targets.append(Target(edition))
        if "posters" in formats:
            targets += [Target(edition, index) for index in range(len(edition.guide.posters))]
        if "web" in formats:
            targets.append(Target(edition, web=True))
    return targets
