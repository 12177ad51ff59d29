"""Issue 16, campaign design: pictograms, poster layouts per message, cover, booklet fill."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pdfplumber
import pypdfium2 as pdfium
import pytest
import weasyprint
from PIL import Image

from guidepress import cli, compare, icons, kit, models, pdf, render, typography, validate
from guidepress.problems import InputErrors
from conftest import BRANDS, ROOT, edit
from pdfs import MM, chars, page_texts

POSTERS = "content/reseaux-sociaux/fr/posters.yaml"
MYTHS = "content/reseaux-sociaux/fr/sections/06-vrai-faux.yaml"


def problems(project: Path) -> list[str]:
    with pytest.raises(InputErrors) as caught:
        kit.prepare(kit.Project(project), ["default"], ["fr"], guides=["reseaux-sociaux"])
    return [str(error) for error in caught.value.errors]


def line_of(path: Path, text: str) -> int:
    return path.read_text(encoding="utf-8").splitlines().index(text) + 1


# --- 1. pictograms -------------------------------------------------------------------

def test_unknown_pictogram_names_file_line_key_and_close_names(scratch_project: Path) -> None:
    edit(scratch_project / POSTERS, 'icon: "stethoscope"', 'icon: "stetoscope"')
    edit(scratch_project / MYTHS, 'icon: "world"', 'icon: "wrold"')
    found = problems(scratch_project)
    poster_line = line_of(scratch_project / POSTERS, '    icon: "stetoscope"')
    myth_line = line_of(scratch_project / MYTHS, '    icon: "wrold"')
    assert f'{POSTERS}:{poster_line}: posters (2nd).icon: "stetoscope" is not a pictogram name; ' \
        'did you mean "stethoscope", "stethoscope-off", "telescope"? (names are those of ' \
        'Tabler Icons, see https://tabler.io/icons)' in found
    assert any(p.startswith(f'{MYTHS}:{myth_line}: blocks (2nd).icon: "wrold" is not a '
                            'pictogram name; did you mean "world"') for p in found), found


def test_pictogram_name_cannot_reach_outside_the_icon_set() -> None:
    for name in ("../../../package", "/etc/passwd", "outline/lock", "lock.svg"):
        with pytest.raises(ValueError, match="is not a pictogram name"):
            icons.check_icon(name)


def test_pictograms_come_from_the_npm_package_with_its_licence() -> None:
    assert icons.ICON_FOLDER.is_relative_to(ROOT / "node_modules" / "@tabler" / "icons")
    assert "MIT License" in icons.ICON_LICENCE.read_text(encoding="utf-8")
    assert '"@tabler/icons"' in (ROOT / "package.json").read_text(encoding="utf-8")
    assert '"node_modules/@tabler/icons"' in (ROOT / "package-lock.json").read_text()


def test_pictograms_are_drawn_in_brand_colours_and_in_cmyk_for_print(project) -> None:
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    _env, _fetcher, printing, screen = kit.tools(project, edition)
    brand = edition.brand
    on_screen = str(render.pictograms(brand, screen)("lock", "accent"))
    assert f'stroke="{brand.colours.accent}"' in on_screen and "currentColor" not in on_screen
    assert 'aria-hidden="true"' in on_screen  # decorative: skipped by screen readers
    printed = str(render.pictograms(brand, printing)("lock", "primary"))
    separated = render.cmyk(brand.colours.primary, edition.ticket.icc_profile)
    assert f'stroke="{separated}"' in printed and "#" not in printed


@pytest.mark.parametrize("brand", BRANDS)
def test_myth_pictograms_print_as_vectors_in_the_primary_cmyk(built: Path, brand: str) -> None:
    path = built / brand / "reseaux-sociaux/fr" / "guide-print.pdf"
    texts = page_texts(path)
    index = next(i for i, t in enumerate(texts) if "C’est ma vie privée" in t)
    with pdfplumber.open(path) as document:
        curves = document.pages[index].curves
    strokes = [tuple(c["stroking_color"]) for c in curves if c.get("stroke")
               and isinstance(c.get("stroking_color"), (list, tuple))]
    # myth pictograms, several strokes each, all in 4 inks (before: none on this page)
    assert len(strokes) >= 6 and all(len(colour) == 4 for colour in strokes)


def test_licence_of_the_pictograms_is_credited_in_the_guide(built: Path) -> None:
    screen = built / "default/reseaux-sociaux/en/guide-screen.pdf"
    text = " ".join(" ".join(page_texts(screen)).split())
    assert "Tabler Icons" in text and "MIT" in text
    html = (built / "default/reseaux-sociaux/fr/web/index.html").read_text(encoding="utf-8")
    assert "Tabler Icons" in html


# --- 2. poster layouts ---------------------------------------------------------------

@pytest.fixture(scope="module")
def laid_out_posters(project) -> dict[str, pdf.Rendered]:
    """The print posters of two editions as the kit lays them out (largest scale that fits)."""
    found = {}
    for brand, lang in (("default", "fr"), ("gh-port-lumiere", "en")):
        (edition,) = kit.prepare(project, [brand], [lang], guides=["reseaux-sociaux"])
        env, fetcher, printing, _screen = kit.tools(project, edition)
        for index, poster in enumerate(edition.guide.posters):
            found[f"{brand}/{lang}/{poster.id}"], _scale = kit._poster(
                env, edition.guide, edition.brand, poster, index, printing, fetcher, ROOT)
    return found


def test_the_screen_poster_takes_the_print_scale_without_searching_again(
        project, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bisection runs once per poster: the screen copy, on a sheet of the same size, is
    laid out once at the print copy's scale, which is the scale its own search would find."""
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    env, fetcher, printing, screen = kit.tools(project, edition)
    poster = edition.guide.posters[0]
    args = (env, edition.guide, edition.brand, poster, 0)
    _printed, scale = kit._poster(*args, printing, fetcher, ROOT)
    layouts = []
    real = pdf.lay_out
    monkeypatch.setattr(pdf, "lay_out", lambda *a, **k: layouts.append(1) or real(*a, **k))
    on_screen, screen_scale = kit._poster(*args, screen, fetcher, ROOT, scale)
    assert (len(layouts), screen_scale) == (1, scale)
    assert pdf.fits_one_page(on_screen)
    _searched, searched_scale = kit._poster(*args, screen, fetcher, ROOT)
    assert searched_scale == scale and len(layouts) > 2


