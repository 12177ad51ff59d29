"""Stage 4, render: typeset models become HTML through Jinja templates.

Templates are looked up in the brand's `templates/` folder first, then in the project's
`templates/`; a brand template can extend the one it hides as `!default/<name>`.
Brand colours, fonts and print settings reach CSS only through `brand_stylesheet`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jinja2 import (ChoiceLoader, FileSystemLoader, PrefixLoader, StrictUndefined,
                    TemplateNotFound)
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from guidepress.models import NETWORK_POSITIONS, Brand, Guide, Poster

DEFAULT_PREFIX = "!default"


@dataclass(frozen=True)
class Document:
    """An HTML document ready for the PDF stage."""

    name: str
    html: str
    kind: str


def template_environment(templates: Path, brand: Brand) -> ImmutableSandboxedEnvironment:
    """Return the Jinja environment of one brand: its overrides first, then the defaults."""
    return _environment(templates.resolve(), brand.folder / "templates")


@lru_cache(maxsize=64)
def _environment(templates: Path, brand_templates: Path) -> ImmutableSandboxedEnvironment:
    default = FileSystemLoader(templates)
    loaders = [PrefixLoader({DEFAULT_PREFIX: default}, delimiter="/")]
    if brand_templates.is_dir():
        loaders.append(FileSystemLoader(brand_templates))
    loaders.append(default)
    env = ImmutableSandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        autoescape=True,  # every template name, .j2 included
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["network_positions"] = NETWORK_POSITIONS
    return env


def template_origin(env: ImmutableSandboxedEnvironment, name: str) -> Path:
    """Return the file a template name resolves to (brand override or default)."""
    try:
        return Path(env.get_template(name).filename or "")
    except TemplateNotFound as exc:
        raise TemplateNotFound(f"{name} (looked in the brand's templates/ and in templates/)") \
            from exc


def brand_stylesheet(brand: Brand, *, print_marks: bool) -> Markup:
    """Write the brand's fonts, colours and print settings as CSS: the only place they enter."""
    rules = []
    for face in brand.fonts.families:
        files = face.files
        for path, weight, style in ((files.regular, 400, "normal"), (files.bold, 700, "normal"),
                                    (files.italic, 400, "italic"),
                                    (files.bold_italic, 700, "italic")):
            if path is not None:
                rules.append(f'@font-face {{ font-family: "{face.family}"; '
                             f'src: url("{path.as_uri()}"); font-weight: {weight}; '
                             f"font-style: {style}; }}")
    colours = brand.colours
    heading = brand.fonts.heading or brand.fonts.body
    properties = {
        "--gp-primary-bg-color": colours.primary,
        "--gp-primary-fg-color": colours.on_primary,
        "--gp-accent-bg-color": colours.accent,
        "--gp-accent-fg-color": colours.on_accent,
        "--gp-text-color": colours.text,
        "--gp-paper-color": colours.paper,
        "--gp-tint-bg-color": colours.tint,
        "--gp-body-font": f'"{brand.fonts.body.family}"',
        "--gp-heading-font": f'"{heading.family}"',
    }
    rules.append(":root { " + " ".join(f"{k}: {v};" for k, v in properties.items()) + " }")
    if print_marks:
        marks = "crop" if brand.print.crop_marks else "none"
        rules.append(f"@page {{ bleed: {brand.print.bleed_mm:g}mm; marks: {marks}; }}")
    return Markup("\n".join(rules))  # built from validated values only


def render_booklet(env: ImmutableSandboxedEnvironment, guide: Guide, brand: Brand, *,
                   notes_pages: int = 0) -> Document:
    """Render the A5 booklet of one guide, with `notes_pages` deliberate note pages."""
    html = env.get_template("booklet.html.j2").render(
        guide=guide, brand=brand, labels=guide.labels, notes_pages=notes_pages,
        brand_css=brand_stylesheet(brand, print_marks=True))
    return Document("guide.pdf", html, "booklet")


def render_poster(env: ImmutableSandboxedEnvironment, guide: Guide, brand: Brand,
                  poster: Poster) -> Document:
    """Render one A3 poster."""
    html = env.get_template("poster.html.j2").render(
        guide=guide, brand=brand, labels=guide.labels, poster=poster,
        brand_css=brand_stylesheet(brand, print_marks=True))
    return Document(f"poster-{poster.id}.pdf", html, "poster")
