"""The build plan: the project's folders, the editions to build and their targets.

An edition is one guide of one brand in one language. A target is one unit of work for a
worker: an edition's booklet (print, screen and office PDFs), one of its posters in one
format (print and screen PDFs, or a PNG picture), or its web page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from guidepress.models import Brand, Format, Guide, PrinterTicket


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
    # the formats made from its posters that the guide offers and the brand builds
    formats: tuple[Format, ...] = ()

    @property
    def where(self) -> str:
        """The edition's folder inside the brand's output: `<guide>/<lang>`."""
        return f"{self.guide.info.slug}/{self.guide.lang}"


@dataclass(frozen=True)
class Target:
    """One unit of work: an edition's booklet (three PDFs), one of its posters in one
    format, or its web page."""

    edition: Edition
    poster_index: int | None = None
    web: bool = False  # the guide as one web page rather than the booklet
    # the poster's format; None: the A3 poster (affiche-a3)
    format: Format | None = None

    @property
    def stem(self) -> str:
        """The start of a poster's file names: `poster` (A3), or the format's name."""
        return self.format.stem if self.format is not None else "poster"

    @property
    def poster_id(self) -> str:
        return self.edition.guide.posters[self.poster_index or 0].id

    @property
    def label(self) -> str:
        where = f"{self.edition.brand.slug}/{self.edition.where}"
        if self.web:
            return f"{where} web page"
        if self.poster_index is None:
            return f"{where} booklet"
        return f"{where} {self.stem} {self.poster_id}"

    @property
    def title(self) -> str:
        """What people call the document: the guide's title, or the poster's headline."""
        if self.poster_index is None:
            return self.edition.guide.meta.title
        return self.edition.guide.posters[self.poster_index].headline

    @property
    def png(self) -> bool:
        """Whether the target is a picture rather than PDFs."""
        return self.format is not None and self.format.output == "png"

    @property
    def path(self) -> str:
        """Where the target's first file goes, under `output/`: <brand>/<guide>/<lang>/…"""
        return f"{self.edition.brand.slug}/{self.edition.where}/{self.names[0]}"

    @property
    def names(self) -> list[str]:
        """The files this target produces."""
        if self.web:
            return ["web/index.html"]
        if self.poster_index is None:
            return ["guide-print.pdf", "guide-screen.pdf", "guide-office.pdf"]
        stem = f"{self.stem}-{self.poster_id}"
        return [f"{stem}.png"] if self.png else [f"{stem}.pdf", f"{stem}-screen.pdf"]


def plan(editions: list[Edition]) -> list[Target]:
    """List the targets of a build: each edition's booklet, its posters in each of its
    formats, its web page (those the guide offers and the brand builds).

    A flyer carries the contacts on its back: a "who to call" poster gets none of its own.
    """
    targets = []
    for edition in editions:
        offered, built = edition.guide.info.formats, edition.brand.formats
        if "booklet" in offered and "booklet" in built:
            targets.append(Target(edition))
        for form in edition.formats:
            targets += [Target(edition, index, format=form)
                        for index, poster in enumerate(edition.guide.posters)
                        if form.kind != "flyer" or poster.layout != "contacts"]
        if "web" in offered and "web" in built:
            targets.append(Target(edition, web=True))
    return targets