def _find(box: object, css_class: str) -> object | None:
    element = getattr(box, "element", None)
    if element is not None and css_class in (element.get("class") or "").split():
        return box
    for child in getattr(box, "children", []) or []:
        found = _find(child, css_class)
        if found is not None:
            return found
    return None


def _border_top(box) -> float:
    return box.position_y + box.margin_top


def _border_bottom(box) -> float:
    return box.position_y + box.margin_top + box.border_height()


def test_every_layout_is_used_by_the_demo_posters(laid_out_posters) -> None:
    classes = {re.search(r'class="poster-sheet poster-layout-(\w+)', r.document.html)[1]
               for name, r in laid_out_posters.items() if name.startswith("default/fr/")}
    assert classes == {"points", "statistic", "myth", "slogan", "contacts"}


def test_poster_message_is_centred_between_header_and_footer(laid_out_posters) -> None:
    for name, rendered in laid_out_posters.items():
        page = rendered.pages.pages[0]._page_box
        header, footer = _find(page, "poster-header"), _find(page, "poster-footer")
        message = _find(page, "poster-message")
        parts = [c for c in message.children if c.element is not None]
        above = (min(_border_top(c) for c in parts) - _border_bottom(header)) * pdf.PX_TO_MM
        below = (_border_top(footer) - max(_border_bottom(c) for c in parts)) * pdf.PX_TO_MM
        assert abs(above - below) < 12, (name, round(above), round(below))


