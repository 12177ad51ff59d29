"""Print PDFs as a French print shop's preflight reads them (issue 10, points 8 to 12, and
the safe zone of issue 11, point 16): output intent, links, marks, ink, small text,
overprint, and how close text and logos come to the trim."""

from __future__ import annotations

import base64
import io
import re
import struct
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import pdfplumber
import pikepdf
import pytest
import weasyprint
from PIL import Image

from conftest import BRANDS, ROOT
from guidepress import kit, pdf, pdfx, preflight, render, validate
from guidepress.plan import Target
from guidepress.problems import InputErrors

PRINT_NAME = re.compile(r"^(guide-print|poster-[a-z0-9-]+(?<!-screen))\.pdf$")
MM = 72 / 25.4


def print_pdfs(built: Path) -> list[Path]:
    found = sorted(p for p in built.glob("*/*/*/*.pdf") if PRINT_NAME.match(p.name))
    assert len(found) >= 30
    return found


def icc_channels(profile: bytes) -> int:
    """Channels of an ICC profile, from the colour space in its header."""
    return {b"GRAY": 1, b"RGB ": 3, b"CMYK": 4}[profile[16:20]]


def rasterise(data: bytes, box: str = "MediaBox", resolution: int = 72) -> list[Image.Image]:
    """Ghostscript's CMYK separation of each page, one 8-bit channel per ink."""
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "in.pdf").write_bytes(data)
        subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", f"-dUse{box}",
                        "-sDEVICE=tiff32nc", f"-r{resolution}",
                        f"-sOutputFile={folder}/p-%03d.tif", f"{folder}/in.pdf"],
                       check=True, capture_output=True, timeout=120)
        pages = []
        for path in sorted(Path(folder).glob("p-*.tif")):
            with Image.open(path) as image:
                image.load()
                pages.append(image.copy())
        return pages


def pixels(image: Image.Image) -> list[tuple[int, ...]]:
    """Every pixel's ink values (getdata is deprecated from Pillow 13)."""
    flat = getattr(image, "get_flattened_data", None) or image.getdata
    return list(flat())


def operations(holder: pikepdf.Object, seen: set | None = None):
    """(operator, operands) of a page or form and, after it, of the forms it draws."""
    seen = set() if seen is None else seen
    for operands, operator in pikepdf.parse_content_stream(holder):
        yield str(operator), [str(o) for o in operands]
    resources = holder.get("/Resources") or pikepdf.Dictionary()
    for xobject in (resources.get("/XObject") or pikepdf.Dictionary()).values():
        if xobject.get("/Subtype") == "/Form" and xobject.objgen not in seen:
            seen.add(xobject.objgen)
            yield from operations(xobject, seen)


def cmyk_operands(colour: str, ticket) -> list[str]:
    """The operands a CSS colour of the brand becomes in the print PDF."""
    values = render.cmyk(colour, ticket.icc_profile).removeprefix("device-cmyk(").rstrip(")")
    return [f"{float(v):g}" for v in values.split()]


# --- 8. the output intent's ICC stream has the profile's four channels ----------------

def test_output_intent_and_device_cmyk_declare_the_profiles_channel_count(built: Path
                                                                        ) -> None:
    for path in print_pdfs(built):
        with pikepdf.open(path) as document:
            (intent,) = document.Root.OutputIntents
            profile = intent.DestOutputProfile
            assert int(profile.N) == icc_channels(profile.read_bytes()) == 4, path.name
            for page in document.pages:
                space = page.Resources.ColorSpace["/device-cmyk"]
                assert space[0] == "/ICCBased"
                assert int(space[1].N) == icc_channels(space[1].read_bytes()) == 4


def test_device_cmyk_profile_is_declared_with_comma_separated_components() -> None:
    brand = validate.load_brand(ROOT, "default")
    ticket = validate.load_printer(ROOT, "default")
    css = str(render.brand_stylesheet(brand, render.Profile("print", ticket)))
    assert "components: cyan, magenta, yellow, black;" in css


# --- 9. FOGRA39, built at set-up, named in the output intent ---------------------------

def test_default_ticket_is_fogra39_in_the_icc_registry(built: Path) -> None:
    ticket = validate.load_printer(ROOT, "default")
    assert ticket.icc_profile == ROOT / "printers/generated/fogra39.icc"
    for path in print_pdfs(built):
        with pikepdf.open(path) as document:
            (intent,) = document.Root.OutputIntents
            assert intent.S == "/GTS_PDFX"
            assert str(intent.OutputConditionIdentifier) == "FOGRA39"
            assert str(intent.RegistryName) == "http://www.color.org"
            assert str(intent.Info).startswith("Coated FOGRA39")
            assert intent.DestOutputProfile.read_bytes() == ticket.icc_profile.read_bytes()


