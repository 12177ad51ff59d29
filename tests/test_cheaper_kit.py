"""A cheaper kit (issue 14, point 6): posters fitted from a measured layout, the booklet's
search bounded. Layouts are counted (pdf.lay_out wrapped), never timed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from guidepress import kit, pdf, render, validate
from tests.conftest import ROOT


def _bisected(lay_out: Callable[[float], pdf.Rendered]) -> float:
    """The scale the kit's former search found: a bisection over the type scale."""
    low, high = render.POSTER_SCALE, render.POSTER_SCALE_MAX
    if not pdf.fits_one_page(lay_out(low)):
        low, high = render.POSTER_SCALE_MIN, render.POSTER_SCALE
    for _step in range(3):
        middle = round((low + high) / 2, 3)
        low, high = (middle, high) if pdf.fits_one_page(lay_out(middle)) else (low, middle)
    return low


@pytest.fixture(scope="module")
def fitted(project: kit.Project) -> list[tuple[str, float, int, int, float, int]]:
    """For each poster of the French social-networks kit: its id, the print scale, the
    layouts of its print and screen copies, the scale a bisection finds, and how many of
    the print layouts were made only to measure."""
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    env, fetcher, printing, screen = kit.tools(project, edition)
    guide, brand = edition.guide, edition.brand
    found = []
    with pytest.MonkeyPatch.context() as patch:
        layouts: list[float] = []
        real = pdf.lay_out
        patch.setattr(pdf, "lay_out", lambda document, *a, **k: layouts.append(
            _MEASURING in document.html) or real(document, *a, **k))
        for index, poster in enumerate(guide.posters):
            layouts.clear()
            printed, scale = kit._poster(env, guide, brand, poster, index, printing, fetcher,
                                         ROOT)
            for_print, measures = len(layouts), sum(layouts)
            layouts.clear()
            on_screen, screen_scale = kit._poster(env, guide, brand, poster, index, screen,
                                                  fetcher, ROOT, scale)
            assert screen_scale == scale and pdf.fits_one_page(on_screen)
            assert pdf.fits_one_page(printed)
            assert f"--gp-poster-scale: {scale:.2f}" in printed.document.html
            bisected = _bisected(lambda s, p=poster: real(
                render.render_poster(env, guide, brand, p, printing, s), fetcher, ROOT))
            found.append((poster.id, scale, for_print, len(layouts), bisected, measures))
    return found


_MEASURING = 'class="poster format-poster measuring"'


def test_a_poster_is_measured_once_then_laid_out_once_for_print_and_once_for_screen(
        fitted) -> None:
    """The former search laid each print poster out 4 or 5 times (46 layouts for the 8
    posters of this kit, print and screen), then twice or three times (a layout at scale
    1, one at the scale its measure predicts, a third when that prediction missed); now
    the message is measured in a layout of plain blocks made for it, and the poster laid
    out at the predicted scale: once, the lines of a fixed size (a statistic's source, a
    contact's e-mail and hours) being measured as such (they made 2 of these 8 posters
    miss their prediction and take a second layout)."""
    assert all(screen == 1 for _id, _s, _print, screen, _b, _m in fitted), fitted
    assert all(measures == 1 for *_, measures in fitted), fitted
    full = [printed - measures for _id, _s, printed, _screen, _b, measures in fitted]
    assert all(layouts == 1 for layouts in full), fitted


def test_the_predicted_scale_is_the_one_a_bisection_finds(fitted) -> None:
    """The scales are the bisection's points, and the measure finds the same one: the
    posters, their snapshots and their PDFs are unchanged."""
    assert [(i, scale) for i, scale, *_ in fitted] == [(i, b) for i, _s, _p, _screen, b, _m in fitted]
    assert all(scale in kit._SCALES for _id, scale, *_ in fitted)


