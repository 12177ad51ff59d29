"""What the pages of a print PDF lay down, read from their content streams (pikepdf).

Preflight asks two questions of every print PDF: the highest total ink (C+M+Y+K) inside
the bleed, and whether any small text is printed in a mix of inks. Rendering every page
through Ghostscript (about 0.2 s of start-up per file) or interpreting it in Python
(pdfplumber) answers them slowly. For pages drawn only with vector art in known colours
(the CMYK of WeasyPrint's print profile, grey, the crop marks' registration) this module
answers from the drawing operations themselves: each fill, stroke and text run with its
colour, overprint and bounding box (clipping included, curves by their bounds). Text that
overprints (black text, set by `pdfx`) is priced with the worst colour painted before it
on its page, wherever it lies: an upper bound, never below what is printed. A page with
anything it cannot price (an image, a gradient, a blend mode, a soft mask, an unknown
colour space) is marked as needing a render, and preflight keeps Ghostscript for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
import pikepdf

from guidepress import post

Matrix = tuple[float, float, float, float, float, float]
Box = tuple[float, float, float, float]  # left, bottom, right, top in page space
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
PAPER = (0.0, 0.0, 0.0, 0.0)
_PATH = {"m", "l", "c", "v", "y", "re"}
_PAINT = {"f", "F", "f*", "B", "B*", "b", "b*", "S", "s"}
_SHOW = {"Tj", "TJ", "'", '"'}
_NORMAL_BLEND = {"/Normal", "/Compatible"}


class NeedsRender(Exception):
    """The page holds something whose ink only a render can measure."""


@dataclass
class PageInks:
    """What one page lays down: its highest total ink (None: it needs a render) and
    whether it has text under the small size in anything but one ink."""

    highest: float | None
    small_mixed_text: bool


@dataclass
class _State:
    ctm: Matrix = IDENTITY
    fill: tuple[float, ...] | None = (0.0, 0.0, 0.0, 1.0)  # CMYK; None: not one we know
    stroke: tuple[float, ...] | None = (0.0, 0.0, 0.0, 1.0)
    fill_space: str = "gray"  # cmyk, gray, registration or unknown
    stroke_space: str = "gray"
    overprint: bool = False  # fills and text; priced as with OPM 1, the larger result
    stroke_overprint: bool = False
    font_size: float = 0.0
    render_mode: int = 0
    line_width: float = 1.0
    clips: tuple[Box, ...] = ()  # the bounds of the clipping paths in effect


@dataclass
class _Page:
    bleed: Box
    small_pt: float
    colours: set[tuple[float, ...]] = field(default_factory=set)  # painted inside the bleed
    highest: float = 0.0
    small_mixed_text: bool = False


def scan(data: bytes | pikepdf.Pdf, small_pt: float) -> list[PageInks]:
    """Read every page of a finished print PDF (its bytes, or the PDF already parsed);
    see the module's docstring."""
    found = []
    with post.opened(data) as pdf:
        for page in pdf.pages:
            bleed = tuple(float(v) for v in page.obj.get("/BleedBox", page.obj.MediaBox))
            state = _Page((min(bleed[0], bleed[2]), min(bleed[1], bleed[3]),
                           max(bleed[0], bleed[2]), max(bleed[1], bleed[3])), small_pt)
            try:
                _holder(page.obj, page.obj.get("/Resources"), _State(), state, 0)
                highest: float | None = round(state.highest * 100, 1)
            except NeedsRender:
                highest = None
                state.small_mixed_text = True  # not read to the end: the slow check runs
            found.append(PageInks(highest, state.small_mixed_text))
    return found


