"""The proof sheet: one PDF per brand showing every output as thumbnails, with its
preflight result and a signature box, for the director's sign-off before printing."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pypdfium2

from guidepress import pdf, render
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


def items(brand_output: Path, wheres: list[str], report: Report) -> list[ProofItem]:
    """Every print output of a brand, guide by guide (`<guide>/<lang>` in `wheres`),
    booklet pages first, then posters."""
    found = []
    for lang in wheres:
        for path in sorted((brand_output / lang).glob("*.pdf"),
                           key=lambda p: (not p.name.startswith("guide"), p.name)):
            if path.name == "guide-office.pdf" or path.name.endswith("-screen.pdf"):
                continue  # the same pages as the print PDF
            data = path.read_bytes()
            pages = len(pypdfium2.PdfDocument(data))
            subject = f"{lang}/{path.name}"
            findings = [f for f in report.findings if subject in f.subject]
            found.append(ProofItem(f"{lang}/{path.name}", pages,
                                   thumbnails(data, limit=24 if pages > 1 else 1), findings))
    return found


def make_proof(tools: tuple, edition: Edition, brand_output: Path, wheres: list[str],
               report: Report, base: Path) -> bytes:
    """Render the proof sheet of one brand, every guide, to PDF bytes (in the language of
    `edition`).

    `tools` are the template environment, URL fetcher and profiles the kit builds for
    every document of this edition.
    """
    env, fetcher, _, screen = tools
    html = render.render_template(
        env, "proof.html.j2", edition.brand, guide=edition.guide, labels=edition.guide.labels,
        profile=screen, report=report, items=items(brand_output, wheres, report),
        brand_css=render.brand_stylesheet(edition.brand, screen))
    document = render.Document("proof.pdf", html, "proof")
    return pdf.write_pdf(pdf.lay_out(document, fetcher, base), screen, tagged=False)