def test_posters_have_no_dead_band(laid_out_posters) -> None:
    """The message's type is scaled to fill the sheet: no empty band of 50 mm or more
    between two printed things (it was 57 to 80 mm with one type size for all)."""
    for name, rendered in laid_out_posters.items():
        assert pdf.fits_one_page(rendered), name
        items = sorted((p.box_mm[1], p.box_mm[1] + p.box_mm[3])
                       for p in pdf.placements(rendered))
        bottom, largest = items[0][1], 0.0
        for top, end in items[1:]:
            largest, bottom = max(largest, top - bottom), max(bottom, end)
        assert largest < 50, (name, round(largest))
        scale = float(re.search(r"--gp-poster-scale: ([0-9.]+)", rendered.document.html)[1])
        assert render.POSTER_SCALE_MIN <= scale <= render.POSTER_SCALE_MAX


def test_who_to_call_poster_shows_contacts_large_and_not_again_in_the_footer(built: Path
                                                                            ) -> None:
    (page_chars,) = chars(built / "default/reseaux-sociaux/fr/poster-qui-prevenir.pdf")
    text = "".join(c["text"] for c in page_chars)
    assert text.count("0199001234") + text.count("01 99 00 12 34") == 1
    assert text.count("communication@ch-val-fleuri.example") == 1
    large = "".join(c["text"] for c in page_chars if c["text"].isdigit() and c["size"] >= 48)
    assert large == "01990012340199001200"  # both phone numbers, large
    # the other posters keep the contact footer
    (other,) = chars(built / "default/reseaux-sociaux/fr/poster-secret.pdf")
    assert "communication@ch-val-fleuri.example" in "".join(c["text"] for c in other)


def test_statistic_and_myth_posters_show_the_figure_and_the_verdict_large(built: Path) -> None:
    (statistic,) = chars(built / "default/reseaux-sociaux/fr/poster-tous-en-ligne.pdf")
    assert "35" in "".join(c["text"] for c in statistic if c["size"] >= 200)
    assert "SocialBakers" in "".join(c["text"] for c in statistic)
    (myth,) = chars(built / "default/reseaux-sociaux/en/poster-public.pdf")
    assert "TRUE" in "".join(c["text"] for c in myth if c["size"] >= 100).upper()


def test_layout_without_its_content_is_an_error_naming_the_poster(scratch_project: Path
                                                                    ) -> None:
    edit(scratch_project / POSTERS, 'layout: "myth"\n    verdict: "true"\n',
         'layout: "statistic"\n')
    index = [line.strip() for line in
             (scratch_project / POSTERS).read_text().splitlines()].index('- id: "public"')
    assert f'{POSTERS}:{index + 1}: posters (5th): the layout "statistic" needs a `statistic`; ' \
        "add one, or choose another layout" in problems(scratch_project)


def test_unknown_layout_lists_the_layouts(scratch_project: Path) -> None:
    edit(scratch_project / POSTERS, 'layout: "slogan"', 'layout: "banner"')
    line = line_of(scratch_project / POSTERS, '    layout: "banner"')
    assert f"{POSTERS}:{line}: posters (6th).layout: \"banner\" is not allowed here; use one of: " \
        "'points', 'statistic', 'myth', 'slogan' or 'contacts'" in problems(scratch_project)


# --- 3. cover and brand options ------------------------------------------------------

@pytest.mark.parametrize("brand", BRANDS)
def test_cover_composes_the_guides_pictograms_in_brand_colours(built: Path, brand: str
                                                              ) -> None:
    path = built / brand / "reseaux-sociaux/fr" / "guide-print.pdf"
    with pdfplumber.open(path) as document:
        cover = document.pages[0]
        title = [c for c in cover.chars if c["size"] >= 30]
        strokes = [c for c in cover.curves if c.get("stroke")]
        fills = {tuple(c["non_stroking_color"]) for c in cover.rects + cover.curves
                 if c.get("fill") and isinstance(c.get("non_stroking_color"), (list, tuple))}
    assert "".join(c["text"] for c in title).replace(" ", "").startswith("Lesréseaux")
    assert len(strokes) >= 9 * 2  # nine sections' pictograms, two strokes or more each
    assert len(fills) >= 3  # primary, accent, tint and paper tiles


