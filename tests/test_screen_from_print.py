"""Issue 14, point 6: a screen PDF written from its print layout, one WeasyPrint layout for
two PDFs. Each is checked against the same screen document laid out on its own (what the
kit did before): same pixels, text, links, tags, boxes and identifier; layouts counted,
never timed. A document whose screen copy is more than its print copy recoloured (a
brand's gradient, CMYK colour or template of its own) is laid out on its own."""

from __future__ import annotations

import collections
import io
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pydyf
import pypdfium2
import pytest
from PIL import ImageChops
from pypdf import PdfReader

from guidepress import kit, pdf, render
from guidepress.plan import Target, plan
from tests.conftest import ROOT, copy_project


@dataclass
class Written:
    """One target rendered by the kit, with what its screen PDF was written from."""

    files: dict[str, bytes]
    laid_out: list[str]  # the names of the documents WeasyPrint laid out
    screen: render.Document  # the screen document the kit was to write from print
    from_print: bytes | None  # what _written_from_print gave for it (None: laid out)


def _target(project: kit.Project, brand: str, guide: str, lang: str,
            poster: str | None = None, stem: str | None = None) -> Target:
    (edition,) = kit.prepare(project, [brand], [lang], guides=[guide])
    for target in plan([edition]):
        if target.web or target.png:
            continue
        if poster is None and target.poster_index is None:
            return target
        if poster is not None and target.poster_index is not None \
                and edition.guide.posters[target.poster_index].id == poster \
                and target.format.stem == (stem or "poster"):
            return target
    raise AssertionError(f"no target {brand}/{guide}/{lang} {poster} {stem}")


def _written(project: kit.Project, target: Target) -> Written:
    laid_out: list[str] = []
    seen: list[tuple[render.Document, bytes | None]] = []
    real_lay_out, real_written = pdf.lay_out, kit._written_from_print

    def written(rendered, screen, brand, printing):
        data = real_written(rendered, screen, brand, printing)
        seen.append((screen, data))
        return data

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pdf, "lay_out", lambda document, *a, **k: laid_out.append(
            document.name) or real_lay_out(document, *a, **k))
        patch.setattr(kit, "_written_from_print", written)
        produced = kit.render_target(project, target)
    (screen, data), = seen
    return Written(produced.files, laid_out, screen, data)


def _native(project: kit.Project, target: Target, screen: render.Document) -> bytes:
    """The screen document laid out on its own and written, as the kit did before."""
    _env, fetcher, _printing, profile = kit.tools(project, target.edition)
    return pdf.write_pdf(pdf.lay_out(screen, fetcher, project.root), profile)


# The default brand's booklet (16 pages, cover in colour, QR code, links), its "who to
# call" poster (contacts, QR code) and a two-sided flyer; the other brand (its own fonts,
# cover template and stylesheet): its leaflet and an A2 poster.
CASES = [("default", "reseaux-sociaux", "fr", None, None),
         ("default", "reseaux-sociaux", "fr", "qui-prevenir", None),
         ("default", "photos-videos", "fr", "accord", "flyer-a4"),
         ("gh-port-lumiere", "photos-videos", "fr", None, None),
         ("gh-port-lumiere", "photos-videos", "fr", "accord", "affiche-a2")]


@pytest.fixture(scope="module")
def pairs(project: kit.Project) -> list[tuple[Written, bytes]]:
    found = []
    for brand, guide, lang, poster, stem in CASES:
        target = _target(project, brand, guide, lang, poster, stem)
        written = _written(project, target)
        assert written.from_print is not None, (brand, guide, poster)
        found.append((written, _native(project, target, written.screen)))
    return found


def test_the_screen_copy_is_not_laid_out_again(pairs) -> None:
    for written, _native_pdf in pairs:
        name = written.screen.name
        assert name.endswith("-screen.pdf")
        assert written.files[name] == written.from_print
        assert name not in written.laid_out
        # the print copy is laid out: a poster measured first, then once (or twice)
        assert 1 <= len(written.laid_out) <= 3, written.laid_out


def _pixels(data: bytes) -> list:
    document = pypdfium2.PdfDocument(data)
    return [document[index].render(scale=50 / 72).to_pil().convert("RGB")
            for index in range(len(document))]


def test_it_shows_the_same_pixels_as_the_screen_document_laid_out(pairs) -> None:
    for written, native in pairs:
        ours, theirs = _pixels(written.from_print), _pixels(native)
        assert len(ours) == len(theirs) >= 1
        for page, (mine, reference) in enumerate(zip(ours, theirs)):
            assert ImageChops.difference(mine, reference).getbbox() is None, \
                (written.screen.name, page)


