"""Stage 5, pdf: HTML becomes laid-out pages and PDF bytes with WeasyPrint.

Every resource goes through `ProjectFetcher`, which serves only regular files inside
the folders it is given (templates, fonts, the current brand) and never the network.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import re
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pydyf
import weasyprint
from PIL import ImageColor
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
        # a picture or stylesheet it served names a CMYK colour of its own, which a screen
        # PDF written from a print layout could not tell from a separated one
        self.served_cmyk = False

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            return self._data(url)
        if scheme != "file":
            raise FatalURLFetchingError(_("refused to load {address}: nothing is fetched from "
                                          "the network, only files of the project").format(
                                              address=repr(url[:80])))
        path = Path(unquote(urlsplit(url).path)).resolve()
        if not any(path == root or path.is_relative_to(root) for root in self.allowed_roots):
            raise FatalURLFetchingError(_("refused to load {path}: it is outside the project's "
                                          "templates, fonts and the brand folder").format(
                                              path=path))
        if not path.is_file() or path.stat().st_size > MAX_RESOURCE_BYTES:
            raise FatalURLFetchingError(_("refused to load {path}: not a regular file of an "
                                          "allowed size").format(path=path))
        data = path.read_bytes()
        mime = _content_type(path.suffix.lower(), data)
        if mime is None:
            raise FatalURLFetchingError(_("refused to load {path}: its content is not an "
                                          "allowed image, font, stylesheet or colour profile")
                                        .format(path=path))
        if mime in ("image/svg+xml", "text/css") and b"device-cmyk" in data.lower():
            self.served_cmyk = True
        return URLFetcherResponse(path.as_uri(), data, {"Content-Type": mime})

    def _data(self, url: str) -> URLFetcherResponse:
        if len(url) > MAX_DATA_URL:
            raise FatalURLFetchingError(_("refused a data: URL of {length} characters (limit "
                                          "{limit})").format(length=len(url), limit=MAX_DATA_URL))
        response = super().fetch(url)
        body = response.read()
        if _content_type_from_mime(response.content_type, body) is None:
            raise FatalURLFetchingError(_("refused a data: URL of type {type}").format(
                type=response.content_type))
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


_FONTS: list[FontConfiguration] = []  # the current build's, made when first needed
_INHERITED: list[FontConfiguration] = []


def font_configuration() -> FontConfiguration:
    """The font configuration of the current build in this process.

    Loading fonts is the slow part, so documents of one build share it; each build (and
    each forked worker) starts a new one with `fresh_font_configuration`, so a font file
    changed between two builds is loaded again.
    """
    if not _FONTS:
        _FONTS.append(FontConfiguration())
    return _FONTS[0]


def fresh_font_configuration() -> None:
    """Start a new font configuration, and forget the stylesheets parsed (`_stylesheet`):
    at the start of a build, and in a forked worker.

    The previous one is kept alive, never collected: in a worker, collecting the one
    inherited from the parent would delete the parent's temporary font files on disk,
    which the two processes share.
    """
    _INHERITED.extend(_FONTS)
    _FONTS.clear()
    _SHEETS.clear()


# A fixed document of our own (no brand input): laying it out once fills WeasyPrint's
# process-wide caches (cffi types, the user-agent stylesheet's selectors, hyphenation
# patterns, Pango's start-up), which forked workers then inherit instead of each paying
# for them again (about 0.2 s per worker, measured by scripts/bench.py).
_WARM_UP = """<!DOCTYPE html><html lang="fr"><head><style>
@page { size: A5; bleed: 3mm; marks: crop; @bottom-center { content: counter(page); } }
p { hyphens: auto; color: device-cmyk(0 0 0 1); } h1 { string-set: t content(); }
</style></head><body><h1>Préparer</h1><p>Les réseaux sociaux à l’hôpital : <b>publier</b>,
<i>partager</i>, <a href="#x">protéger</a>.</p><p lang="en" id="x">Hyphenation of a
considerable paragraph.</p><ul><li>un</li></ul><div style="display: flex">
<svg width="20" height="20" viewBox="0 0 2 2"><rect width="1" height="1"/></svg></div>
</body></html>"""


def warm_up() -> None:
    """Lay out and write a small fixed document, before forking workers (see _WARM_UP).

    Its font configuration is kept alive like an inherited one, never collected. It runs
    in the main process, where Ctrl-C arrives: WeasyPrint takes any exception raised while
    it draws an SVG for a failure of the picture, Ctrl-C's KeyboardInterrupt included, so
    Ctrl-C waits until the warm-up is done (a build sent to a queue warms up just after
    sending its jobs, when Ctrl-C is likely).
    """
    with _interrupts_held():
        fonts = FontConfiguration()
        _INHERITED.append(fonts)
        pages = weasyprint.HTML(string=_WARM_UP).render(font_config=fonts)
        pages.write_pdf(pdf_variant="pdf/ua-1", pdf_tags=True)
        pages.write_pdf(pdf_variant="pdf/x-4", output_intent="device-cmyk")


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Ctrl-C (SIGINT) held back, then delivered (a KeyboardInterrupt) when this ends.

    Only the main thread receives signals in Python: elsewhere, nothing is held."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def lay_out(document: Document, fetcher: ProjectFetcher, base_url: Path) -> Rendered:
    """Lay out `document`; anything WeasyPrint reports as an error fails it.

    WeasyPrint logs at ERROR level what it could not do (an image, SVG or stylesheet that
    failed to load or to render) and at WARNING level what it ignored (an unsupported
    property): the level decides, not the words of the message.
    """
    base = base_url.as_uri() + "/"
    html, styles = _styles_apart(document.html)
    fonts, profiles = font_configuration(), {}
    with _captured_warnings(document.name, base_url) as warnings:
        try:
            sheets = [_stylesheet(text, base, fetcher, fonts, profiles) for text in styles]
            pages = weasyprint.HTML(string=html, base_url=base, url_fetcher=fetcher).render(
                font_config=fonts, color_profiles=profiles, stylesheets=sheets,
                presentational_hints=False)
        except FatalURLFetchingError as exc:
            raise RenderError(str(exc), document.name) from None
    return Rendered(document, pages, warnings, base_url)


# The stylesheets of a document's head are parsed once per build and process, not once per
# layout: a poster is laid out two or three times, with the same long stylesheet each time.
# The head's <style> elements, as the templates write them, are taken out and given to
# WeasyPrint as parsed stylesheets, in their order and all of one origin, so the cascade is
# the same. A document that styles itself in any other way is left whole.
_HEAD_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)
_LEFT_WHOLE = re.compile(r"@(import|counter-style|layer|namespace)\b|<link\b|<style[\s/]",
                         re.IGNORECASE)
_ANY_STYLE = re.compile(r"<style", re.IGNORECASE)
# Rules that register fonts or colour profiles with the document being laid out: such a
# stylesheet is parsed for each layout
_REGISTERING = re.compile(r"@(font-face|color-profile)\b", re.IGNORECASE)
_SHEETS: dict[tuple[str, str], tuple[weasyprint.CSS, list[logging.LogRecord]]] = {}


def _styles_apart(html: str) -> tuple[str, list[str]]:
    """The document without the <style> elements of its head, and their texts; or the
    document whole and nothing, if it has styles of another kind or elsewhere."""
    head, _sep, body = html.partition("</head>")
    rest = _HEAD_STYLE.sub("", head)
    if not _sep or _LEFT_WHOLE.search(html) or _ANY_STYLE.search(body):
        return html, []
    return rest + "</head>" + body, _HEAD_STYLE.findall(head)


def _stylesheet(text: str, base: str, fetcher: URLFetcher, fonts: FontConfiguration,
                profiles: dict) -> weasyprint.CSS:
    """The stylesheet parsed, once per build for one that registers nothing; what WeasyPrint
    said while parsing it is said again each time it is used."""
    if _REGISTERING.search(text):
        return weasyprint.CSS(string=text, base_url=base, url_fetcher=fetcher,
                              font_config=fonts, color_profiles=profiles)
    logger = logging.getLogger("weasyprint")
    if (text, base) in _SHEETS:
        sheet, records = _SHEETS[text, base]
        for record in records:
            logger.handle(record)
        return sheet
    recorder = _Recorder()
    logger.addHandler(recorder)
    try:
        sheet = weasyprint.CSS(string=text, base_url=base, url_fetcher=fetcher)
    finally:
        logger.removeHandler(recorder)
    _SHEETS[text, base] = sheet, recorder.records
    return sheet


class _Recorder(logging.Handler):
    """Keeps what WeasyPrint says while a stylesheet is parsed, to say it again."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


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
                data = rendered.pages.write_pdf(pdf_variant=variant, pdf_tags=tagged,
                                                pdf_identifier=_identifier(rendered.document))
            else:
                data = rendered.pages.write_pdf(pdf_variant=ticket.pdf_variant,
                                                output_intent="device-cmyk")
        except FatalURLFetchingError as exc:  # attachments are fetched only when writing
            raise RenderError(str(exc), rendered.document.name) from None
    if ticket is None:
        return data
    return pdfx.finish(data, ticket, _identifier(rendered.document), draft=profile.draft,
                       separation=profile.separation)


