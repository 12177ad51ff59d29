"""Property: whatever an editor writes, the result is a valid PDF or a clear error."""

from __future__ import annotations

import io
import re
import shutil

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from conftest import ROOT
from guidepress import kit
from guidepress.problems import InputErrors

LOCATED = re.compile(r"^(content|brands|printers)/[^:]+(:\d+)?: ")

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=120)
colour = st.one_of(st.from_regex(r"#[0-9A-Fa-f]{6}", fullmatch=True), text,
                   st.none(), st.integers())
scalar = st.one_of(text, st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False))


@st.composite
def poster(draw: st.DrawFn) -> dict:
    return {
        "id": draw(st.one_of(st.just("stade"), st.from_regex(r"[a-z]{1,8}", fullmatch=True),
                             text)),
        "headline": draw(st.one_of(text, st.text(alphabet="Je publie en ligne ", max_size=90))),
        "points": draw(st.lists(text, max_size=4)),
        "show_contacts": draw(st.one_of(st.booleans(), scalar)),
        **draw(st.dictionaries(st.sampled_from(["kicker", "extra", "statistic"]), scalar,
                               max_size=2)),
    }


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(posters=st.lists(poster(), min_size=1, max_size=2),
       primary=colour, name=st.one_of(text, scalar))
def test_any_input_gives_a_pdf_or_a_located_error(tmp_path_factory, posters, primary,
                                                  name) -> None:
    project = tmp_path_factory.mktemp("project")
    for folder in ("content", "brands", "templates", "printers", "formats"):
        shutil.copytree(ROOT / folder, project / folder)
    (project / "content/reseaux-sociaux/fr/posters.yaml").write_text(
        yaml.safe_dump({"posters": posters}, allow_unicode=True), encoding="utf-8")
    brand_file = project / "brands/default/brand.yaml"
    brand = yaml.safe_load(brand_file.read_text(encoding="utf-8"))
    brand["colours"]["primary"] = primary
    brand["name"] = name
    brand_file.write_text(yaml.safe_dump(brand, allow_unicode=True), encoding="utf-8")
    try:
        (edition,) = kit.prepare(kit.Project(project), ["default"], ["fr"],
                                 guides=["reseaux-sociaux"])
        produced = kit.render_target(kit.Project(project), kit.Target(edition, 0))
    except InputErrors as exc:
        assert exc.errors
        for error in exc.errors:
            assert LOCATED.match(str(error)), str(error)
            assert "Traceback" not in str(error)
        return
    data = produced.files[f"poster-{edition.guide.posters[0].id}.pdf"]
    assert len(PdfReader(io.BytesIO(data)).pages) == 1
