"""Formats as data (issue 16, point 5): formats/<name>.yaml, chosen by guides and brands.

The demo brands build every format between them, on the photos-videos leaflet: the kit
built once per session (`built`) is read here; bad inputs are validated or rendered in
scratch copies, one target at a time.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import struct
import tarfile
from io import BytesIO
from pathlib import Path

import pdfplumber
import pikepdf
import pytest
from PIL import Image, ImageCms

from guidepress import compare, i18n, kit, manifest, proof, queue, render, snapshot, validate
from guidepress.preflight import Report
from guidepress.plan import plan
from guidepress.problems import InputErrors
from conftest import ROOT, TODAY, edit, problems

GUIDE = "photos-videos"
MM = 72 / 25.4
# every format, the demo brand that builds it, and its size (mm for print, px for pictures)
FORMATS = {
    "affiche-a3": ("default", (297, 420)),
    "affiche-a2": ("gh-port-lumiere", (420, 594)),
    "affiche-a1": ("gh-port-lumiere", (594, 841)),
    "flyer-a4": ("default", (210, 297)),
    "carte-carree": ("default", (1080, 1080)),
    "carte-portrait": ("gh-port-lumiere", (1080, 1350)),
    "carte-paysage": ("gh-port-lumiere", (1200, 675)),
    "diapo": ("default", (1920, 1080)),
    "bandeau-mail": ("gh-port-lumiere", (600, 200)),
}
PRINT = ("affiche-a2", "affiche-a1", "flyer-a4")
PICTURES = ("carte-carree", "carte-portrait", "carte-paysage", "diapo", "bandeau-mail")
HEADLINES = {"fr": "Avant de filmer quelqu’un, je lui demande son accord",
             "en": "Before I film anyone, I ask for their permission"}


def test_every_format_file_is_listed_here_and_built_by_a_demo_brand(built: Path) -> None:
    assert validate.list_formats(ROOT) == sorted(FORMATS)
    for name, (brand, _size) in FORMATS.items():
        stem = "poster" if name == "affiche-a3" else name
        for lang in ("fr", "en"):
            folder = built / brand / GUIDE / lang
            assert list(folder.glob(f"{stem}-accord.*")), (name, lang)
    # a brand builds only what it chooses: the default brand has no A2 poster
    assert not list(built.glob(f"default/{GUIDE}/*/affiche-a2-*"))
    assert not list(built.glob(f"gh-port-lumiere/{GUIDE}/*/flyer-a4-*"))


@pytest.mark.parametrize("name", PICTURES)
def test_pictures_have_exactly_their_pixels_in_srgb(built: Path, name: str) -> None:
    brand, size = FORMATS[name]
    for path in sorted((built / brand / GUIDE).glob(f"*/{name}-*.png")):
        with Image.open(path) as image:
            assert image.size == size and image.mode == "RGB", path
            profile = ImageCms.ImageCmsProfile(BytesIO(image.info["icc_profile"]))
            assert "sRGB" in ImageCms.getProfileDescription(profile)
            # dated once for all, not at the second it was made: the same page gives the
            # same bytes at every build (the date made every build's pictures differ)
            header_date = image.info["icc_profile"][24:36]  # read raw: Pillow 10 misreads January
            assert header_date == struct.pack(">6H", 2000, 1, 1, 0, 0, 0), path
            # the message is drawn, not an empty sheet: white text on the brand colour
            colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
            assert len(colours) > 50 and max(colours)[0] < size[0] * size[1] * 0.9


@pytest.mark.parametrize("name", PRINT)
def test_print_formats_have_their_sheet_bleed_marks_and_fonts(built: Path, name: str) -> None:
    brand, (width, height) = FORMATS[name]
    sides = 2 if name == "flyer-a4" else 1
    for lang in ("fr", "en"):
        printed = built / brand / GUIDE / lang / f"{name}-accord.pdf"
        with pikepdf.open(printed) as document:
            assert len(document.pages) == sides
            assert "/OutputIntents" in document.Root  # PDF/X, as the A3 poster
            page = document.pages[0]
            trim = [round(float(v) / MM, 1) for v in page.trimbox]
            bleed = [round(float(v) / MM, 1) for v in page.bleedbox]
            media = [round(float(v) / MM, 1) for v in page.mediabox]
            assert trim == [0, 0, width, height]
            assert bleed == [-3, -3, width + 3, height + 3]  # the ticket's 3 mm
            assert media == [-8, -8, width + 8, height + 8]  # the slug, for the marks
        with pikepdf.open(printed.with_name(f"{name}-accord-screen.pdf")) as screen:
            box = [round(float(v) / MM, 1) for v in screen.pages[0].mediabox]
            assert box == [0, 0, width, height] and "/OutputIntents" not in screen.Root
        with pdfplumber.open(printed) as document:
            text = " ".join((page.extract_text() or "") for page in document.pages)
            fonts = {char["fontname"] for page in document.pages for char in page.chars}
        assert " ".join(HEADLINES[lang].split()) in " ".join(text.split())
        assert fonts and all("+" in font for font in fonts)  # embedded subsets


def test_a_posters_type_follows_its_viewing_distance(built: Path) -> None:
    """An A3 read from 3 m sets its smallest lines at 28 pt; A2 from 4 m and A1 from 6 m
    at 28 × 4/3 and 28 × 2: the same proportions, the type of the viewing distance."""
    smallest = {}
    for name in ("affiche-a3", "affiche-a2", "affiche-a1"):
        stem = "poster" if name == "affiche-a3" else name
        path = built / "gh-port-lumiere" / GUIDE / "fr" / f"{stem}-accord.pdf"
        with pdfplumber.open(path) as document:
            smallest[name] = min(char["size"] for char in document.pages[0].chars)
    assert smallest["affiche-a3"] == pytest.approx(28, abs=0.1)
    assert smallest["affiche-a2"] == pytest.approx(28 * 4 / 3, abs=0.1)
    assert smallest["affiche-a1"] == pytest.approx(56, abs=0.1)
    a2 = validate.load_format(ROOT, "affiche-a2")
    assert (a2.viewing_distance_m, a2.scale) == (4, pytest.approx(4 / 3))
    assert "--gp-u: 1.3333" in render.format_stylesheet(a2)
    assert "size: 420mm 594mm" in render.format_stylesheet(a2)


def test_the_flyer_has_the_message_on_its_front_and_the_contacts_on_its_back(
        built: Path) -> None:
    folder = built / "default" / GUIDE / "fr"
    with pdfplumber.open(folder / "flyer-a4-accord.pdf") as document:
        front, back = (" ".join((page.extract_text() or "").split())
                       for page in document.pages)
        smallest = min(char["size"] for page in document.pages for char in page.chars)
    assert HEADLINES["fr"] in front and "Une question ? Un souci ?" not in front
    assert "Une question ? Un souci ?" in back and "01 99 00 12 50" in back
    assert HEADLINES["fr"] not in back
    assert smallest >= 28 * 0.7 - 0.1  # read in the hand: 0.7 of the A3 poster's type


def test_pictures_text_is_large_enough_for_their_screen(built: Path) -> None:
    """The smallest line of a card, 28 pt on the A3 poster, becomes at least 24 px on a
    card read on a phone and 33 px on a waiting-room slide: measured on the laid-out page
    that the picture is drawn from."""
    for name, least_px in (("carte-carree", 29), ("carte-portrait", 30), ("diapo", 33),
                           ("carte-paysage", 23)):
        form = validate.load_format(ROOT, name)
        assert 28 * form.scale * 96 / 72 >= least_px, name


def test_the_manifest_library_and_proof_sheet_know_each_format(built: Path) -> None:
    entries = json.loads((built / "gh-port-lumiere" / "manifest.json").read_text())["files"]
    card = entries[f"{GUIDE}/fr/carte-portrait-accord.png"]
    assert card["format"] == {"name": "carte-portrait", "kind": "card", "output": "png",
                              "label": {"fr": "Carte portrait pour les réseaux sociaux",
                                        "en": "Portrait social-media card"}}
    assert (card["profile"], card["pages"]) == ("picture", None)
    assert entries[f"{GUIDE}/fr/affiche-a1-accord.pdf"]["profile"] == "print"
    library = (built / "gh-port-lumiere" / "index.html").read_text()
    assert "Portrait social-media card" in library or \
        "Carte portrait pour les réseaux sociaux" in library
    assert f'href="{GUIDE}/fr/bandeau-mail-accord.png"' in library
    assert "Pour le haut d’un e-mail ou d’une lettre d’information" in library
    wheres = [f"{GUIDE}/fr", f"{GUIDE}/en"]
    shown = {item.name: item for item in
             proof.items(built / "gh-port-lumiere", wheres, Report("gh-port-lumiere"))}
    assert {f"{GUIDE}/fr/affiche-a1-accord.pdf", f"{GUIDE}/fr/carte-paysage-accord.png",
            f"{GUIDE}/en/bandeau-mail-arriere-plan.png"} <= set(shown)
    assert not any(name.endswith("-screen.pdf") for name in shown)
    banner = shown[f"{GUIDE}/fr/bandeau-mail-accord.png"]
    assert banner.pages == 1 and banner.thumbnails[0].startswith("data:image/png;base64,")


def test_formats_are_in_the_snapshot_and_the_inputs_hash(project: kit.Project,
                                                         scratch_project: Path) -> None:
    """A queue worker has only the snapshot: the format files travel in it, and a change
    to a format rebuilds that format's outputs, and no other."""
    (edition, *_rest) = kit.prepare(project, ["gh-port-lumiere"], ["fr"], guides=[GUIDE])
    with tarfile.open(fileobj=BytesIO(snapshot.make(project, edition, "default"))) as archive:
        names = archive.getnames()
    assert {f"formats/{name}.yaml" for name in FORMATS} <= set(names)
    targets = {target.label.rsplit(" ", 2)[-2] + ":" + target.label.rsplit(" ", 1)[-1]:
               target for target in plan([edition]) if target.poster_index == 0}
    scratch = kit.Project(scratch_project)
    before = {key: manifest.inputs_hash(scratch.templates, target, "", manifest.Digests())
              for key, target in targets.items()}
    edit(scratch_project / "formats" / "affiche-a2.yaml", "viewing_distance_m: 4",
         "viewing_distance_m: 5")
    (changed, *_rest) = kit.prepare(scratch, ["gh-port-lumiere"], ["fr"], guides=[GUIDE])
    after = {target.label.rsplit(" ", 2)[-2] + ":" + target.label.rsplit(" ", 1)[-1]:
             manifest.inputs_hash(scratch.templates, target, "", manifest.Digests())
             for target in plan([changed]) if target.poster_index == 0}
    assert before["affiche-a2:accord"] != after["affiche-a2:accord"]
    assert before["poster:accord"] == after["poster:accord"]
    assert before["carte-paysage:accord"] == after["carte-paysage:accord"]