_FILE_URL = re.compile(r"file://[^\"'()\s]*/([^/\"'()\s]*)")


def write_from_print(rendered: Rendered, screen: Document,
                     separations: Mapping[str, str]) -> bytes | None:
    """The screen PDF of `screen`, written from the print layout `rendered` of the same
    document, or None when it cannot be written exactly (the caller lays `screen` out).

    The caller has checked that the two documents differ only in their print rules and in
    colours (`render.as_screen`): the layouts are then the same but for the bleed, so the
    screen PDF is the print layout's pages without their bleed, with no colour profile,
    tagged, and with each CMYK colour given back as the sRGB colour `separations` says it
    stands for. A colour it does not know, or a gradient (whose CMYK stops WeasyPrint
    turns into sRGB its own way), leaves the result unsure: None. So does a CMYK colour
    in a picture or stylesheet of the brand's (the same CMYK on both layouts), and an
    attached file (refused later anyway): WeasyPrint reads one only once, for print.
    """
    layout = rendered.pages
    fetcher = layout.url_fetcher
    if not isinstance(fetcher, ProjectFetcher) or fetcher.served_cmyk:
        return None
    if layout.metadata.attachments or any(
            link[0] == "attachment" for page in layout.pages for link in page.links):
        return None
    pages = [_without_bleed(page) for page in layout.pages]
    profiles = {name: profile for name, profile in layout.color_profiles.items()
                if name != "device-cmyk"}
    document = weasyprint.Document(pages, layout.metadata, layout.url_fetcher,
                                   layout.font_config, profiles, None)
    colours = _ScreenColours({_cmyk_values(cmyk): _rgb_values(rgb)
                              for cmyk, rgb in separations.items()})
    with _captured_warnings(screen.name, rendered.base):
        try:
            data = document.write_pdf(pdf_variant="pdf/ua-1", pdf_tags=True,
                                      pdf_identifier=_identifier(screen), finisher=colours)
        except FatalURLFetchingError as exc:
            raise RenderError(str(exc), screen.name) from None
    return data if colours.exact else None


