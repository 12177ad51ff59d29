"""Line and page breaking, checked on the laid-out pages rather than on the HTML."""

from __future__ import annotations

from collections import defaultdict

import pytest
from weasyprint.formatting_structure import boxes

from guidepress import kit, pdf, render


@pytest.fixture(scope="session", params=["fr", "en"])
def booklet_pages(request: pytest.FixtureRequest, project: kit.Project):
    """The default brand's booklet, laid out once per language."""
    (edition,) = kit.prepare(project, ["default"], [request.param], guides=["reseaux-sociaux"])
    env = render.template_environment(project.templates, edition.brand)
    fetcher = pdf.ProjectFetcher((project.templates, edition.brand.folder,
                                  edition.brand.fonts.body.files.regular.parent))
    document = render.render_booklet(env, edition.guide, edition.brand, render.Profile("screen"))
    return pdf.lay_out(document, fetcher, project.root).pages.pages


def descendants(box, element=None):
    """Yield (box, nearest block element) for a box and everything inside it."""
    if isinstance(box, boxes.BlockBox) and getattr(box, "element", None) is not None:
        element = box.element
    yield box, element
    for child in getattr(box, "children", None) or []:
        yield from descendants(child, element)


def lines_by_element(page) -> dict[object, list[str]]:
    """Map each block element laid out on this page to the text of its lines there."""
    found: dict[object, list[str]] = defaultdict(list)
    for box, element in descendants(page._page_box):
        if isinstance(box, boxes.LineBox) and element is not None:
            text = "".join(b.text for b, _ in descendants(box) if isinstance(b, boxes.TextBox))
            if text.strip():
                found[element].append(text)
    return found


def test_no_widow_or_orphan_line(booklet_pages) -> None:
    per_page = [lines_by_element(page) for page in booklet_pages]
    for number, (this, following) in enumerate(zip(per_page, per_page[1:], strict=False),
                                               start=1):
        for element in set(this) & set(following):
            if element.tag == "p":
                assert len(this[element]) >= 2, f"orphan line at the foot of page {number}"
                assert len(following[element]) >= 2, f"widow line at the top of page {number + 1}"


def test_no_heading_stranded_at_the_foot_of_a_page(booklet_pages) -> None:
    for number, page in enumerate(booklet_pages[:-1], start=1):
        elements = list(lines_by_element(page))
        if elements:
            last = elements[-1]
            assert last.tag not in ("h1", "h2", "h3"), f"heading alone at the foot of page {number}"
            assert "part-kicker" not in (last.get("class") or ""), f"page {number}"


def test_body_text_is_hyphenated_and_headings_are_not(booklet_pages) -> None:
    hyphenated_body = 0
    for page in booklet_pages:
        for element, lines in lines_by_element(page).items():
            breaks = [line for line in lines[:-1] if line.rstrip().endswith("-")
                      and not line.rstrip().endswith(" -")]
            if element.tag in ("h1", "h2", "h3") or "slogan" in (element.get("class") or ""):
                source = "".join(element.itertext())
                for line in breaks:
                    word = line.rstrip().split()[-1]
                    assert word in source, f"heading hyphenated: {line!r}"
            elif element.tag == "p":
                hyphenated_body += len(breaks)
    assert hyphenated_body > 0
