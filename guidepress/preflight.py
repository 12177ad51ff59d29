"""Preflight: what a print shop or an accessibility reviewer would check before accepting.

Brand-level checks (colour contrast, age of statistics) need no PDF; document checks open
the finished files. Each finding is an error (the output must not go out) or a warning.
"""

from __future__ import annotations

import datetime
import subprocess
import tempfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import pdfplumber
import pikepdf
from PIL import Image, ImageMath

from guidepress import inks, post
from guidepress.i18n import _, language_names, ngettext
from guidepress.load import format_key
from guidepress.models import (CONTRAST_PAIRS, Brand, Guide, GuideInfo, PrinterTicket, Section,
                               Statistic)
from guidepress.pdf import Placement
from guidepress.problems import RenderError

DEFAULT_MAX_STATISTIC_AGE = 5

@dataclass(frozen=True)
class Finding:
    """One preflight result line."""

    level: str  # "error" or "warning"
    subject: str
    message: str

    @property
    def level_text(self) -> str:
        """ERROR or WARNING in the interface language (the report and the proof sheet)."""
        return _("ERROR") if self.level == "error" else _("WARNING")

    def __str__(self) -> str:
        return f"{self.level_text:7} {self.subject}: {self.message}"


@dataclass
class Report:
    """Everything preflight found for one brand."""

    brand: str
    checked: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    statistics: list[StatisticAge] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    def text(self) -> str:
        """The report as written to `output/<brand>/preflight.txt`."""
        errors, warnings = len(self.errors), len(self.findings) - len(self.errors)
        lines = [_("Preflight of {brand}: {errors}, {warnings}").format(
            brand=self.brand,
            errors=ngettext("{count} error", "{count} errors", errors).format(count=errors),
            warnings=ngettext("{count} warning", "{count} warnings", warnings).format(
                count=warnings)), ""]
        lines += [str(f) for f in self.findings] or [_("No problem found.")]
        lines += ["", _("Checked:")] + [f"  {c}" for c in self.checked]
        return "\n".join(lines) + "\n"


def check_brand(brand: Brand, report: Report) -> None:
    """WCAG AA contrast of every text/background pair the brand's colours produce.

    Validation already refuses a brand that fails it (with the line of the colour), so
    this is the record, in the report, that the check was made.
    """
    for pair in brand.colours.low_contrast():
        report.findings.append(Finding(
            "error", _("brands/{slug}/brand.yaml colours.{fg} on colours.{bg}").format(
                slug=brand.slug, fg=pair.foreground, bg=pair.background),
            _("contrast {ratio}:1 is below {needed}:1 (WCAG AA) for {use}; darken one of the "
              "two colours").format(ratio=f"{pair.ratio:.2f}", needed=pair.needed,
                                    use=_(pair.use))))
    report.checked.append(_("contrast of {count} colour pairs (WCAG AA 4.5:1)").format(
        count=len(CONTRAST_PAIRS)))


def check_languages(brand: Brand, info: GuideInfo, langs: list[str], report: Report) -> None:
    """Say when the establishment builds a language (of `langs`, those of the run) that the
    guide is not written in: that edition is left out, and the officer should know it
    rather than find it missing."""
    missing = [lang for lang in langs if lang not in info.languages]
    if missing:
        report.findings.append(Finding(
            "warning", f"content/{info.slug}/guide.yaml languages",
            _("this guide is written in {written} only: the establishment also publishes in "
              "{missing}, but gets no {missing} edition of this guide").format(
                written=language_names(info.languages), missing=language_names(missing))))


@dataclass(frozen=True)
class StatisticAge:
    """How old one quoted figure is, for the preflight report and the proof sheet."""

    where: str  # content/<guide>/<lang> section "…" blocks[…], or … poster "…" statistic
    figure: str  # "48 %"
    source: str
    dating: str  # in the edition's language: "chiffre de 2012, revu en novembre 2026"
    age: int  # whole years since the review, or since the figure's year
    old: bool


