"""The built kits, opened as PDFs: sizes, pages, text, fonts, links."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import BRANDS, FORMAT_PDFS, POSTER_COUNT, ROOT
from guidepress import post, validate
from pdfs import A3, A5, MM, box_size, chars, link_uris, page_texts

GUIDES = ("reseaux-sociaux", "photos-videos")
EDITIONS = [(brand, guide, lang) for brand in BRANDS for guide in GUIDES for lang in ("fr", "en")]
# The social-networks guide, on which the figures below (pages, statistics) are measured.
SOCIAL = [(brand, lang) for brand, guide, lang in EDITIONS if guide == "reseaux-sociaux"]


def test_each_brand_builds_every_guide_it_enables_in_its_languages(built: Path) -> None:
    found = sorted((p.parent.parent.name, p.parent.name, p.name)
                   for p in built.glob("*/*/*") if p.is_dir())
    assert found == sorted(EDITIONS)


@pytest.mark.parametrize("brand, guide_slug, lang", EDITIONS)
def test_every_profile_is_produced(built: Path, brand: str, guide_slug: str, lang: str) -> None:
    guide = validate.load_guide(ROOT, lang, validate.load_brand(ROOT, brand), guide_slug)
    names = sorted(p.name for p in (built / brand / guide_slug / lang).iterdir())
    expected = ["guide-office.pdf", "guide-print.pdf", "guide-screen.pdf", "web"]
    for poster in guide.posters:
        expected += [f"poster-{poster.id}.pdf", f"poster-{poster.id}-screen.pdf"]
    # the other formats the brand chooses among those the guide offers
    chosen = [validate.load_format(ROOT, name) for name in validate.load_brand(ROOT, brand).formats
              if name in guide.info.poster_formats and name != "affiche-a3"]
    for form, poster in ((form, poster) for form in chosen for poster in guide.posters):
        stem = f"{form.name}-{poster.id}"
        expected += [f"{stem}.png"] if form.output == "png" else [f"{stem}.pdf",
                                                                 f"{stem}-screen.pdf"]
    assert names == sorted(expected)


@pytest.mark.parametrize("brand, guide, lang", EDITIONS)
def test_booklet_is_a5_with_bleed_and_a_multiple_of_four_pages(built: Path, brand: str,
                                                               guide: str, lang: str) -> None:
    reader = PdfReader(built / brand / guide / lang / "guide-print.pdf")
    # The leaflet is one A4 sheet folded in two; the social-networks booklet is longer.
    assert len(reader.pages) == 4 if guide == "photos-videos" else len(reader.pages) >= 12
    assert len(reader.pages) % 4 == 0
    for page in reader.pages:
        assert box_size(page.trimbox) == pytest.approx(A5, abs=0.5)
        bleed = box_size(page.bleedbox)
        assert bleed == pytest.approx((A5[0] + 6 * MM, A5[1] + 6 * MM), abs=0.5)
        assert float(page.trimbox.left) - float(page.bleedbox.left) == pytest.approx(3 * MM,
                                                                                     abs=0.1)
        # Crop marks sit outside the bleed, so the sheet is larger than the bleed box.
        assert float(page.mediabox.width) > bleed[0] + 5 * MM


@pytest.mark.parametrize("brand, guide_slug, lang", EDITIONS)
def test_booklet_has_no_accidental_blank_page(built: Path, brand: str, guide_slug: str,
                                              lang: str) -> None:
    texts = page_texts(built / brand / guide_slug / lang / "guide-screen.pdf")
    guide = validate.load_guide(ROOT, lang, validate.load_brand(ROOT, brand), guide_slug)
    notes = guide.labels.notes_title
    assert all(text.strip() for text in texts), "a page carries no text at all"
    padding = [i for i, text in enumerate(texts) if text.strip().splitlines()[-1:] == [notes]
               or text.strip().startswith(notes)]
    # Note pages only pad the end, just before the back cover, and never a full sheet.
    assert len(padding) <= 3
    assert padding == list(range(len(texts) - 1 - len(padding), len(texts) - 1))


@pytest.mark.parametrize("brand, lang", SOCIAL)
def test_booklet_carries_brand_identity_and_contacts(built: Path, brand: str, lang: str) -> None:
    info = validate.load_guide_info(ROOT, "reseaux-sociaux")
    b = validate.load_brand(ROOT, brand).for_guide(info).in_language(lang)
    texts = page_texts(built / brand / "reseaux-sociaux" / lang / "guide-screen.pdf")
    flat = [" ".join(t.split()) for t in texts]
    assert b.name.split()[-1] in flat[0], "establishment name on the cover"
    back = flat[-1]
    for contact in b.contacts:
        assert contact.role.split()[0] in back
        assert contact.phone in back.replace("\u00a0", " ")
        assert contact.email in back
    uris = link_uris(built / brand / "reseaux-sociaux" / lang / "guide-screen.pdf")
    assert {f"mailto:{c.email}" for c in b.contacts} <= uris
    assert all(uri.startswith(("https://", "mailto:", "tel:")) for uri in uris)


@pytest.mark.parametrize("brand, lang", SOCIAL)
def test_every_statistic_and_its_source_is_printed(built: Path, brand: str, lang: str) -> None:
    guide = validate.load_guide(ROOT, lang, validate.load_brand(ROOT, brand), "reseaux-sociaux")
    text = " ".join(" ".join(page_texts(built / brand / "reseaux-sociaux" / lang /
                                        "guide-print.pdf")).split())
    text = text.replace("\u00a0", " ").replace("\u202f", " ")
    statistics = [s for section in guide.sections for block in section.blocks
                  for s in ([block] if block.type == "statistic" else
                            getattr(block, "statistics", []))]
    assert len(statistics) >= 5
    for statistic in statistics:
        assert statistic.value in text
        assert statistic.source.name in text
        assert (statistic.source.period or str(statistic.source.year)) in text


@pytest.mark.parametrize("brand, guide_slug, lang", EDITIONS)
def test_posters_are_single_a3_pages_with_large_type(built: Path, brand: str, guide_slug: str,
                                                     lang: str) -> None:
    posters = sorted(p for p in (built / brand / guide_slug / lang).glob("poster-*.pdf")
                     if not p.name.endswith("-screen.pdf"))
    guide = validate.load_guide(ROOT, lang, validate.load_brand(ROOT, brand), guide_slug)
    assert [p.name for p in posters] == sorted(f"poster-{p.id}.pdf" for p in guide.posters)
    assert len(posters) == POSTER_COUNT[guide_slug]
    for path, poster in zip(posters, sorted(guide.posters, key=lambda p: p.id), strict=True):
        reader = PdfReader(path)
        assert len(reader.pages) == 1
        assert box_size(reader.pages[0].trimbox) == pytest.approx(A3, abs=0.5)
        (page_chars,) = chars(path)
        sizes = [c["size"] for c in page_chars if c["text"].strip()]
        assert round(min(sizes), 2) >= 28, f"{path.name}: text below 28 pt"
        assert max(sizes) >= 70, f"{path.name}: no headline at 70 pt or more"
        big = "".join(c["text"] for c in page_chars if c["size"] >= 70)
        # the headline, and on some layouts the statistic or the verdict, are the large text
        assert re.sub(r"\s", "", poster.headline) in re.sub(r"\s", "", big)


@pytest.mark.parametrize("brand", BRANDS)
def test_every_font_is_embedded_and_declared_by_the_brand(built: Path, brand: str) -> None:
    b = validate.load_brand(ROOT, brand)
    families = {"".join(ch for ch in face.family.lower() if ch.isalnum())
                for face in b.fonts.families}
    paths = sorted(built.glob(f"{brand}/*/*/*.pdf"))
    # both guides, both languages: three booklet PDFs and two per poster, and the PDFs of
    # the brand's other print formats (pictures are checked in tests/test_formats.py)
    assert len(paths) == 2 * (sum(3 + 2 * count for count in POSTER_COUNT.values())
                              + FORMAT_PDFS[brand] * POSTER_COUNT["photos-videos"])
    for path in paths:
        data = path.read_bytes()
        used = post.pdf_fonts(data)
        assert used, path
        for font in used:
            normalised = "".join(ch for ch in font.lower() if ch.isalnum())
            assert any(normalised.startswith(f) for f in families), (path.name, font)
        assert post.unembedded_fonts(data) == []


def test_brands_differ_in_fonts(built: Path) -> None:
    """Colours are measured in test_honest_tests.py."""
    default = post.pdf_fonts((built / "default/reseaux-sociaux/fr/guide-print.pdf").read_bytes())
    other = post.pdf_fonts((built / "gh-port-lumiere/reseaux-sociaux/fr/guide-print.pdf")
                           .read_bytes())
    assert all(f.startswith("Atkinson") for f in default)
    assert all(f.startswith("Fira") for f in other)


def test_french_text_keeps_no_break_spaces(built: Path) -> None:
    pages = chars(built / "default/reseaux-sociaux/fr/guide-screen.pdf")
    text = "".join(c["text"] for page in pages for c in page)
    for mark in ";:!?»":
        assert f" {mark}" not in text, f"ordinary space before {mark}"
    assert "35\u00a0%" in text or "35\u202f%" in text
