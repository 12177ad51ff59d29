"""Preflight checks, each fed a case that must fail."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import pytest
import weasyprint
from PIL import Image

from conftest import ROOT
from guidepress import models, preflight, validate


def test_contrast_ratio_matches_wcag_reference_values() -> None:
    assert models.contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert models.contrast_ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)


def test_demo_brands_pass_contrast_and_a_pale_accent_fails() -> None:
    # A brand that fails is refused at validation (tests/test_hostile_inputs.py, point 15);
    # preflight keeps the same check for the record, fed a pale accent directly here.
    for slug in ("default", "gh-port-lumiere"):
        report = preflight.Report(slug)
        preflight.check_brand(validate.load_brand(ROOT, slug), report)
        assert report.findings == []
    brand = validate.load_brand(ROOT, "default")
    pale = brand.model_copy(update={"colours": brand.colours.model_copy(
        update={"accent": "#F4A261"})})
    report = preflight.Report("default")
    preflight.check_brand(pale, report)
    messages = [str(f) for f in report.errors]
    assert ("ERROR   brands/default/brand.yaml colours.accent on colours.paper: contrast 2.06:1 "
            "is below 4.5:1 (WCAG AA) for part kickers; darken one of the two colours"
            in messages)
    assert any("colours.on_accent on colours.accent" in m for m in messages)


def test_old_statistics_are_named_with_a_configurable_age() -> None:
    brand = validate.load_brand(ROOT, "default")
    guide = validate.load_guide(ROOT, "fr", brand, "reseaux-sociaux")
    report = preflight.Report("default")
    # The demo's figures were reviewed in November 2026: six years later they are old.
    preflight.check_statistics(guide, report, 5, datetime.date(2032, 11, 29))
    assert len(report.findings) == 6  # five in sections, one on a poster
    assert str(report.findings[0]) == (
        'WARNING content/reseaux-sociaux/fr section "idees-recues" blocks (1st).statistics (1st): '
        "48 % (TNS-Sofres, chiffre de 2012, revu en novembre 2026) was reviewed 6 years ago "
        "(limit 5); update the figure, or check it still holds and write the month of that "
        "check in `reviewed:`")
    quiet = preflight.Report("default")
    preflight.check_statistics(guide, quiet, 20, datetime.date(2032, 11, 29))
    assert quiet.findings == []


def _pdf_with_image(tmp_path: Path, pixels: int, width_cm: float) -> bytes:
    Image.new("RGB", (pixels, pixels), "#1F4E79").save(tmp_path / "photo.png")
    html = f'<img src="photo.png" style="width: {width_cm}cm">'
    return weasyprint.HTML(string=html, base_url=str(tmp_path) + "/").write_pdf()


def test_low_resolution_image_is_an_error(tmp_path: Path) -> None:
    brand = validate.load_brand(ROOT, "default")
    ticket = validate.load_printer(ROOT, "default")
    sharp, blurry = preflight.Report("x"), preflight.Report("x")
    preflight.check_document("fr/guide-screen.pdf", _pdf_with_image(tmp_path, 600, 2.54),
                             brand, ticket, sharp)
    preflight.check_document("fr/poster-test.pdf", _pdf_with_image(tmp_path, 600, 2.54),
                             brand, ticket, sharp)
    assert not any("dpi" in str(f) for f in sharp.findings)
    preflight.check_document("fr/poster-test.pdf", _pdf_with_image(tmp_path, 100, 2.54),
                             brand, ticket, blurry)
    assert any("an image is printed at 100 dpi, below the 300 dpi" in str(f)
               for f in blurry.errors)


def test_total_ink_is_measured_inside_the_bleed_box() -> None:
    # The page background runs into the bleed; the trim, and 0.5 mm around it, are light.
    css = ("@page { size: 50mm 50mm; margin: 0; bleed: 3mm; background: BLEED } "
           "body { margin: 0 } div { position: absolute; top: -0.5mm; left: -0.5mm; "
           "width: 51mm; height: 51mm; background: device-cmyk(0.5 0.5 0 0) }")
    full = weasyprint.HTML(string="<style>" + css.replace("BLEED", "device-cmyk(1 1 1 1)")
                           + "</style><div></div>").write_pdf()
    assert preflight.total_ink(full) == pytest.approx(400, abs=1)
    light = weasyprint.HTML(string="<style>" + css.replace("BLEED", "device-cmyk(0.5 0.5 0 0)")
                            + "</style><div></div>").write_pdf()
    assert preflight.total_ink(light) == pytest.approx(100, abs=1)


def test_a_language_the_guide_lacks_is_named_in_the_report(tmp_path: Path) -> None:
    """The default brand publishes in French and English; a guide written in French only
    gets a French edition, and the report says the English one is missing, in the
    interface's words (it said nothing before)."""
    from conftest import copy_project, edit
    from guidepress import i18n, kit

    project = copy_project(tmp_path)
    edit(project / "content/photos-videos/guide.yaml", 'languages: ["fr", "en"]',
         'languages: ["fr"]')
    shutil.rmtree(project / "content/photos-videos/en")
    editions = kit.prepare(kit.Project(project), ["default"], None)
    assert sorted(e.where for e in editions) == ["photos-videos/fr", "reseaux-sociaux/en",
                                                 "reseaux-sociaux/fr"]
    today = datetime.date(2026, 11, 29)
    warnings = [str(f) for f in kit.brand_reports(editions, 5, today)["default"].findings
                if f.subject.endswith("guide.yaml languages")]
    assert warnings == ["WARNING content/photos-videos/guide.yaml languages: this guide is "
                        "written in French only: the establishment also publishes in English, "
                        "but gets no English edition of this guide"]
    # asked for French alone, nothing is missing
    assert not [f for f in kit.brand_reports(editions, 5, today, ["fr"])["default"].findings
                if f.subject.endswith("languages")]
    i18n.set_language("fr")
    try:
        french = [str(f) for f in kit.brand_reports(editions, 5, today)["default"].findings
                  if f.subject.endswith("guide.yaml languages")]
    finally:
        i18n.set_language("en")
    assert french == ["ATTENTION content/photos-videos/guide.yaml languages: ce guide "
                      "n’existe qu’en français : l’établissement publie aussi en anglais, mais "
                      "n’aura pas d’édition de ce guide en anglais"]