def test_fogra39_profile_is_built_once_reproducibly_and_kept_out_of_git() -> None:
    profile = (ROOT / "printers/generated/fogra39.icc").read_bytes()
    assert profile[12:20] == b"prtrCMYK" and profile[36:40] == b"acsp"
    # colprof stamps the time; the set-up fixes it so that every machine makes these bytes
    assert struct.unpack(">6H", profile[24:36]) == (2000, 1, 1, 0, 0, 0)
    assert b"FOGRA39L.ti3" in profile and b"zlib licence" in profile
    ignored = subprocess.run(["git", "check-ignore", "-q", "printers/generated/fogra39.icc"],
                             cwd=ROOT)
    assert ignored.returncode == 0
    setup = (ROOT / "scripts/setup.sh").read_text(encoding="utf-8")
    assert 'if [[ ! -s $FOGRA39 ]]; then' in setup  # built at set-up, not per test


def test_missing_generated_profile_names_the_set_up(scratch_project: Path) -> None:
    (scratch_project / "printers/generated/fogra39.icc").unlink()
    with pytest.raises(InputErrors) as caught:
        validate.load_printer(scratch_project, "default")
    assert ('printers/default.yaml:9: icc_profile: the ICC profile "generated/fogra39.icc" '
            "was not found (profiles in printers/generated/ are built by `make setup`)"
            ) in [str(e) for e in caught.value.errors]


def test_an_rgb_profile_is_refused_for_a_printer_ticket(scratch_project: Path) -> None:
    ticket = scratch_project / "printers/default.yaml"
    ticket.write_text(ticket.read_text(encoding="utf-8").replace(
        '"generated/fogra39.icc"', '"/usr/share/color/icc/ghostscript/default_rgb.icc"'),
        encoding="utf-8")
    with pytest.raises(InputErrors) as caught:
        validate.load_printer(scratch_project, "default")
    assert [str(e) for e in caught.value.errors] == [
        'printers/default.yaml:9: icc_profile: "/usr/share/color/icc/ghostscript/default_rgb.icc"'
        " is not a CMYK profile (its colours are RGB); a printer ticket needs the print shop's"
        " CMYK profile"]


def test_ghostscript_ticket_is_the_fallback(project: kit.Project) -> None:
    (edition,) = kit.prepare(project, ["default"], ["fr"], printer="ghostscript",
                             guides=["reseaux-sociaux"])
    files = kit.render_target(project, Target(edition, 0)).files
    poster = files[f"poster-{edition.guide.posters[0].id}.pdf"]
    with pikepdf.open(io.BytesIO(poster)) as document:
        (intent,) = document.Root.OutputIntents
        assert str(intent.OutputConditionIdentifier) == "Custom"
        assert "/RegistryName" not in intent
        assert str(intent.Info) == "Ghostscript default_cmyk.icc (Artifex CMYK SWOP profile)"
        profile = intent.DestOutputProfile
        assert profile.read_bytes() == Path(
            "/usr/share/color/icc/ghostscript/default_cmyk.icc").read_bytes()
        assert int(profile.N) == 4


# --- 10. links only in the screen PDF ---------------------------------------------------

def annotation_count(path: Path) -> int:
    with pikepdf.open(path) as document:
        return sum(len(page.obj.get("/Annots", [])) for page in document.pages)


def test_print_pdfs_carry_no_annotation_and_the_screen_booklet_keeps_its_links(built: Path
                                                                              ) -> None:
    counts = {f"{p.parent.parent.name}/{p.parent.name}/{p.name}": annotation_count(p)
              for p in print_pdfs(built)}
    assert set(counts.values()) == {0}, counts
    for brand in BRANDS:
        assert annotation_count(built / brand / "reseaux-sociaux/fr/guide-screen.pdf") > 20


# --- 11. marks in registration, ink inside the bleed, the logo separated like the CSS ---