def check_statistics(guide: Guide, report: Report, max_age: int, today: datetime.date) -> None:
    """Every statistic, in the sections and on the posters, is dated; old ones are named.

    A figure's age counts from its `reviewed:` month when an editor recorded one, otherwise
    from its year.
    """
    folder = f"content/{guide.info.slug}/{guide.lang}"
    found = [(_('{folder} section "{id}" {key}').format(folder=folder, id=section.id, key=where),
              statistic)
             for section in guide.sections for where, statistic in _section_statistics(section)]
    found += [(_('{folder} poster "{id}" statistic').format(folder=folder, id=poster.id),
               poster.statistic)
              for poster in guide.posters if poster.statistic is not None]
    ages = [statistic_age(statistic, guide, max_age, today, where) for where, statistic in found]
    report.statistics += ages
    for age, (where, statistic) in zip(ages, found, strict=True):
        source = statistic.source
        if source.reviewed is not None and source.reviewed > today:
            report.findings.append(Finding(
                "warning", where, _("{figure} ({source}, {dating}): the review date is after "
                                    "today; check `reviewed:`").format(
                    figure=age.figure, source=age.source, dating=age.dating)))
        elif age.old:
            message = (_("{figure} ({source}, {dating}) was reviewed {age} years ago (limit "
                         "{limit}); update the figure, or check it still holds and write the "
                         "month of that check in `reviewed:`")
                       if source.reviewed is not None else
                       _("{figure} ({source}, {dating}) was dated {age} years ago (limit "
                         "{limit}); update the figure, or check it still holds and write the "
                         "month of that check in `reviewed:`"))
            report.findings.append(Finding("warning", where, message.format(
                figure=age.figure, source=age.source, dating=age.dating, age=age.age,
                limit=max_age)))
    report.checked.append(_("{count} statistics in {guide}/{lang} have a source and a year; "
                            "more than {limit} years since the figure or its review is a "
                            "warning").format(count=len(found), guide=guide.info.slug,
                                              lang=guide.lang, limit=max_age))
    report.checked += [f"  {age.where}: {age.figure} ({age.source}, {age.dating})"
                       for age in ages]


def _section_statistics(section: Section) -> list[tuple[str, Statistic]]:
    found: list[tuple[str, Statistic]] = []
    for index, block in enumerate(section.blocks):
        if block.type == "statistic":
            found.append((format_key(("blocks", index)), block))
        elif block.type == "myth":
            found += [(format_key(("blocks", index, "statistics", n)), s)
                      for n, s in enumerate(block.statistics)]
    return found


def statistic_age(statistic: Statistic, guide: Guide, max_age: int, today: datetime.date,
                  where: str = "") -> StatisticAge:
    """Date one figure in the words of its edition, and say whether it is too old."""
    labels, source = guide.labels, statistic.source
    dating = f"{labels.statistic_from} {source.year}"
    if source.reviewed is None:
        age = today.year - source.year
    else:
        reviewed = source.reviewed
        dating += (f", {labels.statistic_reviewed} {labels.months[reviewed.month - 1]} "
                   f"{reviewed.year}")
        age = ((today.year - reviewed.year) * 12 + today.month - reviewed.month) // 12
    figure = f"{statistic.value} {statistic.unit}" if statistic.unit else statistic.value
    return StatisticAge(where, figure, source.name, dating, age, age > max_age)


def check_document(name: str, data: bytes, brand: Brand, ticket: PrinterTicket,
                   report: Report, pages: int | None = None,
                   document: pikepdf.Pdf | None = None) -> None:
    """Fonts, page count, image resolution and ink of one finished PDF.

    `pages` is the count its format has (a flyer: 2); by default it follows from the
    name (a poster has one page, a booklet a multiple of 4). `document` is `data` already
    parsed by pikepdf, if it is: every check here reads that one parse."""
    with post.opened(data if document is None else document) as parsed:
        _check_document(name, data, parsed, brand, ticket, report, pages)


