"""Stage 4, render: typeset models become HTML through Jinja templates.

Templates are looked up in the brand's `templates/` folder first, then in the guide's
(`content/<guide>/templates/`), then in the project's `templates/`; an override can
extend the default template it hides as `!default/<name>`.
Brand colours, fonts and print settings reach CSS only through `brand_stylesheet`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import math
import re
import types
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from jinja2 import (ChoiceLoader, FileSystemLoader, PrefixLoader, StrictUndefined,
                    TemplateNotFound, TemplateSyntaxError, UndefinedError)
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup

import segno
import uharfbuzz as harfbuzz
from fontTools.ttLib import TTFont
from PIL import Image, ImageCms, ImageColor

from guidepress.assets import aspect_ratio
from guidepress.i18n import _
from guidepress.icons import icon_svg
from guidepress.load import FileRefused, read_regular_file
from guidepress.models import NETWORK_POSITIONS, Brand, Format, Guide, Poster, PrinterTicket
from guidepress.problems import InputError, InputErrors, RenderError

DEFAULT_PREFIX = "!default"
LOGO_SCALES = {"small": "0.75", "medium": "1", "large": "1.4"}
MAX_TEMPLATE_BYTES = 1_000_000


@dataclass(frozen=True)
class Document:
    """An HTML document ready for the PDF stage."""

    name: str
    html: str
    kind: str


class _FolderLoader(FileSystemLoader):
    """Serve templates that are regular files inside the folder, of bounded size.

    Jinja's own loader follows links anywhere and reads whatever it opens: a brand's
    `templates/` could hold a link to /etc/passwd, to /dev/zero or a pipe.
    """

    def __init__(self, folder: Path, display: str) -> None:
        super().__init__(folder)
        self.folder = folder
        self.display = display  # the folder as the project names it, for messages

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        path = self.folder.joinpath(*split_template_path(template))
        if not (path.exists() or path.is_symlink()) or path.is_dir():
            raise TemplateNotFound(template)
        try:
            data = read_regular_file(path, MAX_TEMPLATE_BYTES, "this file", folder=self.folder)
        except FileRefused as exc:  # never fall back to the default: say what is wrong
            raise InputErrors([InputError(f"{self.display}/{template}", 0, "", str(exc))]) \
                from None
        mtime = path.stat().st_mtime
        return (data.decode("utf-8", errors="replace"), str(path),
                lambda: path.exists() and path.stat().st_mtime == mtime)


def template_environment(templates: Path, brand: Brand, guide_folder: Path | None = None
                         ) -> ImmutableSandboxedEnvironment:
    """Return a new Jinja environment for one brand and guide: the brand's overrides first,
    then the guide's (`content/<guide>/templates/`), then the defaults.

    Not cached here: a build makes one per brand and guide and keeps it for that build
    only, so a template a brand or guide adds between two builds (under `watch`) is found.
    """
    default = _FolderLoader(templates.resolve(), "templates")
    brand_templates = brand.folder / "templates"
    guide_templates = guide_folder / "templates" if guide_folder is not None else None
    loaders = [PrefixLoader({DEFAULT_PREFIX: default}, delimiter="/")]
    if brand_templates.is_dir():
        loaders.append(_FolderLoader(brand_templates,
                                     f"brands/{brand_templates.parent.name}/templates"))
    if guide_templates is not None and guide_templates.is_dir():
        loaders.append(_FolderLoader(guide_templates,
                                     f"content/{guide_templates.parent.name}/templates"))
    loaders.append(default)
    env = ImmutableSandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        autoescape=True,  # every template name, .j2 included
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["network_positions"] = NETWORK_POSITIONS
    env.globals["qr_code"] = qr_code
    env.globals["asset_url"] = asset_url
    return env


def compile_templates(env: ImmutableSandboxedEnvironment, templates: Path, brand: Brand
                      ) -> None:
    """Compile every template the documents may use, brand overrides first, running none.

    Done in the main process so that forked workers inherit them compiled; running a
    template is left to the bounded workers (a brand template may loop or fail).
    """
    for path in sorted(templates.resolve().rglob("*.j2")):
        name = path.relative_to(templates.resolve()).as_posix()
        try:
            env.get_template(name)
        except TemplateSyntaxError as exc:
            raise _template_failure(exc, brand) from None


def render_template(env: ImmutableSandboxedEnvironment, name: str, brand: Brand,
                    **context: Any) -> str:
    """Render one template; an error in it names the template file and line.

    An error in a brand's own template is the brand's input error; one in the project's
    templates is a failure to render.
    """
    try:
        return env.get_template(name).render(brand=brand, **context)
    except (InputErrors, RenderError, MemoryError):
        raise
    except Exception as exc:  # a template can raise anything its expressions raise
        failure = _template_failure(exc, brand)
        if failure is None:
            raise
        raise failure from None


def _template_failure(exc: Exception, brand: Brand | None) -> InputErrors | RenderError | None:
    """Turn an exception raised by a template into an error at its file and line."""
    where = _template_frame(exc)
    if isinstance(exc, TemplateSyntaxError) and exc.filename:
        where = (exc.filename, exc.lineno)
    if where is None:
        return None
    path, line = Path(where[0]), where[1]
    message = _template_message(exc)
    if brand is not None and path.is_relative_to(brand.folder / "templates"):
        display = f"brands/{brand.slug}/{path.relative_to(brand.folder).as_posix()}"
        return InputErrors([InputError(display, line, "", message)])
    root = brand.folder.parents[1] if brand is not None else path.parent
    display = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    if brand is not None and path.is_relative_to(root / "content"):  # a guide's own template
        return InputErrors([InputError(display, line, "", message)])
    return RenderError(f"{display}:{line}: {message}")


def _template_frame(exc: BaseException) -> tuple[str, int] | None:
    """The innermost template line in a traceback (Jinja gives template lines their own
    frames, whose globals hold the exception)."""
    found = None
    trace: types.TracebackType | None = exc.__traceback__
    while trace is not None:
        if "__jinja_exception__" in trace.tb_frame.f_globals:
            found = (trace.tb_frame.f_code.co_filename, trace.tb_lineno)
        trace = trace.tb_next
    return found


def _template_message(exc: Exception) -> str:
    text = str(getattr(exc, "message", None) or exc).replace("guidepress.models.", "")
    if isinstance(exc, UndefinedError):
        return _("this template uses a value that does not exist ({detail})").format(detail=text)
    if isinstance(exc, SecurityError):
        return _("this template does something a template may not do ({detail})").format(
            detail=text)
    if isinstance(exc, TemplateSyntaxError):
        return _("template syntax error: {reason}").format(reason=text)
    if isinstance(exc, TemplateNotFound):
        return _('this template includes "{name}", which is neither in the brand\'s '
                 "templates/, nor in the guide's, nor in templates/").format(name=exc.name)
    if isinstance(exc, RecursionError):
        return _("this template calls itself without end")
    return _("this template failed: {reason}").format(
        reason=f"{type(exc).__name__}: {text}")


def template_origin(env: ImmutableSandboxedEnvironment, name: str) -> Path:
    """Return the file a template name resolves to (brand override or default)."""
    try:
        return Path(env.get_template(name).filename or "")
    except TemplateNotFound as exc:
        raise TemplateNotFound(f"{name} (looked in the brand's templates/, the guide's "
                               "templates/ and templates/)") from exc


@dataclass(frozen=True)
class Profile:
    """How a document is made: for the print shop (a printer ticket) or for screens."""

    name: str
    ticket: PrinterTicket | None = None
    created: str = "2000-01-01T00:00:00+00:00"
    draft: bool = False  # print PDFs say "not approved" in their slug

    @property
    def for_print(self) -> bool:
        return self.ticket is not None

    @functools.cached_property
    def separation(self) -> Separation | None:
        """The conversion to the ticket's CMYK, its profile hashed once for this profile
        (made anew for each target, so for each build), or None for screens."""
        return Separation(self.ticket.icc_profile) if self.ticket is not None else None


def brand_stylesheet(brand: Brand, profile: Profile, *, embed_text: str | None = None
                     ) -> Markup:
    """Write the brand's fonts, colours and print settings as CSS: the only place they enter.

    With `embed_text` (a web page), fonts are embedded as WOFF2 subsets of those characters.
    """
    rules = []
    for face in brand.fonts.families:
        files = face.files
        for path, weight, style in ((files.regular, 400, "normal"), (files.bold, 700, "normal"),
                                    (files.italic, 400, "italic"),
                                    (files.bold_italic, 700, "italic")):
            if path is not None:
                source = (f'url("{path.as_uri()}")' if embed_text is None else
                          f'url("{_woff2_subset(path.read_bytes(), embed_text, path.name)}")'
                          ' format("woff2")')
                rules.append(f'@font-face {{ font-family: "{face.family}"; src: {source}; '
                             f"font-weight: {weight}; font-style: {style}; font-display: swap; }}")
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
    }
    ticket = profile.ticket
    if ticket is not None:
        # Colours separated for the printer's profile; body text in black ink alone.
        separation = profile.separation
        properties = {key: separation.css(value) for key, value in properties.items()}
        properties["--gp-text-color"] = BLACK_INK
        colour_profile, bleed = print_rules(ticket)
        rules.insert(0, colour_profile)
        rules.append(bleed)
    properties["--gp-logo-scale"] = LOGO_SCALES[brand.logo_size]
    properties["--gp-body-font"] = f'"{brand.fonts.body.family}"'
    # Logos are sized by area: width = side × √ratio, height = side ÷ √ratio (then bounded),
    # so that a wide logo is as readable as a square one.
    ratio = min(max(aspect_ratio(brand.logo.file), 1 / 16), 16)
    properties["--gp-logo-root"] = f"{math.sqrt(ratio):.4f}"
    properties["--gp-heading-font"] = f'"{heading.family}"'
    rules.append(":root { " + " ".join(f"{k}: {v};" for k, v in properties.items()) + " }")
    # The OpenType features the brand turns on (a plain-zero alternate, say), inherited by
    # all text; a font without one of them ignores it
    features = dict.fromkeys(tag for face in brand.fonts.families for tag in face.features)
    if features:
        rules.append("html { font-feature-settings: "
                     + ", ".join(f'"{tag}" 1' for tag in features) + "; }")
    return Markup("\n".join(rules))  # built from validated values only


# Text and QR codes print in black ink alone, whatever the brand's text colour
BLACK_INK = "device-cmyk(0 0 0 1)"


def print_rules(ticket: PrinterTicket) -> tuple[str, str]:
    """The two rules of a brand's stylesheet that only print has: the printer's colour
    profile, and the bleed."""
    # `components` is a comma-separated list: WeasyPrint writes its length as the
    # profile stream's /N, which must be the profile's 4 channels.
    url = ticket.icc_profile.as_uri()
    colour_profile = (f'@color-profile device-cmyk {{ src: url("{url}"); '
                      "components: cyan, magenta, yellow, black; }")
    # Crop marks are drawn by the pdf stage, in registration, outside the bleed.
    return colour_profile, f"@page {{ bleed: {ticket.bleed_mm:g}mm; marks: none; }}"


def print_separations(brand: Brand, printing: Profile) -> dict[str, str] | None:
    """Every CMYK colour the print profile writes into a document, as CSS, and the brand
    colour it stands for on screen; None when one CMYK colour stands for two (two brand
    colours the printer's profile cannot tell apart).

    The brand colours are separated (`Separation.css`); text and QR codes are in black ink
    alone (BLACK_INK), which stands for the brand's text colour.
    """
    separations: dict[str, str] = {BLACK_INK: brand.colours.text}
    for role in type(brand.colours).model_fields:
        colour = getattr(brand.colours, role)
        if separations.setdefault(printing.separation.css(colour), colour) != colour:
            return None
    return separations


_SVG_DATA_URL = re.compile(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)")


def as_screen(print_html: str, printing: Profile, separations: dict[str, str]) -> str:
    """The screen document a print document stands for: its print rules taken out, and
    each colour separated for print (in the page and in its SVG data: URLs, the QR codes)
    given back as the brand colour `separations` says it stands for.

    A document equal to this differs from the print one in nothing else: its layout is the
    print layout without the bleed (see `pdf.write_from_print`).
    """
    def screen_colours(text: str) -> str:
        for separated, colour in separations.items():
            text = text.replace(separated, colour)
        return text

    def svg(match: re.Match[str]) -> str:
        try:
            data = base64.b64decode(match.group(1)).decode()
        except ValueError:  # not a picture WeasyPrint drew: left as it is
            return match.group(0)
        return ("data:image/svg+xml;base64,"
                + base64.b64encode(screen_colours(data).encode()).decode())

    html = print_html
    for rule in print_rules(printing.ticket):
        html = html.replace(rule + "\n", "", 1)
    return screen_colours(_SVG_DATA_URL.sub(svg, html))


@lru_cache(maxsize=8)  # keyed by the font's bytes, never by its name: a changed file is seen
def _woff2_subset(font_data: bytes, text: str, name: str) -> str:
    """A font (the file `name`) reduced to the characters of `text`, as a WOFF2 data: URL.

    HarfBuzz subsets it, keeping every OpenType feature (kerning, ligatures, the brand's
    alternates) and the hinting, which Windows browsers use to draw small text; fontTools
    compresses it to WOFF2. fontTools' own subsetter gives the same glyphs, features and
    instructions (tests/test_cheaper_extras.py), in two to three times the time.
    """
    wanted = harfbuzz.SubsetInput()
    for char in set(text + text.upper() + " -–—’«»…"):  # text-transform: uppercase
        wanted.unicode_set.add(ord(char))
    features = wanted.sets(harfbuzz.SubsetInputSets.LAYOUT_FEATURE_TAG)
    features.clear()
    features.invert()  # every feature, not HarfBuzz's default few
    # HarfBuzz's tables to drop, less SVG colour glyphs, which fontTools keeps
    wanted.sets(harfbuzz.SubsetInputSets.DROP_TABLE_TAG).discard(_SVG_TABLE)
    try:
        reduced = harfbuzz.subset(harfbuzz.Face(harfbuzz.Blob(font_data)), wanted)
    except RuntimeError:  # what HarfBuzz could not read (checked when the font was loaded)
        reduced = None
    if reduced is None or not reduced.glyph_count:  # older uharfbuzz: an empty face
        raise RenderError(_("the font {name} could not be reduced to the characters of the "
                            "page; export the font again or use another file").format(
                                name=name))
    font = TTFont(io.BytesIO(reduced.blob.data), recalcTimestamp=False)  # same bytes each time
    font.flavor = "woff2"
    buffer = io.BytesIO()
    font.save(buffer)
    return "data:font/woff2;base64," + base64.b64encode(buffer.getvalue()).decode()


_SVG_TABLE = int.from_bytes(b"SVG ", "big")


def asset_url(path: Path, profile: Profile) -> str:
    """A brand file as the document needs it: a file URL for PDFs, inline for the web page."""
    if profile.name != "web":
        return path.as_uri()
    mime = {".svg": "image/svg+xml", ".png": "image/png"}.get(path.suffix.lower(), "image/jpeg")
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()


def render_web(env: ImmutableSandboxedEnvironment, guide: Guide, brand: Brand,
               profile: Profile) -> Document:
    """Render the whole guide as one self-contained, accessible web page."""
    text = guide.model_dump_json() + brand.model_dump_json()
    html = render_template(
        env, "web.html.j2", brand, guide=guide, labels=guide.labels, profile=profile,
        icon=pictograms(brand, profile),
        brand_css=brand_stylesheet(brand, profile, embed_text=text))
    return Document("web/index.html", html, "web")


class Separation:
    """sRGB to a printer's CMYK: the one conversion of print. CSS colours, pictograms and
    the logos' colours in the pdf stage all go through it.

    The profile's file is hashed once, when this is made: one lives for one target's
    documents (`Profile.separation`), so a profile changed between two builds is read
    again, and the colours of a document no longer hash the file each.
    """

    def __init__(self, icc_profile: Path) -> None:
        self.icc_profile = icc_profile
        self.digest = _digest(icc_profile)

    def channels(self, rgb: tuple[int, ...]) -> tuple[int, ...]:
        """An sRGB colour in the printer's CMYK, 0-255 per ink."""
        return _cmyk_channels(tuple(rgb), self.digest, self.icc_profile)

    def css(self, colour: str) -> str:
        """An sRGB colour in the printer's CMYK, as a CSS `device-cmyk()` value."""
        channels = self.channels(ImageColor.getrgb(colour)[:3])
        return "device-cmyk(" + " ".join(f"{channel / 255:.3f}" for channel in channels) + ")"

    def transform(self) -> ImageCms.ImageCmsTransform:
        """sRGB to the ticket's profile with littleCMS, relative colorimetric."""
        return _cmyk_transform(self.digest, self.icc_profile)


def cmyk(colour: str, icc_profile: Path) -> str:
    """Convert an sRGB colour to the printer's CMYK, as a CSS `device-cmyk()` value."""
    return Separation(icc_profile).css(colour)


def cmyk_channels(rgb: tuple[int, ...], icc_profile: Path) -> tuple[int, ...]:
    """An sRGB colour in the printer's CMYK, 0-255 per ink (see `Separation`)."""
    return Separation(icc_profile).channels(rgb)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# The two caches below are keyed by the profile's content (its sha256), never by its
# name alone: a profile changed between two builds (under `watch`) is used.
@lru_cache(maxsize=1024)
def _cmyk_channels(rgb: tuple[int, ...], digest: str, icc_profile: Path) -> tuple[int, ...]:
    pixel = ImageCms.applyTransform(Image.new("RGB", (1, 1), rgb),
                                    _cmyk_transform(digest, icc_profile))
    return tuple(pixel.getpixel((0, 0)))


@lru_cache(maxsize=4)
def _cmyk_transform(digest: str, icc_profile: Path) -> ImageCms.ImageCmsTransform:
    # The profile is read into memory: opened from its path, littleCMS keeps the file open
    # and reads it later, through a file offset that the forked workers inheriting this
    # cached transform share (two at once read garbage: "Could not get profile").
    profile = ImageCms.getOpenProfile(io.BytesIO(icc_profile.read_bytes()))
    return ImageCms.buildTransform(ImageCms.createProfile("sRGB"), profile, "RGB", "CMYK",
                                   renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)


def pictograms(brand: Brand, profile: Profile) -> Callable[..., Markup]:
    """The template function `icon(name, role, css_class)`: an inline pictogram in one
    brand colour.

    `role` names a colour of brand.yaml (primary, accent, on_primary…); for print it is
    separated like the CSS colours, so a pictogram prints in the brand's CMYK.
    """
    def icon(name: str, role: str = "primary", css_class: str = "pictogram") -> Markup:
        colour = getattr(brand.colours, role)
        if profile.separation is not None:
            colour = profile.separation.css(colour)
        return icon_svg(name, colour, css_class)
    return icon


@lru_cache(maxsize=64)  # a function of its arguments alone: no file is read
def qr_code(target: str, for_print: bool, colour: str) -> str:
    """A QR code as an SVG data: URL, drawn in black ink alone for print."""
    svg = segno.make(target, error="m").svg_inline(scale=1, border=0, dark="#000",
                                                    omitsize=True)
    dark = BLACK_INK if for_print else colour
    svg = svg.replace('stroke="#000"', f'stroke="{dark}"', 1)
    svg = svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


@dataclass(frozen=True)
class BookletBreaks:
    """The layout choices the kit makes for a booklet, and the screen edition repeats:
    deliberate note pages, and the parts that start a new page."""

    notes_pages: int = 0
    new_page_parts: frozenset[str] = frozenset()


def render_booklet(env: ImmutableSandboxedEnvironment, guide: Guide, brand: Brand,
                   profile: Profile, breaks: BookletBreaks = BookletBreaks()) -> Document:
    """Render the A5 booklet of one guide, with the kit's page breaks."""
    html = render_template(
        env, "booklet.html.j2", brand, guide=guide, labels=guide.labels,
        notes_pages=breaks.notes_pages, new_page_parts=breaks.new_page_parts,
        profile=profile, icon=pictograms(brand, profile),
        brand_css=brand_stylesheet(brand, profile))
    return Document(f"guide-{profile.name}.pdf", html, "booklet")


# Type scales of a poster's message: the kit searches the largest that fits, between
# POSTER_SCALE_MIN (the type at its minimum sizes) and POSTER_SCALE_MAX
POSTER_SCALE, POSTER_SCALE_MIN, POSTER_SCALE_MAX = 1.0, 0.8, 1.35


def render_poster(env: ImmutableSandboxedEnvironment, guide: Guide, brand: Brand,
                  poster: Poster, profile: Profile, scale: float = POSTER_SCALE,
                  form: Format | None = None, back: bool = False,
                  measuring: bool = False) -> Document:
    """Render one poster in a format (the A3 poster when `form` is None), its message's
    type multiplied by `scale`; with `back`, a flyer's second side (the contacts); with
    `measuring`, laid out only to measure its message (pdf.message_room), cheaply."""
    html = render_template(
        env, "poster.html.j2", brand, guide=guide, labels=guide.labels, poster=poster,
        profile=profile, scale=scale, icon=pictograms(brand, profile),
        format_kind=form.kind if form is not None else "poster",
        format_qr=form.qr_code if form is not None else True, flyer_back=back,
        measuring=measuring, format_css=format_stylesheet(form),
        brand_css=brand_stylesheet(brand, profile))
    suffix = "" if profile.for_print else f"-{profile.name}"
    stem = form.stem if form is not None else "poster"
    return Document(f"{stem}-{poster.id}{suffix}.pdf", html, "poster")


def format_stylesheet(form: Format | None) -> Markup:
    """A format's sheet as CSS: its page size, margins and type unit (--gp-u), which
    templates/css/poster.css multiplies every size by. Empty for the A3 poster, whose
    values are the stylesheet's own."""
    if form is None:
        return Markup("")
    size, margins, length = form.size, form.margins, form.css_length
    properties = {"--gp-u": f"{form.scale:.4f}", "--gp-sheet-height": length(size.height),
                  "--gp-margin-top": length(margins.top),
                  "--gp-margin-right": length(margins.right),
                  "--gp-margin-bottom": length(margins.bottom),
                  "--gp-margin-left": length(margins.left)}
    return Markup(f"@page poster {{ size: {length(size.width)} {length(size.height)}; }}\n"
                  ":root { " + " ".join(f"{k}: {v};" for k, v in properties.items()) + " }")