def test_crop_marks_are_drawn_in_registration_outside_the_bleed(built: Path) -> None:
    for path in print_pdfs(built):
        with pikepdf.open(path) as document:
            for page in document.pages:
                space = page.Resources.ColorSpace["/GPRegistration"]
                assert [str(space[i]) for i in range(3)] == ["/Separation", "/All", "/DeviceCMYK"]
                assert list(space[3].C1) == [1, 1, 1, 1]
                ops = list(operations(page.obj))
                # nothing in the print PDF is drawn in RGB: not the marks, not the logo
                assert not [op for op, _ in ops if op in ("rg", "RG")], path.name
                assert ("CS", ["/GPRegistration"]) in ops
                assert "/ArtBox" not in page.obj  # PDF/X: a TrimBox or an ArtBox, not both


@pytest.mark.parametrize("name", ["guide-print.pdf", "poster-stade.pdf"])
def test_the_slug_holds_only_registration_marks_on_white(built: Path, name: str) -> None:
    data = (built / "default/reseaux-sociaux/fr" / name).read_bytes()
    with pikepdf.open(built / "default/reseaux-sociaux/fr" / name) as document:
        page = document.pages[0]
        media = [float(v) for v in page.MediaBox]
        bleed = [float(v) for v in page.BleedBox]
    image = rasterise(data, resolution=72)[0]
    width, height = image.size
    scale = width / (media[2] - media[0])
    inner = (round((bleed[0] - media[0]) * scale) - 2, round((media[3] - bleed[3]) * scale) - 2,
             round((bleed[2] - media[0]) * scale) + 2, round((media[3] - bleed[1]) * scale) + 2)
    slug = Counter(image.getpixel((x, y)) for y in range(height) for x in range(width)
                   if not (inner[0] <= x < inner[2] and inner[1] <= y < inner[3]))
    assert set(slug) == {(0, 0, 0, 0), (255, 255, 255, 255)}, slug.most_common(4)
    assert slug[(255, 255, 255, 255)] > 16  # eight marks, every plate at 100 %


def test_total_ink_is_measured_in_the_bleed_and_the_marks_are_exempt(built: Path) -> None:
    ticket = validate.load_printer(ROOT, "default")
    poster = (built / "default/reseaux-sociaux/fr/poster-stade.pdf").read_bytes()
    # The registration marks lay down 400 % on the sheet, outside the bleed…
    sheet = max(max(map(sum, pixels(page))) for page in rasterise(poster, resolution=24))
    assert sheet == 4 * 255
    # …and the measured ink leaves them out: the darkest is the brand's darkest colour.
    ink = preflight.total_ink(poster)
    colours = validate.load_brand(ROOT, "default").colours
    darkest = max(sum(render.cmyk_channels(tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)),
                                           ticket.icc_profile)) / 2.55
                  for c in (colours.primary, colours.accent, colours.tint))
    assert ink == pytest.approx(darkest, abs=1.5)
    assert ink <= ticket.max_ink_percent


@pytest.mark.parametrize("brand", BRANDS)
def test_logo_blue_separates_exactly_like_the_css_blue(built: Path, brand: str) -> None:
    b = validate.load_brand(ROOT, brand)
    ticket = validate.load_printer(ROOT, "default")
    primary = cmyk_operands(b.colours.primary, ticket)
    with pikepdf.open(built / brand / "reseaux-sociaux/fr/poster-stade.pdf") as document:
        ops = list(operations(document.pages[0].obj))
    assert ("k", primary) in ops, "the logo's blue, converted in the pdf stage"
    assert ("scn", primary) in ops, "the background's blue, converted for the CSS"


def test_ghostscript_separates_logo_and_background_blue_alike(built: Path) -> None:
    data = (built / "default/reseaux-sociaux/fr/poster-stade.pdf").read_bytes()
    (page,) = rasterise(data, box="TrimBox", resolution=72)
    colours = Counter(pixels(page))
    background = colours.most_common(1)[0][0]
    # No second, slightly different blue: the logo's square is the background's blue.
    near = [c for c, n in colours.items() if n > 50 and c != background
            and max(abs(a - b) for a, b in zip(c, background)) < 40]
    assert near == []