def _check_document(name: str, data: bytes, document: pikepdf.Pdf, brand: Brand,
                    ticket: PrinterTicket, report: Report, pages: int | None) -> None:
    subject = f"{brand.slug}/{name}"
    try:
        post.check_fonts(subject, data, post.declared_font_names(brand), document)
    except RenderError as exc:
        report.findings.append(Finding("error", subject, exc.detail))
    base = name.rsplit("/", 1)[-1]
    for_print = post.profile_of(base) == "print"
    if pages is None:
        _check_pages(base, subject, len(document.pages), report)
    elif len(document.pages) != pages:
        report.findings.append(Finding("error", subject, _(
            "{pages} pages; its format has {expected}").format(
                pages=len(document.pages), expected=pages)))
    images = for_print and _has_raster_images(document)
    if for_print:
        pages = _scan(document)
        small_text = pages is None or any(page.small_mixed_text for page in pages)
        if images or small_text:  # pdfplumber reads every character: only when needed
            with pdfplumber.open(BytesIO(data)) as plumbed:
                if images:
                    _check_images(plumbed, subject, ticket, report)
                if small_text:
                    _check_small_text(plumbed, subject, report)
        if not small_text:  # the scan found no text under the size in a mix of inks
            report.checked.append(_small_text_checked(subject))
        _check_ink(data, pages, subject, ticket, report)


