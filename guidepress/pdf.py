"""Stage 5, pdf: HTML becomes laid-out pages and PDF bytes with WeasyPrint.

Every resource goes through `ProjectFetcher`, which serves only regular files inside
the folders it is given (templates, fonts, the current brand) and never the network.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import weasyprint
from weasyprint.formatting_structure import boxes
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from guidepress.i18n import _
from guidepress import pdfx
from guidepress.problems import RenderError
from guidepress.render import Document, Profile

MAX_RESOURCE_BYTES = 20_000_000
_ALLOWED_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
                  ".jpeg": "image/jpeg", ".ttf": "font/ttf", ".otf": "font/otf",
                  ".woff": "font/woff", ".woff2": "font/woff2", ".css": "text/css",
                  ".icc": "application/vnd.iccprofile", ".icm": "application/vnd.iccprofile"}


class ProjectFetcher(URLFetcher):
    """Serve `file:` URLs inside the allowed folders and small `data:` URLs; refuse the rest.

    Refusals are fatal: WeasyPrint stops, instead of leaving a blank where a logo was.
    """

    def __init__(self, allowed_roots: tuple[Path, ...]) -> None:
        super().__init__(allowed_protocols=("file", "data"))
        self.allowed_roots = tuple(root.resolve() for root in allowed_roots)

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            return self._data(url)
        if scheme != "file":
            raise FatalURLFetchingError(f"refused to load {url[:80]!r}: nothing is fetched "
                                        "from the network, only files of the project")
        path = Path(unquote(urlsplit(url).path)).resolve()
        if not any(path == root or path.is_relative_to(root) for root in self.allowed_roots):
            raise FatalURLFetchingError(f"refused to load {path}: it is outside the project's "
                                        "templates, fonts and the brand folder")
        if not path.is_file() or path.stat().st_size > MAX_RESOURCE_BYTES:
            raise FatalURLFetchingError(f"refused to load {path}: not a regular file of an "
                                        "allowed size")
        data = path.read_bytes()
        mime = _content_type(path.suffix.lower(), data)
        if mime is None:
            raise FatalURLFetchingError(f"refused to load {path}: its content is not an "
                                        "allowed image, font, stylesheet or colour profile")
        return URLFetcherResponse(path.as_uri(), data, {"Content-Type": mime})

    def _data(self, url: str) -> URLFetcherResponse:
        if len(url) > MAX_DATA_URL:
            raise FatalURLFetchingError(f"refused a data: URL of {len(url)} characters "
                                        f"(limit {MAX_DATA_URL})")
        response = super().fetch(url)
        body = response.read()
        if _content_type_from_mime(response.content_type, body) is None:
            raise FatalURLFetchingError(f"refused a data: URL of type {response.content_type}")
        return URLFetcherResponse(url, body, {"Content-Type": response.content_type})


MAX_DATA_URL = 200_000
_SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",),
    "font/ttf": (b"\x00\x01\x00\x00", b"true"), "font/otf": (b"OTTO",),
    "font/woff": (b"wOFF",), "font/woff2": (b"wOF2",),
}


def _content_type(suffix: str, data: bytes) -> str | None:
    """The MIME type of a file, if its bytes agree with its name and the type is allowed."""
    return _content_type_from_mime(_ALLOWED_TYPES.get(suffix), data)


def _content_type_from_mime(mime: str | None, data: bytes) -> str | None:
    if mime in _SIGNATURES:
        return mime if data.startswith(_SIGNATURES[mime]) else None
    if mime == "image/svg+xml":
        head = data[:4096].lstrip().lower()
        ok = head.startswith((b"<svg", b"<?xml")) and b"<!doctype" not in head
        return mime if ok else None
    if mime == "application/vnd.iccprofile":
        return mime if data[36:40] == b"acsp" else None
    if mime == "text/css":
        return mime if b"\x00" not in data else None
    return None


@dataclass
class Rendered:
    """A document laid out in pages, ready to be written as PDF."""

    document: Document
    pages: weasyprint.Document
    warnings: list[str]
    base: Path | None = None  # the project's folder, to name its files in messages


@lru_cache(maxsize=1)
def font_configuration() -> FontConfiguration:
    """Share one font configuration per process: loading fonts is the slow part."""
    return FontConfiguration()


_INHERITED: list[FontConfiguration] = []


def fresh_font_configuration() -> None:
    """In a forked worker, start a font configuration of its own.

    The one inherited from the parent is kept alive, never collected: collecting it would
    delete the parent's temporary font files on disk, which the two processes share.
    """
    if font_configuration.cache_info().currsize:
        _INHERITED.append(font_configuration())
    font_configuration.cache_clear()


def lay_out(document: Document, fetcher: ProjectFetcher, base_url: Path) -> Rendered:
    """Lay out `document`; a resource that fails to load is an error, not a blank."""
    with _captured_warnings(document.name, base_url) as warnings:
        try:
            pages = weasyprint.HTML(string=document.html, base_url=base_url.as_uri() + "/",
                                    url_fetcher=fetcher).render(
                font_config=font_configuration(), presentational_hints=False)
        except FatalURLFetchingError as exc:
            raise RenderError(f"{document.name}: {exc}") from None
    return Rendered(document, pages, warnings, base_url)


def write_pdf(rendered: Rendered, profile: Profile, *, tagged: bool = True) -> bytes:
    """Return the PDF bytes of laid-out pages, made for the profile's use.

    Images (SVG logos included) are drawn here: one WeasyPrint fails to draw fails the
    document, instead of leaving it without its logo, bullets or QR code.
    """
    ticket = profile.ticket
    with _captured_warnings(rendered.document.name, rendered.base):
        try:
            if ticket is None:
                variant = "pdf/ua-1" if tagged else None
                return rendered.pages.write_pdf(pdf_variant=variant, pdf_tags=tagged,
                                                pdf_identifier=_identifier(rendered))
            data = rendered.pages.write_pdf(pdf_variant=ticket.pdf_variant,
                                            output_intent="device-cmyk")
        except FatalURLFetchingError as exc:  # attachments are fetched only when writing
            raise RenderError(f"{rendered.document.name}: {exc}") from None
    return pdfx.finish(data, ticket, _identifier(rendered))


_FILE_URL = re.compile(r"file://[^\"'()\s]*/([^/\"'()\s]*)")


def _identifier(rendered: Rendered) -> bytes:
    """A stable PDF identifier: the same inputs give the same bytes, wherever the project
    and the fonts sit on disk (a queue's workers unpack them into temporary folders)."""
    html = _FILE_URL.sub(lambda url: url.group(1), rendered.document.html)
    return hashlib.sha256(html.encode()).hexdigest()[:32].encode()


PX_TO_MM = 25.4 / 96  # WeasyPrint lays out in CSS pixels


@dataclass(frozen=True)
class Placement:
    """A line of text or an image as laid out: what it is, and how far it is from the trim."""

    page: int  # from 1
    what: str  # 'the text "…"', 'the logo', 'the QR code'
    clearance_mm: float  # distance to the nearest trim edge (negative: past it)
    edge: str  # "top", "right", "bottom" or "left"
    box_mm: tuple[float, ...]  # left, top, width, height from the trim's top left corner


def placements(rendered: Rendered) -> list[Placement]:
    """Every line of text and every image of the laid-out pages, with its distance to the trim.

    Text is measured by its line box (glyphs and half-leading), images by their content box.
    """
    found: list[Placement] = []
    for number, page in enumerate(rendered.pages.pages, start=1):
        for what, (x, y, width, height) in _printed(page._page_box):
            distances = {"top": y, "left": x, "bottom": page.height - (y + height),
                         "right": page.width - (x + width)}
            edge = min(distances, key=distances.get)
            box = tuple(round(v * PX_TO_MM, 2) for v in (x, y, width, height))
            found.append(Placement(number, what, round(distances[edge] * PX_TO_MM, 1), edge,
                                   box))
    return found


def _printed(box: object) -> Iterator[tuple[str, tuple[float, float, float, float]]]:
    if getattr(box, "style", None) is not None and box.style["visibility"] != "visible":
        return
    if isinstance(box, boxes.TextBox) and box.text.strip():
        text = " ".join(box.text.split())
        yield _('the text "{text}"').format(text=text[:40] + ("…" if len(text) > 40 else "")), \
            (box.position_x, box.position_y, box.width, box.height)
    elif isinstance(box, boxes.ReplacedBox) and box.width and box.height:
        classes = (box.element.get("class") or "").split() if box.element is not None else []
        what = (_("the logo") if "logo" in classes else _("the QR code") if "qr-code" in classes
                else _("an image"))
        yield what, (box.content_box_x(), box.content_box_y(), box.width, box.height)
    for child in getattr(box, "children", []) or []:
        yield from _printed(child)


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


# WeasyPrint's warnings (by their fixed format string) that mean part of the document is lost
_FAILURE_WARNINGS = {"Font-face %r cannot be loaded"}


@contextmanager
def _captured_warnings(name: str, base: Path | None) -> Iterator[list[str]]:
    """Collect WeasyPrint's warnings; raise RenderError if it logged an error.

    WeasyPrint logs, and goes on, when it cannot load a resource or draw an image: any
    message at ERROR level fails the document, with WeasyPrint's words (project files
    named from the project's folder).
    """
    messages: list[str] = []
    errors: list[str] = []

    class Collector(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            failed = record.levelno >= logging.ERROR or record.msg in _FAILURE_WARNINGS
            (errors if failed else messages).append(record.getMessage())

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
    if errors:
        prefix = base.as_uri() + "/" if base is not None else None
        text = "; ".join(dict.fromkeys(errors))
        raise RenderError(f"{name}: " + (text.replace(prefix, "") if prefix else text))
