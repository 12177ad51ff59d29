"""Line and page breaking, checked on the laid-out pages rather than on the HTML."""

from __future__ import annotations

from collections import defaultdict

import pytest
from weasyprint.formatting_structure import boxes

from conftest import copy_project, edit
from guidepress import kit, pdf, render

# Our own words, long enough that this paragraph cannot fit in what is left of its page.
LONG_PARAGRAPH = " ".join([
    "Un message publié sur un réseau social ne reste jamais entre quelques amis.",
    "Il peut être copié, transféré, commenté, et retrouvé des années plus tard par un "
    "employeur, un patient ou un journaliste.",
    "Avant de publier, chacun peut se demander qui lira ce message, ce que ce lecteur "
    "comprendra, et si l’on serait prêt à le dire à voix haute dans le hall de l’hôpital.",
    "Une photo prise dans un couloir montre parfois plus qu’on ne le croit : un nom sur un "
    "tableau, un visage en arrière-plan, un dossier posé sur un chariot.",
] * 4)


def laid_out_booklet(project: kit.Project, lang: str):
    """The pages of the default brand's social-networks booklet, laid out in this process."""
    (edition,) = kit.prepare(project, ["default"], [lang], guides=["reseaux-sociaux"])
    env = render.template_environment(project.templates, edition.brand)
    fetcher = pdf.ProjectFetcher((project.templates, edition.brand.folder,
                                  edition.brand.fonts.body.files.regular.parent))
    document = render.render_booklet(env, edition.guide, edition.brand, render.Profile("screen"))
    return pdf.lay_out(document, fetcher, project.root).pages.pages


@pytest.fixture(scope="session", params=["fr", "en"])
def booklet_pages(request: pytest.FixtureRequest, project: kit.Project):
    """The default brand's booklet, laid out once per language."""
    return laid_out_booklet(project, request.param)


@pytest.fixture(scope="session")
def split_paragraph_pages(tmp_path_factory: pytest.TempPathFactory):
    """A booklet where a long paragraph must run across a page break."""
    root = copy_project(tmp_path_factory.mktemp("split"))
    edit(root / "content/reseaux-sociaux/fr/sections/02-relations.yaml",
         '  - type: "callout"',
         f'  - type: "paragraph"\n    text: "{LONG_PARAGRAPH}"\n  - type: "callout"')
    return laid_out_booklet(kit.Project(root), "fr")


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


def split_paragraphs(pages) -> list[tuple[int, int, int]]:
    """(page number, lines before the break, lines after) of each paragraph split by one."""
    per_page = [lines_by_element(page) for page in pages]
    found = []
    for number, (this, following) in enumerate(zip(per_page, per_page[1:], strict=False),
                                               start=1):
        for element in set(this) & set(following):
            if element.tag == "p":
                found.append((number, len(this[element]), len(following[element])))
    return found


def test_no_widow_or_orphan_line(booklet_pages) -> None:
    for number, before, after in split_paragraphs(booklet_pages):
        assert before >= 2, f"orphan line at the foot of page {number}"
        assert after >= 2, f"widow line at the top of page {number + 1}"


def test_a_paragraph_split_by_a_page_break_keeps_three_lines_on_each_side(
        split_paragraph_pages) -> None:
    splits = split_paragraphs(split_paragraph_pages)
    assert splits, "no paragraph runs across a page break: the check would test nothing"
    for number, before, after in splits:
        # booklet.css asks for orphans: 3 and widows: 3
        assert before >= 3, f"orphan lines at the foot of page {number}"
        assert after >= 3, f"widow lines at the top of page {number + 1}"


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
