"""Bad input: every problem reported at once, by file, line and key, and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import edit, overfill_stade_poster, problems
from guidepress import cli, kit, render, validate
from guidepress.problems import InputErrors


BRAND = "brands/default/brand.yaml"
SECRET = "content/reseaux-sociaux/fr/sections/05-secret.yaml"


BRAND_CASES = [
    ('primary: "#1F4E79"', "primary: #1F4E79",
     f'{BRAND}:10: colours.primary: is empty. A colour starting with # must be in quotes, '
     'like "#1B4F8A" (without quotes YAML reads # as a comment)'),
    ('primary: "#1F4E79"', 'primary: "#12"',
     f'{BRAND}:10: colours.primary: "#12" is not a colour (use #RRGGBB, for example "#1B4F8A")'),
    ("colours:", "colors:",
     f'{BRAND}:9: colors: unknown key; did you mean "colours"?'),
    ("colours:", "colors:",
     f"{BRAND}:2: colours: this key is required but missing"),
    ('tint: "#E7EFF7"', 'tint: "#E7EFF7"\n  highlight: "#FFFFFF"',
     f"{BRAND}:17: colours.highlight: unknown key; the keys allowed here are: primary, "
     "on_primary, accent, on_accent, text, paper, tint"),
    ('short_name: "CH du Val-Fleuri"', 'short_name: "CH du Val-Fleuri"\nshort_name: "CHVF"',
     f"{BRAND}:4: short_name: this key appears twice (first on line 3); keep only one"),
    ('printer: "default"', 'printer: "imprimerie-du-port"',
     "printers/imprimerie-du-port.yaml: there is no printer ticket 'imprimerie-du-port' "
     "(known: default, ghostscript)"),
    ('file: "logo.svg"', 'file: "logo-2026.svg"',
     f'{BRAND}:5: logo.file: the file "logo-2026.svg" was not found in the brand folder'),
    ('file: "logo.svg"', 'file: "../../content/reseaux-sociaux/fr/guide.yaml"',
     f'{BRAND}:5: logo.file: "../../content/reseaux-sociaux/fr/guide.yaml" points outside the '
     "brand folder"),
    ('phone: "01 99 00 12 34"', 'phone: "appelez-nous"',
     f'{BRAND}:25: contacts (1st).phone: "appelez-nous" is not valid: write a phone number with '
     'digits and spaces, like "05 56 00 00 00"'),
    ('intranet_url: "https://', 'intranet_url: "http://',
     f'{BRAND}:41: guides.reseaux-sociaux.intranet_url: "http://intranet.ch-val-fleuri.example/'
     'reseaux-sociaux" is not an allowed web address (use https://…, mailto:… or tel:…)'),
    ('    phone: "01 99 00 12 34"', '\tphone: "01 99 00 12 34"',
     f"{BRAND}:25: this line is indented with a tab; YAML needs spaces for indentation\n"
     '    25 |  phone: "01 99 00 12 34"\n'
     "       | ^"),
]

PRINTER = "printers/default.yaml"
PRINTER_CASES = [
    ("bleed_mm: 3", 'bleed_mm: "trois"', f'{PRINTER}:4: bleed_mm: "trois" should be a number'),
    ("crop_marks: true", "crop_marks: peut-être",
     f'{PRINTER}:5: crop_marks: "peut-être" should be true or false'),
    ('pdf_variant: "pdf/x-4"', 'pdf_variant: "pdf/x-9"',
     f"{PRINTER}:6: pdf_variant: \"pdf/x-9\" is not allowed here; use one of: 'pdf/x-1a', "
     "'pdf/x-3' or 'pdf/x-4'"),
    ('icc_profile: "generated/fogra39.icc"', 'icc_profile: "fogra51.icc"',
     f'{PRINTER}:9: icc_profile: the ICC profile "fogra51.icc" was not found'),
    ('icc_profile: "generated/fogra39.icc"', 'icc_profile: "/etc/passwd"',
     f'{PRINTER}:9: icc_profile: "/etc/passwd" must be in the printers/ folder or in '
     "/usr/share/color/icc"),
    ("max_ink_percent: 300", "max_ink_percent: 1000",
     f'{PRINTER}:15: max_ink_percent: "1000" is out of range (it should be at most 400)'),
]

CONTENT_CASES = [
    ('    commitment: "Je ne parle', '    comitment: "Je ne parle',
     f'{SECRET}:7: blocks (1st).comitment: unknown key; did you mean "commitment"?'),
    ('  - type: "rule"', '  - type: "regle"',
     f'{SECRET}:6: blocks (1st): "regle" is not a known block type; use one of: paragraph, rule, '
     "quote, statistic, myth, links, network-map, chain, callout, contacts, slogan"),
    ('id: "secret"', 'id: "Secret Médical"',
     f'{SECRET}:1: id: "Secret Médical" is not valid: use lowercase letters, digits and dashes, '
     'like "secret-medical"'),
    ('  - type: "rule"', '  - type: "paragraph"\n    text: "Une flèche → ici"\n  - type: "rule"',
     f'{SECRET}:7: blocks (1st).text: the character "→" (U+2192) is not in the brand\'s font '
     "Atkinson Hyperlegible; replace it"),
    ('title: "Le secret médical et professionnel s’applique aussi en ligne"', "title:",
     f"{SECRET}:3: title: is empty; write a value after the colon"),
]


@pytest.mark.parametrize("file, old, new, expected",
                         [(BRAND, *case) for case in BRAND_CASES]
                         + [(PRINTER, *case) for case in PRINTER_CASES]
                         + [(SECRET, *case) for case in CONTENT_CASES])
def test_error_is_named_exactly(scratch_project: Path, file: str, old: str, new: str,
                                expected: str) -> None:
    edit(scratch_project / file, old, new)
    assert expected in problems(scratch_project)


def test_wrong_type_and_markdown_link(scratch_project: Path) -> None:
    edit(scratch_project / "content/reseaux-sociaux/fr/sections/03-idees-recues.yaml",
         "year: 2012", 'year: "deux mille douze"')
    edit(scratch_project / "content/reseaux-sociaux/fr/guide.yaml", 'purpose: "Il aide',
         'purpose: "[Voir le site](http://example.org) Il aide')
    found = problems(scratch_project)
    assert ('content/reseaux-sociaux/fr/sections/03-idees-recues.yaml:19: '
            'blocks (1st).statistics (1st).source.year: "deux mille douze" should be a whole '
            "number") in found
    assert ('content/reseaux-sociaux/fr/guide.yaml:4: purpose: "http://example.org" is not an '
            "allowed web address (use https://…, mailto:… or tel:…)") in found


def test_all_problems_of_all_files_come_in_one_run(scratch_project: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    edit(scratch_project / BRAND, 'accent: "#B23A0B"', 'accent: "#B23"')
    edit(scratch_project / SECRET, 'id: "secret"', 'id: "secret"\nauthor: "moi"')
    edit(scratch_project / "content/reseaux-sociaux/fr/posters.yaml", 'id: "stade"',
         'id: "blouse-blanche"')
    output = scratch_project / "output"
    previous = output / "default/reseaux-sociaux/fr/guide-print.pdf"
    previous.parent.mkdir(parents=True)
    previous.write_bytes(b"%PDF- previous good build")

    code = cli.main(["--project", str(scratch_project), "--output", str(output)])

    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines()[0] == "3 problems in the input; nothing was written:"
    assert f'{BRAND}:12: colours.accent: "#B23" is not a colour' in err
    assert f"{SECRET}:2: author: unknown key" in err
    assert ('content/reseaux-sociaux/fr/posters.yaml:9: posters (2nd).id: "blouse-blanche" is '
            "used by two posters" in err)
    assert sorted(p.relative_to(output).as_posix() for p in output.rglob("*")) == \
        ["default", "default/reseaux-sociaux", "default/reseaux-sociaux/fr",
         "default/reseaux-sociaux/fr/guide-print.pdf"]
    assert previous.read_bytes() == b"%PDF- previous good build"


def test_poster_too_long_names_the_poster_and_field(scratch_project: Path) -> None:
    path = scratch_project / "content/reseaux-sociaux/fr/posters.yaml"
    overfill_stade_poster(path)
    project = kit.Project(scratch_project)
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    with pytest.raises(InputErrors) as caught:
        kit.render_edition(project, edition)
    (error,) = caught.value.errors
    assert error.file == "content/reseaux-sociaux/fr/posters.yaml"
    assert (error.line, error.key) == (10, "posters (1st).statistic")
    assert error.message == ('the poster "stade" does not fit on one A3 page: `statistic` and '
                             "what follows run onto a second page; shorten the headline or the "
                             "points")


def test_unknown_brand_lists_the_known_ones(scratch_project: Path) -> None:
    assert problems(scratch_project, brand="chu-inconnu") == [
        "brands/chu-inconnu: there is no brand 'chu-inconnu' "
        "(known brands: default, gh-port-lumiere)"]


def test_brand_template_overrides_the_default(scratch_project: Path) -> None:
    templates = scratch_project / "templates"
    brand = validate.load_brand(scratch_project, "gh-port-lumiere")
    env = render.template_environment(templates, brand)
    assert render.template_origin(env, "partials/cover.html.j2") == \
        brand.folder / "templates/partials/cover.html.j2"
    assert render.template_origin(env, "blocks/rule.html.j2") == \
        (templates / "blocks/rule.html.j2").resolve()
    default_env = render.template_environment(templates, validate.load_brand(scratch_project,
                                                                             "default"))
    assert render.template_origin(default_env, "partials/cover.html.j2") == \
        (templates / "partials/cover.html.j2").resolve()


def test_a_new_override_wins_and_extends_the_default(scratch_project: Path) -> None:
    brand_dir = scratch_project / "brands/default"
    (brand_dir / "templates/blocks").mkdir(parents=True)
    (brand_dir / "templates/blocks/slogan.html.j2").write_text(
        '{% extends "!default/blocks/slogan.html.j2" %}', encoding="utf-8")
    (brand_dir / "templates/blocks/rule.html.j2").write_text(
        '<div class="house-rule">{{ block.commitment }}</div>', encoding="utf-8")
    project = kit.Project(scratch_project)
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    env = render.template_environment(project.templates, edition.brand)
    html = render.render_booklet(env, edition.guide, edition.brand, render.Profile("screen")).html
    assert html.count('class="house-rule"') == sum(
        block.type == "rule" for s in edition.guide.sections for block in s.blocks)
    assert 'class="rule"' not in html
    assert 'class="slogan"' in html


def test_an_item_missing_in_one_language_is_named(scratch_project: Path) -> None:
    guide = scratch_project / "content/reseaux-sociaux"
    (guide / "en/sections/05-secret.yaml").unlink()
    edit(guide / "en/posters.yaml", 'id: "stade"', 'id: "stadium"')
    edit(guide / "en/sections/09-stade.yaml", '  - type: "slogan"', '  - type: "callout"')
    found = problems(scratch_project, langs=["fr", "en"])
    assert found == [
        'content/reseaux-sociaux/en/posters.yaml: the poster "stade" of '
        "content/reseaux-sociaux/fr is missing in this language",
        'content/reseaux-sociaux/en/sections: the section "secret" of content/reseaux-sociaux/fr '
        "is missing in this language",
        'content/reseaux-sociaux/en/sections: the section "stade" does not have the same blocks '
        "as in content/reseaux-sociaux/fr: paragraph, callout instead of paragraph, slogan",
        'content/reseaux-sociaux/fr/posters.yaml: the poster "stadium" of '
        "content/reseaux-sociaux/en is missing in this language",
    ]


def test_a_missing_label_is_named(scratch_project: Path) -> None:
    edit(scratch_project / "templates/labels/en.yaml", 'notes_title: "Notes"\n', "")
    assert problems(scratch_project, langs=["en"]) == [
        "templates/labels/en.yaml:3: notes_title: this key is required but missing"]


def test_brand_text_missing_in_a_built_language_is_named(scratch_project: Path) -> None:
    edit(scratch_project / BRAND, '      en: "Monday to Friday, 9 am to 5 pm"\n', "")
    assert problems(scratch_project, langs=["fr"]) == [
        f"{BRAND}:27: contacts (1st).hours: the text in en is missing (the brand builds fr, en)"]