def _content_bottom(box) -> float:
    """The lowest bottom edge of what a box holds (its children may overflow it)."""
    bottoms = [_border_bottom(box)]
    for child in getattr(box, "children", []) or []:
        if getattr(child, "position_y", None) is not None and hasattr(child, "margin_top"):
            bottoms.append(_content_bottom(child))
    return max(bottoms)


@pytest.mark.parametrize("brand, lang", [("gh-port-lumiere", "fr"), ("default", "en")])
def test_no_block_of_the_cover_runs_into_the_next(project, brand: str, lang: str) -> None:
    """Before, the cover's flex column squeezed the title block to fit the page: the second
    line of Port-Lumière's subtitle was drawn across its signature rule, 4 mm below the
    title block's end."""
    (edition,) = kit.prepare(project, [brand], [lang], guides=["reseaux-sociaux"])
    env, fetcher, _printing, screen = kit.tools(project, edition)
    rendered = pdf.lay_out(render.render_booklet(env, edition.guide, edition.brand, screen),
                           fetcher, ROOT)
    cover = _find(rendered.pages.pages[0]._page_box, "cover")
    blocks = [child for child in cover.children if child.element is not None]
    assert len(blocks) >= 3  # logo card, pictogram tiles, title (and a brand's signature)
    for upper, lower in zip(blocks, blocks[1:]):
        assert _content_bottom(upper) <= _border_top(lower) + 0.5, (
            upper.element.get("class"), round((_content_bottom(upper) - _border_top(lower))
                                              * pdf.PX_TO_MM, 1))
    page_bottom = cover.position_y + cover.margin_height()
    assert _content_bottom(blocks[-1]) <= page_bottom - 10 / pdf.PX_TO_MM  # in the padding


def test_logo_contains_name_hides_the_repeated_name(scratch_project: Path) -> None:
    edit(scratch_project / "brands/default/brand.yaml", 'file: "logo.svg"',
         'file: "logo.svg"\n  size: "large"')
    assert any("logo.size: unknown key" in p for p in problems(scratch_project))
    edit(scratch_project / "brands/default/brand.yaml", '\n  size: "large"', "")
    edit(scratch_project / "brands/default/brand.yaml", "colours:",
         'logo_contains_name: true\nlogo_size: "large"\ncolours:')
    project = kit.Project(scratch_project)
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    env, _fetcher, printing, screen = kit.tools(project, edition)
    guide, brand = edition.guide, edition.brand
    for html in (render.render_booklet(env, guide, brand, printing).html,
                 render.render_poster(env, guide, brand, guide.posters[0], screen).html):
        assert 'class="cover-establishment"' not in html
        assert 'class="poster-establishment"' not in html
        assert 'class="back-establishment"' not in html
        assert "--gp-logo-scale: 1.4;" in html


# --- 6. separators and phone numbers -------------------------------------------------

@pytest.mark.parametrize("brand", BRANDS)
def test_no_line_ends_on_a_separator_and_phones_never_break(built: Path, brand: str) -> None:
    phones = {"default": ["01 99 00 12 34", "01 99 00 12 00"],
              "gh-port-lumiere": ["02 99 00 45 67"]}[brand]
    for path in sorted((built / brand).glob("*/*/*.pdf")):
        for number, text in enumerate(page_texts(path), start=1):
            lines = [line.rstrip() for line in text.splitlines()]
            assert not [line for line in lines if line.endswith("·")], (path.name, number)
            flat = " ".join(text.split())
            for phone in phones:
                assert flat.count(phone) == sum(line.count(phone) for line in lines), \
                    (path.name, number, phone)


@pytest.mark.parametrize("lang, raw", [
    ("fr", "Appelez le 01 99 00 12 34 ou le +33 1 99 00 12 00 : on répond."),
    ("en", "Call 01 99 00 12 34 or +33 1 99 00 12 00: we answer."),
])
def test_phone_numbers_in_running_text_get_no_break_spaces(lang: str, raw: str) -> None:
    """Before, a phone number inside a paragraph kept plain spaces and could be split
    across two lines ("01 99" / "00 12 34")."""
    text = typography.Typesetter(lang, typography.NBSP).text(raw)
    nb = typography.NBSP
    assert f"01{nb}99{nb}00{nb}12{nb}34" in text and f"+33{nb}1{nb}99{nb}00{nb}12{nb}00" in text
    assert text.startswith(raw.split(" ")[0] + " ")  # the words around keep breakable spaces