def test_raster_logos_and_svg_gradients_are_separated_like_the_css() -> None:
    ticket = validate.load_printer(ROOT, "default")
    png = io.BytesIO()
    Image.new("RGB", (40, 20), "#1F4E79").save(png, "PNG")
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><defs>'
           '<linearGradient id="g"><stop offset="0" stop-color="#1F4E79"/>'
           '<stop offset="1" stop-color="#FFFFFF"/></linearGradient></defs>'
           '<rect width="40" height="20" fill="url(#g)"/></svg>')
    html = (f'<img src="data:image/png;base64,{base64.b64encode(png.getvalue()).decode()}" '
            'style="width: 40mm">'
            f'<img src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}" '
            'style="width: 40mm">')
    data = weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/x-4")
    blue = render.cmyk_channels((0x1F, 0x4E, 0x79), ticket.icc_profile)
    source = io.BytesIO(pdfx.finish(data, ticket, b"0" * 32))
    with pikepdf.open(source) as document:
        images = [o for o in document.objects if isinstance(o, pikepdf.Stream)
                  and o.get("/Subtype") == "/Image"]
        shadings = [o for o in document.objects
                    if isinstance(o, (pikepdf.Dictionary, pikepdf.Stream)) and "/ShadingType" in o]
        (image,) = images
        assert image.ColorSpace == "/DeviceCMYK"
        assert pikepdf.PdfImage(image).as_pil_image().getpixel((0, 0)) == blue
        (shading,) = shadings
        assert shading.ColorSpace == "/DeviceCMYK"
        stops = [list(f.C0) for f in shading.Function.Functions]
        assert [float(v) for v in stops[0]] == [round(c / 255, 3) for c in blue]


# --- 12. small text in one ink; black text overprints ---------------------------------

def small_mixed_text(path: Path) -> list[tuple[int, float, tuple, str]]:
    found = []
    with pdfplumber.open(path) as document:
        for number, page in enumerate(document.pages, start=1):
            for char in page.chars:
                colour = tuple(char["non_stroking_color"] or ())
                inks = sum(1 for v in colour if v > 0.005) if len(colour) == 4 else 99
                if char["size"] < 8.95 and inks != 1 and char["text"].strip():
                    found.append((number, round(char["size"], 1), colour, char["text"]))
    return found


def test_demo_kits_print_no_small_text_in_a_mix_of_inks(built: Path) -> None:
    for path in print_pdfs(built):
        found = small_mixed_text(path)
        assert found == [], f"{path.name}: {found[:5]}"
    for brand in BRANDS:
        assert " pt text " not in (built / brand / "preflight.txt").read_text(encoding="utf-8")


def test_preflight_warns_about_small_text_in_several_inks_or_reversed() -> None:
    html = """<style>@page { size: 100mm 60mm; margin: 5mm } p { margin: 0 }</style>
    <p style="font-size: 8pt; color: device-cmyk(0.9 0.5 0 0.4)">Petit texte en quadri</p>
    <p style="font-size: 8pt; color: device-cmyk(0 0 0 1)">Petit texte noir</p>
    <p style="font-size: 8pt; color: device-cmyk(1 0 0 0)">Petit texte cyan</p>
    <p style="font-size: 10pt; color: device-cmyk(0.9 0.5 0 0.4)">Grand texte en quadri</p>
    <p style="background: device-cmyk(0.9 0.5 0 0.4)">
      <span style="font-size: 6pt; color: device-cmyk(0 0 0 0)">Blanc en réserve</span></p>"""
    data = weasyprint.HTML(string=html).write_pdf()
    report = preflight.Report("x")
    preflight.check_document("fr/poster-test.pdf", data, validate.load_brand(ROOT, "default"),
                             validate.load_printer(ROOT, "default"), report)
    small = [str(f) for f in report.findings if " pt text " in f.message]
    assert small == [
        'WARNING default/fr/poster-test.pdf page 1: 8 pt text in 3 inks (C 90 M 50 K 40 %), e.g. '
        '"Petit texte en quadri"; under 9 pt, print text in one ink (black) or make it '
        "larger, or the plates' shift will blur it",
        'WARNING default/fr/poster-test.pdf page 1: 6 pt text in white, reversed out of what lies '
        'under it, e.g. "Blanc en réserve"; under 9 pt, print text in one ink (black) or '
        "make it larger, or the plates' shift will blur it"]


def text_objects(holder: pikepdf.Object) -> list[tuple[tuple, str]]:
    """(fill colour, last ExtGState) at each BT of a page."""
    fill, state, found = (), "", []
    for op, operands in operations(holder):
        if op in ("scn", "sc", "k"):
            fill = tuple(float(v) for v in operands)
        elif op == "gs":
            state = operands[0]
        elif op == "BT":
            found.append((fill, state))
    return found