def _holder(holder: pikepdf.Object, resources: pikepdf.Object | None, state: _State,
            page: _Page, depth: int) -> None:
    """Follow the drawing of a page or form XObject."""
    if depth > 12:
        raise NeedsRender("forms nested too deep")
    resources = resources if resources is not None else pikepdf.Dictionary()
    stack: list[_State] = []
    path: list[list[tuple[float, float]]] = []  # subpaths
    text_matrix: Matrix = IDENTITY
    line_matrix: Matrix = IDENTITY
    leading = 0.0
    clipping: Box | None = None
    for instruction in pikepdf.parse_content_stream(holder):
        if isinstance(instruction, pikepdf.ContentStreamInlineImage):
            raise NeedsRender("inline image")
        operator = str(instruction.operator)
        operands = list(instruction.operands)
        if operator == "q":
            stack.append(replace(state))
        elif operator == "Q":
            state = stack.pop() if stack else state
        elif operator == "cm":
            state.ctm = _multiply(_matrix(operands), state.ctm)
        elif operator == "w":
            state.line_width = float(operands[0])
        elif operator == "gs":
            _ext_gstate(resources, operands[0], state)
        elif operator in ("cs", "CS", "sc", "scn", "SC", "SCN", "k", "K", "g", "G", "rg",
                          "RG"):
            _colour(resources, operator, operands, state)
        elif operator in _PATH:
            if operator in ("m", "re") or not path:
                path.append([])
            path[-1] += _points(operator, operands, state.ctm)
            if operator == "re":
                path.append([])
        elif operator in ("W", "W*"):
            clipping = _bounds(path, 0)
        elif operator in _PAINT:
            if operator not in ("S", "s"):
                _paint(page, (_bounds(path, 0), *state.clips), state.fill, state.overprint)
            if operator in ("S", "s", "B", "B*", "b", "b*"):
                grow = state.line_width * _scale(state.ctm) / 2
                _paint(page, (_bounds(path, grow), *state.clips), state.stroke,
                       state.stroke_overprint)
        if operator in _PAINT or operator == "n":
            # A clipping path (W … n) bounds what is painted until Q: WeasyPrint draws a
            # box's border as the whole box clipped to the border's band.
            if clipping is not None:
                state.clips = (*state.clips, clipping)
            clipping = None
            path = []
        elif operator == "BT":
            text_matrix = line_matrix = IDENTITY
        elif operator == "Tf":
            state.font_size = float(operands[1])
        elif operator == "Tr":
            state.render_mode = int(operands[0])
        elif operator == "TL":
            leading = float(operands[0])
        elif operator in ("Td", "TD"):
            if operator == "TD":
                leading = -float(operands[1])
            line_matrix = _multiply((1, 0, 0, 1, float(operands[0]), float(operands[1])),
                                    line_matrix)
            text_matrix = line_matrix
        elif operator == "Tm":
            text_matrix = line_matrix = _matrix(operands)
        elif operator in ("T*", "'", '"'):
            line_matrix = _multiply((1, 0, 0, 1, 0, -leading), line_matrix)
            text_matrix = line_matrix
        if operator in _SHOW:
            _text(page, state, _multiply(text_matrix, state.ctm))
        elif operator == "sh":
            raise NeedsRender("gradient")
        elif operator == "Do":
            _xobject(resources, operands[0], state, page, depth)


def _xobject(resources: pikepdf.Object, name: pikepdf.Object, state: _State, page: _Page,
             depth: int) -> None:
    xobject = (resources.get("/XObject") or {}).get(str(name))
    if xobject is None or xobject.get("/Subtype") != "/Form":
        raise NeedsRender("image")
    group = xobject.get("/Group")
    if group is not None and group.get("/S") == "/Transparency" and "/CS" in group \
            and group.CS not in ("/DeviceCMYK", "/DeviceGray"):
        raise NeedsRender("transparency group in another colour space")
    inner = replace(state)
    if "/Matrix" in xobject:
        inner.ctm = _multiply(_matrix(list(xobject.Matrix)), state.ctm)
    _holder(xobject, xobject.get("/Resources", resources), inner, page, depth + 1)