def _scan(document: pikepdf.Pdf) -> list[inks.PageInks] | None:
    """The drawing operations of a print PDF's pages, or None if they cannot be read
    (then the slow checks, Ghostscript and pdfplumber, do it all)."""
    try:
        return inks.scan(document, SMALL_TEXT_PT)
    except (pikepdf.PdfError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


SMALL_TEXT_PT = 9
SAFE_ZONE_MM = {"poster": 5.0, "booklet": 4.0}
_INKS = "CMYK"


def _check_small_text(document: pdfplumber.PDF, subject: str, report: Report) -> None:
    """Warn about text under 9 pt printed with more than one ink, or reversed out.

    Plates never line up exactly: thin strokes in a mix of inks, or cut out of one, blur.
    """
    found: dict[tuple[float, tuple], tuple[list[int], list[str]]] = {}
    for number, page in enumerate(document.pages, start=1):
        for line in _runs(page.chars):
            size, colour, text = line
            if size >= SMALL_TEXT_PT - 0.05 or _single_ink(colour):
                continue
            pages, examples = found.setdefault((size, colour), ([], []))
            if number not in pages:
                pages.append(number)
            if len(examples) < 2 and text not in examples:
                examples.append(text)
    for (size, colour), (pages, examples) in found.items():
        shown = ", ".join(f'"{e}"' for e in examples)
        where = ngettext("{subject} page {pages}", "{subject} pages {pages}", len(pages)).format(
            subject=subject, pages=", ".join(map(str, pages)))
        report.findings.append(Finding("warning", where, _(
            "{size} pt text {inks}, e.g. {examples}; under {limit} pt, print text in one ink "
            "(black) or make it larger, or the plates' shift will blur it").format(
                size=f"{size:g}", inks=_inks(colour), examples=shown, limit=SMALL_TEXT_PT)))
    report.checked.append(_small_text_checked(subject))


def _small_text_checked(subject: str) -> str:
    return _("{subject}: text under {limit} pt is in one ink").format(
        subject=subject, limit=SMALL_TEXT_PT)


def _runs(chars: list[dict]) -> list[tuple[float, tuple, str]]:
    """Characters in a row on one line, of one size and colour, as (size, colour, text)."""
    runs: list[tuple[float, tuple, str]] = []
    line = None
    for char in chars:
        colour = char.get("non_stroking_color")
        colour = tuple(round(float(v), 3) for v in colour) if isinstance(
            colour, (tuple, list)) else (colour,)
        size = round(float(char["size"]), 1)
        same_line = line is not None and abs(float(char["top"]) - line) < 1
        line = float(char["top"])
        if runs and same_line and runs[-1][:2] == (size, colour):
            runs[-1] = (size, colour, runs[-1][2] + char["text"])
        else:
            runs.append((size, colour, char["text"]))
    return [(size, colour, " ".join(text.split())[:40].rstrip()) for size, colour, text in runs
            if text.strip()]


def _single_ink(colour: tuple) -> bool:
    """One ink: a grey (black ink), or CMYK with exactly one ink laid down."""
    if len(colour) == 1:
        return isinstance(colour[0], (int, float)) and colour[0] < 1
    return len(colour) == 4 and sum(1 for v in colour if v > 0.005) == 1


def _inks(colour: tuple) -> str:
    if len(colour) == 4 and not any(v > 0.005 for v in colour):
        return _("in white, reversed out of what lies under it")
    if len(colour) == 4:
        mix = " ".join(f"{ink} {round(v * 100)}" for ink, v in zip(_INKS, colour) if v > 0.005)
        return _("in {count} inks ({mix} %)").format(
            count=sum(1 for v in colour if v > 0.005), mix=mix)
    if len(colour) == 1:
        return _("in white, reversed out of what lies under it")
    return _("in a colour that is not CMYK ({colour})").format(colour=colour)


def check_safe_zone(name: str, placed: list[Placement], report: Report,
                    kind: str | None = None) -> None:
    """Error when text or a logo comes closer to the trim than the safe zone.

    The cut can wander by a millimetre or two: 5 mm stay clear on posters, 4 mm in the
    booklet. `placed` comes from the laid-out pages of the print document `name`.
    """
    base = name.rsplit("/", 1)[-1]
    kind = kind or ("poster" if base.startswith("poster-") else "booklet")
    limit = SAFE_ZONE_MM[kind]
    close = sorted((p for p in placed if p.clearance_mm < limit),
                   key=lambda p: (p.clearance_mm, p.page))
    for placement in close[:5]:
        edge = {"top": _("top"), "left": _("left"), "bottom": _("bottom"),
                "right": _("right")}.get(placement.edge, placement.edge)
        message = (_("{what} is {distance} mm from the {edge} edge of the trim, inside the "
                     "{limit} mm kept clear on posters (the cut can wander); a brand font with "
                     "larger letters, or the brand's stylesheet, pushes it there: shorten the "
                     "text, or choose a smaller font size or a different font")
                   if kind == "poster" else
                   _("{what} is {distance} mm from the {edge} edge of the trim, inside the "
                     "{limit} mm kept clear on the booklet (the cut can wander); a brand font "
                     "with larger letters, or the brand's stylesheet, pushes it there: shorten "
                     "the text, or choose a smaller font size or a different font"))
        report.findings.append(Finding(
            "error", _("{name} page {page}").format(name=name, page=placement.page),
            message.format(what=placement.what, distance=f"{placement.clearance_mm:g}",
                           edge=edge, limit=f"{limit:g}")))
    if len(close) > 5:
        report.findings.append(Finding("error", name, _(
            "and {count} more text lines or images inside the {limit} mm safe zone").format(
                count=len(close) - 5, limit=f"{limit:g}")))
    report.checked.append(_("{name}: text and logos at least {limit} mm inside the trim")
                          .format(name=name, limit=f"{limit:g}"))


def _has_raster_images(document: pikepdf.Pdf) -> bool:
    def has_image(resources: object, depth: int = 0) -> bool:
        xobjects = (resources or pikepdf.Dictionary()).get("/XObject") or pikepdf.Dictionary()
        for xobject in xobjects.values():
            if xobject.get("/Subtype") == "/Image":
                return True
            if depth < 8 and has_image(xobject.get("/Resources"), depth + 1):
                return True
        return False

    return any(has_image(page.obj.get("/Resources")) for page in document.pages)


def _check_pages(name: str, subject: str, pages: int, report: Report) -> None:
    if name.startswith("poster-") and pages != 1:
        report.findings.append(Finding("error", subject, _("{pages} pages; a poster has one")
                                       .format(pages=pages)))
    if name.startswith("guide-") and name != "guide-office.pdf" and pages % 4:
        report.findings.append(Finding("error", subject,
                                       _("{pages} pages is not a multiple of 4").format(
                                           pages=pages)))


def _check_images(document: pdfplumber.PDF, subject: str, ticket: PrinterTicket,
                  report: Report) -> None:
    for number, page in enumerate(document.pages, start=1):
        for image in page.images:
            width_px, _height = image["srcsize"]
            placed_in = float(image["width"]) / 72
            if placed_in <= 0:
                continue
            dpi = width_px / placed_in
            if dpi < ticket.min_image_dpi:
                report.findings.append(Finding(
                    "error", _("{name} page {page}").format(name=subject, page=number),
                    _("an image is printed at {dpi} dpi, below the {needed} dpi the printer "
                      "asks for; use a larger image or an SVG").format(
                          dpi=f"{dpi:.0f}", needed=ticket.min_image_dpi)))


REGISTRATION_PIXEL = (255, 255, 255, 255)


def total_ink(data: bytes, resolution: int = 24) -> float:
    """Highest total ink (C+M+Y+K, in %) of any point inside the bleed box of any page.

    Backgrounds run into the bleed, so it is measured too; the crop marks, outside the
    bleed, are not.
    """
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(data)
        subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-dUseBleedBox",
                        "-sDEVICE=tiff32nc", f"-r{resolution}",
                        f"-sOutputFile={folder}/page-%03d.tif", str(source)],
                       check=True, capture_output=True, timeout=300)
        highest = 0
        for page in sorted(Path(folder).glob("page-*.tif")):
            with Image.open(page) as image:
                _clear_marks_on_the_edge(image)
                c, m, y, k = image.split()
                total = ImageMath.lambda_eval(lambda a: a["c"] + a["m"] + a["y"] + a["k"],
                                              c=c, m=m, y=y, k=k)
                highest = max(highest, total.getextrema()[1])
    return highest / 255 * 100