def test_it_has_the_same_text_boxes_links_and_identifier(pairs) -> None:
    for written, native in pairs:
        ours, theirs = PdfReader(io.BytesIO(written.from_print)), PdfReader(io.BytesIO(native))
        assert [page.extract_text() for page in ours.pages] == \
            [page.extract_text() for page in theirs.pages]
        for mine, reference in zip(ours.pages, theirs.pages):
            assert list(mine.mediabox) == list(reference.mediabox)
            assert list(mine.trimbox) == list(reference.trimbox)
            assert _links(mine) == _links(reference)
        assert ours.trailer["/ID"][0] == theirs.trailer["/ID"][0]  # the permanent one
    booklet = PdfReader(io.BytesIO(pairs[0][0].from_print))
    assert any(_links(page) for page in booklet.pages)  # there were links to compare


def _links(page) -> list[tuple[str, tuple[float, ...]]]:
    links = []
    for annotation in page.get("/Annots", []):
        link = annotation.get_object()
        target = link["/A"].get("/URI") if "/A" in link else link.get("/Dest")
        links.append((str(target), tuple(round(float(v), 1) for v in link["/Rect"])))
    return links


def _structure(data: bytes) -> collections.Counter:
    """The tagged structure's elements, by type."""
    counted: collections.Counter = collections.Counter()
    with pikepdf.open(io.BytesIO(data)) as document:
        assert document.Root.MarkInfo.Marked is True
        assert b'pdfuaid:part="1"' in document.Root.Metadata.read_bytes()  # PDF/UA-1
        pending = [document.Root.StructTreeRoot]
        while pending:
            element = pending.pop()
            kids = element.get("/K")
            if isinstance(element, pikepdf.Dictionary) and "/S" in element:
                counted[str(element.S)] += 1
            if isinstance(kids, pikepdf.Array):
                pending += [kid for kid in kids if isinstance(kid, pikepdf.Dictionary)]
            elif isinstance(kids, pikepdf.Dictionary):
                pending.append(kids)
    return counted


def test_it_is_tagged_as_the_screen_document_laid_out(pairs) -> None:
    for written, native in pairs:
        ours = _structure(written.from_print)
        assert ours == _structure(native)
        assert ours["/P"] > 0 and ours["/Figure"] > 0


def test_it_holds_no_cmyk_colour_profile_or_output_intent(pairs) -> None:
    for written, native in pairs:
        with pikepdf.open(io.BytesIO(written.from_print)) as document:
            assert "/OutputIntents" not in document.Root
            for item in document.objects:
                if isinstance(item, pikepdf.Stream) and "/Length" in item \
                        and item.get("/Subtype") != "/Image" and "/Length1" not in item:
                    assert b"DeviceCMYK" not in item.read_bytes()
                if isinstance(item, (pikepdf.Dictionary, pikepdf.Stream)):
                    assert "/ICCBased" not in repr(item.get("/ColorSpace", ""))
        assert len(written.from_print) < 1.1 * len(native)  # no profile of 90 KB


# --- when the screen copy is more than the print copy recoloured -----------------------

@pytest.fixture
def own_project(tmp_path: Path) -> Path:
    return copy_project(tmp_path)


def _brand_file(project: Path, name: str, text: str) -> None:
    path = project / "brands" / "default" / "templates" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _stade(project: Path) -> Written:
    guidepress = kit.Project(project)
    return _written(guidepress, _target(guidepress, "default", "reseaux-sociaux", "fr",
                                        "stade"))


def test_a_gradient_of_the_brand_lays_the_screen_copy_out_on_its_own(own_project) -> None:
    # a gradient is drawn in the printer's colours by the pdf stage: the finisher leaves it
    _brand_file(own_project, "css/brand.css", ".poster-sheet { background-image: "
                "linear-gradient(#E7EFF7, #FFFFFF); }")
    written = _stade(own_project)
    assert written.from_print is None
    assert written.laid_out.count("poster-stade-screen.pdf") == 1
    with pikepdf.open(io.BytesIO(written.files["poster-stade-screen.pdf"])) as document:
        shadings = [item for item in document.objects
                    if isinstance(item, pikepdf.Dictionary) and "/ShadingType" in item]
        assert shadings and all(s.ColorSpace == "/DeviceRGB" for s in shadings)


def test_a_cmyk_colour_of_the_brand_stays_cmyk_on_screen(own_project) -> None:
    _brand_file(own_project, "css/brand.css",
                ".poster-headline { color: device-cmyk(0.1 0.2 0.3 0.4); }")
    written = _stade(own_project)
    assert written.from_print is None  # a CMYK colour that stands for no brand colour
    assert "poster-stade-screen.pdf" in written.laid_out
    reader = PdfReader(io.BytesIO(written.files["poster-stade-screen.pdf"]))
    assert b"0.1 0.2 0.3 0.4 scn" in reader.pages[0].get_contents().get_data()