def test_lines_of_a_fixed_size_keep_their_height_in_the_measure(project: kit.Project
                                                                 ) -> None:
    """poster.css marks the lines that keep their size at any scale (`--gp-fixed-size`):
    a contact's e-mail and hours, a statistic's source. The measure predicts them
    unchanged, and every other line growing with the scale."""
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    env, fetcher, printing, _screen = kit.tools(project, edition)
    fixed = {}
    for poster in edition.guide.posters:
        room = _measured(env, edition, poster, printing, fetcher)
        fixed[poster.id] = [p for p in room.paragraphs if p.fixed]
        for paragraph in room.paragraphs:
            grown = paragraph.height(1.2) / paragraph.height(1.0)
            if paragraph.fixed:
                assert grown == 1.0
            else:  # by the scale, and more if its runs wrap onto more lines
                assert grown >= 1.2 - 1e-9
    lines = sum(bool(c.email) + bool(c.hours) for c in edition.brand.contacts)
    assert len(fixed["qui-prevenir"]) == lines == 3  # the e-mails and opening hours
    assert len(fixed["tous-en-ligne"]) == 1  # the statistic's source
    assert fixed["secret"] == []


def test_the_scales_are_the_points_of_the_former_bisection() -> None:
    assert kit._SCALES == [0.8, 0.825, 0.85, 0.875, 0.9, 0.925, 0.95, 0.975,
                           1.0, 1.043, 1.087, 1.131, 1.175, 1.219, 1.263, 1.306]


def test_the_measure_of_a_poster_is_its_message_and_the_room_around_it(project: kit.Project
                                                                        ) -> None:
    """At scale 1 the prediction is the laid-out height of the message's content; the room
    is the sheet less its padding, the header and the footer, on one page or two."""
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    env, fetcher, printing, _screen = kit.tools(project, edition)
    rooms = {}
    for poster in edition.guide.posters:
        rendered = pdf.lay_out(render.render_poster(env, edition.guide, edition.brand,
                                                    poster, printing), fetcher, ROOT)
        room = pdf.message_room(rendered)
        assert room is not None
        assert _same_room(room, _measured(env, edition, poster, printing, fetcher)), poster.id
        rooms[poster.id] = (room, len(rendered.pages.pages))
        if len(rendered.pages.pages) == 1:
            page = rendered.pages.pages[0]._page_box
            message, _sheet = pdf._growing(page)
            content = [c for c in message.children if c.element is not None]
            height = (max(c.position_y + c.margin_height() for c in content)
                      - min(c.position_y for c in content))
            assert room.needed(1.0) == pytest.approx(height, abs=0.5), poster.id
    # the statistic poster runs onto two pages at scale 1, the secret poster does not;
    # both have the contact footer: the same room
    assert rooms["tous-en-ligne"][1] == 2 and rooms["secret"][1] == 1
    assert rooms["tous-en-ligne"][0].available == pytest.approx(
        rooms["secret"][0].available, abs=0.5)
    # larger type needs more height, smaller less
    room = rooms["secret"][0]
    assert room.needed(0.9) < room.needed(1.0) < room.needed(1.1)


def _measured(env, edition: kit.Edition, poster, profile: render.Profile,
              fetcher: pdf.ProjectFetcher, form=None) -> pdf.Room | None:
    """The room measured in the layout made to measure (plain blocks), at scale 1."""
    document = render.render_poster(env, edition.guide, edition.brand, poster, profile,
                                    form=form, measuring=True)
    assert ' measuring"' in document.html
    return pdf.message_room(pdf.lay_out(document, fetcher, ROOT))


def _same_room(room: pdf.Room, other: pdf.Room | None) -> bool:
    """The same measure, but for the last bits of floating-point sums."""
    def numbers(measure: pdf.Room) -> list[float]:
        return [measure.available, measure.other] + [
            value for paragraph in measure.paragraphs for value in (
                *paragraph.words, paragraph.space, paragraph.width, paragraph.lines,
                paragraph.line_height)]
    return other is not None and len(room.paragraphs) == len(other.paragraphs) and all(
        a == pytest.approx(b, abs=1e-6) for a, b in zip(numbers(room), numbers(other),
                                                         strict=True))


@pytest.mark.parametrize("name", ["affiche-a2", "flyer-a4", "carte-carree", "carte-portrait",
                                  "carte-paysage", "diapo"])
