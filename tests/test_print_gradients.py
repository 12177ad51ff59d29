"""A brand's gradient in print. Print documents give the brand colours in CMYK
(`device-cmyk()`), and WeasyPrint cannot draw a gradient between CMYK colours: a brand
stylesheet whose gradient used `var(--gp-primary-bg-color)` stopped every print poster with
"an unexpected error" (NotImplementedError deep inside WeasyPrint). It is now refused
before anything renders, with the file and line; a gradient in #RRGGBB prints, separated
for the printer."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf

from guidepress import kit
from guidepress.plan import plan
from tests.conftest import copy_project, problems

ADVICE = ("which prints in CMYK: WeasyPrint cannot draw a gradient between CMYK colours; "
          "write the gradient's colours as #RRGGBB (they are converted for the printer)")


def _brand_css(project: Path, text: str) -> None:
    path = project / "brands" / "default" / "templates" / "css" / "brand.css"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_a_gradient_of_brand_colours_is_refused_with_its_line(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    _brand_css(project, "/* the poster's sheet */\n.poster-sheet {\n  background-image: "
               "linear-gradient(var(--gp-tint-bg-color), var(--gp-paper-color));\n}\n"
               ":root { --band: var(--gp-primary-bg-color); }\n"
               ".cover { background: repeating-radial-gradient(circle, var(--band) 0 2mm, "
               "#FFFFFF 2mm 4mm); }\n"
               ".back-cover { background: conic-gradient(device-cmyk(0 0 0 1), #FFFFFF); }\n")
    assert problems(project) == [
        f"brands/default/templates/css/brand.css:3: linear-gradient() uses "
        f"var(--gp-tint-bg-color), {ADVICE}",
        f"brands/default/templates/css/brand.css:6: repeating-radial-gradient() uses "
        f"var(--band), {ADVICE}",
        f"brands/default/templates/css/brand.css:7: conic-gradient() uses "
        f"device-cmyk(0 0 0 1), {ADVICE}"]


def test_a_gradient_in_a_templates_style_element_is_refused_too(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    path = project / "brands" / "default" / "templates" / "partials" / "logo.html.j2"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((project / "templates" / "partials" / "logo.html.j2").read_text()
                    + '\n<div style="background: linear-gradient(var(--gp-accent-bg-color), '
                    'white)"></div>\n', encoding="utf-8")
    (found,) = problems(project)
    assert found.startswith("brands/default/templates/partials/logo.html.j2:")
    assert found.endswith(f"linear-gradient() uses var(--gp-accent-bg-color), {ADVICE}")


def test_a_gradient_in_rgb_prints_separated_for_the_printer(tmp_path: Path) -> None:
    project = kit.Project(copy_project(tmp_path))
    _brand_css(project.root, ".poster-sheet { background-image: "
               "linear-gradient(#E7EFF7, #FFFFFF); }\n.a { color: var(--gp-text-color); }\n")
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    target = next(t for t in plan([edition]) if t.poster_index == 0 and not t.png)
    produced = kit.render_target(project, target)
    with pikepdf.open(io.BytesIO(produced.files["poster-stade.pdf"])) as document:
        shadings = [item for item in document.objects
                    if isinstance(item, pikepdf.Dictionary) and "/ShadingType" in item]
        assert shadings and all(s.ColorSpace == "/DeviceCMYK" for s in shadings)


def test_properties_that_refer_to_each_other_are_each_read_once(
        monkeypatch) -> None:
    """`--a40` expands to 2**40 values (refused as such); looking for a CMYK colour in it
    reads each of the 41 definitions once, not each path through them."""
    from guidepress import stylesheets
    calls = []
    real = stylesheets._printed_in_cmyk
    monkeypatch.setattr(stylesheets, "_printed_in_cmyk",
                        lambda *args: calls.append(1) or real(*args))
    levels = [":root { --a0: var(--gp-text-color); }"] + [
        f":root {{ --a{n}: var(--a{n - 1}) var(--a{n - 1}); }}" for n in range(1, 41)]
    found = stylesheets.check_css("\n".join(levels) + "\n.x { background: "
                                  "linear-gradient(var(--a40), #FFFFFF); }")
    assert len(calls) <= 42
    assert [p.line for p in found if "linear-gradient() uses var(--a40)" in p.message] == [42]