def _ext_gstate(resources: pikepdf.Object, name: pikepdf.Object, state: _State) -> None:
    gstate = (resources.get("/ExtGState") or {}).get(str(name))
    if gstate is None:
        return
    blend = gstate.get("/BM")
    if blend is not None and str(blend if not isinstance(blend, pikepdf.Array) else blend[0]) \
            not in _NORMAL_BLEND:
        raise NeedsRender("blend mode")  # a multiply can add inks beyond either colour
    if "/SMask" in gstate and gstate.SMask != "/None":
        raise NeedsRender("soft mask")
    if "/OP" in gstate:
        state.stroke_overprint = bool(gstate.OP)
        state.overprint = bool(gstate.get("/op", gstate.OP))
    elif "/op" in gstate:
        state.overprint = bool(gstate.op)
    # /OPM 0 would knock the other inks out: pricing as OPM 1 gives the larger figure.
    # /ca and /CA (opacity) mix a colour with what is under it: never more ink than the
    # larger of the two, so the highest of the colours drawn still bounds the page.


def _colour(resources: pikepdf.Object, operator: str, operands: list, state: _State) -> None:
    stroke = operator in ("CS", "SC", "SCN", "K", "G", "RG")
    values = [float(v) for v in operands if not isinstance(v, pikepdf.Name)]
    if operator in ("rg", "RG"):
        colour = None  # RGB left in a print PDF: only a render says what it prints
    elif operator in ("k", "K"):
        colour = tuple(values)
    elif operator in ("g", "G"):
        colour = (0.0, 0.0, 0.0, 1 - values[0])
    elif operator in ("cs", "CS"):
        colour = _initial(_space(resources, operands[0]))
    else:  # sc, scn: values in the current space
        space = state.stroke_space if stroke else state.fill_space
        colour = _in_space(space, values)
    if operator in ("cs", "CS"):
        if stroke:
            state.stroke_space = _space(resources, operands[0])
        else:
            state.fill_space = _space(resources, operands[0])
    elif operator in ("k", "K", "g", "G", "rg", "RG"):
        space = {"k": "cmyk", "g": "gray"}.get(operator.lower(), "unknown")
        if stroke:
            state.stroke_space = space
        else:
            state.fill_space = space
    if stroke:
        state.stroke = colour
    else:
        state.fill = colour


def _space(resources: pikepdf.Object, name: pikepdf.Object) -> str:
    """What a colour space is, for pricing its ink: cmyk, gray, registration or unknown."""
    text = str(name)
    if text in ("/DeviceCMYK", "/CMYK"):
        return "cmyk"
    if text in ("/DeviceGray", "/G"):
        return "gray"
    space = (resources.get("/ColorSpace") or {}).get(text)
    if isinstance(space, pikepdf.Name):
        return _space(resources, space)
    if isinstance(space, pikepdf.Array) and len(space) >= 2:
        kind = str(space[0])
        if kind == "/Separation" and str(space[1]) == "/All":
            return "registration"
        if kind == "/ICCBased":
            return {4: "cmyk", 1: "gray"}.get(int(space[1].get("/N", 0)), "unknown")
    return "unknown"


def _initial(space: str) -> tuple[float, ...] | None:
    return {"cmyk": (0.0, 0.0, 0.0, 1.0), "gray": (0.0, 0.0, 0.0, 1.0),
            "registration": (1.0, 1.0, 1.0, 1.0)}.get(space)


def _in_space(space: str, values: list[float]) -> tuple[float, ...] | None:
    if space == "cmyk" and len(values) == 4:
        return tuple(values)
    if space == "gray" and len(values) == 1:
        return (0.0, 0.0, 0.0, 1 - values[0])
    if space == "registration" and len(values) == 1:
        return (values[0],) * 4
    return None


