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

# The thumbnails print 30 mm tall (.proof-thumbnails img in templates/css/proof.css): at
# 120 pixels per inch there, whatever the page's size. An A3 poster needs no more pixels
# than an A5 page (a fixed scale gave it nearly four times as many, for nothing).
THUMBNAIL_HEIGHT_MM = 30
THUMBNAIL_PPI = 120
THUMBNAIL_HEIGHT_PX = round(THUMBNAIL_HEIGHT_MM / 25.4 * THUMBNAIL_PPI)
MAX_THUMBNAILS = 24  # pages shown per output


@dataclass(frozen=True)
class ProofItem:
    """One output as the proof shows it."""

    name: str
    pages: int
    thumbnails: list[str]  # PNG data: URLs
    findings: list[Finding]


def thumbnail_images(data: bytes, limit: int = MAX_THUMBNAILS) -> tuple[int, list[Image.Image]]:
    """The page count of a PDF and its first pages rasterised at the thumbnails' height."""
    document = pypdfium2.PdfDocument(data)
    try:
        return len(document), [
            document[index].render(scale=THUMBNAIL_HEIGHT_PX / document[index].get_height())
            .to_pil() for index in range(min(len(document), limit))]
    finally:
        document.close()


def picture_thumbnail(png: bytes, scale: float) -> str:
    """A picture output (a card, a slide, a banner) at the size a PDF page of the same
    CSS size gets from `thumbnails` at `scale`, as a data: URL (the preview of `watch`)."""
    with Image.open(BytesIO(png)) as image:
        size = (max(1, round(image.width * scale * 0.75)),
                max(1, round(image.height * scale * 0.75)))  # a CSS pixel is 0.75 pt
        return _png_url(image.convert("RGB").resize(size, Image.Resampling.LANCZOS))


def thumbnails(data: bytes, scale: float, limit: int = MAX_THUMBNAILS) -> list[str]:
    """PNG thumbnails of the first pages of a PDF at `scale`, as data: URLs (the preview
    of `watch`)."""
    document = pypdfium2.PdfDocument(data)
    try:
        images = [document[index].render(scale=scale).to_pil()
                  for index in range(min(len(document), limit))]
    finally:
        document.close()
    return [_png_url(image) for image in images]


def _fitted(image: Image.Image) -> Image.Image:
    """A page already rasterised (for the comparison) brought to the thumbnails' height."""
    if image.height <= THUMBNAIL_HEIGHT_PX:
        return image
    width = max(1, round(image.width * THUMBNAIL_HEIGHT_PX / image.height))
    return image.resize((width, THUMBNAIL_HEIGHT_PX), Image.Resampling.LANCZOS)


def _png_url(image: Image.Image) -> str:
    buffer = BytesIO()
    # Fastest compression: WeasyPrint decodes the PNG and compresses the pixels again for
    # the PDF, so a smaller PNG here would change nothing in the proof sheet.
    image.save(buffer, format="PNG", compress_level=1)
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


def contents(brand_output: Path, wheres: list[str], report: Report, previous: Path | None
             ) -> tuple[list[ProofItem], list[Changed] | None]:
    """Every print output of a brand, guide by guide (`<guide>/<lang>` in `wheres`),
    booklet pages first, then posters and flyers, then the pictures; and the pages of the
    print outputs that changed since the previous build (the folder `previous`), or None on
    a first build.

    Each page is rasterised at most once: an output that changed is rasterised for the
    comparison, and its thumbnails are made from those images.
    """
    first = previous is None or not previous.is_dir()
    items: list[ProofItem] = []
    found: list[Changed] = []
    for path in _print_outputs(brand_output, wheres):
        name = path.relative_to(brand_output).as_posix()
        data = path.read_bytes()
        before_path = None if first else previous / name
        before = before_path.read_bytes() if before_path and before_path.is_file() else b""
        if first or data == before:  # a first build, or the same file: nothing to compare
            pages, images = thumbnail_images(data)
        else:
            after = compare.page_images(data)
            found += [Changed(name, change.page, change.share, _url(change.before),
                              _url(change.after)) for change in compare.changed_pages(
                                  name, compare.page_images(before) if before else [], after)]
            pages, images = len(after), [_fitted(image) for image in after[:MAX_THUMBNAILS]]
        findings = [f for f in report.findings if name in f.subject]
        items.append(ProofItem(name, pages, [_png_url(image) for image in images], findings))
    for where in wheres:  # the pictures (cards, slides, banners), after the print outputs
        for path in sorted((brand_output / where).glob("*.png")):
            name = path.relative_to(brand_output).as_posix()
            items.append(ProofItem(name, 1, [_png_url(_picture(path.read_bytes()))],
                                   [f for f in report.findings if name in f.subject]))
    return items, None if first else found


def _url(image: Image.Image | None) -> str | None:
    return None if image is None else _png_url(image)


def _picture(png: bytes) -> Image.Image:
    """A picture output (a card, a slide, a banner) brought to the thumbnails' height."""
    with Image.open(BytesIO(png)) as image:
        return _fitted(image.convert("RGB"))


def items(brand_output: Path, wheres: list[str], report: Report) -> list[ProofItem]:
    """The outputs as a first build's proof shows them (see `contents`)."""
    return contents(brand_output, wheres, report, None)[0]


def make_proof(tools: tuple, edition: Edition, brand_output: Path, wheres: list[str],
               report: Report, base: Path, previous: Path) -> bytes:
    """Render the proof sheet of one brand, every guide, to PDF bytes (in the language of
    `edition`), with the pages changed since the previous build (the folder `previous`).

    `tools` are the template environment, URL fetcher and profiles the kit builds for
    every document of this edition.
    """
    env, fetcher, _, screen = tools
    items, changes = contents(brand_output, wheres, report, previous)
    html = render.render_template(
        env, "proof.html.j2", edition.brand, guide=edition.guide, labels=edition.guide.labels,
        profile=screen, report=report, items=items, changes=changes,
        brand_css=render.brand_stylesheet(edition.brand, screen))
    document = render.Document("proof.pdf", html, "proof")
    return pdf.write_pdf(pdf.lay_out(document, fetcher, base), screen, tagged=False)