def test_a_job_names_a_format_target() -> None:
    (edition, *_rest) = kit.prepare(kit.Project(ROOT), ["default"], ["fr"], guides=[GUIDE])
    keys = [queue.target_key(target) for target in plan([edition])]
    assert keys == ["booklet", "poster:accord", "poster:arriere-plan", "flyer-a4:accord",
                    "flyer-a4:arriere-plan", "carte-carree:accord",
                    "carte-carree:arriere-plan", "diapo:accord", "diapo:arriere-plan", "web"]
    fields = {"brand": "default", "guide": GUIDE, "lang": "fr", "printer": "default",
              "snapshot": "0" * 64, "inputs": "0" * 64, "tool": "x", "epoch": "",
              "seconds": 10, "memory_mb": 100}
    assert queue.JobRequest(target="carte-carree:accord", **fields).target
    with pytest.raises(ValueError):
        queue.JobRequest(target="../x:accord", **fields)


# --- bad input -------------------------------------------------------------------------

def test_an_unknown_format_in_a_guide_suggests_close_names(scratch_project: Path) -> None:
    edit(scratch_project / "content" / GUIDE / "guide.yaml", '"carte-carree"',
         '"carte-carre"')
    assert problems(scratch_project) == [
        f"content/{GUIDE}/guide.yaml:7: formats (7th): there is no format \"carte-carre\"; "
        'did you mean "carte-carree", "carte-paysage", "carte-portrait"? (the formats are '
        "booklet, web and the files of formats/)"]


