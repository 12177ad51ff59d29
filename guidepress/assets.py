"""Checks of the files a brand brings (logos, fonts), made before anything renders them.

A file is judged by its bytes, never by its name: it must be a regular file of bounded
size, its magic number must match the type its extension claims, raster images must stay
within a pixel budget and decode completely, and an SVG must be plain drawing (no DOCTYPE
or entities, no script, no foreignObject, no reference to anything outside itself, and no
`<use>` that loops back on itself or multiplies into more elements than a logo needs).
"""

from __future__ import annotations

import io
import re
import struct
import warnings
import zlib
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path

from fontTools.ttLib import TTFont, TTLibError
from PIL import Image

from guidepress.i18n import _
from guidepress.load import FileRefused, read_regular_file

MAX_ASSET_BYTES = 5_000_000
MAX_PIXELS = 40_000_000
MAX_SVG_ELEMENTS = 5_000
MAX_SVG_DEPTH = 32
MAX_SVG_EXPANDED = 20_000  # elements once every <use> and url(#…) is drawn out

_MAGIC = {
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".ttf": (b"\x00\x01\x00\x00", b"true"),
    ".otf": (b"OTTO",),
    ".woff": (b"wOFF",),
    ".woff2": (b"wOF2",),
}
_SVG_FORBIDDEN = {"script", "foreignObject", "iframe", "embed", "object", "audio", "video",
                  "handler", "listener"}
_EXTERNAL = re.compile(r"^\s*(?!#)\S")  # any href that is not a fragment inside the file
_URL_IN_STYLE = re.compile(r"url\(\s*['\"]?(?!#)", re.IGNORECASE)
_FRAGMENT_URL = re.compile(r"url\(\s*['\"]?#([^'\")\s]+)", re.IGNORECASE)
_NUMBER = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(px|pt|mm|cm|in)?\s*$")


def check_asset(path: Path) -> None:
    """Raise ValueError, in an editor's words, if the file is not what it claims to be."""
    data = _read(path)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        _check_svg(path.name, data)
        return
    if not data.startswith(_MAGIC.get(suffix, (b"\x00\x00\x00\x00impossible",))):
        raise ValueError(_('"{name}" is not really a {kind} file (its content does not match '
                           "its name)").format(name=path.name, kind=suffix[1:].upper()))
    if suffix in (".png", ".jpg", ".jpeg"):
        _check_raster(path.name, data)
    elif suffix in (".ttf", ".otf", ".woff", ".woff2"):
        _check_font(path.name, data)


def _check_font(name: str, data: bytes) -> None:
    """A font whose tables cannot be read, or that maps no character, is refused here,
    before the character check or WeasyPrint opens it."""
    try:
        with TTFont(io.BytesIO(data), lazy=True) as font:
            mapped = font.getBestCmap()
    except (TTLibError, struct.error, KeyError, ValueError, EOFError, AssertionError):
        mapped = None
    if not mapped:
        raise ValueError(_('"{name}" is damaged or is not a font: its character table cannot '
                           "be read; export the font again or use another file").format(name=name))


def aspect_ratio(path: Path) -> float:
    """Width over height of an image (an SVG's viewBox or size), 1 when it is not known."""
    data = _read(path)
    if path.suffix.lower() != ".svg":
        with Image.open(io.BytesIO(data)) as image:  # the header only: no pixel is decoded
            width, height = image.size
        return width / height if width and height else 1.0
    root = ElementTree.fromstring(data)
    box = (root.get("viewBox") or "").replace(",", " ").split()
    width, height = (_length(box[2]), _length(box[3])) if len(box) == 4 else (0.0, 0.0)
    if not (width > 0 and height > 0):
        width, height = _length(root.get("width")), _length(root.get("height"))
    return width / height if width > 0 and height > 0 else 1.0


def _read(path: Path) -> bytes:
    try:
        return read_regular_file(path, MAX_ASSET_BYTES, f'"{path.name}"')
    except FileRefused as exc:
        raise ValueError(str(exc)) from None


def _length(value: str | None) -> float:
    match = _NUMBER.match(value or "")
    return float(match.group(1)) if match else 0.0