def _without_bleed(page: weasyprint.Page) -> weasyprint.Page:
    """A copy of a laid-out page that a PDF shows trimmed (the bleed's painting is cut)."""
    trimmed = copy.copy(page)
    trimmed.bleed = dict.fromkeys(page.bleed, 0)
    return trimmed


_CMYK = re.compile(r"device-cmyk\(([^)]*)\)")


def _cmyk_values(css: str) -> tuple[float, ...]:
    """`device-cmyk(0.875 0.486 0.004 0.459)` as WeasyPrint writes it into a PDF, rounded."""
    return tuple(round(float(value), 3) for value in _CMYK.fullmatch(css).group(1).split())


def _rgb_values(css: str) -> tuple[float, ...]:
    """A `#RRGGBB` colour as WeasyPrint writes it into a PDF (0 to 1 per channel)."""
    return tuple(channel / 255 for channel in ImageColor.getrgb(css)[:3])


class _ScreenColours:
    """A WeasyPrint finisher: before the PDF is written, every CMYK colour its pages and
    forms set (`/DeviceCMYK cs` then `c m y k scn`, as WeasyPrint always writes them) is
    set in sRGB instead, as WeasyPrint writes an sRGB colour (`r g b rg`). `exact` turns
    False on anything else in CMYK."""

    def __init__(self, colours: Mapping[tuple[float, ...], tuple[float, ...]]) -> None:
        self.colours = colours
        self.exact = True

    def __call__(self, document: weasyprint.Document, pdf: pydyf.PDF) -> None:
        for item in pdf.objects:
            if isinstance(item, pydyf.Stream):
                item.stream = self._operators(item.stream)
            elif isinstance(item, pydyf.Dictionary) and "ShadingType" in item:
                self.exact = False

    def _operators(self, operators: list) -> list:
        rewritten: list = []
        spaces = iter(operators)
        for operator in spaces:
            if isinstance(operator, bytes) and operator in _CMYK_SPACES:
                operator = self._rgb(next(spaces, b""), _CMYK_SPACES[operator])
            elif isinstance(operator, bytes) and b"DeviceCMYK" in operator:
                self.exact = False
            rewritten.append(operator)
        return rewritten

    def _rgb(self, setting: object, operators: tuple[bytes, bytes]) -> bytes:
        """`c m y k scn` as `r g b rg` (stroking: SCN, RG)."""
        *values, operator = setting.split() if isinstance(setting, bytes) else [b""]
        try:
            cmyk = tuple(round(float(value), 3) for value in values)
        except ValueError:  # a pattern's name: not a colour of WeasyPrint's own
            cmyk = ()
        rgb = self.colours.get(cmyk) if operator == operators[0] and len(cmyk) == 4 else None
        if rgb is None:
            self.exact = False
            return b""
        return b" ".join(_pdf_number(channel) for channel in rgb) + b" " + operators[1]


