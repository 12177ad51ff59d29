"""The web edition in a real browser: Debian's Chromium driven by Playwright, checked by
axe-core (from npm) at a phone width and a desktop width."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from conftest import ROOT

EDITIONS = [(brand, "reseaux-sociaux", lang) for brand in ("default", "gh-port-lumiere")
            for lang in ("fr", "en")] + [("gh-port-lumiere", "photos-videos", "en")]
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        yield chromium
        chromium.close()


@pytest.mark.parametrize("width", [360, 1280])
@pytest.mark.parametrize("brand, guide, lang", EDITIONS)
def test_web_page_in_chromium(browser, built: Path, brand: str, guide: str, lang: str,
                              width: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto((built / brand / guide / lang / "web/index.html").as_uri())
    scroll, client = page.evaluate("[document.documentElement.scrollWidth, "
                                   "document.documentElement.clientWidth]")
    assert scroll <= client, f"horizontal scrolling at {width} px"
    assert page.evaluate("document.fonts.check('16px \"' + getComputedStyle(document.body)"
                         ".getPropertyValue('--gp-body-font').trim().slice(1, -1) + '\"')")
    page.add_script_tag(path=str(ROOT / "node_modules/axe-core/axe.min.js"))
    violations = page.evaluate("""async () => (await axe.run()).violations
        .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))""")
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == []
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#content"
    shots = tmp_path_factory.getbasetemp() / "screenshots"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / f"web-{brand}-{guide}-{lang}-{width}.png"),
                    full_page=True)
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    page.close()
