"""The guide as one web page: self-contained, accessible structure, brand styles."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import ROOT
from guidepress import validate

EDITIONS = [(brand, guide, lang) for brand in ("default", "gh-port-lumiere")
            for guide in ("reseaux-sociaux", "photos-videos") for lang in ("fr", "en")]


class Page(HTMLParser):
    """The facts of a page that the tests look at."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.lang = None
        self.headings: list[int] = []
        self.images: list[dict] = []
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.viewport = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.lang = attributes.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "img":
            self.images.append(attributes)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "a" and "href" in attributes:
            self.links.append(attributes["href"])
        if tag == "meta" and attributes.get("name") == "viewport":
            self.viewport = True


@pytest.mark.parametrize("brand, guide_slug, lang", EDITIONS)
def test_web_page_structure_is_accessible(built: Path, brand: str, guide_slug: str,
                                          lang: str) -> None:
    html = (built / brand / guide_slug / lang / "web/index.html").read_text(encoding="utf-8")
    page = Page(html)
    assert page.lang == lang and page.viewport
    assert page.headings.count(1) == 1 and page.headings[0] == 1
    for previous, current in zip(page.headings, page.headings[1:], strict=False):
        assert current <= previous + 1, f"heading level jumps from h{previous} to h{current}"
    assert page.links[0] == "#content" and "content" in page.ids
    guide = validate.load_guide(ROOT, lang, validate.load_brand(ROOT, brand), guide_slug)
    assert {section.id for section in guide.sections} <= page.ids
    if guide_slug == "reseaux-sociaux":  # the leaflet has no table of contents
        assert {f"#{section.id}" for section in guide.sections} <= set(page.links)
    assert page.images and all(image.get("alt", "").strip() for image in page.images)


@pytest.mark.parametrize("brand, guide, lang", EDITIONS)
def test_web_page_is_self_contained_and_branded(built: Path, brand: str, guide: str,
                                                lang: str) -> None:
    html = (built / brand / guide / lang / "web/index.html").read_text(encoding="utf-8")
    assert "file:" not in html
    assert not re.search(r"""\bsrc=["'](?!data:)""", html)
    assert re.search(r'src: url\("data:font/woff2;base64,', html)
    b = validate.load_brand(ROOT, brand)
    assert f"--gp-primary-bg-color: {b.colours.primary};" in html
    assert f'--gp-body-font: "{b.fonts.body.family}";' in html
    assert "@media print" in html
    assert len(html.encode()) < 400_000
