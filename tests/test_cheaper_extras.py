"""Issue 14, point 6 (continued): what a target costs beyond WeasyPrint's layouts, counted
(never timed): WeasyPrint's writes, qpdf's parses of each finished PDF, the hashing of the
printer's ICC profile, and the subsetter that reduces the web page's fonts."""

from __future__ import annotations

import base64
import collections
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
import uharfbuzz
import weasyprint
from fontTools import subset
from fontTools.ttLib import TTFont
from PIL import Image

from guidepress import kit, library, manifest, pdf, pdfx, post, render
from guidepress.plan import Target, plan
from guidepress.problems import RenderError


@dataclass
class Counted:
    """One target rendered with its costly calls counted."""

    files: dict[str, bytes]
    writes: int  # WeasyPrint's write_pdf
    parses: collections.Counter  # pikepdf.open, by the sha256 of the bytes it parsed
    icc_hashes: int  # render._digest: the ICC profile's file read and hashed
    harfbuzz_subsets: int


def _render_counted(project: kit.Project, target: Target) -> Counted:
    counted = Counted({}, 0, collections.Counter(), 0, 0)
    real_write, real_open = weasyprint.Document.write_pdf, pikepdf.open
    real_digest, real_subset = render._digest, uharfbuzz.subset

    def write(*args, **kwargs):  # noqa: ANN202
        counted.writes += 1
        return real_write(*args, **kwargs)

    def parse(source, *args, **kwargs):  # noqa: ANN001, ANN202
        data = source.getvalue() if isinstance(source, io.BytesIO) else b"(a file)"
        counted.parses[hashlib.sha256(data).hexdigest()] += 1
        return real_open(source, *args, **kwargs)

    def digest(path):  # noqa: ANN001, ANN202
        counted.icc_hashes += 1
        return real_digest(path)

    def reduce(*args, **kwargs):  # noqa: ANN202
        counted.harfbuzz_subsets += 1
        return real_subset(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(weasyprint.Document, "write_pdf", write)
        patch.setattr(pikepdf, "open", parse)
        patch.setattr(render, "_digest", digest)
        patch.setattr(uharfbuzz, "subset", reduce)
        render._woff2_subset.cache_clear()  # a subset made by another test is not counted
        counted.files = kit.render_target(project, target).files
    return counted


@pytest.fixture(scope="module")
def targets(project: kit.Project) -> dict[str, Target]:
    """The booklet, the stadium poster and the web page of the French default kit."""
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    found = {}
    for target in plan([edition]):
        if target.web:
            found["web"] = target
        elif target.poster_index is None:
            found["booklet"] = target
        elif target.names[0] == "poster-stade.pdf":
            found["poster"] = target
    return found


@pytest.fixture(scope="module")
def booklet(project: kit.Project, targets: dict[str, Target]) -> Counted:
    return _render_counted(project, targets["booklet"])


@pytest.fixture(scope="module")
def poster(project: kit.Project, targets: dict[str, Target]) -> Counted:
    return _render_counted(project, targets["poster"])


def test_weasyprint_writes_the_booklet_once_per_profile(booklet: Counted) -> None:
    # print and screen; the office copy is imposed from the screen PDF (it was a third,
    # untagged write of the screen layout)
    assert sorted(booklet.files) == ["guide-office.pdf", "guide-print.pdf", "guide-screen.pdf"]
    assert booklet.writes == 2


def test_the_office_copy_draws_the_screen_pages_untagged(booklet: Counted) -> None:
    with pikepdf.open(io.BytesIO(booklet.files["guide-screen.pdf"])) as screen, \
            pikepdf.open(io.BytesIO(booklet.files["guide-office.pdf"])) as office:
        assert "/StructTreeRoot" in screen.Root  # the screen PDF keeps its tags
        assert "/StructTreeRoot" not in office.Root and "/MarkInfo" not in office.Root
        assert len(office.pages) * 2 == len(screen.pages)
        drawn = [form for side in office.pages
                 for form in side.Resources.XObject.values()]
        pages = [b"".join(content.read_bytes() for content in _contents(page))
                 for page in screen.pages]
        # each of the screen's pages, drawn once in the saddle-stitch order
        order = [index for pair in post.saddle_stitch_order(len(screen.pages))
                 for index in pair]
        assert [form.read_bytes() for form in drawn] == [pages[index] for index in order]


def _contents(page: pikepdf.Page) -> list[pikepdf.Stream]:
    contents = page.obj.Contents
    return list(contents) if isinstance(contents, pikepdf.Array) else [contents]


@pytest.mark.parametrize("kind", ["booklet", "poster"])
def test_each_finished_pdf_is_parsed_once_for_all_its_checks(
        kind: str, request: pytest.FixtureRequest) -> None:
    counted: Counted = request.getfixturevalue(kind)
    # verify_pdf, the font check, the page count, the raster-image search and the ink scan
    # read one parse of each file (they parsed it four times); the office copy is imposed
    # from the screen PDF's parse
    parses = {name: counted.parses[hashlib.sha256(data).hexdigest()]
              for name, data in counted.files.items()}
    assert parses == {name: 1 for name in counted.files}
    # and WeasyPrint's print PDF once, to finish it as PDF/X
    finished = sum(1 for name in counted.files if not name.endswith(("screen.pdf",
                                                                      "office.pdf")))
    assert sum(counted.parses.values()) == len(counted.files) + finished


@pytest.mark.parametrize("kind", ["booklet", "poster"])
def test_the_printer_profile_is_hashed_once_per_target(
        kind: str, request: pytest.FixtureRequest) -> None:
    # it was hashed for every colour converted: CSS colours, pictograms, a logo's colours
    assert request.getfixturevalue(kind).icc_hashes == 1


def test_a_changed_profile_is_seen_by_the_next_target(project: kit.Project, tmp_path) -> None:
    """The hash lives with one target's print profile, not in the module."""
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    profile = tmp_path / "printer.icc"
    profile.write_bytes(edition.ticket.icc_profile.read_bytes())
    ticket = edition.ticket.model_copy(update={"icc_profile": profile})
    first = render.Profile("print", ticket).separation
    assert first is not None and first.digest == render._digest(profile)
    profile.write_bytes(profile.read_bytes() + b"\0")  # another profile, same name
    assert render.Profile("print", ticket).separation.digest != first.digest
    assert render.Profile("screen").separation is None


def test_the_web_page_fonts_are_subset_by_harfbuzz(project: kit.Project,
                                                    targets: dict[str, Target]) -> None:
    counted = _render_counted(project, targets["web"])
    html = counted.files["web/index.html"].decode()
    faces = re.findall(r'url\("data:font/woff2;base64,([^"]+)"\)', html)
    assert len(faces) == 4 == counted.harfbuzz_subsets  # regular, bold, italic, bold italic
    for face in faces:
        font = TTFont(io.BytesIO(base64.b64decode(face)))
        assert font.flavor == "woff2"
        assert {"GPOS", "GSUB", "fpgm", "prep", "cvt "} <= set(font.keys())


def _fonttools_subset(data: bytes, text: str) -> TTFont:
    """The subset fontTools' subsetter made (the former `render._woff2_subset`)."""
    font = TTFont(io.BytesIO(data), recalcTimestamp=False)
    subsetter = subset.Subsetter(subset.Options(flavor="woff2", layout_features=["*"]))
    subsetter.populate(text=text + text.upper() + " -–—’«»…")
    subsetter.subset(font)
    return font


@pytest.mark.parametrize("brand", ["default", "gh-port-lumiere"])
def test_harfbuzz_keeps_what_fonttools_kept(project: kit.Project, brand: str) -> None:
    """Same characters, glyph outlines, advances, hinting and OpenType features; kerned
    text as wide."""
    (edition,) = kit.prepare(project, [brand], ["fr"], guides=["reseaux-sociaux"])
    text = edition.guide.model_dump_json() + edition.brand.model_dump_json()
    sample = " ".join(section.title for section in edition.guide.sections) + " AVATAR WAVE"
    for face in edition.brand.fonts.families:
        for path in (p for p in face.files.model_dump().values() if p is not None):
            url = render._woff2_subset(path.read_bytes(), text, path.name)
            ours = TTFont(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
            theirs = _fonttools_subset(path.read_bytes(), text)
            assert ours.getBestCmap().keys() == theirs.getBestCmap().keys(), path.name
            assert len(ours.getGlyphOrder()) == len(theirs.getGlyphOrder()), path.name
            for code, name in ours.getBestCmap().items():
                mine, other = ours["glyf"][name], theirs["glyf"][theirs.getBestCmap()[code]]
                assert mine.getCoordinates(ours["glyf"])[0] == \
                    other.getCoordinates(theirs["glyf"])[0], (path.name, chr(code))
                assert ours["hmtx"][name] == theirs["hmtx"][theirs.getBestCmap()[code]]
                assert _instructions(mine) == _instructions(other), (path.name, chr(code))
            for tag in ("GSUB", "GPOS"):
                assert _features(ours, tag) == _features(theirs, tag), (path.name, tag)
            assert _width(ours, sample) == _width(theirs, sample), path.name


def _instructions(glyph: object) -> bytes:
    program = getattr(glyph, "program", None)
    return program.getBytecode() if program is not None else b""


def _features(font: TTFont, tag: str) -> list[str]:
    if tag not in font:
        return []
    return sorted({r.FeatureTag for r in font[tag].table.FeatureList.FeatureRecord})


def _width(font: TTFont, text: str) -> int:
    """The advance of `text` shaped by HarfBuzz with the font's default features."""
    buffer = io.BytesIO()
    font.flavor = None
    font.save(buffer)
    shaped = uharfbuzz.Buffer()
    shaped.add_str(text)
    shaped.guess_segment_properties()
    uharfbuzz.shape(uharfbuzz.Font(uharfbuzz.Face(uharfbuzz.Blob(buffer.getvalue()))), shaped)
    return sum(position.x_advance for position in shaped.glyph_positions)


def test_a_font_harfbuzz_cannot_read_is_named() -> None:
    with pytest.raises(RenderError) as failure:
        render._woff2_subset(b"\0\1\0\0" + b"junk" * 50, "abc", "Damaged-Regular.ttf")
    assert failure.value.detail == (
        "the font Damaged-Regular.ttf could not be reduced to the characters of the page; "
        "export the font again or use another file")


def test_opened_shares_a_parse_and_leaves_it_open(booklet: Counted) -> None:
    data = booklet.files["guide-print.pdf"]
    with pikepdf.open(io.BytesIO(data)) as document:
        with post.opened(document) as same:
            assert same is document
        assert len(document.pages) == post.page_count(data)  # still open


def test_finishing_rebuilds_only_the_colour_operators(project: kit.Project,
                                                      targets: dict[str, Target]) -> None:
    """pdfx separates RGB and follows the colours; every other operation is kept as qpdf
    parsed it (each one was built again)."""
    edition = targets["poster"].edition
    env, fetcher, printing, _screen = kit.tools(project, edition)
    index = targets["poster"].poster_index
    rendered, _scale = kit._poster(env, edition.guide, edition.brand,
                                   edition.guide.posters[index], index, printing, fetcher,
                                   project.root)
    data = rendered.pages.write_pdf(pdf_variant="pdf/x-4", output_intent="device-cmyk")
    with pikepdf.open(io.BytesIO(data)) as source:
        operators = [str(operation.operator) for page in source.pages
                     for operation in pikepdf.parse_content_stream(page)]
    built = []
    real = pikepdf.ContentStreamInstruction
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pikepdf, "ContentStreamInstruction",
                      lambda *args: built.append(str(args[1])) or real(*args))
        finished = pdfx.finish(data, edition.ticket, pdf._identifier(rendered.document))
    with pikepdf.open(io.BytesIO(finished)) as result:
        overprinted = sum(str(operation.operands[0]) == str(pdfx.OVERPRINT_ON)
                          for page in result.pages
                          for operation in pikepdf.parse_content_stream(page)
                          if str(operation.operator) == "gs")
    colours = sum(operator in {"rg", "RG", "cs", "CS", "sc", "scn", "SC", "SCN", "k", "K",
                               "g", "G"} for operator in operators)
    assert overprinted and colours < len(operators) / 4
    # the colour operations, and the two that switch overprint on and off around black text
    assert len(built) == colours + 2 * overprinted


def test_library_thumbnails_are_not_png_optimised(project: kit.Project, built: Path) -> None:
    """zlib's default compression: `optimize` took seven times as long for 2.5 % fewer
    bytes, on a page that is read once."""
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    entries = json.loads((built / "default" / manifest.MANIFEST).read_bytes())["files"]
    saved: list[dict] = []
    real = Image.Image.save
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Image.Image, "save", lambda image, *args, **kwargs:
                      saved.append(kwargs) or real(image, *args, **kwargs))
        page = library.index_page(kit.tools(project, edition, with_guide=False)[0], edition,
                                  built / "default", entries).decode()
    thumbnails = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(thumbnails) == len(saved) > 10
    assert not [kwargs for kwargs in saved if kwargs.get("optimize")]
    for thumbnail in thumbnails:
        with Image.open(io.BytesIO(base64.b64decode(thumbnail))) as image:
            assert image.height == library.THUMBNAIL_HEIGHT_PX
