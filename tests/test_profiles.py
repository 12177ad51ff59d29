"""Print-shop, screen and office profiles, checked by tools nobody here wrote."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from collections import Counter
from pathlib import Path

import pdfplumber
import pikepdf
import pytest
from pypdf import PdfReader

from conftest import BRANDS, FORMAT_PDFS, POSTER_COUNT, ROOT
from guidepress import kit, post, validate
from pdfs import A3, A4, A5, MM

PRINT_NAME = re.compile(
    r"^(guide-print|(poster|affiche-a[12]|flyer-a4)-[a-z0-9-]+(?<!-screen))\.pdf$")


def all_pdfs(built: Path) -> list[Path]:
    paths = sorted(built.glob("*/*/*/*.pdf"))
    # two brands, two guides, two languages: three booklet PDFs and two per poster, and the
    # brands' other print formats of the leaflet's posters
    assert len(paths) == 2 * 2 * sum(3 + 2 * count for count in POSTER_COUNT.values()) + \
        2 * sum(FORMAT_PDFS.values()) * POSTER_COUNT["photos-videos"]
    return paths


def run(*command: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    return result.stdout


def test_qpdf_finds_no_structural_error(built: Path) -> None:
    for path in all_pdfs(built):
        assert "No syntax or stream encoding errors found" in run("qpdf", "--check", str(path))


def test_pdffonts_lists_only_embedded_fonts(built: Path) -> None:
    for path in all_pdfs(built):
        rows = run("pdffonts", str(path)).splitlines()[2:]
        assert rows, path
        for row in rows:
            embedded = row.split()[-5]
            assert embedded == "yes", f"{path.name}: {row}"


def test_pdfinfo_boxes_match_the_printer_ticket(built: Path) -> None:
    bleed = validate.load_printer(ROOT, "default").bleed_mm * MM
    for path in all_pdfs(built):
        boxes = {}
        for line in run("pdfinfo", "-box", str(path)).splitlines():
            name, _, values = line.partition(":")
            if name.endswith("Box"):
                boxes[name] = [float(v) for v in values.split()]
        llx, lly, urx, ury = boxes["TrimBox"]
        size = (urx - llx, ury - lly)
        if path.name == "guide-office.pdf":
            assert size == pytest.approx(A4[::-1], abs=0.5)
            continue
        formats = {"affiche-a2": (420 * MM, 594 * MM), "affiche-a1": (594 * MM, 841 * MM),
                   "flyer-a4": A4}
        expected = next((size for stem, size in formats.items() if path.name.startswith(stem)),
                        A3 if path.name.startswith("poster-") else A5)
        assert size == pytest.approx(expected, abs=0.05)
        if PRINT_NAME.match(path.name):
            assert boxes["BleedBox"] == pytest.approx(
                [llx - bleed, lly - bleed, urx + bleed, ury + bleed], abs=0.05)
        else:
            assert boxes["MediaBox"] == pytest.approx(boxes["TrimBox"], abs=0.05), path.name


def test_ghostscript_renders_every_page_without_error(built: Path) -> None:
    for path in all_pdfs(built):
        run("gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-dPDFSTOPONERROR",
            "-sDEVICE=nullpage", str(path))


@pytest.mark.parametrize("brand", BRANDS)
def test_print_pdf_is_pdfx4_cmyk_with_black_text(built: Path, brand: str) -> None:
    path = built / brand / "reseaux-sociaux/fr/guide-print.pdf"
    reader = PdfReader(path)
    assert reader.pdf_header == "%PDF-1.6"
    (intent,) = reader.trailer["/Root"]["/OutputIntents"]
    intent = intent.get_object()
    assert intent["/S"] == "/GTS_PDFX"
    icc = intent["/DestOutputProfile"].get_object().get_data()
    assert icc == validate.load_printer(ROOT, "default").icc_profile.read_bytes()
    assert b"<pdfxid:GTS_PDFXVersion>PDF/X-4" in reader.trailer["/Root"]["/Metadata"].get_data()
    with pdfplumber.open(path) as pdf:
        colours = Counter(tuple(c["non_stroking_color"] or ()) for page in pdf.pages[2:-1]
                          for c in page.chars)
    assert all(len(colour) == 4 for colour in colours), "text not in CMYK"
    assert colours.most_common(1)[0][0] == (0, 0, 0, 1), "body text is not black ink alone"


@pytest.mark.parametrize("brand", BRANDS)
def test_screen_pdf_is_tagged_titled_and_bookmarked(built: Path, brand: str) -> None:
    reader = PdfReader(built / brand / "reseaux-sociaux/fr/guide-screen.pdf")
    root = reader.trailer["/Root"]
    b = validate.load_brand(ROOT, brand)
    assert bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root
    assert root["/Lang"] == "fr"
    assert reader.metadata.title.startswith("Les réseaux sociaux")
    assert reader.metadata.author == b.name
    titles = [item.title for item in _flatten(reader.outline)]
    guide = validate.load_guide(ROOT, "fr", b, "reseaux-sociaux")
    for section in guide.sections:
        assert any(section.title.split()[0] in title for title in titles)
    assert b"/DeviceCMYK" not in (built / brand / "reseaux-sociaux/fr/guide-screen.pdf"
                                  ).read_bytes()


def _flatten(outline: list) -> list:
    items = []
    for item in outline:
        items += _flatten(item) if isinstance(item, list) else [item]
    return items


@pytest.mark.parametrize("brand, guide", [(b, g) for b in BRANDS
                                          for g in ("reseaux-sociaux", "photos-videos")])
def test_office_pdf_folds_into_the_booklet(built: Path, brand: str, guide: str) -> None:
    with pdfplumber.open(built / brand / guide / "fr/guide-screen.pdf") as screen:
        pages = [_words(page) for page in screen.pages]
    with pdfplumber.open(built / brand / guide / "fr/guide-office.pdf") as office:
        assert len(office.pages) == len(pages) // 2
        halves = []
        for side in office.pages:
            middle = float(side.width) / 2
            halves.append([_words(side.crop((0, 0, middle, side.height))),
                           _words(side.crop((middle, 0, side.width, side.height)))])
    # Printed double-sided, stacked and folded: page 1 is the first sheet's front right
    # half, then each sheet's inner faces down to the middle, then back up on the left.
    sheets = [halves[i:i + 2] for i in range(0, len(halves), 2)]
    reading = []
    for front, back in sheets:
        reading += [front[1], back[0]]
    for front, back in reversed(sheets):
        reading += [back[1], front[0]]
    assert reading == pages
    folios = [text.split()[-1] for text in reading if text.split()[-1].isdigit()]
    assert [int(f) for f in folios] == sorted(int(f) for f in folios)
    assert len(folios) >= len(pages) - 2  # the covers carry no folio
    # the office copy keeps the booklet's title and dates (accented French titles included)
    keys = ("/Title", "/CreationDate", "/ModDate")
    with pikepdf.open(built / brand / guide / "fr/guide-screen.pdf") as screen_pdf, \
            pikepdf.open(built / brand / guide / "fr/guide-office.pdf") as office_pdf:
        office_info = [str(office_pdf.docinfo[key]) for key in keys]
        assert office_info == [str(screen_pdf.docinfo[key]) for key in keys]
    assert "Les réseaux sociaux" in office_info[0] or guide != "reseaux-sociaux"


def _words(page) -> str:
    return " ".join(page.extract_text().split())


def test_saddle_stitch_order_for_eight_pages() -> None:
    assert post.saddle_stitch_order(8) == [(7, 0), (1, 6), (5, 2), (3, 4)]


def test_same_inputs_give_byte_identical_pdfs(built: Path, project: kit.Project) -> None:
    (edition,) = kit.prepare(project, ["gh-port-lumiere"], ["fr"], guides=["photos-videos"])
    # the A3 posters, and one print format and one picture of the brand's others
    edition = dataclasses.replace(edition, formats=tuple(
        form for form in edition.formats if form.name in ("affiche-a3", "affiche-a1",
                                                           "bandeau-mail")))
    again = kit.render_edition(project, edition)
    assert len(again) == 8 + (2 + 1) * POSTER_COUNT["photos-videos"]
    for name, data in again.items():
        assert data == (built / "gh-port-lumiere/photos-videos/fr" / name).read_bytes(), name


def test_preflight_report_is_written_per_brand(built: Path) -> None:
    for brand in BRANDS:
        report = (built / brand / "preflight.txt").read_text(encoding="utf-8")
        # The demo's figures are marked as reviewed: no age warning on the build's date.
        assert report.startswith(f"Preflight of {brand}: 0 errors, 0 warnings")
        assert "48 % (TNS-Sofres, chiffre de 2012, revu en novembre 2026)" in report
        assert "more than 5 years since the figure or its review is a warning" in report
        assert "highest total ink" in report
