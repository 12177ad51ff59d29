"""Pictograms from Tabler Icons (MIT), installed by npm into node_modules/@tabler/icons.

Content names a pictogram (`icon: camera-off`); models check the name here, and the render
stage asks for the drawing, recoloured, as an inline <svg> of plain drawing elements. Nothing else is read:
a name is a slug, looked up only in the package's `icons/outline/` folder.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from markupsafe import Markup, escape

from guidepress.i18n import _
from guidepress.problems import close_names

ICON_PACKAGE = Path(__file__).resolve().parent.parent / "node_modules" / "@tabler" / "icons"
ICON_FOLDER = ICON_PACKAGE / "icons" / "outline"
ICON_LICENCE = ICON_PACKAGE / "LICENSE"
ICON_SET_URL = "https://tabler.io/icons"
_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
MAX_ICON_BYTES = 20_000


def icon_path(name: str) -> Path:
    """The drawing of a pictogram, or a ValueError in words an editor understands."""
    if not ICON_FOLDER.is_dir():
        raise ValueError(_("the pictogram set is not installed; run `make setup` "
                           "(it installs @tabler/icons with npm)"))
    if isinstance(name, str) and _NAME.fullmatch(name):
        path = ICON_FOLDER / f"{name}.svg"
        if path.is_file():
            return path
    close = close_names(name, known_icons())
    quoted = ", ".join(f'"{candidate}"' for candidate in close)
    if close:
        raise ValueError(_('"{name}" is not a pictogram name; did you mean {close}? (names '
                           "are those of Tabler Icons, see {url})").format(
                               name=name, close=quoted, url=ICON_SET_URL))
    raise ValueError(_('"{name}" is not a pictogram name (names are those of Tabler Icons, '
                       "see {url})").format(name=name, url=ICON_SET_URL))


def known_icons() -> list[str]:
    """Every pictogram name of the installed set."""
    return sorted(path.stem for path in ICON_FOLDER.glob("*.svg"))


def check_icon(value: object) -> str:
    """Validator of an `icon:` field: the name must be one of the set."""
    icon_path(str(value))
    return str(value)


_DRAWING = {"svg", "path", "circle", "rect", "line", "polyline", "polygon", "ellipse"}
_ATTRIBUTES = {"xmlns", "width", "height", "viewBox", "fill", "stroke", "stroke-width",
               "stroke-linecap", "stroke-linejoin", "class", "d", "cx", "cy", "r", "rx", "ry",
               "x", "y", "x1", "y1", "x2", "y2", "points"}


def icon_svg(name: str, colour: str, css_class: str) -> Markup:
    """The pictogram as an inline <svg> element, its strokes in `colour` (a CSS colour).

    The set draws with `currentColor`, replaced by the brand colour (separated for print).
    Decorative on the web (aria-hidden); in tagged PDFs its <title>, the pictogram's name,
    is the figure's alternative text (PDF/UA wants one). Only
    plain drawing elements and attributes are kept, so nothing else can ride along.
    """
    path = icon_path(name)
    if path.stat().st_size > MAX_ICON_BYTES:
        raise ValueError(_('the pictogram "{name}" is unexpectedly large').format(name=name))
    root = ElementTree.fromstring(path.read_text(encoding="utf-8"))
    parts = []
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag not in _DRAWING or any(key not in _ATTRIBUTES for key in element.attrib):
            raise ValueError(_('the pictogram "{name}" holds more than plain drawing').format(
                name=name))
        if tag != "svg":
            attributes = "".join(
                f' {key}="{escape(colour if value == "currentColor" else value)}"'
                for key, value in element.attrib.items())
            parts.append(f"<{tag}{attributes}/>")
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" class="{escape(css_class)}" '
                  f'viewBox="0 0 24 24" fill="none" stroke="{escape(colour)}" stroke-width="2" '
                  'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" '
                  f'focusable="false"><title>{escape(name.replace("-", " "))}</title>'
                  f'{"".join(parts)}</svg>')