# WeasyPrint's operator setting a CMYK colour space, and the operators that follow it
_CMYK_SPACES = {b"/DeviceCMYK cs": (b"scn", b"rg"), b"/DeviceCMYK CS": (b"SCN", b"RG")}


def _pdf_number(value: float) -> bytes:
    """A number as pydyf writes it."""
    if float(value).is_integer():
        return str(int(value)).encode()
    return f"{value:f}".rstrip("0").encode()


def _identifier(document: Document) -> bytes:
    """A stable PDF identifier: the same inputs give the same bytes, wherever the project
    and the fonts sit on disk (a queue's workers unpack them into temporary folders)."""
    html = _FILE_URL.sub(lambda url: url.group(1), document.html)
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


def fits_one_page(rendered: Rendered) -> bool:
    """One page, and no box past its bottom (a flex sheet grows past the page, unsplit)."""
    if len(rendered.pages.pages) != 1:
        return False
    page = rendered.pages.pages[0]
    return all(bottom <= page.height + 0.5 for bottom in _box_bottoms(page._page_box))


def _box_bottoms(box: object) -> Iterator[float]:
    for child in getattr(box, "children", []) or []:
        if isinstance(child, boxes.Box) and child.position_y is not None:
            yield child.position_y + child.margin_height()
        yield from _box_bottoms(child)