def test_an_unknown_format_in_a_brand_lists_the_formats(scratch_project: Path) -> None:
    edit(scratch_project / "brands" / "default" / "brand.yaml", '"diapo"]', '"poster-xxl"]')
    assert problems(scratch_project) == [
        "brands/default/brand.yaml:55: formats (6th): there is no format \"poster-xxl\"; "
        "the formats are: booklet, web, affiche-a1, affiche-a2, affiche-a3, bandeau-mail, "
        "carte-carree, carte-paysage, carte-portrait, diapo, flyer-a4"]


@pytest.mark.parametrize("old, new, expected", [
    ('unit: "px"', 'unit: "pt"',
     "formats/carte-carree.yaml:6: size.unit: \"pt\" is not allowed here; use one of: 'mm' "
     "or 'px'"),
    ("width: 1080, height", "width: 1080.5, height",
     "formats/carte-carree.yaml:6: size: a picture's size is a whole number of pixels"),
    ("width: 1080, height", "width: -5, height",
     'formats/carte-carree.yaml:6: size.width: "-5" is out of range (it should be at '
     "least 1.0)"),
    ("type_scale: 0.8", "type_scale: 0.8\nbleed: 3",
     'formats/carte-carree.yaml:9: bleed: unknown key; the keys allowed here are: label, '
     "kind, output, size, margins, viewing_distance_m, type_scale, file_stem, qr_code"),
    ("type_scale: 0.8", "viewing_distance_m: 2",
     "formats/carte-carree.yaml:3: type_scale: give the type sizes of an A3 poster "
     "multiplied by a number (1 for the same sizes)"),
    ("margins: {top: 48", "margins: {top: 500",
     "formats/carte-carree.yaml:7: margins: the margins take half the sheet or more; make "
     "them smaller"),
])
def test_a_bad_format_file_is_an_error_at_its_line(scratch_project: Path, old: str, new: str,
                                                   expected: str) -> None:
    edit(scratch_project / "formats" / "carte-carree.yaml", old, new)
    assert expected in problems(scratch_project)


