"""Many establishments: manifest, incremental rebuilds, failure isolation, progress."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pdfplumber
import pytest
from pypdf import PdfReader

from conftest import BRANDS, POSTER_COUNT, TODAY
from guidepress import cli, kit, plan


def planned_files(project: kit.Project, brand: str) -> list[str]:
    """The files the build plan makes for one brand, every guide and language it publishes."""
    return sorted(f"{target.edition.where}/{name}"
                  for target in plan.plan(kit.prepare(project, [brand], None))
                  for name in target.names)


def test_manifest_lists_every_file_with_its_facts(built: Path, project: kit.Project) -> None:
    for brand in BRANDS:
        data = json.loads((built / brand / "manifest.json").read_text(encoding="utf-8"))
        assert data["tool"].startswith("guidepress ")
        outputs = sorted(p.relative_to(built / brand).as_posix()
                         for p in [*(built / brand).glob("*/*/*.pdf"),
                                   *(built / brand).glob("*/*/*.png"),
                                   *(built / brand).glob("*/*/web/index.html")])
        assert outputs == planned_files(project, brand)
        # both guides in both languages: booklet (3 PDFs), web page, two PDFs per A3
        # poster; and the formats the brand chooses for photos-videos, per poster: two PDFs
        # per print format, a PNG per picture (default: flyer, square card, slide; the
        # other: A2, A1, portrait and landscape cards, banner)
        formats = {"default": 2 + 1 + 1, "gh-port-lumiere": 2 + 2 + 1 + 1 + 1}[brand]
        assert len(outputs) == 2 * (sum(3 + 1 + 2 * count for count in POSTER_COUNT.values())
                                    + formats * POSTER_COUNT["photos-videos"])
        assert sorted(data["files"]) == outputs
        for name, entry in data["files"].items():
            path = built / brand / name
            assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
            assert entry["bytes"] == path.stat().st_size
            if name.endswith("index.html"):
                assert (entry["profile"], entry["pages"]) == ("web", None)
                continue
            if name.endswith(".png"):
                assert (entry["profile"], entry["pages"]) == ("picture", None)
                continue
            assert entry["pages"] == len(PdfReader(path).pages)
            expected = "office" if "office" in name else "screen" if "screen" in name else "print"
            assert entry["profile"] == expected
            assert len(entry["inputs"]) == 64


def test_a_rebuild_with_nothing_changed_renders_nothing(built: Path,
                                                        project: kit.Project) -> None:
    before = {p: p.stat().st_mtime_ns for p in built.glob("*/*/*/*.pdf")}
    assert sorted(p.relative_to(built).as_posix() for p in before) == sorted(
        f"{brand}/{name}" for brand in BRANDS for name in planned_files(project, brand)
        if name.endswith(".pdf"))
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
    first_proof = " ".join(" ".join(page.extract_text().split()) for page in
                           PdfReader(output / "gh-port-lumiere/proof.pdf").pages)
    assert "Première fabrication : il n’y a pas de version précédente à comparer." in first_proof
    # the booklet, the web page and the posters
    assert first.built == first.targets == 2 + POSTER_COUNT["reseaux-sociaux"]
    posters = scratch_project / "content/reseaux-sociaux/fr/posters.yaml"
    posters.write_text(posters.read_text(encoding="utf-8").replace(
        "Publier, c’est parler au micro d’un stade plein", "Publier, c’est parler dans un stade"),
        encoding="utf-8")
    second = kit.build(project, ["gh-port-lumiere"], ["fr"], output, today=TODAY,
                       guides=["reseaux-sociaux"])
    assert (second.built, second.skipped) == (1, first.targets - 1)
    assert [p.name for p in second.written] == ["poster-stade.pdf", "poster-stade-screen.pdf",
                                               "proof.pdf", "index.html"]
    # the proof shows what changed since the last build: that poster, before and now
    proof = PdfReader(output / "gh-port-lumiere/proof.pdf")
    last = " ".join(proof.pages[-1].extract_text().split())
    assert "Ce qui a changé depuis la dernière fabrication" in last
    assert re.search(r"reseaux-sociaux/fr/poster-stade\.pdf, page 1 \(\d+,\d %\) avant "
                     r"maintenant", last), last
    with pdfplumber.open(output / "gh-port-lumiere/proof.pdf") as document:
        assert len(document.pages[-1].images) == 2  # before and now, side by side
    forced = kit.build(project, ["gh-port-lumiere"], ["fr"], output, force=True,
                       today=TODAY, guides=["reseaux-sociaux"])
    assert forced.built == first.targets


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
    documents = 2 + POSTER_COUNT["reseaux-sociaux"]  # the booklet, the web page and the posters
    assert f"/{documents}] built default/reseaux-sociaux/fr booklet" in captured.err
    # Counts that add up: the rejected brand is no document of the run, it is named apart.
    assert (f"summary: documents in this run {documents}, built {documents}, up to date (not "
            "rebuilt) 0, failed 0," in captured.out)
    assert "brands not published 1" in captured.out
    assert (scratch_project / "output/default/reseaux-sociaux/fr/guide-print.pdf").exists()
    assert not (scratch_project / "output/gh-port-lumiere").exists()


def test_a_file_changed_with_the_same_size_and_time_is_seen(scratch_project: Path) -> None:
    """Digests live for one build: a logo rewritten with the same size and modification
    time (a coarse file system, a restored backup) changes the inputs of the next build.
    The old module-level cache, keyed by size and time, kept the first digest."""
    from guidepress import manifest

    project = kit.Project(scratch_project)
    target = plan.plan(kit.prepare(project, ["default"], ["fr"], guides=["photos-videos"]))[0]
    before = manifest.inputs_hash(project.templates, target, "", manifest.Digests())
    logo = target.edition.brand.logo.file
    stat, text = logo.stat(), logo.read_text(encoding="utf-8")
    changed = text.replace("#FFFFFF", "#FFFFFE", 1)
    assert changed != text and len(changed) == len(text)
    logo.write_text(changed, encoding="utf-8")
    os.utime(logo, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert manifest.inputs_hash(project.templates, target, "", manifest.Digests()) != before