@dataclass(frozen=True)
class Paragraph:
    """The lines of one block of text, as runs to wrap again at another type scale."""

    words: tuple[float, ...]  # widths of the runs a line may not break inside
    space: float  # width of the space between two runs
    width: float  # the width its lines may take
    lines: int  # as laid out
    line_height: float  # their mean height
    fixed: bool = False  # set in a size that does not follow the type scale

    def height(self, ratio: float) -> float:
        """Its height with every size multiplied by `ratio`: the lines it had, plus those
        that wrapping its runs again greedily adds (or saves). A paragraph whose size is
        fixed keeps its height."""
        if self.fixed:
            return self.lines * self.line_height
        lines = self.lines + self._wrapped(ratio) - self._wrapped(1.0)
        return max(lines, 1) * self.line_height * ratio

    def _wrapped(self, ratio: float) -> int:
        lines, used = 1, 0.0
        for word in self.words:
            if used and used + self.space + word > self.width / ratio + 0.01:
                lines, used = lines + 1, word
            else:
                used += (self.space if used else 0.0) + word
        return lines


@dataclass(frozen=True)
class Room:
    """A poster's message as laid out: the height it may take, and what fills it."""

    available: float
    other: float  # margins, paddings, images: all that is not a line of text
    paragraphs: tuple[Paragraph, ...]

    def needed(self, ratio: float) -> float:
        """A prediction of the message's height with its type multiplied by `ratio`.

        Text is wrapped again (a line's words are as wide as laid out, times `ratio`);
        of the rest (margins, images), FIXED_SHARE is taken as set in fixed units and the
        rest grows by `ratio`. It is approximate, which is why the kit checks the layout
        it keeps.
        """
        other = self.other * (FIXED_SHARE + (1 - FIXED_SHARE) * ratio)
        return other + sum(paragraph.height(ratio) for paragraph in self.paragraphs)


# Of a poster message's margins and images, the share whose size does not follow the type
# scale (gaps in mm, fixed paddings): fitted on the demo posters, where it predicts the
# scale of 34 of 40 print posters from one layout (0 or 1 gives 24 to 28)
FIXED_SHARE = 0.3


def message_room(rendered: Rendered) -> Room | None:
    """Measure the part of a poster that grows to fill its sheet (a flex box with
    `flex-grow`, the poster's message), or None when the layout has none (a brand's own
    template): the available height comes from the sheet and the boxes beside the message,
    the needed one from the message's content, on every page the layout took."""
    first = rendered.pages.pages[0]
    found = _growing(first._page_box)
    if found is None:
        return None
    message, sheet = found
    beside: dict[object, float] = {}  # the tallest piece of each box beside the message
    other, paragraphs = 0.0, []
    for page in rendered.pages.pages:
        for piece in _pieces(page._page_box, sheet.element):
            for child in piece.children:
                if not isinstance(child, boxes.Box):
                    continue
                if child.element is not message.element:
                    # a piece of a split box lacks the padding of its other piece
                    whole = (child.height + _vertical_insets(child) + child.margin_top
                             + child.margin_bottom)
                    beside[child.element] = max(beside.get(child.element, 0.0), whole)
                    continue
                for block in child.children:
                    if isinstance(block, boxes.Box):
                        found_paragraphs = list(_paragraphs(block, message.width))
                        paragraphs += found_paragraphs
                        other += block.margin_height() - sum(
                            p.line_height * p.lines for p in found_paragraphs)
    if not paragraphs:
        return None
    available = (first.height - _vertical_insets(sheet) - _vertical_insets(message)
                 - sum(beside.values()))
    return Room(available, other, tuple(paragraphs))


def _pieces(box: object, element: object) -> Iterator[boxes.Box]:
    """The boxes of `element` on a page (a box split over pages leaves one on each)."""
    for child in getattr(box, "children", []) or []:
        if getattr(child, "element", None) is element and isinstance(child, boxes.Box):
            yield child
        else:
            yield from _pieces(child, element)


def _growing(box: object) -> tuple[boxes.Box, boxes.Box] | None:
    """The first flex box that grows to fill its parent, and that parent.

    In a layout made to measure (the poster's `measuring` styles), the sheet is a plain
    block and so is the message: there, the block that would grow is the one."""
    for child in getattr(box, "children", []) or []:
        grows = isinstance(child, boxes.Box) and child.style["flex_grow"] > 0
        if grows and (isinstance(child, boxes.FlexContainerBox)
                      or not isinstance(box, boxes.FlexContainerBox)):
            return child, box
        found = _growing(child)
        if found is not None:
            return found
    return None