def test_a_cmyk_colour_in_the_brands_logo_stays_cmyk_on_screen(own_project) -> None:
    # the same K-only black the text prints in: a screen PDF written from the print layout
    # would have shown it in the brand's text colour
    logo = own_project / "brands" / "default" / "logo.svg"
    logo.write_text(logo.read_text(encoding="utf-8").replace(
        'fill="#C2410C"', f'fill="{render.BLACK_INK}"'), encoding="utf-8")
    written = _stade(own_project)
    assert written.from_print is None
    assert "poster-stade-screen.pdf" in written.laid_out
    with pikepdf.open(io.BytesIO(written.files["poster-stade-screen.pdf"])) as document:
        drawn = b"".join(item.read_bytes() for item in document.objects
                         if isinstance(item, pikepdf.Stream) and "/Subtype" not in item)
    assert b"/DeviceCMYK cs\n0 0 0 1 scn" in drawn


def test_a_template_that_prints_otherwise_lays_the_screen_copy_out(own_project) -> None:
    template = (ROOT / "templates" / "partials" / "qr.html.j2").read_text(encoding="utf-8")
    _brand_file(own_project, "partials/qr.html.j2", template.replace(
        'alt="', "alt=\"{{ 'Imprimé' if profile.for_print else 'Écran' }} ", 1))
    written = _stade(own_project)
    assert written.from_print is None
    assert "poster-stade-screen.pdf" in written.laid_out
    with pikepdf.open(io.BytesIO(written.files["poster-stade-screen.pdf"])) as document:
        alts = [str(item.Alt) for item in document.objects
                if isinstance(item, pikepdf.Dictionary) and "/Alt" in item]
    assert any(alt.startswith("Écran ") for alt in alts), alts
    assert not any(alt.startswith("Imprimé ") for alt in alts)


# --- the pieces ------------------------------------------------------------------------

def test_two_brand_colours_the_printer_cannot_tell_apart_are_not_given_back(
        project: kit.Project) -> None:
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    printing = kit.tools(project, edition)[2]
    brand = edition.brand
    separations = render.print_separations(brand, printing)
    assert separations[render.BLACK_INK] == brand.colours.text
    assert separations[printing.separation.css(brand.colours.primary)] == brand.colours.primary
    # #000000 and #010101 separate to the same CMYK with the demo printer's profile
    alike = brand.model_copy(update={"colours": brand.colours.model_copy(
        update={"text": "#000000", "primary": "#010101"})})
    assert printing.separation.css("#000000") == printing.separation.css("#010101")
    assert render.print_separations(alike, printing) is None


def test_the_finisher_sets_known_cmyk_colours_in_srgb_and_refuses_the_rest() -> None:
    colours = {(0.0, 0.0, 0.0, 1.0): (26 / 255,) * 3, (0.875, 0.486, 0.004, 0.459):
               (31 / 255, 78 / 255, 121 / 255)}
    document = pydyf.PDF()
    stream = pydyf.Stream([b"q", b"/DeviceCMYK cs", b"0 0 0 1 scn", b"/DeviceCMYK CS",
                           b"0.875 0.486 0.004 0.459 SCN", b"0 0 10 10 re", b"B", b"Q"])
    document.add_object(stream)
    finisher = pdf._ScreenColours(colours)
    finisher(None, document)
    assert finisher.exact
    assert stream.stream == [b"q", b"0.101961 0.101961 0.101961 rg",
                             b"0.121569 0.305882 0.47451 RG", b"0 0 10 10 re", b"B", b"Q"]
    for operators in ([b"/DeviceCMYK cs", b"0.1 0.2 0.3 0.4 scn"],  # no brand colour
                      [b"/DeviceCMYK cs", b"0 0 0 1 SCN"],  # not the operator that follows
                      [b"/DeviceCMYK cs 0 0 0 1 scn"],  # not as WeasyPrint writes it
                      [b"/DeviceCMYK cs", b"/P0 scn"]):  # a pattern
        document = pydyf.PDF()
        document.add_object(pydyf.Stream(list(operators)))
        finisher = pdf._ScreenColours(colours)
        finisher(None, document)
        assert not finisher.exact, operators
    document = pydyf.PDF()
    document.add_object(pydyf.Dictionary({"ShadingType": 2}))
    finisher = pdf._ScreenColours(colours)
    finisher(None, document)
    assert not finisher.exact
