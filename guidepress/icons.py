"""Pictograms from Tabler Icons (MIT), installed by npm into node_modules/@tabler/icons.

Content names a pictogram (`icon: camera-off`); models check the name here, and the render
stage asks for the drawing, recoloured, as a small SVG data: URL. Nothing else is read:
a name is a slug, looked up only in the package's `icons/outline/` folder.
"""

from __future__ import annotations

import base64
import difflib
import re
from pathlib import Path

ICON_PACKAGE = Path(__file__).resolve().parent.parent / "node_modules" / "@tabler" / "icons"
ICON_FOLDER = ICON_PACKAGE / "icons" / "outline"
ICON_LICENCE = ICON_PACKAGE / "LICENSE"
ICON_SET_URL = "https://tabler.io/icons"
_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
MAX_ICON_BYTES = 20_000


def icon_path(name: str) -> Path:
    """The drawing of a pictogram, or a ValueError in words an editor understands."""
    if not ICON_FOLDER.is_dir():
        raise ValueError("the pictogram set is not installed; run `make setup` "
                         "(it installs @tabler/icons with npm)")
    if isinstance(name, str) and _NAME.fullmatch(name):
        path = ICON_FOLDER / f"{name}.svg"
        if path.is_file():
            return path
    close = difflib.get_close_matches(str(name), known_icons(), n=3, cutoff=0.6)
    quoted = ", ".join(f'"{candidate}"' for candidate in close)
    hint = f"; did you mean {quoted}?" if close else ""
    return _unknown(name, hint)


def _unknown(name: object, hint: str) -> Path:
    raise ValueError(f'"{name}" is not a pictogram name{hint} '
                     f"(names are those of Tabler Icons, see {ICON_SET_URL})")


def known_icons() -> list[str]:
    """Every pictogram name of the installed set."""
    return sorted(path.stem for path in ICON_FOLDER.glob("*.svg"))


def check_icon(value: object) -> str:
    """Validator of an `icon:` field: the name must be one of the set."""
    icon_path(str(value))
    return str(value)


def icon_data_url(name: str, colour: str) -> str:
    """The pictogram as an SVG data: URL, its strokes in `colour` (any CSS colour value).

    The set draws with `currentColor`, which an <img> does not inherit: it is replaced.
    """
    svg = icon_path(name).read_text(encoding="utf-8")
    if len(svg) > MAX_ICON_BYTES:
        raise ValueError(f'the pictogram "{name}" is unexpectedly large')
    svg = svg.replace('stroke="currentColor"', f'stroke="{colour}"')
    svg = svg.replace('fill="currentColor"', f'fill="{colour}"')
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