def _check_raster(name: str, data: bytes) -> None:
    """Refuse an image whose pixels do not all decode, or that has too many of them.

    Pillow's own limit (MAX_IMAGE_PIXELS) is left alone, as it is shared by the whole
    process; ours is checked on the size read from the header, before decoding. Pillow
    cannot be trusted to report damaged data either: WeasyPrint, once imported, makes it
    accept truncated images for the whole process. So the compressed data is checked
    here: a PNG's is inflated completely, a JPEG's must reach its end marker.
    """
    try:
        with warnings.catch_warnings(action="error", category=Image.DecompressionBombWarning):
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height <= MAX_PIXELS:
                    image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        width, height = 0, 0  # so large that Pillow would not even open it
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # Pillow on damaged data
        raise ValueError(_damaged(name, str(exc))) from None
    millions = MAX_PIXELS // 1_000_000
    if not width:
        raise ValueError(_('"{name}" has more pixels than the {millions} million allowed')
                         .format(name=name, millions=millions))
    if width * height > MAX_PIXELS:
        raise ValueError(_('"{name}" is {width}×{height} pixels, more than the {millions} '
                           "million allowed").format(name=name, width=width, height=height,
                                                     millions=millions))
    problem = _png_problem(data) if data.startswith(_MAGIC[".png"][0]) else _jpeg_problem(data)
    if problem:
        raise ValueError(_damaged(name, problem))


def _damaged(name: str, reason: str) -> str:
    return _('"{name}" is damaged: its pixels cannot be read ({reason}); export the image '
             "again").format(name=name, reason=reason)


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
          (0, 1, 1, 2))  # x, y, step x, step y of each interlacing pass