def _drawn_zero(brand: models.Brand) -> bytes:
    """The pixels of a large "0" set in the brand's body font with its stylesheet."""
    css = render.brand_stylesheet(brand, render.Profile("screen"))
    html = f"<style>{css} @page {{ size: 30mm; margin: 0 }}</style><p style='font: 60pt " \
        f"var(--gp-body-font); margin: 0'>0</p>"
    document = pdfium.PdfDocument(weasyprint.HTML(string=html).write_pdf())
    return document[0].render(scale=0.5).to_pil().convert("L").tobytes()


def test_a_brand_turns_on_a_font_feature_and_an_unknown_one_is_named(scratch_project: Path
                                                                     ) -> None:
    """Fira Sans draws a plain zero and offers the slashed one as "zero"; a brand whose font
    slashes its zero by default turns on the font's plain-zero alternate the same way."""
    path = scratch_project / "brands/gh-port-lumiere/brand.yaml"
    files = '      bold_italic: "fonts/FiraSans-BoldItalic.ttf"\n'
    edit(path, files, files + '    features: ["ss09", "zero"]\n')
    with pytest.raises(InputErrors) as caught:
        validate.load_brand(scratch_project, "gh-port-lumiere")
    line = line_of(path, '    features: ["ss09", "zero"]')
    (message,) = [str(error) for error in caught.value.errors]
    assert message.startswith(f"brands/gh-port-lumiere/brand.yaml:{line}: "
                              'fonts.body.features (1st): the font "Fira Sans" has no OpenType '
                              'feature "ss09" (it has: ')
    assert "ss01, ss02, ss03, ss04" in message and message.endswith(
        "; remove it, or choose a font that has it")
    edit(path, '["ss09", "zero"]', """['"x" 1; } body { display: none']""")
    with pytest.raises(InputErrors) as caught:
        validate.load_brand(scratch_project, "gh-port-lumiere")
    assert [str(error) for error in caught.value.errors] == [
        f'brands/gh-port-lumiere/brand.yaml:{line}: fonts.body.features (1st): ""x" 1; }} body '
        '{ display: none" is not valid: an OpenType feature is a four-character tag, like '
        '"ss01" or "zero"']  # never written into the stylesheet
    edit(path, """['"x" 1; } body { display: none']""", '["zero"]')
    slashed = validate.load_brand(scratch_project, "gh-port-lumiere")
    assert 'html { font-feature-settings: "zero" 1; }' in render.brand_stylesheet(
        slashed, render.Profile("screen"))
    plain = validate.load_brand(ROOT, "gh-port-lumiere")
    assert "font-feature-settings" not in render.brand_stylesheet(plain, render.Profile("screen"))
    assert _drawn_zero(slashed) != _drawn_zero(plain)  # the alternate glyph is what is drawn


# --- 4. booklet flow -----------------------------------------------------------------

PAGE_TOP_MM, PAGE_BOTTOM_MM = 15, 210 - 17  # the booklet's page area (booklet.css @page)


# A gap between two blocks up to this much of the page area counts as filled: the space
# around headings and between paragraphs. A larger one is a hole, and is not counted.
HOLE = 0.12


def page_fills(path: Path) -> list[tuple[float, str]]:
    """How much of each page's area its laid-out content covers, from the PDF's glyphs,
    images and drawn boxes (running heads and folios left out): the vertical spans they
    cover, merged across gaps smaller than HOLE, so that a page with a hole in the middle
    is not counted as full."""
    fills = []
    with pdfplumber.open(path) as document:
        for page in document.pages:
            top, bottom = PAGE_TOP_MM * MM, PAGE_BOTTOM_MM * MM
            spans = sorted((o["top"], o["bottom"]) for o in
                           page.chars + page.images + page.rects + page.curves + page.lines
                           if o["top"] >= top - 1 and o["bottom"] <= bottom + 1)
            fills.append((_covered(spans, HOLE * (bottom - top)) / (bottom - top),
                          page.extract_text() or ""))
    return fills