def _paint(page: _Page, boxes: tuple[Box | None, ...], colour: tuple[float, ...] | None,
           overprint: bool) -> None:
    """Something painted (its bounds, then its clips'): count its ink inside the bleed."""
    box: Box | None = page.bleed
    for other in boxes:
        box = _clipped(other, box) if box is not None and other is not None else None
    if box is None or box[0] >= box[2] or box[1] >= box[3]:
        return  # nothing inside the bleed (the crop marks), or nothing at all
    if colour is None:
        raise NeedsRender("a colour this scan cannot price")
    laid = _overprinted(page, colour) if overprint else colour
    page.highest = max(page.highest, sum(laid))
    page.colours.add(tuple(laid))


def _text(page: _Page, state: _State, matrix: Matrix) -> None:
    """A run of text: its ink at its origin, and whether it is small and not in one ink."""
    mode = state.render_mode
    if mode in (3, 7):
        return  # invisible or clipping only
    colour = state.stroke if mode in (1, 5) else state.fill
    a, b, c, d, x, y = matrix
    # pdfplumber's size: the glyphs' height on the page; its colour: the fill colour
    size = round(abs(state.font_size * d), 1) if b == 0 and c == 0 else 0.0  # 0: rotated
    small = size < page.small_pt - 0.05
    if colour is None or state.fill is None or (small and not _single_ink(state.fill)):
        page.small_mixed_text = True  # the slow check will say exactly what and where
    if colour is None:
        raise NeedsRender("text in a colour this scan cannot price")
    if _inside((x, y), page.bleed):
        overprint = state.overprint if mode not in (1, 5) else state.stroke_overprint
        laid = _overprinted(page, colour) if overprint else colour
        page.highest = max(page.highest, sum(laid))


def _single_ink(colour: tuple[float, ...]) -> bool:
    """One ink laid down (as preflight's small-text check counts it); white is not."""
    return sum(1 for v in colour if v > 0.005) == 1


def _overprinted(page: _Page, colour: tuple[float, ...]) -> tuple[float, ...]:
    """Overprint (OPM 1, what the print PDF uses for black text): the inks at 0 leave those
    under them. Where it lies is not followed: the result is the worst over every colour
    painted before it on the page (an upper bound of the ink; see `scan`)."""
    return max((tuple(mine if mine > 0 else theirs for mine, theirs in zip(colour, under))
                for under in page.colours | {PAPER}), key=sum)


def _matrix(operands: list) -> Matrix:
    return tuple(float(v) for v in operands[:6])  # type: ignore[return-value]


def _multiply(m: Matrix, n: Matrix) -> Matrix:
    """m then n (PDF's row-vector convention)."""
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s,
            e * p + f * r + t, e * q + f * s + u)


def _apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = m
    return (a * x + c * y + e, b * x + d * y + f)


def _scale(m: Matrix) -> float:
    return max(abs(m[0]) + abs(m[2]), abs(m[1]) + abs(m[3]))


def _points(operator: str, operands: list, ctm: Matrix) -> list[tuple[float, float]]:
    values = [float(v) for v in operands]
    if operator == "re":
        x, y, w, h = values
        corners = [(x, y), (x + w, y), (x, y + h), (x + w, y + h)]
    else:  # control points bound a Bézier curve
        corners = list(zip(values[0::2], values[1::2]))
    return [_apply(ctm, x, y) for x, y in corners]


def _bounds(path: list[list[tuple[float, float]]], grow: float) -> Box | None:
    points = [point for subpath in path for point in subpath]
    if not points:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return (min(xs) - grow, min(ys) - grow, max(xs) + grow, max(ys) + grow)


def _clipped(box: Box, clip: Box | None) -> Box | None:
    """The part of `box` inside `clip`, None if nothing."""
    if clip is None:
        return box
    inside = (max(box[0], clip[0]), max(box[1], clip[1]), min(box[2], clip[2]),
              min(box[3], clip[3]))
    return inside if inside[0] <= inside[2] and inside[1] <= inside[3] else None


def _inside(point: tuple[float, float], box: Box) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]
