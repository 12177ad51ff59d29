"""A library of guides: each guide with its own contacts, wording, templates and outputs.

The two demo guides are built by the session's `built` fixture; the starter guide that
`new-guide` writes is built once per session by `starter` below.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pypdfium2
import pytest
import zxingcpp
from pypdf import PdfReader

from conftest import BRANDS, FORMAT_PDFS, FORMAT_PNGS, POSTER_COUNT, ROOT, TODAY, edit
from guidepress import cli, kit, library, models, render, scaffold, validate
from guidepress.problems import InputErrors, RenderError
from pdfs import page_texts

LEAFLET, SOCIAL = "photos-videos", "reseaux-sociaux"
BRAND = "brands/default/brand.yaml"
STARTER = "premiers-pas"


def problems(project: Path, brand: str = "default", langs: list[str] | None = None,
             guides: list[str] | None = None) -> list[str]:
    with pytest.raises(InputErrors) as caught:
        kit.prepare(kit.Project(project), [brand], langs, guides=guides)
    return [str(error) for error in caught.value.errors]


def qr_codes(path: Path, page: int) -> list[str]:
    """Decode every QR code drawn on one page of a PDF, as a phone would."""
    document = pypdfium2.PdfDocument(path.read_bytes())
    try:
        chosen = document[page % len(document)]
        # about 1600 pixels high: an A5 page at 3x, an A3 poster at 1.3x, enough to decode
        image = chosen.render(scale=1600 / chosen.get_height()).to_pil()
    finally:
        document.close()
    return [result.text for result in zxingcpp.read_barcodes(image)]


def one_line(path: Path, page: int) -> str:
    return " ".join(page_texts(path)[page].replace("\u00a0", " ").split())


# --- each guide gets its own contacts and QR code ---------------------------------------

@pytest.mark.parametrize("brand", BRANDS)
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_leaflet_carries_its_own_contacts_not_the_social_guides(built: Path, brand: str,
                                                                    lang: str) -> None:
    full = validate.load_brand(ROOT, brand)
    leaflet = full.settings_for(LEAFLET).contacts
    social = full.settings_for(SOCIAL).contacts or full.contacts
    assert leaflet and {c.email for c in leaflet}.isdisjoint({c.email for c in social})

    booklet = built / brand / LEAFLET / lang / "guide-screen.pdf"
    back = one_line(booklet, -1)
    squashed = back.replace(" ", "")  # a long address may be broken over two lines
    for contact in leaflet:
        assert contact.email in squashed and contact.phone in back
    for contact in social:
        assert contact.email not in squashed and contact.phone not in back
    # No intranet page for the public: the QR code writes to the leaflet's first contact.
    assert qr_codes(booklet, -1) == [f"mailto:{leaflet[0].email}"]
    for poster in sorted((built / brand / LEAFLET / lang).glob("poster-*-screen.pdf")):
        assert qr_codes(poster, 0) == [f"mailto:{leaflet[0].email}"]
        assert leaflet[0].email in one_line(poster, 0).replace(" ", "")

    social_booklet = built / brand / SOCIAL / lang / "guide-screen.pdf"
    assert qr_codes(social_booklet, -1) == [
        full.settings_for(SOCIAL).intranet_url]
    assert social[0].email in one_line(social_booklet, -1)


@pytest.mark.parametrize("brand", BRANDS)
def test_the_web_pages_name_each_guides_qr_target(built: Path, brand: str) -> None:
    full = validate.load_brand(ROOT, brand)
    leaflet = (built / brand / LEAFLET / "fr/web/index.html").read_text(encoding="utf-8")
    social = (built / brand / SOCIAL / "fr/web/index.html").read_text(encoding="utf-8")
    email = full.settings_for(LEAFLET).contacts[0].email
    assert f'alt="Code QR vers {email}"' in leaflet
    assert f'alt="Code QR vers {full.settings_for(SOCIAL).intranet_url}"' in social


def test_wording_of_one_guide_stays_with_it(built: Path) -> None:
    social = one_line(built / "default" / SOCIAL / "fr/guide-screen.pdf", -1)
    leaflet = one_line(built / "default" / LEAFLET / "fr/guide-screen.pdf", -1)
    assert "Qui prévenir ?" in social and "Scannez pour retrouver le guide" in social
    assert "Qui prévenir ?" not in leaflet and "Une question ? Un souci ?" in leaflet
    assert "Scannez pour nous écrire" in leaflet
    poster = one_line(built / "default" / SOCIAL / "fr/poster-stade-screen.pdf", 0)
    assert "Une question ? Un message qui pose problème ?" in poster
    poster = one_line(built / "default" / LEAFLET / "fr/poster-accord-screen.pdf", 0)
    assert "Une photo ou une vidéo vous gêne ? Parlez-en." in poster
    assert "message qui pose problème" not in poster


def test_the_leaflet_is_one_folded_a4_sheet(built: Path) -> None:
    for brand in BRANDS:
        for lang in ("fr", "en"):
            folder = built / brand / LEAFLET / lang
            assert len(PdfReader(folder / "guide-print.pdf").pages) == 4
            assert len(PdfReader(folder / "guide-office.pdf").pages) == 2
            assert sorted(p.name for p in folder.glob("poster-*.pdf")) == [
                "poster-accord-screen.pdf", "poster-accord.pdf",
                "poster-arriere-plan-screen.pdf", "poster-arriere-plan.pdf"]


# --- what a guide needs from a brand ---------------------------------------------------

def test_a_brand_without_the_intranet_page_a_guide_needs_is_told_where(
        scratch_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(scratch_project / BRAND,
         '    intranet_url: "https://intranet.ch-val-fleuri.example/reseaux-sociaux"\n', "")
    expected = (f'{BRAND}:40: guides.reseaux-sociaux.intranet_url: the guide "reseaux-sociaux" '
                "needs an intranet page (for social-media) and this brand gives none; add "
                "guides.reseaux-sociaux.intranet_url, or intranet_url for every guide")
    assert problems(scratch_project, langs=["fr"]) == [expected]
    code = cli.main(["--project", str(scratch_project), "--output",
                     str(scratch_project / "output")])
    assert code == 2
    assert expected in capsys.readouterr().err
    assert not (scratch_project / "output").exists()


def test_a_brand_without_contacts_for_a_guide_is_told_where(scratch_project: Path) -> None:
    text = (scratch_project / BRAND).read_text(encoding="utf-8")
    start, end = text.index("contacts:\n"), text.index("languages:")
    (scratch_project / BRAND).write_text(text[:start] + text[end:], encoding="utf-8")
    # The leaflet has contacts of its own; the social-networks guide relied on the defaults.
    assert problems(scratch_project, langs=["fr"]) == [
        f'{BRAND}:26: guides.reseaux-sociaux.contacts: the guide "reseaux-sociaux" needs '
        "contacts (for social-media) and this brand gives none; add "
        "guides.reseaux-sociaux.contacts, or contacts for every guide"]
    assert [e.where for e in kit.prepare(kit.Project(scratch_project), ["default"], ["fr"],
                                         guides=[LEAFLET])] == ["photos-videos/fr"]


def test_a_brand_that_names_an_unknown_guide_is_told(scratch_project: Path) -> None:
    edit(scratch_project / BRAND, "  photos-videos:\n", "  photo-videos:\n")
    assert problems(scratch_project, langs=["fr"]) == [
        f'{BRAND}:42: guides.photo-videos: there is no guide "photo-videos" under content/; '
        'did you mean "photos-videos"?']


def test_brand_values_are_resolved_per_guide() -> None:
    brand = validate.load_brand(ROOT, "gh-port-lumiere")
    social = brand.for_guide(validate.load_guide_info(ROOT, SOCIAL))
    leaflet = brand.for_guide(validate.load_guide_info(ROOT, LEAFLET))
    assert [c.email for c in social.contacts] == ["reseaux-sociaux@gh-port-lumiere.example"]
    assert [c.email for c in leaflet.contacts] == ["maison-des-usagers@gh-port-lumiere.example",
                                                   "tournages@gh-port-lumiere.example"]
    assert social.intranet_url == "https://portail.gh-port-lumiere.example/charte-numerique"
    assert leaflet.intranet_url is None  # the leaflet asks for no intranet page
    assert social.guides is None and leaflet.guides is None  # no other guide's values


# --- languages ---------------------------------------------------------------------------

def test_a_guide_missing_in_one_language_is_named(scratch_project: Path) -> None:
    shutil.rmtree(scratch_project / "content" / LEAFLET / "en")
    assert problems(scratch_project) == [
        f'content/{LEAFLET}/guide.yaml:8: languages: the guide "{LEAFLET}" is missing in "en": '
        f"there is no folder content/{LEAFLET}/en/"]


def test_a_language_folder_the_guide_does_not_list_is_named(scratch_project: Path) -> None:
    edit(scratch_project / "content" / LEAFLET / "guide.yaml", 'languages: ["fr", "en"]',
         'languages: ["fr"]')
    assert problems(scratch_project, langs=["fr"]) == [
        f'content/{LEAFLET}/guide.yaml:8: languages: content/{LEAFLET}/en/ exists but "en" is '
        "not listed under languages"]
    shutil.rmtree(scratch_project / "content" / LEAFLET / "en")
    assert problems(scratch_project, langs=["en"], guides=[LEAFLET]) == [
        f'content/{LEAFLET}/guide.yaml: languages: the guide "{LEAFLET}" has no edition in "en" '
        "(it is written in: fr)"]
    # Without --lang, a brand builds each guide in the languages it is written in.
    editions = kit.prepare(kit.Project(scratch_project), ["default"], None)
    assert [e.where for e in editions] == ["reseaux-sociaux/fr", "reseaux-sociaux/en",
                                           "photos-videos/fr"]


def test_an_unknown_guide_lists_the_known_ones(scratch_project: Path) -> None:
    assert problems(scratch_project, guides=["violences"]) == [
        'content/violences: there is no guide "violences" under content/ (known guides: '
        "photos-videos, reseaux-sociaux)"]
    assert problems(scratch_project, guides=["photos-vidéos"]) == [
        'content/photos-vidéos: there is no guide "photos-vidéos" under content/; did you mean '
        '"photos-videos"?']


def test_a_leaflet_longer_than_its_pages_is_an_error(scratch_project: Path) -> None:
    section = scratch_project / "content" / LEAFLET / "fr/sections/02-arriere-plan.yaml"
    text = section.read_text(encoding="utf-8")
    section.write_text(text + "".join(
        f'  - type: "paragraph"\n    text: "Un paragraphe de plus, numéro {n}, pour déborder."\n'
        for n in range(30)), encoding="utf-8")
    project = kit.Project(scratch_project)
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=[LEAFLET])
    with pytest.raises(InputErrors) as caught:
        kit.render_target(project, kit.Target(edition))
    (error,) = caught.value.errors
    assert str(error).startswith(f"content/{LEAFLET}/guide.yaml:14: max_pages: the fr booklet "
                                 "has ")
    assert str(error).endswith(" pages, more than the 4 this guide allows; shorten its sections")


# --- templates: brand, then guide, then defaults -----------------------------------------

def test_template_lookup_is_brand_then_guide_then_default(scratch_project: Path) -> None:
    templates = scratch_project / "templates"
    leaflet = scratch_project / "content" / LEAFLET
    (leaflet / "templates/partials/cover.html.j2").write_text(
        '{% extends "!default/partials/cover.html.j2" %}'
        '{% block cover_title %}<p class="leaflet-cover">{{ guide.meta.title }}</p>'
        "{% endblock %}", encoding="utf-8")
    default = validate.load_brand(scratch_project, "default")
    port = validate.load_brand(scratch_project, "gh-port-lumiere")

    def origin(brand: models.Brand, guide: str | None, name: str) -> Path:
        folder = scratch_project / "content" / guide if guide else None
        return render.template_origin(render.template_environment(templates, brand, folder),
                                      name)

    cover = "partials/cover.html.j2"
    assert origin(default, LEAFLET, cover) == (leaflet / "templates" / cover).resolve()
    assert origin(port, LEAFLET, cover) == port.folder / "templates" / cover  # brand wins
    assert origin(default, SOCIAL, cover) == (templates / cover).resolve()
    assert origin(default, None, cover) == (templates / cover).resolve()
    assert origin(default, LEAFLET, "css/guide.css") == \
        (leaflet / "templates/css/guide.css").resolve()
    assert origin(default, SOCIAL, "css/guide.css") == (templates / "css/guide.css").resolve()

    project = kit.Project(scratch_project)
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=[LEAFLET])
    env = kit.tools(project, edition)[0]
    html = render.render_booklet(env, edition.guide, edition.brand, render.Profile("screen")).html
    assert '<p class="leaflet-cover">Photos, vidéos, publications à l’hôpital</p>' in html
    assert 'class="cover-establishment"' in html  # the rest of the default cover stays
    assert 'class="contents"' not in html  # the leaflet's own opening, without contents


# --- outputs per guide: manifest, proof sheet, library page ------------------------------

@pytest.mark.parametrize("brand", BRANDS)
def test_the_library_page_lists_every_output_with_its_thumbnail(built: Path,
                                                                brand: str) -> None:
    files = json.loads((built / brand / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert {name.split("/")[0] for name in files} == {LEAFLET, SOCIAL}
    html = (built / brand / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'<a href="([^"]+)">', html)
    assert sorted(links) == sorted(files)
    assert all((built / brand / link).is_file() for link in links)
    thumbnails = re.findall(r'<img class="library-thumbnail" src="data:image/png;base64,', html)
    booklets_and_posters = {entry["target"] for entry in files.values()
                            if not entry["target"].endswith("web page")}
    booklets_and_posters_per_language = sum(1 + count for count in POSTER_COUNT.values())
    # each poster of the leaflet in each other format the brand chooses is a document too
    formats = (FORMAT_PDFS[brand] // 2 + FORMAT_PNGS[brand]) * POSTER_COUNT[LEAFLET]
    assert len(thumbnails) == len(booklets_and_posters) == \
        2 * (booklets_and_posters_per_language + formats)
    assert not re.search(r"""\bsrc=["'](?!data:)""", html)
    assert "<script" not in html and "<link" not in html
    assert html.count("en CMJN, avec fonds perdus") == \
        2 * (booklets_and_posters_per_language + FORMAT_PDFS[brand] // 2 * POSTER_COUNT[LEAFLET])
    assert html.count("image PNG en RVB") == 2 * FORMAT_PNGS[brand] * POSTER_COUNT[LEAFLET]
    assert html.count("Pour l’imprimante du bureau") == 4
    assert re.search(r"\d+\u00a0ko · 4 page\(s\)", html)  # the leaflet's size and pages
    assert "Les réseaux sociaux à l’hôpital" in html and "Photos, videos and posts" in html


def test_the_library_page_escapes_what_it_shows(built: Path, project: kit.Project) -> None:
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=[LEAFLET])
    env = render.template_environment(project.templates, edition.brand)
    name = f"{LEAFLET}/fr/web/index.html"
    entry = {"bytes": 1234, "pages": None, "profile": "web", "target": "x web page",
             "title": '<script>alert("x")</script>'}
    page = library.index_page(env, edition, built / "default", {name: entry}).decode()
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "<script>" not in page
    with pytest.raises(RenderError, match="refers to 'https://example.org/x.png'"):
        library.verify('<img src="https://example.org/x.png">', set())
    with pytest.raises(RenderError, match="refers to 'other/file.pdf'"):
        library.verify('<a href="other/file.pdf">x</a>', {name})


