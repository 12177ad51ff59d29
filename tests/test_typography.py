"""The typography stage, rule by rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from conftest import ROOT
from guidepress import typography, validate
from guidepress.typography import NBSP, NNBSP, Typesetter

FR = Typesetter("fr", NBSP)
EN = Typesetter("en", NBSP)


@pytest.mark.parametrize("raw, expected", [
    ("Vrai ou faux ?", f"Vrai ou faux{NBSP}?"),
    ("Attention! Oui ; non", f"Attention{NBSP}! Oui{NBSP}; non"),
    ("Il dit : « bonjour »", f"Il dit{NBSP}: «{NBSP}bonjour{NBSP}»"),
    ('Il dit "bonjour"', f"Il dit «{NBSP}bonjour{NBSP}»"),
    ("35 % des 6 mois", f"35{NBSP}% des 6{NBSP}mois"),
    ("1 000 abonnés", f"1{NBSP}000{NBSP}abonnés"),
    ("l'hôpital...", "l’hôpital…"),
    ("Appelez le 05 56 79 56 79 à 14:30", "Appelez le 05 56 79 56 79 à 14:30"),
    ("Voir https://a.fr/x?y=1 ou moi@ch.fr !", f"Voir https://a.fr/x?y=1 ou moi@ch.fr{NBSP}!"),
])
def test_french_rules(raw: str, expected: str) -> None:
    assert FR.text(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("True or false ?", "True or false?"),
    ('It\'s "public"...', "It’s \u201cpublic\u201d…"),
    ("35% in 6 months", f"35% in 6{NBSP}months"),
])
def test_english_rules(raw: str, expected: str) -> None:
    assert EN.text(raw) == expected


def test_markdown_is_inline_only_and_raw_html_is_escaped() -> None:
    html = FR.rich("**Je** respecte *toujours* [la charte](https://sante.gouv.fr) "
                   "<script>x</script> vrai ?")
    assert html == ('<strong>Je</strong> respecte <em>toujours</em> '
                    '<a href="https://sante.gouv.fr">la charte</a> '
                    f"&lt;script&gt;x&lt;/script&gt; vrai{NBSP}?")


def test_narrow_space_only_where_every_brand_font_has_it(scratch_project: Path) -> None:
    atkinson = validate.load_brand(ROOT, "default")
    assert typography.typesetter_for("fr", atkinson).narrow_space == NBSP
    # The same font with a U+202F glyph added: now the narrow space is used.
    font = TTFont(atkinson.fonts.body.files.regular)
    for table in font["cmap"].tables:
        if table.isUnicode():
            table.cmap[0x202F] = table.cmap[0x20]
    folder = scratch_project / "brands/default"
    font.save(folder / "Narrow-Regular.ttf")
    brand_file = folder / "brand.yaml"
    brand_file.write_text(brand_file.read_text(encoding="utf-8").replace(
        'package: "fontpkg_atkinson_hyperlegible"', 'files:\n      regular: "Narrow-Regular.ttf"'),
        encoding="utf-8")
    narrow = validate.load_brand(scratch_project, "default")
    assert typography.typesetter_for("fr", narrow).narrow_space == NNBSP
    assert typography.typesetter_for("fr", narrow).text("Oui ?") == f"Oui{NNBSP}?"


def test_typesetting_reaches_optional_and_list_fields() -> None:
    brand = validate.load_brand(ROOT, "default")
    guide = validate.load_guide(ROOT, "fr", brand, "reseaux-sociaux")
    typeset = typography.typeset(guide, typography.typesetter_for("fr", brand))
    kickers = [s.kicker for s in typeset.sections if s.kicker and "?" in s.kicker]
    assert kickers and all(f"{NBSP}?" in k for k in kickers)
    points = [p for poster in typeset.posters for p in poster.points if "?" in p]
    assert points and all(" ?" not in p for p in points)