def _covered(spans: list[tuple[float, float]], hole: float) -> float:
    """The height covered by sorted (top, bottom) spans, gaps up to `hole` included."""
    covered, start, end = 0.0, None, None
    for top, bottom in spans:
        if start is None or top - end > hole:
            covered += (end - start) if start is not None else 0.0
            start, end = top, bottom
        else:
            end = max(end, bottom)
    return covered + ((end - start) if start is not None else 0.0)


def test_a_page_with_a_hole_in_the_middle_is_not_counted_full() -> None:
    """A heading at the top and a line at the foot used to measure 100 %."""
    assert _covered([(0, 10), (190, 200)], 24) == 20
    assert _covered([(0, 10), (20, 30), (25, 40)], 24) == 40
    assert _covered([], 24) == 0


@pytest.mark.parametrize("brand, guide", [(brand, guide) for brand in BRANDS  # every guide
                                          for guide in ("reseaux-sociaux", "photos-videos")])
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_booklet_page_is_at_least_40_percent_filled(built: Path, brand: str, guide: str,
                                                          lang: str) -> None:
    fills = page_fills(built / brand / guide / lang / "guide-screen.pdf")
    notes = {"fr": "Notes", "en": "Notes"}[lang]
    thin = [(number, round(fill * 100)) for number, (fill, text) in enumerate(fills, start=1)
            if fill < 0.40 and number not in (1, len(fills))  # cover and back cover
            and text.split("\n")[0].strip() != notes]  # deliberate note pages
    assert thin == [], thin


@pytest.mark.parametrize("brand", BRANDS)
def test_network_map_labels_are_large_unhyphenated_and_columns_not_empty(built: Path,
                                                                        brand: str) -> None:
    path = built / brand / "reseaux-sociaux/fr" / "guide-print.pdf"
    texts = page_texts(path)
    index = next(i for i, t in enumerate(texts) if "Plutôt personnel" in t)
    with pdfplumber.open(path) as document:
        page = document.pages[index]
        words = page.extract_words(keep_blank_chars=False)
        labels = [w for w in words if w["text"] in ("Personnel", "Facebook", "LinkedIn",
                                                    "Viadeo", "Blogs")]
        assert labels and min(w["bottom"] - w["top"] for w in labels) >= 8 * 0.7
        sizes = {round(c["size"], 1) for c in page.chars
                 if c["text"] in "FacebookLinkedInViadeo" and c["top"] > labels[0]["top"] - 50}
    assert min(sizes) >= 8
    flat = " ".join(line.strip() for line in texts[index].splitlines())
    for label in ("Plutôt personnel", "Plutôt professionnel", "Professionnel",
                  "l’établissement", "Compte de l’établissement"):
        assert label in flat  # whole: never hyphenated across two lines
    assert "Mixte" not in texts[index]  # no network is "mixed": that column is dropped


# --- 7. visual regression ------------------------------------------------------------

SNAPSHOTS = ROOT / "tests" / "snapshots"  # accepted pages, small, kept in the repository


@pytest.mark.parametrize("snapshot, output", [
    ("default-fr-guide-print-page-01.png", "default/reseaux-sociaux/fr/guide-print.pdf"),
    ("default-fr-poster-qui-prevenir-page-01.png",
     "default/reseaux-sociaux/fr/poster-qui-prevenir.pdf"),
    ("gh-port-lumiere-en-poster-tous-en-ligne-page-01.png",
     "gh-port-lumiere/reseaux-sociaux/en/poster-tous-en-ligne.pdf"),
])
def test_cover_and_posters_match_their_accepted_snapshots(built: Path, snapshot: str,
                                                          output: str) -> None:
    """If a change to the templates moves these pages on purpose, look at them, then copy
    the new pages here (`build.py accept`, then from accepted/)."""
    accepted = Image.open(SNAPSHOTS / snapshot).convert("RGB")
    (page,) = compare.page_images((built / output).read_bytes())[:1]
    assert page.size == accepted.size and (SNAPSHOTS / snapshot).stat().st_size < 40_000
    assert compare.changed_pages(output, [accepted], [page]) == []