def test_a_poster_format_needs_its_viewing_distance(scratch_project: Path) -> None:
    edit(scratch_project / "formats" / "affiche-a2.yaml", "viewing_distance_m: 4",
         "type_scale: 1.3")
    edit(scratch_project / "brands" / "default" / "brand.yaml", '"diapo"]', '"affiche-a2"]')
    assert problems(scratch_project) == [
        "formats/affiche-a2.yaml:3: viewing_distance_m: a poster gives the distance in "
        "metres it is read from (an A3 poster: 3); its type size follows from it",
        "formats/affiche-a2.yaml:8: type_scale: a poster's type size follows from "
        "`viewing_distance_m`; remove `type_scale`"]


def test_a_message_too_long_for_a_format_names_the_field_and_the_format(
        scratch_project: Path) -> None:
    """Three points fit an A3 poster, not a 1200 × 675 px card: the error names the
    poster and the format, and nothing is made."""
    point = "Sans accord, je ne publie pas et je n’identifie personne."
    posters = scratch_project / "content" / GUIDE / "fr" / "posters.yaml"
    edit(posters, "Avant de filmer quelqu’un, je lui demande son accord",
         "Avant de filmer quelqu’un ici, je lui demande toujours son accord")
    edit(posters, f'      - "{point}"\n',
         f'      - "{point}"\n' + '      - "Une photo prise dans un couloir montre souvent '
         'bien plus que ce que l’on croit."\n')
    project = kit.Project(scratch_project)
    (edition, *_rest) = kit.prepare(project, ["default"], ["fr"], guides=[GUIDE])
    card = validate.load_format(scratch_project, "carte-paysage")
    (target, *_rest) = [t for t in plan([dataclasses.replace(edition, formats=(card,))])
                        if t.format is not None]
    with pytest.raises(InputErrors) as caught:
        kit.render_target(project, target)
    assert [str(error) for error in caught.value.errors] == [
        f"content/{GUIDE}/fr/posters.yaml:2: posters (1st): the poster \"accord\" does not "
        'fit in the format "carte-paysage" (1200 × 675 px): its text runs into the sheet\'s '
        "bottom margin; shorten the headline or the points"]


def test_the_french_messages_of_formats(scratch_project: Path) -> None:
    edit(scratch_project / "content" / GUIDE / "guide.yaml", '"diapo"', '"diapos"')
    i18n.set_language("fr")
    try:
        found = problems(scratch_project)
    finally:
        i18n.set_language("en")
    assert found == [
        f"content/{GUIDE}/guide.yaml:7: formats (10e): il n’y a pas de format « diapos » ; "
        'vouliez-vous dire "diapo" ? (les formats sont booklet, web et les fichiers de '
        "formats/)"]


