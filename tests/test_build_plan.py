"""Many establishments: manifest, incremental rebuilds, failure isolation, progress."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import BRANDS, TODAY
from guidepress import cli, kit


def test_manifest_lists_every_file_with_its_facts(built: Path) -> None:
    for brand in BRANDS:
        data = json.loads((built / brand / "manifest.json").read_text(encoding="utf-8"))
        assert data["tool"].startswith("guidepress ")
        outputs = sorted(p.relative_to(built / brand).as_posix()
                         for p in [*(built / brand).glob("*/*/*.pdf"),
                                   *(built / brand).glob("*/*/web/index.html")])
        assert len(outputs) == 2 * (18 + 8)  # both guides, both languages
        assert sorted(data["files"]) == outputs
        for name, entry in data["files"].items():
            path = built / brand / name
            assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
            assert entry["bytes"] == path.stat().st_size
            if name.endswith("index.html"):
                assert (entry["profile"], entry["pages"]) == ("web", None)
                continue
            assert entry["pages"] == len(PdfReader(path).pages)
            expected = "office" if "office" in name else "screen" if "screen" in name else "print"
            assert entry["profile"] == expected
            assert len(entry["inputs"]) == 64


def test_a_rebuild_with_nothing_changed_renders_nothing(built: Path,
                                                        project: kit.Project) -> None:
    before = {p: p.stat().st_mtime_ns for p in built.glob("*/*/*/*.pdf")}
    assert len(before) == 2 * 2 * (17 + 7)
    outcome = kit.build(project, list(BRANDS), None, built, today=TODAY)
    assert (outcome.built, outcome.problems) == (0, [])
    assert outcome.skipped == outcome.targets > 20
    assert {p: p.stat().st_mtime_ns for p in built.glob("*/*/*/*.pdf")} == before
    report = (built / "default/preflight.txt").read_text(encoding="utf-8")
    assert report.startswith("Preflight of default: 0 errors, 0 warnings")


def test_a_change_rebuilds_only_what_it_affects(scratch_project: Path) -> None:
    project = kit.Project(scratch_project)
    output = scratch_project / "output"
    first = kit.build(project, ["gh-port-lumiere"], ["fr"], output, today=TODAY,
                      guides=["reseaux-sociaux"])
    assert first.built == first.targets == 9
    posters = scratch_project / "content/reseaux-sociaux/fr/posters.yaml"
    posters.write_text(posters.read_text(encoding="utf-8").replace(
        "Publier, c’est parler au micro d’un stade plein", "Publier, c’est parler dans un stade"),
        encoding="utf-8")
    second = kit.build(project, ["gh-port-lumiere"], ["fr"], output, today=TODAY,
                       guides=["reseaux-sociaux"])
    assert (second.built, second.skipped) == (1, 8)
    assert [p.name for p in second.written] == ["poster-stade.pdf", "poster-stade-screen.pdf",
                                               "proof.pdf", "index.html"]
    forced = kit.build(project, ["gh-port-lumiere"], ["fr"], output, force=True,
                       today=TODAY, guides=["reseaux-sociaux"])
    assert forced.built == 9


def test_one_bad_brand_among_many_fails_alone(scratch_project: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    brand = scratch_project / "brands/gh-port-lumiere/brand.yaml"
    brand.write_text(brand.read_text(encoding="utf-8").replace('"#0F5E59"', '"teal"'),
                     encoding="utf-8")
    for name in ("default", "gh-port-lumiere"):
        (scratch_project / "brands" / name / "brand.yaml").write_text(
            (scratch_project / "brands" / name / "brand.yaml").read_text(encoding="utf-8")
            .replace('languages: ["fr", "en"]', 'languages: ["fr"]'), encoding="utf-8")
    code = cli.main(["--project", str(scratch_project), "--all-brands", "--output",
                     str(scratch_project / "output"), "--jobs", "2", "--guide",
                     "reseaux-sociaux"])
    captured = capsys.readouterr()
    assert code == 2  # bad input, even though the other brand was built
    assert captured.err.count("FAILED") == 1
    assert ('FAILED gh-port-lumiere: brands/gh-port-lumiere/brand.yaml:11: colours.primary: '
            '"teal" is not a colour' in captured.err)
    assert "/9] built default/reseaux-sociaux/fr booklet" in captured.err
    # Counts that add up: the rejected brand is no document of the run, it is named apart.
    assert ("summary: documents in this run 9, built 9, up to date (not rebuilt) 0, failed 0,"
            in captured.out)
    assert "brands not published 1" in captured.out
    assert (scratch_project / "output/default/reseaux-sociaux/fr/guide-print.pdf").exists()
    assert not (scratch_project / "output/gh-port-lumiere").exists()