def test_a_moved_block_or_a_changed_colour_is_a_change_and_noise_is_not() -> None:
    page = Image.open(SNAPSHOTS / "default-fr-poster-qui-prevenir-page-01.png").convert("RGB")
    noisy = page.point(lambda value: min(255, value + 20))  # every pixel a little lighter
    assert compare.difference(page, noisy) == 0.0
    recoloured = page.copy()
    recoloured.paste((178, 58, 11), (20, 120, 200, 150))  # a band in the accent colour
    assert compare.difference(page, recoloured) > 0.05
    moved = page.transform(page.size, Image.Transform.AFFINE, (1, 0, 0, 0, 1, -6),
                           fillcolor=(31, 78, 121))  # everything 6 pixels lower
    (change,) = compare.changed_pages("poster.pdf", [page], [moved])
    assert (change.page, change.before, change.after) == (1, page, moved)
    assert compare.changed_pages("poster.pdf", [page], [page, page])[0].before is None


def test_compare_and_accept_commands(built: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "output" / "default"
    output.mkdir(parents=True)
    for name in ("poster-secret.pdf", "poster-stade.pdf"):
        shutil.copy(built / "default/reseaux-sociaux/fr" / name, output / name)
    args = ["--project", str(tmp_path), "--output", str(tmp_path / "output")]
    assert cli.main(["compare", *args]) == 2
    assert "there is no accepted set yet" in capsys.readouterr().err
    assert cli.main(["accept", *args]) == 0
    assert "accepted 2 pages of " in capsys.readouterr().out
    assert sorted(p.relative_to(tmp_path / "accepted").as_posix()
                  for p in (tmp_path / "accepted").rglob("*.png")) == [
        "default/poster-secret.pdf/page-01.png", "default/poster-stade.pdf/page-01.png"]
    assert cli.main(["compare", *args]) == 0
    assert "0 pages changed since the accepted set" in capsys.readouterr().out
    shutil.copy(output / "poster-stade.pdf", output / "poster-secret.pdf")  # another poster
    (output / "poster-stade.pdf").unlink()
    assert cli.main(["compare", *args]) == 1
    printed = capsys.readouterr().out.splitlines()
    sheet = tmp_path / "compare/default/poster-secret-page-01.png"
    assert re.fullmatch(r"changed: default/poster-secret\.pdf page 1 \(\d+\.\d% of the pixels "
                        rf"differ\): {re.escape(str(sheet))}", printed[0]), printed
    assert printed[1].startswith("changed: default/poster-stade.pdf page 1 (page gone)")
    assert printed[2] == "2 pages changed since the accepted set; if they are right, run " \
        "build.py accept"
    before_and_after = Image.open(sheet)
    assert before_and_after.width > 1.3 * before_and_after.height  # two pages side by side


@pytest.mark.parametrize("brand", BRANDS)
def test_an_email_address_breaks_only_after_its_at_sign(built: Path, brand: str) -> None:
    """On every printed page of a brand's kit, each of its e-mail addresses is whole on a
    line or broken just after "@": broken at a hyphen ("maison-des-usagers@gh-port-" /
    "lumiere.example"), it reads as a hyphenated word and is copied wrong."""
    addresses = set(re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
                               (ROOT / "brands" / brand / "brand.yaml").read_text("utf-8")))
    wrong, seen = [], set()
    for path in sorted((built / brand).glob("*/*/*.pdf")):
        if path.name.endswith("-screen.pdf") or path.name.endswith("-office.pdf"):
            continue  # the same pages as the print PDF
        for number, text in enumerate(page_texts(path), start=1):
            for address in addresses:
                local, domain = address.split("@")
                if address in text or f"{local}@\n{domain}" in text:
                    seen.add(address)
                wrong += [(path.name, number, address[:k]) for k in range(1, len(address))
                          if address[k - 1] != "@" and
                          f"{address[:k]}\n{address[k:]}" in text]
    assert seen  # the addresses printed (a default contact every guide overrides is not)
    assert wrong == [], wrong[:5]