def _png_problem(data: bytes) -> str | None:
    """Check every chunk's checksum, then inflate the pixel data to its exact size.

    Each row must start with one of the five PNG filter types.
    """
    chunks: dict[bytes, list[bytes]] = {}
    position = 8
    while position + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        crc = data[position + 8 + length:position + 12 + length]
        if len(body) < length or len(crc) < 4:
            return _("the file is cut short")
        if zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
            return _("the checksum of its {part} part is wrong").format(
                part=kind.decode("latin-1"))
        chunks.setdefault(kind, []).append(body)
        position += 12 + length
        if kind == b"IEND":
            break
    if b"IHDR" not in chunks or b"IEND" not in chunks:
        return _("the file is cut short")
    width, height, depth, colour, _method, _filter, interlace = struct.unpack(">IIBBBBB",
                                                                  chunks[b"IHDR"][0][:13])
    bits = depth * _PNG_CHANNELS.get(colour, 4)
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    rows = [(-(-(width - x) // dx) * bits + 7) // 8 + 1
            for x, y, dx, dy in passes if width > x and height > y
            for _row in range(y, height, dy)]
    return _inflate_rows(b"".join(chunks.get(b"IDAT", [])), rows)


def _inflate_rows(compressed: bytes, rows: list[int]) -> str | None:
    """Inflate the data a piece at a time, checking each row's filter byte on the way."""
    inflater = zlib.decompressobj()
    expected, done, row, next_row = sum(rows), 0, 0, 0
    pending = compressed
    try:
        while True:
            piece = inflater.decompress(pending, 1 << 20)
            pending = inflater.unconsumed_tail
            while row < len(rows) and next_row < done + len(piece):
                if piece[next_row - done] > 4:
                    return _("row {row} is not valid PNG data").format(row=row + 1)
                next_row += rows[row]
                row += 1
            done += len(piece)
            if done > expected or (not piece and not pending):
                break
    except zlib.error as exc:
        return _("its pixel data is corrupt: {reason}").format(reason=exc)
    if done != expected or not inflater.eof:
        return _("its pixel data stops after {done} of {expected} bytes").format(
            done=done, expected=expected)
    return None


def _jpeg_problem(data: bytes) -> str | None:
    """A JPEG is cut short when no end marker follows the start of its image data."""
    scan = data.find(b"\xff\xda")
    if scan < 0 or data.find(b"\xff\xd9", scan) < 0:
        return "the file is cut short"
    return None


def _check_svg(name: str, data: bytes) -> None:
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise ValueError(_('"{name}" declares a DOCTYPE or entities; save it as plain SVG')
                         .format(name=name))
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise ValueError(_('"{name}" is not a valid SVG file ({reason})').format(
            name=name, reason=exc)) from None
    if _local(root.tag) != "svg":
        raise ValueError(_('"{name}" is not an SVG drawing').format(name=name))
    count = 0
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        count += 1
        if count > MAX_SVG_ELEMENTS or depth > MAX_SVG_DEPTH:
            raise ValueError(_('"{name}" is too complex (more than {elements} elements or '
                               "{levels} levels); simplify the drawing").format(
                                   name=name, elements=MAX_SVG_ELEMENTS, levels=MAX_SVG_DEPTH))
        tag = _local(element.tag)
        if tag in _SVG_FORBIDDEN:
            raise ValueError(_('"{name}" contains a <{tag}> element; a logo must be a plain '
                               "drawing").format(name=name, tag=tag))
        for attribute, value in element.attrib.items():
            key = _local(attribute)
            if key.startswith("on"):
                raise ValueError(_('"{name}" contains a script attribute ({key})').format(
                    name=name, key=key))
            if key == "href" and _EXTERNAL.match(value):
                raise ValueError(_('"{name}" refers to another file or address ({address}); '
                                   "embed everything in the SVG").format(
                                       name=name, address=value[:60]))
            if key == "style" and _URL_IN_STYLE.search(value):
                raise ValueError(_('"{name}" loads something from outside in a style '
                                   "attribute").format(name=name))
        if tag == "style" and element.text and (_URL_IN_STYLE.search(element.text)
                                                or "@import" in element.text):
            raise ValueError(_('"{name}" loads something from outside in its <style>')
                             .format(name=name))
        stack.extend((child, depth + 1) for child in element)
    _check_expansion(name, root)


def _check_expansion(name: str, root: ElementTree.Element) -> None:
    """Count the elements drawn once every reference is followed, and refuse loops.

    A `<use>` draws a copy of the element it names; layers of them multiply (ten uses of
    ten uses of … is a billion elements from a hundred), and one that names itself or an
    element containing it never ends. Each element's drawn size is computed once, from
    its children and the elements it refers to, walking the graph without recursion.
    """
    by_id = {element.get("id"): element for element in root.iter() if element.get("id")}

    def successors(element: ElementTree.Element) -> list[ElementTree.Element]:
        return list(element) + [by_id[ref] for ref in _references(element) if ref in by_id]

    size: dict[ElementTree.Element, int] = {}
    path = [root]
    pending = [iter(successors(root))]
    while pending:
        following = next(pending[-1], None)
        if following is None:
            element = path.pop()
            pending.pop()
            size[element] = 1 + sum(size[s] for s in successors(element))
            if size[element] > MAX_SVG_EXPANDED:
                raise ValueError(_('"{name}" is too complex: its <use> elements draw more '
                                   "than {count} elements; simplify the drawing").format(
                                       name=name, count=MAX_SVG_EXPANDED))
            continue
        if following in size:
            continue
        if following in path:
            loop = [e for e in path[path.index(following):] if e.get("id")] + [following]
            chain = " → ".join(f"#{e.get('id')}" for e in loop)
            raise ValueError(_('"{name}" has a <use> that refers back to itself ({chain}), '
                               "which can never be drawn; remove the loop").format(
                                   name=name, chain=chain))
        path.append(following)
        pending.append(iter(successors(following)))


def _references(element: ElementTree.Element) -> Iterator[str]:
    """The ids an element draws or uses: `href="#id"` and `url(#id)` in any attribute."""
    for attribute, value in element.attrib.items():
        if _local(attribute) == "href" and value.strip().startswith("#"):
            yield value.strip()[1:]
        else:
            yield from _FRAGMENT_URL.findall(value)
    if _local(element.tag) == "style" and element.text:
        yield from _FRAGMENT_URL.findall(element.text)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