def test_black_text_overprints_and_coloured_text_does_not(built: Path) -> None:
    with pikepdf.open(built / "default/reseaux-sociaux/fr/guide-print.pdf") as document:
        for page in document.pages[2:-1]:
            states = page.Resources.ExtGState
            overprint = states["/GPOverprint"]
            assert (bool(overprint.OP), bool(overprint.op), int(overprint.OPM)) == (True, True,
                                                                                     1)
            found = text_objects(page.obj)
            black = [s for fill, s in found if fill == (0, 0, 0, 1)]
            coloured = [s for fill, s in found if fill != (0, 0, 0, 1)]
            assert black and set(black) == {"/GPOverprint"}
            assert "/GPOverprint" not in coloured


@pytest.mark.parametrize("overprint, glyph", [(True, (255, 0, 0, 255)),
                                               (False, (0, 0, 0, 255))])
def test_ghostscript_overprints_black_text_only_when_the_ticket_says_so(
        overprint: bool, glyph: tuple) -> None:
    ticket = validate.load_printer(ROOT, "default").model_copy(
        update={"overprint_black_text": overprint})
    css = ("@page { size: 60mm 30mm; margin: 0; bleed: 3mm } body { margin: 0 } "
           "div { background: device-cmyk(1 0 0 0); height: 30mm; font: bold 40pt sans-serif;"
           " color: device-cmyk(0 0 0 1) }")
    data = weasyprint.HTML(string=f"<style>{css}</style><div>MMMM</div>").write_pdf(
        pdf_variant="pdf/x-4")
    (page,) = rasterise(pdfx.finish(data, ticket, b"0" * 32), box="TrimBox")
    colours = Counter(pixels(page))
    assert set(colours) == {(255, 0, 0, 0), glyph}


def test_printer_tickets_say_whether_black_text_overprints() -> None:
    for name in ("default", "ghostscript"):
        assert validate.load_printer(ROOT, name).overprint_black_text is True
    assert "overprint_black_text: true" in (ROOT / "printers/default.yaml").read_text()


# --- safe zone (issue 11, point 16) -----------------------------------------------------

def test_safe_zone_limits_are_5_mm_on_posters_and_4_mm_in_the_booklet() -> None:
    placed = [pdf.Placement(2, 'the text "Notes"', 3.9, "bottom", (10, 200, 50, 6.1)),
              pdf.Placement(3, "the logo", 4.1, "left", (4.1, 20, 26, 18))]
    booklet, poster = preflight.Report("x"), preflight.Report("x")
    preflight.check_safe_zone("x/fr/guide-print.pdf", placed, booklet)
    preflight.check_safe_zone("x/fr/poster-stade.pdf", placed, poster)
    assert [str(f) for f in booklet.errors] == [
        'ERROR   x/fr/guide-print.pdf page 2: the text "Notes" is 3.9 mm from the bottom edge '
        "of the trim, inside the 4 mm kept clear on the booklet (the cut can wander); a brand "
        "font with larger letters, or the brand's stylesheet, pushes it there: shorten the "
        "text, or choose a smaller font size or a different font"]
    assert [f.subject for f in poster.errors] == ["x/fr/poster-stade.pdf page 2",
                                                  "x/fr/poster-stade.pdf page 3"]
    assert "the logo is 4.1 mm from the left edge" in poster.errors[1].message


def test_demo_kits_keep_text_and_logos_out_of_the_safe_zone(built: Path) -> None:
    for brand in BRANDS:
        report = (built / brand / "preflight.txt").read_text(encoding="utf-8")
        assert "inside the trim" in report and "kept clear" not in report


def test_text_and_logo_pushed_to_the_trim_by_brand_css_are_errors(
        scratch_project: Path) -> None:
    css = scratch_project / "brands/default/templates/css/brand.css"
    css.parent.mkdir(parents=True)
    css.write_text(".poster-sheet { padding: 2mm; } .poster-header { padding: 0; }",
                   encoding="utf-8")
    project = kit.Project(scratch_project)
    (edition,) = kit.prepare(project, ["default"], ["en"], guides=["reseaux-sociaux"])
    produced = kit.render_target(project, Target(edition, 0))
    errors = [str(f) for f in produced.findings if f.level == "error"]
    assert ('ERROR   default/reseaux-sociaux/en/poster-stade.pdf page 1: the logo is 2 mm from '
            "the top edge of the trim, inside the 5 mm kept clear on posters (the cut can "
            "wander); a brand font with larger letters, or the brand's stylesheet, pushes it "
            "there: shorten the text, or choose a smaller font size or a different font") in errors
    assert any(e.startswith('ERROR   default/reseaux-sociaux/en/poster-stade.pdf page 1: the '
                            'text "') and
               "2 mm from the left edge" in e for e in errors)