def test_old_layout_outputs_are_removed_and_the_starter_is_published(starter: Path) -> None:
    assert not (starter / "default/fr").exists()  # left by the layout before guides
    files = json.loads((starter / "default/manifest.json").read_text(encoding="utf-8"))
    assert all(name.startswith(f"{STARTER}/") for name in files["files"])
    assert (starter / "default/index.html").is_file()


# --- new-guide -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A guide made by `new-guide`, built as it is for the default brand in both languages;
    the output folder holds files of the layout before guides, which must go."""
    project = tmp_path_factory.mktemp("starter")
    for name in ("content", "brands", "templates", "printers", "formats"):
        shutil.copytree(ROOT / name, project / name)
    assert cli.main(["new-guide", STARTER, "--title", "Premiers pas à l’hôpital",
                     "--project", str(project)]) == 0
    output = project / "output"
    (output / "default/fr/web").mkdir(parents=True)
    for old in ("guide-print.pdf", "poster-stade.pdf", "web/index.html"):
        (output / "default/fr" / old).write_bytes(b"left by an older build")
    outcome = kit.build(kit.Project(project), ["default"], None, output, today=TODAY,
                        guides=[STARTER])
    assert outcome.problems == []
    return output


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_new_guide_builds_as_it_is_in_both_languages(starter: Path, lang: str) -> None:
    folder = starter / "default" / STARTER / lang
    assert sorted(p.name for p in folder.iterdir()) == [
        "guide-office.pdf", "guide-print.pdf", "guide-screen.pdf", "poster-exemple-screen.pdf",
        "poster-exemple.pdf", "web"]
    text = " ".join(" ".join(page_texts(folder / "guide-screen.pdf")).split())
    text = text.replace("\u00a0", " ").replace("\u202f", " ").lower()
    for words in {"fr": ("Premiers pas à l’hôpital", "Les blocs de texte", "42 %", "Faux",
                         "Première étape", "Du perso au pro", "Direction de la communication",
                         "Une phrase forte, facile à retenir."),
                  "en": ("Premiers pas à l’hôpital", "Text blocks", "42%", "False", "First step",
                         "From personal to professional", "Communications department",
                         "A strong sentence, easy to remember.")}[lang]:
        assert words.lower() in text, words
    assert len(PdfReader(folder / "poster-exemple.pdf").pages) == 1


def test_new_guide_has_one_commented_example_of_every_block_type(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    (tmp_path / "content").mkdir()
    folder = scaffold.new_guide(tmp_path, "exemple", "Un guide", TODAY)
    for lang in ("fr", "en"):
        found = []
        for path in sorted((folder / lang / "sections").glob("*.yaml")):
            lines = path.read_text(encoding="utf-8").splitlines()
            for number, line in enumerate(lines):
                block = re.match(r'^  - type: "([a-z-]+)"', line)
                if block:
                    assert lines[number - 1].lstrip().startswith("#"), f"{path}: {line}"
                    found.append(block.group(1))
        assert sorted(set(found)) == sorted(models.BLOCK_TYPES)
        assert found.count("quote") == 2  # a story and a testimony


@pytest.mark.parametrize("slug, title, message", [
    (SOCIAL, "X", f"content/{SOCIAL} already exists"),
    ("labels", "X", '"labels" cannot be a guide name'),
    ("../evil", "X", '"../evil" cannot be a guide name'),
    ("Mon Guide", "X", '"Mon Guide" cannot be a guide name'),
    ("guide-x", 'Le "guide"', "without double quotes or backslashes"),
    ("guide-x", "x" * 71, "at most 70 characters"),
])
def test_new_guide_refuses_an_existing_or_unsafe_name(scratch_project: Path, slug: str,
                                                      title: str, message: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    before = sorted(p.name for p in (scratch_project / "content").iterdir())
    code = cli.main(["new-guide", slug, "--title", title, "--project", str(scratch_project)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in (scratch_project / "content").iterdir()) == before


def test_check_covers_a_guide_no_brand_enables(scratch_project: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["new-guide", "brouillon", "--title", "Un brouillon",
                     "--project", str(scratch_project)]) == 0
    capsys.readouterr()
    assert cli.main(["check", "--project", str(scratch_project), "--output",
                     str(scratch_project / "output")]) == 0
    edit(scratch_project / "content/brouillon/en/sections/01-premiere-partie.yaml",
         '  - type: "slogan"', '  - type: "callout"')
    assert cli.main(["check", "--project", str(scratch_project), "--output",
                     str(scratch_project / "output")]) == 2
    assert ('content/brouillon/en/sections: the section "premiere-partie" does not have the same '
            "blocks as in content/brouillon/fr") in capsys.readouterr().err


def test_guide_and_all_guides_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["--guide", SOCIAL, "--all-guides"])
    assert "not allowed with argument" in capsys.readouterr().err
    assert cli.parser().parse_args(["--guide", SOCIAL, "--guide", LEAFLET]).guide == [
        SOCIAL, LEAFLET]


# --- the authoring guide -----------------------------------------------------------------

def test_the_authoring_guide_shows_every_block_type_with_a_valid_example_and_a_picture(
) -> None:
    import yaml

    text = (ROOT / "docs/ecrire-un-guide.md").read_text(encoding="utf-8")
    examples = re.findall(r"```yaml\n(- type: .*?)```\n\n!\[[^\]]+\]\((images/[^)]+\.png)\)",
                          text, re.DOTALL)
    found = []
    for example, image in examples:
        (block,) = yaml.safe_load(example)
        section = models.Section.model_validate({"id": "x", "title": "x", "blocks": [block]})
        found.append(section.blocks[0].type)
        assert (ROOT / "docs" / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", image
    assert sorted(set(found)) == sorted(models.BLOCK_TYPES)
    assert (ROOT / "docs/images/affiche.png").is_file()


def test_an_error_in_a_guides_own_template_names_its_file_and_line(scratch_project: Path
                                                                   ) -> None:
    opening = scratch_project / "content" / LEAFLET / "templates/partials/opening.html.j2"
    display = f"content/{LEAFLET}/templates/partials/opening.html.j2"
    opening.write_text("<section>\n{% if guide %}\n", encoding="utf-8")
    assert problems(scratch_project, langs=["fr"], guides=[LEAFLET]) == [
        f"{display}:2: template syntax error: Unexpected end of template. Jinja was looking "
        "for the following tags: 'elif' or 'else' or 'endif'. The innermost block that needs "
        "to be closed is 'if'."]
    opening.write_text("<section>\n{{ guide.meta.slogan }}</section>\n", encoding="utf-8")
    project = kit.Project(scratch_project)
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=[LEAFLET])
    with pytest.raises(InputErrors) as caught:
        kit.render_target(project, kit.Target(edition))
    assert [str(e) for e in caught.value.errors] == [
        f"{display}:2: this template uses a value that does not exist ('GuideMeta object' has "
        "no attribute 'slogan')"]


def test_a_guide_s_own_templates_are_checked_like_a_brand_s(scratch_project: Path) -> None:
    """content/<guide>/templates/ is read with the same rules as a brand's templates/:
    regular files inside the folder, UTF-8, templates that parse, the brand's fonts only."""
    own = scratch_project / "content/photos-videos/templates"
    (own / "partials/opening.html.j2").write_text("{% if %}\n", encoding="utf-8")
    (own / "partials/secret.html.j2").symlink_to("/etc/passwd")
    (own / "css/guide.css").write_text('h1 { font-family: "DejaVu Serif"; }\n',
                                       encoding="utf-8")
    found = problems(scratch_project, guides=["photos-videos"])
    where = "content/photos-videos/templates"
    assert f"{where}/partials/opening.html.j2:1: template syntax error: Expected an expression, " \
           "got 'end of statement block'" in found
    assert any(p.startswith(f"{where}/partials/secret.html.j2: this file is a link to something "
                            "outside its folder") for p in found), found
    assert any(p.startswith(f'{where}/css/guide.css:1: font-family: the font "DejaVu Serif" is '
                            "not one of the brand's fonts") for p in found), found
