"""Stage 5, pdf (print profile): WeasyPrint's PDF/X made into a file a print shop accepts.

The output intent names the ticket's printing condition; links go (they belong to the
screen PDF); the sheet gets a white slug with crop marks in registration; what a logo
draws in RGB is separated with the same conversion as the CSS colours; 100 % black text
overprints. pikepdf (qpdf) parses and rewrites the content streams.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import uuid
import zlib
from dataclasses import dataclass, replace
from io import BytesIO

import pikepdf
from pikepdf import Array, Dictionary, Name, Operator, PdfImage, String
from fontTools.pens.basePen import BasePen
from fontTools.ttLib import TTFont
from PIL import Image, ImageCms

from guidepress import render
from guidepress.models import PrinterTicket

MM = 72 / 25.4
MARK_SLUG_MM = 5  # white room outside the bleed where the crop marks are drawn
MARK_GAP_MM = 0.5  # the marks start this far outside the bleed, never inside it
MARK_WIDTH_PT = 0.25
K_ONLY = (0.0, 0.0, 0.0, 1.0)

# Resource names of what this module adds to pages and forms
REGISTRATION = Name("/GPRegistration")
OVERPRINT_ON = Name("/GPOverprint")
OVERPRINT_OFF = Name("/GPKnockout")
DRAFT = Name("/GPDraft")  # the "not approved" watermark of a draft, in the slug

DRAFT_TEXT = "PROJET — non validé"
DRAFT_SIZE_PT = 8


def finish(data: bytes, ticket: PrinterTicket, identifier: bytes, draft: bool = False,
           separation: render.Separation | None = None) -> bytes:
    """Return the print PDF a print shop's preflight accepts, with stable identifiers.

    A `draft` (a kit not yet approved) says so in the slug above and below each page,
    outside the bleed, where the print shop trims it off with the marks. `separation` is
    the conversion to the ticket's CMYK the document's CSS colours went through (made
    here when not given).
    """
    source = BytesIO(data)  # pikepdf reads lazily: the buffer must outlive the Pdf
    with pikepdf.open(source) as pdf:
        _name_output_condition(pdf, ticket)
        rewrite = _Rewrite(pdf, _Separation(separation or render.Separation(ticket.icc_profile)),
                           ticket.overprint_black_text)
        for page in pdf.pages:
            _drop(page.obj, "/Annots")  # links are for screens; PDF/X refuses them
            _set_boxes(page.obj, ticket, draft)
            rewrite.holder(page.obj)
            if ticket.crop_marks:
                _draw_marks(pdf, page.obj, ticket)
            if draft:
                _draw_draft(pdf, page.obj, ticket)
        _stable_identifiers(pdf, identifier)
        output = BytesIO()
        # Streams WeasyPrint left uncompressed (the XMP metadata of PDF/X-4) stay so.
        pdf.save(output, compress_streams=False, deterministic_id=True,
                 object_stream_mode=pikepdf.ObjectStreamMode.preserve)
    return output.getvalue()


# --- output intent -------------------------------------------------------------------

def _name_output_condition(pdf: pikepdf.Pdf, ticket: PrinterTicket) -> None:
    """Name the printing condition: "FOGRA39" in the ICC registry, or "Custom"."""
    condition = ticket.output_condition
    if condition is None:
        identifier, info, registry = "Custom", _profile_description(ticket), None
    else:
        identifier, info, registry = condition.identifier, condition.info, condition.registry
    for intent in pdf.Root.get("/OutputIntents", Array()):
        intent.OutputConditionIdentifier = String(identifier)
        intent.OutputCondition = String(info)
        intent.Info = String(info)
        if registry:
            intent.RegistryName = String(registry)
        else:
            _drop(intent, "/RegistryName")


def _profile_description(ticket: PrinterTicket) -> str:
    profile = ImageCms.getOpenProfile(str(ticket.icc_profile))
    return (profile.profile.profile_description or ticket.icc_profile.name).strip()


# --- boxes and marks -----------------------------------------------------------------

def _set_boxes(page: pikepdf.Dictionary, ticket: PrinterTicket, draft: bool = False) -> None:
    """BleedBox = trim + the ticket's bleed; the sheet adds a white slug for the marks
    (and for a draft's watermark).

    PDF/X allows a TrimBox or an ArtBox, not both: WeasyPrint's ArtBox goes.
    """
    left, bottom, right, top = (float(v) for v in page.TrimBox)
    bleed = ticket.bleed_mm * MM
    page.BleedBox = Array([left - bleed, bottom - bleed, right + bleed, top + bleed])
    outer = bleed + (MARK_SLUG_MM * MM if ticket.crop_marks or draft else 0)
    sheet = Array([left - outer, bottom - outer, right + outer, top + outer])
    page.MediaBox = sheet
    page.CropBox = sheet
    _drop(page, "/ArtBox")


def _draw_marks(pdf: pikepdf.Pdf, page: pikepdf.Dictionary, ticket: PrinterTicket) -> None:
    """Crop marks in registration (every separation at 100 %), outside the bleed."""
    left, bottom, right, top = (float(v) for v in page.TrimBox)
    start = (ticket.bleed_mm + MARK_GAP_MM) * MM
    end = (ticket.bleed_mm + MARK_SLUG_MM - MARK_GAP_MM) * MM
    lines = []
    for x, y, sx, sy in ((left, bottom, -1, -1), (right, bottom, 1, -1),
                         (left, top, -1, 1), (right, top, 1, 1)):
        lines.append(f"{x + sx * start:.3f} {y:.3f} m {x + sx * end:.3f} {y:.3f} l S")
        lines.append(f"{x:.3f} {y + sy * start:.3f} m {x:.3f} {y + sy * end:.3f} l S")
    marks = (f"q {REGISTRATION} CS 1 SCN {MARK_WIDTH_PT} w 0 J [] 0 d\n"
             + "\n".join(lines) + "\nQ\n")
    spaces = _entry(_resources(page), Name.ColorSpace)
    spaces[REGISTRATION] = _registration_space(pdf)
    # The page's own drawing is closed in q…Q, so the marks start from a clean state.
    page.Contents = Array([pdf.make_stream(b"q\n"), *_contents(page),
                           pdf.make_stream(b"Q\n" + marks.encode())])


def _draw_draft(pdf: pikepdf.Pdf, page: pikepdf.Dictionary, ticket: PrinterTicket) -> None:
    """DRAFT_TEXT in black ink, centred in the slug above and below the bleed.

    The letters are drawn as outlines (no font to embed or to check), in a form named
    DRAFT so that a reader of the PDF can find it.
    """
    left, bottom, right, top = (float(v) for v in page.TrimBox)
    outlines, width = _draft_outlines()
    scale = DRAFT_SIZE_PT / _draft_font()["head"].unitsPerEm
    x = (left + right - width * scale) / 2
    bleed = ticket.bleed_mm * MM
    baselines = (top + bleed + 1.5 * MM, bottom - bleed - MARK_SLUG_MM * MM + 1.5 * MM)
    drawing = "".join(f"q {scale:.5f} 0 0 {scale:.5f} {x:.3f} {y:.3f} cm {outlines} Q\n"
                      for y in baselines)
    form = pdf.make_stream(f"q 0 0 0 1 k\n{drawing}Q\n".encode(), Type=Name.XObject,
                           Subtype=Name.Form, BBox=Array([float(v) for v in page.MediaBox]))
    _entry(_resources(page), Name.XObject)[DRAFT] = form
    page.Contents = Array([*_contents(page), pdf.make_stream(f"q {DRAFT} Do Q\n".encode())])


@functools.cache
def _draft_font() -> TTFont:
    """The default brand's bold face (a dependency of the engine), for the draft outlines."""
    files = importlib.resources.files("fontpkg_atkinson_hyperlegible") / "files"
    with importlib.resources.as_file(files / "AtkinsonHyperlegible-Bold.ttf") as path:
        return TTFont(path)


@functools.cache
def _draft_outlines() -> tuple[str, int]:
    """The path operators of DRAFT_TEXT in font units, and its advance width."""
    font = _draft_font()
    glyphs, cmap, metrics = font.getGlyphSet(), font.getBestCmap(), font["hmtx"]
    pen, x = _PathPen(glyphs), 0
    for char in DRAFT_TEXT:
        name = cmap[ord(char)]
        pen.offset = x
        glyphs[name].draw(pen)
        x += metrics[name][0]
    return " ".join(pen.operators) + " f", x


class _PathPen(BasePen):
    """fontTools pen writing PDF path operators (quadratic curves become cubic)."""

    def __init__(self, glyph_set: object) -> None:
        super().__init__(glyph_set)
        self.operators: list[str] = []
        self.offset = 0

    def _point(self, point: tuple[float, float]) -> str:
        return f"{point[0] + self.offset:g} {point[1]:g}"

    def _moveTo(self, pt: tuple[float, float]) -> None:
        self.operators.append(f"{self._point(pt)} m")

    def _lineTo(self, pt: tuple[float, float]) -> None:
        self.operators.append(f"{self._point(pt)} l")

    def _curveToOne(self, pt1: tuple[float, float], pt2: tuple[float, float],
                    pt3: tuple[float, float]) -> None:
        self.operators.append(f"{self._point(pt1)} {self._point(pt2)} {self._point(pt3)} c")

    def _closePath(self) -> None:
        self.operators.append("h")


def _registration_space(pdf: pikepdf.Pdf) -> pikepdf.Object:
    """[/Separation /All /DeviceCMYK f]: the colour space that paints every plate."""
    tint = Dictionary(FunctionType=2, Domain=Array([0, 1]), C0=Array([0, 0, 0, 0]),
                      C1=Array([1, 1, 1, 1]), N=1)
    return Array([Name.Separation, Name("/All"), Name.DeviceCMYK, pdf.make_indirect(tint)])


def _contents(page: pikepdf.Dictionary) -> list[pikepdf.Object]:
    contents = page.get("/Contents")
    if contents is None:
        return []
    return list(contents) if isinstance(contents, pikepdf.Array) else [contents]


def _drop(dictionary: pikepdf.Object, key: str) -> None:
    if key in dictionary:
        del dictionary[key]


def _resources(holder: pikepdf.Object) -> pikepdf.Dictionary:
    return _entry(holder, Name.Resources)


def _entry(dictionary: pikepdf.Object, key: pikepdf.Name) -> pikepdf.Dictionary:
    """The dictionary under `key`, made empty if missing."""
    if key not in dictionary:
        dictionary[key] = Dictionary()
    return dictionary[key]


# --- colour: RGB separated like the CSS, black text overprinted ------------------------

class _Separation:
    """sRGB to the ticket's CMYK through `render.Separation`, as the CSS colours are."""

    def __init__(self, separation: render.Separation) -> None:
        self.separation = separation

    def colour(self, rgb: list) -> list[float]:
        """CMYK of RGB colour operands; pure black is black ink alone, like body text."""
        channels = tuple(round(max(0.0, min(1.0, float(v))) * 255) for v in rgb)
        if channels == (0, 0, 0):
            return list(K_ONLY)
        return [round(c / 255, 3) for c in self.separation.channels(channels)]

    def image(self, picture: Image.Image) -> Image.Image:
        return ImageCms.applyTransform(picture.convert("RGB"), self.separation.transform())


@dataclass
class _State:
    """The part of the graphics state the rewrite follows, saved by q and restored by Q."""

    fill: tuple[float, ...] = (0.0,)  # DeviceGray black, the initial colour
    stroke: tuple[float, ...] = (0.0,)
    fill_space: str = "/DeviceGray"
    stroke_space: str = "/DeviceGray"
    fill_rgb: bool = False  # the space was DeviceRGB, now DeviceCMYK: convert the values
    stroke_rgb: bool = False
    render_mode: int = 0


_SHOW_TEXT = {"Tj", "TJ", "'", '"'}
_CMYK_SPACES = ("/DeviceCMYK", "/device-cmyk")
_RGB_TO_CMYK = {"rg": "k", "RG": "K"}
# What `_separate` rewrites or follows
_COLOUR_OPERATORS = {"rg", "RG", "cs", "CS", "sc", "scn", "SC", "SCN", "k", "K", "g", "G"}


class _Rewrite:
    """Walk pages, forms and patterns once each: separate RGB, overprint black text."""

    def __init__(self, pdf: pikepdf.Pdf, separation: _Separation, overprint: bool) -> None:
        self.pdf = pdf
        self.separation = separation
        self.overprint = overprint
        self.seen: set[tuple[int, int]] = set()
        self.default_rgb = Array([Name.ICCBased, pdf.make_stream(srgb_profile(), N=3)])

    def holder(self, holder: pikepdf.Object, overprint: bool | None = None) -> None:
        """Rewrite a page, form or tiling pattern, and first what its resources hold."""
        resources = _resources(holder)
        self._resources(resources)
        operations, overprinted = self._operations(
            holder, self.overprint if overprint is None else overprint)
        data = zlib.compress(pikepdf.unparse_content_stream(operations))
        if isinstance(holder, pikepdf.Stream):
            holder.write(data, filter=Name.FlateDecode)
        else:
            holder.Contents = self.pdf.make_stream(data, Filter=Name.FlateDecode)
        if overprinted:
            states = _entry(resources, Name.ExtGState)
            states[OVERPRINT_ON] = Dictionary(Type=Name.ExtGState, OP=True, op=True, OPM=1)
            states[OVERPRINT_OFF] = Dictionary(Type=Name.ExtGState, OP=False, op=False,
                                               OPM=0)

    def _resources(self, resources: pikepdf.Dictionary) -> None:
        if not self._first_visit(resources):
            return
        # Whatever stays RGB (a sampled gradient) is at least sRGB, not device RGB.
        spaces = _entry(resources, Name.ColorSpace)
        spaces[Name.DefaultRGB] = self.default_rgb
        for xobject in (resources.get("/XObject") or Dictionary()).values():
            if not self._first_visit(xobject):
                continue
            if xobject.get("/Subtype") == "/Image":
                _separate_image(xobject, self.separation)
            elif xobject.get("/Subtype") == "/Form":
                self.holder(xobject)
        shadings = list((resources.get("/Shading") or Dictionary()).values())
        for pattern in (resources.get("/Pattern") or Dictionary()).values():
            if pattern.get("/PatternType") == 2 and "/Shading" in pattern:
                shadings.append(pattern.Shading)
            elif pattern.get("/PatternType") == 1 and self._first_visit(pattern):
                self.holder(pattern, overprint=False)
        for shading in shadings:
            if self._first_visit(shading):
                _separate_shading(shading, self.separation)

    def _first_visit(self, obj: pikepdf.Object) -> bool:
        if not obj.is_indirect:
            return True
        if obj.objgen in self.seen:
            return False
        self.seen.add(obj.objgen)
        return True

    def _operations(self, holder: pikepdf.Object, overprint: bool) -> tuple[list, bool]:
        """The holder's operations, rewritten; and whether any text now overprints."""
        result: list = []
        stack: list[_State] = []
        state = _State()
        text: list | None = None  # a BT…ET object, held back until ET
        black_only = overprinted = False
        for instruction in pikepdf.parse_content_stream(holder):
            if isinstance(instruction, pikepdf.ContentStreamInlineImage):
                (result if text is None else text).append(instruction)
                continue
            operator, rewritten = str(instruction.operator), instruction
            if operator in _COLOUR_OPERATORS:  # the others are kept as they are, unbuilt
                operands, operator = _separate(list(instruction.operands), operator, state,
                                               self.separation)
                rewritten = pikepdf.ContentStreamInstruction(operands, Operator(operator))
            if operator == "q":
                stack.append(replace(state))
            elif operator == "Q" and stack:
                state = stack.pop()
            elif operator == "Tr":
                state.render_mode = int(instruction.operands[0])
            elif operator == "BT":
                text, black_only = [], True
            if text is None:
                result.append(rewritten)
                continue
            text.append(rewritten)
            if operator in _SHOW_TEXT:
                black_only = black_only and _black_ink_only(state)
            if operator == "ET":
                if overprint and black_only:
                    text = [_gs(OVERPRINT_ON), *text, _gs(OVERPRINT_OFF)]
                    overprinted = True
                result += text
                text = None
        return result, overprinted


def _gs(name: pikepdf.Name) -> pikepdf.ContentStreamInstruction:
    return pikepdf.ContentStreamInstruction([name], Operator("gs"))


def _black_ink_only(state: _State) -> bool:
    """Whether glyphs drawn now are 100 % K and nothing else (fill, and stroke if stroked)."""
    fill_ok = state.fill_space in _CMYK_SPACES and state.fill == K_ONLY
    stroke_ok = state.stroke_space in _CMYK_SPACES and state.stroke == K_ONLY
    mode = state.render_mode
    if mode in (0, 4):
        return fill_ok
    if mode in (1, 5):
        return stroke_ok
    if mode in (2, 6):
        return fill_ok and stroke_ok
    return False  # invisible or clipping text prints no ink


def _separate(operands: list, operator: str, state: _State, separation: _Separation
              ) -> tuple[list, str]:
    """Turn an RGB colour operator into its CMYK one; follow the current colours."""
    if operator in _RGB_TO_CMYK:
        operands = separation.colour(operands)
        operator = _RGB_TO_CMYK[operator]
    stroke = operator in ("CS", "SC", "SCN", "K", "G")
    if operator in ("cs", "CS"):
        space = str(operands[0])
        rgb = space == "/DeviceRGB"
        if rgb:
            operands, space = [Name.DeviceCMYK], "/DeviceCMYK"
        initial = {"/DeviceGray": (0.0,), "/DeviceCMYK": K_ONLY}.get(space, ())
        _set_colour(state, stroke, space, initial, rgb)
    elif operator in ("sc", "scn", "SC", "SCN"):
        rgb = state.stroke_rgb if stroke else state.fill_rgb
        if rgb and len(operands) == 3:
            operands = separation.colour(operands)
        values = tuple(float(v) for v in operands if not isinstance(v, Name))
        _set_colour(state, stroke, None, values, rgb)
    elif operator in ("k", "K", "g", "G"):
        space = "/DeviceCMYK" if operator in ("k", "K") else "/DeviceGray"
        _set_colour(state, stroke, space, tuple(float(v) for v in operands), False)
    return operands, operator


def _set_colour(state: _State, stroke: bool, space: str | None, values: tuple[float, ...],
                rgb: bool) -> None:
    if stroke:
        state.stroke, state.stroke_rgb = values, rgb
        state.stroke_space = space or state.stroke_space
    else:
        state.fill, state.fill_rgb = values, rgb
        state.fill_space = space or state.fill_space


def _is_rgb(space: pikepdf.Object | None) -> bool:
    if space == "/DeviceRGB":
        return True
    if isinstance(space, pikepdf.Array) and len(space) == 2 and space[0] == "/ICCBased":
        return int(space[1].get("/N", 0)) == 3
    if isinstance(space, pikepdf.Array) and len(space) == 4 and space[0] == "/Indexed":
        return _is_rgb(space[1])
    return False


def _separate_image(image: pikepdf.Stream, separation: _Separation) -> None:
    """An RGB (or RGB palette) image becomes a CMYK one; its soft mask stays."""
    if image.get("/ImageMask", False) or not _is_rgb(image.get("/ColorSpace")):
        return
    cmyk = separation.image(PdfImage(image).as_pil_image())
    image.write(zlib.compress(cmyk.tobytes()), filter=Name.FlateDecode)
    image.ColorSpace = Name.DeviceCMYK
    image.BitsPerComponent = 8
    for key in ("/DecodeParms", "/Decode"):
        _drop(image, key)


def _separate_shading(shading: pikepdf.Dictionary, separation: _Separation) -> None:
    """An RGB gradient's colours separated (exponential and stitched functions).

    WeasyPrint writes an SVG gradient of a CMYK document as /DeviceCMYK with RGB stops:
    three values in a four-ink space. Those are RGB too.
    """
    space = shading.get("/ColorSpace")
    if space not in ("/DeviceRGB", "/DeviceCMYK") or not isinstance(
            shading.get("/Function"), (pikepdf.Dictionary, pikepdf.Stream)):
        return  # one function per component, or another space: DefaultRGB covers RGB
    functions, found = [shading.Function], []
    while functions:
        function = functions.pop()
        if function.get("/FunctionType") == 3:
            functions += list(function.Functions)
        elif function.get("/FunctionType") == 2:
            found.append(function)
        else:
            return  # a sampled gradient stays as it is
    ends = [(f, key) for f in found for key in ("/C0", "/C1")]
    if not all(len(f.get(key, [0, 0, 0] if key == "/C0" else [1, 1, 1])) == 3
               for f, key in ends):
        return  # already CMYK
    for function, key in ends:
        default = [0, 0, 0] if key == "/C0" else [1, 1, 1]
        function[key] = Array(separation.colour(list(function.get(key, default))))
    shading.ColorSpace = Name.DeviceCMYK


# --- identifiers ---------------------------------------------------------------------

def _stable_identifiers(pdf: pikepdf.Pdf, identifier: bytes) -> None:
    """The same inputs give the same bytes: XMP document id and /ID from the content."""
    metadata = pdf.Root.Metadata
    stable = uuid.UUID(bytes=bytes.fromhex(identifier.decode())[:16])
    metadata.write(re.sub(rb"xmp\.did:[0-9a-f-]{36}", f"xmp.did:{stable}".encode(),
                          metadata.read_bytes()))
    pdf.trailer.ID = Array([String(identifier), String(identifier)])


def srgb_profile() -> bytes:
    """The sRGB profile WeasyPrint ships, for DefaultRGB."""
    return (importlib.resources.files("weasyprint.pdf") / "sRGB2014.icc").read_bytes()
