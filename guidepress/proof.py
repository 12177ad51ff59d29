"""The proof sheet: one PDF per brand showing every output as thumbnails, with its
preflight result and a signature box, for the director's sign-off before printing."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pypdfium2
from PIL import Image

from guidepress import compare, pdf, render
from guidepress.plan import Edition
from guidepress.preflight import Finding, Report

THUMBNAIL_SCALE = 0.22


@dataclass(frozen=True)
class ProofItem:
    """One output as the proof shows it."""

    name: str
    pages: int
    thumbnails: list[str]  # PNG data: URLs
    findings: list[Finding]


def thumbnails(data: bytes, scale: float = THUMBNAIL_SCALE, limit: int = 24) -> list[str]:
    """PNG thumbnails of the first pages of a PDF, as data: URLs."""
    document = pypdfium2.PdfDocument(data)
    try:
        urls = []
        for index in range(min(len(document), limit)):
            image = document[index].render(scale=scale).to_pil()
            buffer = BytesIO()
            # not optimize=True: WeasyPrint decodes the PNG and compresses it again anyway
            image.save(buffer, format="PNG")
            urls.append("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode())
        return urls
    finally:
        document.close()


def picture_thumbnail(png: bytes, scale: float = THUMBNAIL_SCALE) -> str:
    """A picture output (a card, a slide, a banner) at the size a PDF page of the same
    CSS size gets from `thumbnails`, as a data: URL."""
    with Image.open(BytesIO(png)) as image:
        size = (max(1, round(image.width * scale * 0.75)),
                max(1, round(image.height * scale * 0.75)))  # a CSS pixel is 0.75 pt
        small = image.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    buffer = BytesIO()
    small.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@dataclass(frozen=True)
class Changed:
    """A page of a print output that differs from the previous build, as the proof shows it."""

    name: str
    page: int
    share: float  # of its pixels
    before: str | None  # PNG data: URLs; None for a page that is new, or gone
    after: str | None


def _print_outputs(brand_output: Path, wheres: list[str]) -> list[Path]:
    """The print PDFs of a brand (the screen and office PDFs show the same pages)."""
    return [path for where in wheres
            for path in sorted((brand_output / where).glob("*.pdf"),
                               key=lambda p: (not p.name.startswith("guide"), p.name))
            if path.name != "guide-office.pdf" and not path.name.endswith("-screen.pdf")]


def changes(previous: Path, brand_output: Path, wheres: list[str]) -> list[Changed] | None:
    """The pages of the print outputs that changed since the previous build (the folder
    `previous`), or None on a first build."""
    if not previous.is_dir():
        return None
    found = []
    for path in _print_outputs(brand_output, wheres):
        name = path.relative_to(brand_output).as_posix()
        before_path = previous / name
        data = path.read_bytes()
        before = before_path.read_bytes() if before_path.is_file() else b""
        if data == before:
            continue  # unchanged: the same file
        pages = compare.changed_pages(name, compare.page_images(before) if before else [],
                                      compare.page_images(data))
        found += [Changed(name, change.page, change.share, _url(change.before),
                          _url(change.after)) for change in pages]
    return found


def _url(image: object) -> str | None:
    if image is None:
        return None
    return "data:image/png;base64," + base64.b64encode(compare.png_bytes(image)).decode()


def items(brand_output: Path, wheres: list[str], report: Report) -> list[ProofItem]:
    """Every print output of a brand, guide by guide (`<guide>/<lang>` in `wheres`),
    booklet pages first, then posters and flyers; then the pictures."""
    found = []
    for path in _print_outputs(brand_output, wheres):
        data = path.read_bytes()
        pages = len(pypdfium2.PdfDocument(data))
        subject = path.relative_to(brand_output).as_posix()
        findings = [f for f in report.findings if subject in f.subject]
        found.append(ProofItem(subject, pages, thumbnails(data, limit=24 if pages > 1 else 1),
                               findings))
    for where in wheres:  # the pictures (cards, slides, banners), after the print outputs
        for path in sorted((brand_output / where).glob("*.png")):
            subject = path.relative_to(brand_output).as_posix()
            found.append(ProofItem(subject, 1, [picture_thumbnail(path.read_bytes())],
                                   [f for f in report.findings if subject in f.subject]))
    return found


def make_proof(tools: tuple, edition: Edition, brand_output: Path, wheres: list[str],
               report: Report, base: Path, previous: Path) -> bytes:
    """Render the proof sheet of one brand, every guide, to PDF bytes (in the language of
    `edition`), with the pages changed since the previous build (the folder `previous`).

    `tools` are the template environment, URL fetcher and profiles the kit builds for
    every document of this edition.
    """
    env, fetcher, _, screen = tools
    html = render.render_template(
        env, "proof.html.j2", edition.brand, guide=edition.guide, labels=edition.guide.labels,
        profile=screen, report=report, items=items(brand_output, wheres, report),
        changes=changes(previous, brand_output, wheres),
        brand_css=render.brand_stylesheet(edition.brand, screen))
    document = render.Document("proof.pdf", html, "proof")
    return pdf.write_pdf(pdf.lay_out(document, fetcher, base), screen, tagged=False)
