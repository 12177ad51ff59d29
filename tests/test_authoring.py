"""Starting a brand without reading code, and the QR codes that lead to the intranet."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import POSTER_COUNT, TODAY
from guidepress import cli, kit, render


def test_new_brand_is_ready_to_build(scratch_project: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["new-brand", "chu-exemple", "--name", "CHU de l’Exemple-sur-Mer",
                     "--project", str(scratch_project)])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("Created brands/chu-exemple/ with brand.yaml and a placeholder")
    assert "python build.py check --brand chu-exemple" in out
    folder = scratch_project / "brands/chu-exemple"
    lines = (folder / "brand.yaml").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        key = re.match(r"^\s*(- )?([a-z_]+):", line)
        if key and key.group(2) not in ("fr", "en"):
            assert lines[number - 1].strip().startswith("#"), f"no comment above: {line}"
    editions = kit.prepare(kit.Project(scratch_project), ["chu-exemple"], None)
    # Without a guides: section, a brand publishes every guide, with its default values.
    assert [e.where for e in editions] == ["photos-videos/fr", "photos-videos/en",
                                           "reseaux-sociaux/fr", "reseaux-sociaux/en"]
    assert editions[0].brand.name == "CHU de l’Exemple-sur-Mer"
    # And it builds, as the next steps say: every output of one language, checked.
    output = scratch_project / "output"
    outcome = kit.build(kit.Project(scratch_project), ["chu-exemple"], ["fr"], output,
                        today=TODAY, guides=["reseaux-sociaux"])
    # the booklet, the web page and the posters
    assert outcome.problems == []
    assert outcome.built == outcome.targets == 2 + POSTER_COUNT["reseaux-sociaux"]
    folder = output / "chu-exemple/reseaux-sociaux/fr"
    assert len(list(folder.glob("poster-*.pdf"))) == 2 * len(editions[2].guide.posters)
    cover = PdfReader(folder / "guide-screen.pdf").pages[0].extract_text()
    assert "CHU de l’Exemple-sur-Mer" in " ".join(cover.split())
    assert (output / "chu-exemple/proof.pdf").is_file()


@pytest.mark.parametrize("slug, name, message", [
    ("default", "X", '"default" cannot be a brand name'),
    ("gh-port-lumiere", "X", "brands/gh-port-lumiere already exists"),
    ("../evil", "X", '"../evil" cannot be a brand name'),
    ("Mon CHU", "X", '"Mon CHU" cannot be a brand name'),
    ("chu-x", 'CHU "x"', "without double quotes or backslashes"),
])
def test_new_brand_refuses_an_existing_or_unsafe_slug(scratch_project: Path, slug: str,
                                                      name: str, message: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    before = sorted(p.name for p in (scratch_project / "brands").iterdir())
    code = cli.main(["new-brand", slug, "--name", name, "--project", str(scratch_project)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in (scratch_project / "brands").iterdir()) == before


def test_qr_code_points_to_the_intranet_in_black_ink_for_print(project: kit.Project) -> None:
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    env = render.template_environment(project.templates, edition.brand)
    poster = edition.guide.posters[0]
    for profile, ink in ((render.Profile("print", edition.ticket), "device-cmyk(0 0 0 1)"),
                         (render.Profile("screen"), edition.brand.colours.text)):
        html = render.render_poster(env, edition.guide, edition.brand, poster, profile).html
        (source, alt), = re.findall(r'<img class="qr-code" src="([^"]+)" alt="([^"]+)"', html)
        assert alt == f"Code QR vers {edition.brand.intranet_url}"
        svg = base64.b64decode(source.removeprefix("data:image/svg+xml;base64,")).decode()
        assert f'stroke="{ink}"' in svg


@pytest.mark.parametrize("brand", ["default", "gh-port-lumiere"])
def test_proof_sheet_shows_every_output_and_a_signature_box(built: Path, brand: str) -> None:
    reader = PdfReader(built / brand / "proof.pdf")
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Épreuve à valider" in text and "Bon à tirer" in text and "Signature" in text
    outputs = sorted(p.relative_to(built / brand).as_posix()
                     for p in [*(built / brand).glob("*/*/*.pdf"),
                               *(built / brand).glob("*/*/*.png")]
                     if not p.name.endswith(("-screen.pdf", "office.pdf")))
    # both guides, both languages: the print booklet and every poster; and each poster of
    # photos-videos in the print formats and pictures the brand chooses
    formats = {"default": 3, "gh-port-lumiere": 5}[brand]
    assert len(outputs) == 2 * (sum(1 + count for count in POSTER_COUNT.values())
                                + formats * POSTER_COUNT["photos-videos"])
    flat = re.sub(r"\s", "", text)  # long names wrap in the proof's columns
    for name in outputs:
        assert name in flat
    images = sum(len([x for x in (page["/Resources"].get("/XObject") or {}).values()
                      if x.get_object().get("/Subtype") == "/Image"])
                 for page in reader.pages)
    booklet_pages = sum(len(PdfReader(path).pages)
                        for path in (built / brand).glob("*/*/guide-print.pdf"))
    assert images >= booklet_pages + len(outputs) - 2
    # Every quoted figure with its date and review, in its edition's words.
    flat = " ".join(text.split())
    assert flat.count("(TNS-Sofres, chiffre de 2012, revu en novembre 2026)") == 1
    assert flat.count("(TNS-Sofres, figure from 2012, reviewed in November 2026)") == 1