# --- visual regression -----------------------------------------------------------------

SNAPSHOTS = ROOT / "tests" / "snapshots"
# the large posters at the pixel size of an A3 one: small enough to keep in the repository
SNAPSHOT_SCALES = {"affiche-a2": compare.SCALE / 2 ** 0.5, "affiche-a1": compare.SCALE / 2}


@pytest.mark.parametrize("name", ["affiche-a2", "affiche-a1", "flyer-a4", *PICTURES])
def test_each_format_matches_its_accepted_snapshot(built: Path, name: str) -> None:
    """If a change moves these pages on purpose, look at them, then save the new ones
    (compare.images of the output, saved as tests/snapshots/<brand>-fr-<file>.png)."""
    brand, _size = FORMATS[name]
    suffix = "png" if name in PICTURES else "pdf"
    output = built / brand / GUIDE / "fr" / f"{name}-accord.{suffix}"
    snapshot_file = SNAPSHOTS / f"{brand}-fr-{name}-accord.png"
    accepted = Image.open(snapshot_file).convert("RGB")
    page = compare.images(output, SNAPSHOT_SCALES.get(name, compare.SCALE))[0]
    assert page.size == accepted.size and snapshot_file.stat().st_size < 40_000
    assert compare.changed_pages(output.name, [accepted], [page]) == []


def test_posters_still_means_the_a3_poster_in_a_guide() -> None:
    """Guides written before formats were data say `posters`: the A3 poster, as before."""
    info = {"title": "T", "date": "2026-11-01", "audience": "staff", "languages": ["fr"],
            "contacts_for": "x", "formats": ["booklet", "posters", "web", "affiche-a3"]}
    from guidepress.models import BrandFile, GuideFile
    assert GuideFile.model_validate(info).formats == ["booklet", "affiche-a3", "web"]
    assert BrandFile.model_fields["formats"].default == ["booklet", "affiche-a3", "web"]


def test_the_watch_preview_shows_pictures_too(built: Path, tmp_path: Path) -> None:
    from guidepress import watch
    folder = tmp_path / GUIDE / "fr"
    folder.mkdir(parents=True)
    for name in ("diapo-accord.png", "flyer-a4-accord.pdf"):
        (folder / name).write_bytes((built / "default" / GUIDE / "fr" / name).read_bytes())
    preview = watch.Preview(tmp_path)
    preview.refresh(None)
    assert sorted(preview.thumbnails) == [f"{GUIDE}/fr/diapo-accord.png",
                                          f"{GUIDE}/fr/flyer-a4-accord.pdf"]
    with Image.open(BytesIO(base64.b64decode(
            preview.thumbnails[f"{GUIDE}/fr/diapo-accord.png"].split(",", 1)[1]))) as image:
        assert image.size == (432, 243)  # 1920 × 1080 px, as a page of that CSS size at 0.3


def test_check_looks_at_the_pictures_already_built(built: Path, tmp_path: Path) -> None:
    """`build.py check` preflights the pictures in output/ as a build does (it read the
    PDFs only): a card resized by hand is named with its expected size."""
    project = kit.Project(ROOT)
    editions = kit.prepare(project, ["gh-port-lumiere"], ["fr"], guides=[GUIDE])
    folder = tmp_path / "gh-port-lumiere" / GUIDE / "fr"
    folder.mkdir(parents=True)
    good = built / "gh-port-lumiere" / GUIDE / "fr" / "carte-paysage-accord.png"
    (folder / good.name).write_bytes(good.read_bytes())
    with Image.open(good) as image:
        image.resize((1000, 563)).save(folder / "carte-portrait-accord.png",
                                       icc_profile=image.info["icc_profile"])
    report = kit.preflight_existing(editions, tmp_path, 5, TODAY)["gh-port-lumiere"]
    where = f"gh-port-lumiere/{GUIDE}/fr"
    assert f"{where}/carte-paysage-accord.png: 1200 × 675 px, RGB, sRGB" in report.checked
    assert [str(f) for f in report.errors] == [
        f"ERROR   {where}/carte-portrait-accord.png: the picture is 1000 × 563 px in RGB; its "
        "format asks for 1080 × 1350 px in sRGB"]