def test_the_layout_made_to_measure_measures_what_the_poster_lays_out(project: kit.Project,
                                                                      name: str) -> None:
    """The measure is taken in a cheaper layout (sheet and message as plain blocks, each
    of the message's blocks its own context, as a flex item is): in every format whose
    sheet is a column, it finds the same room and text as the poster's own layout."""
    (edition,) = kit.prepare(project, ["gh-port-lumiere"], ["fr"], guides=["photos-videos"])
    env, fetcher, printing, _screen = kit.tools(project, edition)
    form = validate.load_format(ROOT, name)
    for poster in edition.guide.posters:
        laid_out = pdf.lay_out(render.render_poster(env, edition.guide, edition.brand, poster,
                                                    printing, form=form), fetcher, ROOT)
        room = pdf.message_room(laid_out)
        assert room is not None and room.paragraphs, poster.id
        assert _same_room(room, _measured(env, edition, poster, printing, fetcher, form))


def test_a_poster_template_without_a_growing_message_is_bisected(project: kit.Project
                                                                  ) -> None:
    """A brand's own template may have no flex box that grows: no measure, and the
    former bisection, with the same result."""
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    env, fetcher, printing, _screen = kit.tools(project, edition)
    poster = edition.guide.posters[0]
    layouts: list[float] = []

    def lay_out(scale: float, measuring: bool = False) -> pdf.Rendered:
        layouts.append(scale)
        document = render.render_poster(env, edition.guide, edition.brand, poster, printing,
                                        scale, measuring=measuring)
        html = document.html.replace("flex: 1 1 auto;", "flex: 0 1 auto;", 1)
        return pdf.lay_out(render.Document(document.name, html, document.kind), fetcher,
                           ROOT)

    first = lay_out(1.0)
    assert pdf.message_room(first) is None
    layouts.clear()
    _rendered, scale = kit._largest_that_fits(lay_out)
    assert scale == _bisected(lay_out)
    assert len(layouts) >= 4  # 1, then a bisection of the 8 points above it


# --- the booklet: one part move tried, at most ---------------------------------------------

