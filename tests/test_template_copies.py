"""A brand replaces a template by copying it into its folder (README, "Adding a brand",
step 5). The default templates hold Jinja inside their `<style>` elements (`<style>{{
brand_css }}</style>`, `{% include "css/poster.css" %}`), which the check of a brand's CSS
read as CSS: a verbatim copy of poster.html.j2 was refused with eight "CSS syntax error"
lines. Jinja's pieces are now left out of that check, lines kept."""

from __future__ import annotations

import shutil
from pathlib import Path

from guidepress import kit
from guidepress.plan import plan
from tests.conftest import ROOT, copy_project, problems

TEMPLATES = ["booklet.html.j2", "poster.html.j2", "web.html.j2", "proof.html.j2",
             "library.html.j2"]


def _copied(project: Path) -> Path:
    folder = project / "brands" / "default" / "templates"
    folder.mkdir(parents=True, exist_ok=True)
    for name in TEMPLATES:
        shutil.copy(ROOT / "templates" / name, folder / name)
    return folder


def test_verbatim_copies_of_the_templates_pass_and_print_the_same(tmp_path: Path) -> None:
    project = kit.Project(copy_project(tmp_path))
    _copied(project.root)
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    (original,) = kit.prepare(kit.Project(ROOT), ["default"], ["fr"],
                              guides=["reseaux-sociaux"])
    target = next(t for t in plan([edition]) if t.poster_index == 0 and not t.png)
    mine = kit.render_target(project, target).files["poster-stade.pdf"]
    theirs = kit.render_target(kit.Project(ROOT), next(
        t for t in plan([original]) if t.poster_index == 0 and not t.png)).files
    assert mine == theirs["poster-stade.pdf"]


def test_a_problem_in_a_copied_templates_style_keeps_its_line(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    path = _copied(project) / "poster.html.j2"
    lines = path.read_text(encoding="utf-8").splitlines()
    style = lines.index('{% include "css/poster.css" %}')  # inside the third <style>
    lines.insert(style + 1, ".poster-headline { font-size: 1e7px; }")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert problems(project) == [
        f'brands/default/templates/poster.html.j2:{style + 2}: the value "1e7px" is out of '
        "range: brand styles use numbers between -2000 and 2000"]
