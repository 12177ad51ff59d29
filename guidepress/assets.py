"""Checks of the files a brand brings (logos, fonts), made before anything renders them.

A file is judged by its bytes, never by its name: the magic number must match the type
its extension claims, raster images must stay within a pixel budget, and an SVG must be
plain drawing (no DOCTYPE or entities, no script, no foreignObject, no reference to
anything outside itself).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from PIL import Image

MAX_ASSET_BYTES = 5_000_000
MAX_PIXELS = 40_000_000
MAX_SVG_ELEMENTS = 5_000
MAX_SVG_DEPTH = 32

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


def check_asset(path: Path) -> None:
    """Raise ValueError, in an editor's words, if the file is not what it claims to be."""
    size = path.stat().st_size
    if size > MAX_ASSET_BYTES:
        raise ValueError(f'"{path.name}" is too large ({size // 1000} kB; the limit is '
                         f"{MAX_ASSET_BYTES // 1_000_000} MB)")
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".svg":
        _check_svg(path.name, data)
        return
    if not data.startswith(_MAGIC.get(suffix, (b"\x00\x00\x00\x00impossible",))):
        raise ValueError(f'"{path.name}" is not really a {suffix[1:].upper()} file '
                         "(its content does not match its name)")
    if suffix in (".png", ".jpg", ".jpeg"):
        _check_raster(path)


def _check_raster(path: Path) -> None:
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(path) as image:
            width, height = image.size
    except (OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f'"{path.name}" cannot be read as an image ({exc})') from None
    if width * height > MAX_PIXELS:
        raise ValueError(f'"{path.name}" is {width}×{height} pixels, more than the '
                         f"{MAX_PIXELS // 1_000_000} million allowed")


def _check_svg(name: str, data: bytes) -> None:
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise ValueError(f'"{name}" declares a DOCTYPE or entities; save it as plain SVG')
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise ValueError(f'"{name}" is not a valid SVG file ({exc})') from None
    if _local(root.tag) != "svg":
        raise ValueError(f'"{name}" is not an SVG drawing')
    count = 0
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        count += 1
        if count > MAX_SVG_ELEMENTS or depth > MAX_SVG_DEPTH:
            raise ValueError(f'"{name}" is too complex (more than {MAX_SVG_ELEMENTS} elements '
                             f"or {MAX_SVG_DEPTH} levels); simplify the drawing")
        tag = _local(element.tag)
        if tag in _SVG_FORBIDDEN:
            raise ValueError(f'"{name}" contains a <{tag}> element; a logo must be a plain '
                             "drawing")
        for attribute, value in element.attrib.items():
            key = _local(attribute)
            if key.startswith("on"):
                raise ValueError(f'"{name}" contains a script attribute ({key})')
            if key == "href" and _EXTERNAL.match(value):
                raise ValueError(f'"{name}" refers to another file or address ({value[:60]}); '
                                 "embed everything in the SVG")
            if key == "style" and _URL_IN_STYLE.search(value):
                raise ValueError(f'"{name}" loads something from outside in a style attribute')
        if tag == "style" and element.text and (_URL_IN_STYLE.search(element.text)
                                                or "@import" in element.text):
            raise ValueError(f'"{name}" loads something from outside in its <style>')
        stack.extend((child, depth + 1) for child in element)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