@pytest.mark.parametrize("lang, layouts, moved", [("fr", 1, set()), ("en", 2, {"carte"})])
def test_the_booklet_tries_one_part_move_at_most(project: kit.Project, lang: str,
                                                 layouts: int, moved: set[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The search tried every part opening low on a page, one layout each: 3 layouts for
    the French booklet (both moves refused), 6 for the English one. Now the French one,
    with no page of text under 40 %, tries none; in the English one, whose last page of
    text was filled 36 %, the measure of the first layout picks the one move worth
    trying, the map, which is kept."""
    (edition,) = kit.prepare(project, ["default"], [lang], guides=["reseaux-sociaux"])
    env, fetcher, printing, _screen = kit.tools(project, edition)
    counted: list[int] = []
    real = pdf.lay_out
    monkeypatch.setattr(pdf, "lay_out", lambda *a, **k: counted.append(1) or real(*a, **k))
    rendered, breaks = kit._booklet(env, edition.guide, edition.brand, printing, fetcher,
                                    ROOT)
    assert (len(counted), breaks.new_page_parts) == (layouts, moved)
    assert len(rendered.pages.pages) == 16
    assert kit._thin_pages(rendered) == 0


def test_a_move_whose_push_spills_a_thin_page_is_not_tried(project: kit.Project) -> None:
    """The push of a move is taken up by the room before parts that open at a page's top;
    what is left spills past the last page of text, and a new page filled under 40 % is
    not worth a layout."""
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    env, fetcher, printing, _screen = kit.tools(project, edition)
    padded = pdf.lay_out(render.render_booklet(env, edition.guide, edition.brand, printing,
                                               render.BookletBreaks(kit.MAX_NOTES_PAGES)),
                         fetcher, ROOT)
    pages = pdf.pages_showing(padded, "notes")[0]  # of text, with the cover
    assert kit._move_worth_trying(padded) == "relations"  # deepest, 0.71 down
    openings = {o.part_id: o for o in pdf.part_openings(padded)}
    assert openings["relations"].depth > openings["viralite"].depth >= kit.LOW_OPENING
    # with no room before the parts that open at a page's top, the push of either low
    # part spills a sliver past the last page of text (filled 73 %): nothing is tried
    fills = pdf.page_fills(padded)
    assert round(fills[pages - 1], 2) == 0.73
    full = [1.0 if index < pages - 1 else fill for index, fill in enumerate(fills)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pdf, "page_fills", lambda _rendered: full)
        assert kit._move_worth_trying(padded) is None


# --- stylesheets parsed once per build, not once per layout --------------------------------

def test_a_poster_target_parses_its_long_stylesheet_once(project: kit.Project,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """A poster is laid out twice (measure, print; its screen copy is written from the
    print layout): its templates' long stylesheet is parsed once; the brand's (fonts,
    colour profile) for each layout, since it registers them with the document."""
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    target = next(t for t in kit.plan([edition]) if t.poster_index == 0)
    parsed: list[str] = []
    real = pdf.weasyprint.CSS
    monkeypatch.setattr(pdf.weasyprint, "CSS", lambda *a, **k: parsed.append(
        k.get("string", "")) or real(*a, **k))
    pdf.fresh_font_configuration()
    produced = kit.render_target(project, target)
    assert set(produced.files) == {"poster-stade.pdf", "poster-stade-screen.pdf"}
    long_sheets = [text for text in parsed if ".poster-headline" in text]
    brand_sheets = [text for text in parsed if "@font-face" in text]
    assert len(long_sheets) == 1, len(long_sheets)
    assert len(brand_sheets) == 2  # the measure and print layouts


def test_stylesheets_taken_apart_lay_out_exactly_as_written_in_the_page(
        project: kit.Project) -> None:
    """The head's <style> elements given to WeasyPrint parsed (as one origin, in order)
    make the same PDF bytes as the page laid out whole, for a poster and a booklet."""
    (edition,) = kit.prepare(project, ["gh-port-lumiere"], ["fr"], guides=["reseaux-sociaux"])
    env, fetcher, printing, screen = kit.tools(project, edition)
    guide, brand = edition.guide, edition.brand
    documents = [render.render_poster(env, guide, brand, guide.posters[2], screen),
                 render.render_poster(env, guide, brand, guide.posters[2], printing),
                 render.render_booklet(env, guide, brand, screen)]
    for document in documents:
        profile = screen if "screen" in document.name else printing
        apart = pdf.lay_out(document, fetcher, ROOT)
        html, styles = pdf._styles_apart(document.html)
        assert len(styles) >= 2 and "<style" not in html
        whole = pdf.Rendered(document, pdf.weasyprint.HTML(
            string=document.html, base_url=ROOT.as_uri() + "/", url_fetcher=fetcher).render(
                font_config=pdf.font_configuration(), presentational_hints=False), [], ROOT)
        assert pdf.write_pdf(apart, profile) == pdf.write_pdf(whole, profile), document.name


def test_a_page_styled_otherwise_is_laid_out_whole_and_warnings_are_said_each_time(
        project: kit.Project) -> None:
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    _env, fetcher, _printing, _screen = kit.tools(project, edition)
    page = ('<html><head><style>p {{ colour: red }}</style></head><body>{body}'
            '<p>Bonjour</p></body></html>')
    # a <style> in the body, an @import, a <link>, a <style media> keep the page whole
    for head, body in (("", '<style>p { color: blue }</style>'),
                       ("", '<svg><style>b{}</style></svg>'),
                       ('<style>@import url("b.css");</style>', ""),
                       ('<link rel="stylesheet" href="b.css">', ""),
                       ('<style media="print">p {}</style>', "")):
        html = page.format(body=body).replace("</head>", head + "</head>")
        assert pdf._styles_apart(html) == (html, []), html
    assert pdf._styles_apart(page.format(body=""))[1] == ["p { colour: red }"]
    # a stylesheet parsed once still has WeasyPrint's warning at each layout
    document = render.Document("note.pdf", page.format(body=""), "poster")
    for _layout in range(2):
        rendered = pdf.lay_out(document, fetcher, ROOT)
        assert any("colour" in warning for warning in rendered.warnings), rendered.warnings
