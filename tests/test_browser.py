"""The web edition in a real browser: Debian's Chromium driven by Playwright, checked by
axe-core (from npm) at a phone width and a desktop width."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT

EDITIONS = [(brand, "reseaux-sociaux", lang) for brand in ("default", "gh-port-lumiere")
            for lang in ("fr", "en")] + [("gh-port-lumiere", "photos-videos", "en")]


def brand_font_problems(page, families: dict[str, str]) -> list[str]:
    """Why the text is not drawn with the brand's fonts, or [] when it is.

    `document.fonts.check()` says true for a font that does not exist, so this looks at
    the FontFace objects (each declared face must load, and one at least must be used),
    then asks Chromium which fonts actually drew the text of each selector.
    """
    problems = []
    faces = page.evaluate("""async () => { await document.fonts.ready;
        return [...document.fonts].map(f => [f.family.replace(/"/g, ''), f.status]); }""")
    for family in set(families.values()):
        statuses = [status for name, status in faces if name == family]
        if not statuses:
            problems.append(f"no @font-face declares {family}")
        elif "error" in statuses or "loaded" not in statuses:
            problems.append(f"{family}: faces {statuses}, none failed and one loaded expected")
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    for selector, family in families.items():
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        used = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        drawn = {(font["familyName"], font["isCustomFont"]) for font in used}
        if not used or drawn != {(family, True)}:
            problems.append(f"{selector} is drawn with {sorted(drawn)}, not {family}")
    cdp.detach()
    return problems


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
    family = page.evaluate("getComputedStyle(document.body).getPropertyValue('--gp-body-font')"
                           ".trim().slice(1, -1)")
    heading = page.evaluate("getComputedStyle(document.body)"
                            ".getPropertyValue('--gp-heading-font').trim().slice(1, -1)")
    assert brand_font_problems(page, {"main p": family, "h1": heading}) == []
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


FONT_TEST_PAGE = """<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><style>{face}
body {{ font-family: "Fira Sans", sans-serif; }}</style></head>
<body><main><p>Je publie avec prudence.</p><h1>Titre</h1></main></body></html>"""


@pytest.mark.parametrize("face, expected", [
    ("", "no @font-face declares Fira Sans"),
    ('@font-face { font-family: "Fira Sans"; src: url("data:font/woff2;base64,AAAA"); }',
     "Fira Sans: faces ['error'], none failed and one loaded expected"),
])
def test_the_font_check_fails_on_a_page_without_the_font(browser, tmp_path: Path, face: str,
                                                         expected: str) -> None:
    path = tmp_path / "page.html"
    path.write_text(FONT_TEST_PAGE.format(face=face), encoding="utf-8")
    page = browser.new_page()
    page.goto(path.as_uri())
    found = brand_font_problems(page, {"main p": "Fira Sans", "h1": "Fira Sans"})
    page.close()
    # A system font drew the text instead (which one depends on the machine).
    assert len(found) == 3 and found[0] == expected
    assert found[1].startswith("main p is drawn with [(") and found[1].endswith(
        ", False)], not Fira Sans")
    assert found[2].startswith("h1 is drawn with [(") and found[2].endswith(
        ", False)], not Fira Sans")
