"""Stage 5, pdf: HTML becomes laid-out pages and PDF bytes with WeasyPrint.

Every resource goes through `ProjectFetcher`, which serves only regular files inside
the folders it is given (templates, fonts, the current brand) and never the network.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import weasyprint
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from guidepress.problems import RenderError
from guidepress.render import Document

MAX_RESOURCE_BYTES = 20_000_000
_ALLOWED_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
                  ".jpeg": "image/jpeg", ".ttf": "font/ttf", ".otf": "font/otf",
                  ".woff": "font/woff", ".woff2": "font/woff2", ".css": "text/css"}


class ProjectFetcher(URLFetcher):
    """Serve `file:` URLs inside the allowed folders; refuse everything else."""

    def __init__(self, allowed_roots: tuple[Path, ...]) -> None:
        super().__init__(allowed_protocols=("file",))
        self.allowed_roots = tuple(root.resolve() for root in allowed_roots)

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.scheme != "file":
            raise FatalURLFetchingError(f"refused to load {url!r}: only files of the project "
                                        "and of the brand folder can be used")
        path = Path(unquote(parts.path)).resolve()
        if not any(path.is_relative_to(root) for root in self.allowed_roots):
            raise FatalURLFetchingError(f"refused to load {path}: it is outside the project's "
                                        "templates, fonts and the brand folder")
        mime = _ALLOWED_TYPES.get(path.suffix.lower())
        if mime is None or not path.is_file() or path.stat().st_size > MAX_RESOURCE_BYTES:
            raise FatalURLFetchingError(f"refused to load {path}: not an allowed file")
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime})


@dataclass
class Rendered:
    """A document laid out in pages, ready to be written as PDF."""

    document: Document
    pages: weasyprint.Document


@lru_cache(maxsize=1)
def font_configuration() -> FontConfiguration:
    """Share one font configuration per process: loading fonts is the slow part."""
    return FontConfiguration()


def lay_out(document: Document, fetcher: ProjectFetcher, base_url: Path) -> Rendered:
    """Lay out `document`; a resource that fails to load is an error, not a blank."""
    with _captured_warnings() as warnings:
        pages = weasyprint.HTML(string=document.html, base_url=base_url.as_uri() + "/",
                                url_fetcher=fetcher).render(
            font_config=font_configuration(), presentational_hints=False)
    failures = [w for w in warnings if "failed to load" in w.lower() or "refused" in w.lower()]
    if failures:
        raise RenderError(f"{document.name}: " + "; ".join(failures))
    return Rendered(document, pages)


def write_pdf(rendered: Rendered) -> bytes:
    """Return the PDF bytes of laid-out pages."""
    with _captured_warnings():
        return rendered.pages.write_pdf(uncompressed_pdf=False, pdf_tags=True)


def overflowing_field(rendered: Rendered) -> str | None:
    """Name the first `data-field` element that spilled past the first page."""
    for page in rendered.pages.pages[1:]:
        field = _first_field(page._page_box)
        if field:
            return field
    return None


def _first_field(box: object) -> str | None:
    element = getattr(box, "element", None)
    if element is not None and element.get("data-field"):
        return element.get("data-field")
    for child in getattr(box, "children", []) or []:
        found = _first_field(child)
        if found:
            return found
    return None


@contextmanager
def _captured_warnings() -> Iterator[list[str]]:
    """Collect WeasyPrint's warnings instead of letting them scroll by."""
    messages: list[str] = []

    class Collector(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("weasyprint")
    handler = Collector(level=logging.WARNING)
    logger.addHandler(handler)
    previous = logger.propagate
    logger.propagate = False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = previous