def _vertical_insets(box: boxes.Box) -> float:
    """Padding and borders, top and bottom, as styled (a box split over two pages has its
    bottom padding on the second)."""
    style = box.style
    return (style["padding_top"].value + style["padding_bottom"].value
            + style["border_top_width"] + style["border_bottom_width"])


def _paragraphs(box: boxes.Box, width: float) -> Iterator[Paragraph]:
    """The blocks of text inside `box`, whose content may take `width`."""
    width -= box.margin_width() - box.width
    lines = [child for child in box.children if isinstance(child, boxes.LineBox)]
    if lines:
        yield _paragraph(lines, width, bool(box.style[FIXED_SIZE]))
        return
    for child in getattr(box, "children", []) or []:
        if isinstance(child, boxes.Box) and not isinstance(child, boxes.InlineLevelBox):
            yield from _paragraphs(child, width)


# A block whose type keeps its size at any scale says so in the poster's stylesheet
# (`--gp-fixed-size: 1`), so that the measure does not take it as growing with the rest
FIXED_SIZE = "__gp_fixed_size"  # WeasyPrint's name for the custom property


def _paragraph(lines: list[boxes.LineBox], width: float, fixed: bool = False) -> Paragraph:
    """A block's lines as runs of text: each text box is cut at its spaces, its width
    shared by character; a line starts a new run."""
    words: list[float] = []
    space = 0.0
    for line in lines:
        joined = False  # a text box that follows another without a space continues its run
        for text_box in _text_boxes(line):
            size = text_box.style["font_size"]
            space = max(space, size * SPACE_EM)
            runs = text_box.text.split(" ")
            chars = sum(len(run) for run in runs) or 1
            per_char = max(text_box.width - space * (len(runs) - 1), 0.0) / chars
            for index, run in enumerate(runs):
                if index == 0 and joined and words:
                    words[-1] += len(run) * per_char
                elif run or index:
                    words.append(len(run) * per_char)
            joined = not text_box.text.endswith(" ")
    return Paragraph(tuple(words), space, width, len(lines),
                     sum(line.height for line in lines) / len(lines), fixed)


SPACE_EM = 0.26  # the width of a word space, in em, in the usual text faces


def _text_boxes(box: object) -> Iterator[boxes.TextBox]:
    for child in getattr(box, "children", []) or []:
        if isinstance(child, boxes.TextBox):
            yield child
        else:
            yield from _text_boxes(child)


@dataclass(frozen=True)
class Opening:
    """Where a booklet part begins: its page, and how far down that page's text area."""

    part_id: str
    page: int  # from 1
    depth: float  # 0 at the top of the text area, 1 at its foot


def part_openings(rendered: Rendered) -> list[Opening]:
    """Where each part (a `section.part`) begins in the laid-out booklet."""
    found: dict[str, Opening] = {}
    for number, page in enumerate(rendered.pages.pages, start=1):
        box = page._page_box
        top = box.margin_top
        area = page.height - box.margin_top - box.margin_bottom
        for part_id, header in _part_headers(box, ""):
            # the part's header, not its section: the section's top margin may be left
            # alone at the foot of the page before
            depth = (header.position_y + header.margin_top - top) / area
            found.setdefault(part_id, Opening(part_id, number, round(max(depth, 0.0), 3)))
    return list(found.values())


def page_fills(rendered: Rendered) -> list[float]:
    """How much of each page's text area its text and images span, top to bottom (0 to 1);
    running heads and folios, in the margins, are left out."""
    fills = []
    for page in rendered.pages.pages:
        box = page._page_box
        top, bottom = box.margin_top, page.height - box.margin_bottom
        spans = [(y, y + height) for _what, (_x, y, _w, height) in _printed(box)
                 if y >= top - 1 and y + height <= bottom + 1]
        filled = max(end for _y, end in spans) - min(y for y, _end in spans) if spans else 0
        fills.append(round(filled / (bottom - top), 3))
    return fills