def _clear_marks_on_the_edge(image: Image.Image) -> None:
    """Blank registration pixels on the page's edge: they are the start of a crop mark.

    The marks begin 0.5 mm outside the bleed; at 24 dpi an edge pixel is about 1 mm wide
    and can catch one. Inside the edge, 400 % is measured like any other ink.
    """
    image.load()
    width, height = image.size
    edge = {(x, y) for x in range(width) for y in (0, height - 1)}
    edge |= {(x, y) for y in range(height) for x in (0, width - 1)}
    for point in edge:
        if image.getpixel(point) == REGISTRATION_PIXEL:
            image.putpixel(point, (0, 0, 0, 0))


def _check_ink(data: bytes, pages: list[inks.PageInks] | None, subject: str,
               ticket: PrinterTicket, report: Report) -> None:
    """The highest total ink: from the drawing's colours when every page is vector art
    and that bound is within the limit; otherwise measured on Ghostscript's render."""
    limit = ticket.max_ink_percent
    bound = None
    if pages is not None and all(page.highest is not None for page in pages):
        bound = max((page.highest for page in pages), default=0.0)
    if bound is not None and bound <= limit + 1:
        report.checked.append(_("{subject}: highest total ink at most {ink} % (limit {limit} "
                                "%; from the colours drawn, no images)").format(
                                    subject=subject, ink=f"{bound:.0f}", limit=limit))
        return
    ink = total_ink(data)
    report.checked.append(_("{subject}: highest total ink {ink} % (limit {limit} %)").format(
        subject=subject, ink=f"{ink:.0f}", limit=ticket.max_ink_percent))
    if ink > ticket.max_ink_percent + 1:  # rasterising rounds each channel
        report.findings.append(Finding(
            "error", subject, _("total ink reaches {ink} %, above the printer's {limit} %; use "
                                "lighter or less saturated colours").format(
                                    ink=f"{ink:.0f}", limit=ticket.max_ink_percent)))


def check_picture(name: str, png: bytes, size: tuple[int, int], report: Report) -> None:
    """A picture made from a format: exactly its pixels, in RGB, tagged sRGB."""
    with Image.open(BytesIO(png)) as image:
        if image.size != size or image.mode != "RGB" or "icc_profile" not in image.info:
            report.findings.append(Finding("error", name, _(
                "the picture is {width} × {height} px in {mode}; its format asks for "
                "{expected_width} × {expected_height} px in sRGB").format(
                    width=image.size[0], height=image.size[1], mode=image.mode,
                    expected_width=size[0], expected_height=size[1])))
    report.checked.append(_("{name}: {width} × {height} px, RGB, sRGB").format(
        name=name, width=size[0], height=size[1]))