def _part_headers(box: object, part_id: str) -> Iterator[tuple[str, object]]:
    for child in getattr(box, "children", []) or []:
        element = getattr(child, "element", None)
        classes = (element.get("class") or "").split() if element is not None else []
        if "part-header" in classes:
            yield part_id, child
        else:
            inner = element.get("id") or "" if "part" in classes else part_id
            yield from _part_headers(child, inner)


def pages_showing(rendered: Rendered, css_class: str) -> list[int]:
    """The indexes of the pages that show only elements of `css_class` (and what they hold)."""
    return [index for index, page in enumerate(rendered.pages.pages)
            if _only_class(page._page_box, css_class)]


def _only_class(page_box: object, css_class: str) -> bool:
    """Whether a page's content is made of elements of `css_class`, and at least one."""
    def classes(box: object) -> list[str]:
        element = getattr(box, "element", None)
        return (element.get("class") or "").split() if element is not None else []

    def content(box: object) -> Iterator[object]:
        # Down from the page through the html and body boxes to the first boxes of content.
        children = [c for c in getattr(box, "children", []) or []
                    if not isinstance(c, boxes.MarginBox)]
        for child in children:
            tag = getattr(getattr(child, "element", None), "tag", None)
            if tag in ("html", "body") and css_class not in classes(child):
                yield from content(child)
            else:
                yield child

    found = list(content(page_box))
    return bool(found) and all(css_class in classes(box) for box in found)


def has_margin_boxes(page: weasyprint.Page) -> bool:
    """Whether a laid-out page prints something in its margins (folio, running head)."""
    return any(isinstance(child, boxes.MarginBox) for child in page._page_box.children)


@dataclass(frozen=True)
class Field:
    """A poster field, as the template marks it: `data-field` and, in a list, `data-index`."""

    name: str
    index: int | None = None

    @property
    def key(self) -> tuple[str | int, ...]:
        """Where the field is in the posters file, below the poster."""
        return (self.name,) if self.index is None else (self.name, self.index)

    @property
    def label(self) -> str:
        return self.name if self.index is None else f"{self.name}[{self.index}]"


def overflowing_field(rendered: Rendered) -> Field | None:
    """The first marked field that spilled past the first page (onto a second page, or
    below the first: a flex sheet grows past the page without breaking), or None."""
    first = rendered.pages.pages[0]
    field = _field_below(first._page_box, first.height)
    if field:
        return field
    for page in rendered.pages.pages[1:]:
        # WeasyPrint's public Page API gives links, anchors and bookmarks only; the box
        # tree is needed to find an element continued from the first page.
        field = _first_field(page._page_box)
        if field:
            return field
    return None


def _field_below(box: object, limit: float) -> Field | None:
    for child in getattr(box, "children", []) or []:
        element = getattr(child, "element", None)
        if (element is not None and element.get("data-field")
                and isinstance(child, boxes.Box) and child.position_y is not None
                and child.position_y + child.margin_height() > limit + 0.5):
            return _field_of(element)
        found = _field_below(child, limit)
        if found:
            return found
    return None


def _field_of(element: object) -> Field:
    index = element.get("data-index")
    return Field(element.get("data-field"),
                 int(index) if index is not None and index.isdigit() else None)


def _first_field(box: object) -> Field | None:
    element = getattr(box, "element", None)
    if element is not None and element.get("data-field"):
        return _field_of(element)
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
        shown = [_shortened(text.replace(prefix, "") if prefix else text)
                 for text in dict.fromkeys(errors)]
        raise RenderError("; ".join(shown), name)


def _shortened(message: str, limit: int = 200) -> str:
    """A message cut to `limit` characters (WeasyPrint quotes whole data: URLs)."""
    return message if len(message) <= limit else message[:limit] + "…"
