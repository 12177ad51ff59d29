"""Typed models of a guide and of a brand; the only shape data has after loading.

Text fields carry a marker saying how the typography stage must treat them:
`Text` is plain text, `RichText` is inline Markdown (emphasis, strong, links).
"""

from __future__ import annotations

import datetime
import enum
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Union

from guidepress.assets import check_asset
from guidepress.i18n import N_, _
from guidepress.icons import check_icon
from guidepress.markup import link_targets
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Discriminator,
                      Field, StringConstraints, Tag, ValidationInfo, field_validator,
                      model_validator)


# Patterns of the values an editor types, with the hint shown when one does not match.
SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
NUMBER_PATTERN = r"^\d{1,9}([.,]\d{1,3})?$"
PHONE_PATTERN = r"^\+?[0-9][0-9 .]{3,20}$"
FONT_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9 -]{0,63}$"
FONT_PACKAGE_PATTERN = r"^fontpkg_[a-z0-9_]+$"
CONDITION_PATTERN = r"^[A-Za-z0-9 ._()-]{1,40}$"
FONT_FEATURE_PATTERN = r"^[a-z0-9]{4}$"
# English msgids, marked with N_ for extraction and translated where they are shown.
PATTERN_HINTS = {
    SLUG_PATTERN: N_('use lowercase letters, digits and dashes, like "secret-medical"'),
    NUMBER_PATTERN: N_('write only the number, like "35" or "4,5" (the unit goes in `unit`)'),
    PHONE_PATTERN: N_('write a phone number with digits and spaces, like "05 56 00 00 00"'),
    FONT_NAME_PATTERN: N_("a font name uses letters, digits, spaces and dashes only"),
    FONT_PACKAGE_PATTERN: N_('name an installed font package, like '
                             '"fontpkg_atkinson_hyperlegible"'),
    CONDITION_PATTERN: N_('name a registered printing condition, like "FOGRA39", or "Custom"'),
    FONT_FEATURE_PATTERN: N_('an OpenType feature is a four-character tag, like "ss01" or '
                             '"zero"'),
}


class TextKind(enum.Enum):
    PLAIN = "plain"
    RICH = "rich"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def _clean_text(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError(_("contains an invisible control or text-direction character; "
                           "retype the text"))
    return value


def _safe_links(value: str) -> str:
    for target in link_targets(value):
        _url(target)
    return value


def _not_empty(value: object) -> object:
    if value is None:
        raise ValueError(_("is empty; write a value after the colon"))
    return value


_TextBase = Annotated[str, BeforeValidator(_not_empty),
                      StringConstraints(strip_whitespace=True, min_length=1),
                      AfterValidator(_clean_text)]
Text = Annotated[_TextBase, TextKind.PLAIN]
RichText = Annotated[_TextBase, AfterValidator(_safe_links), TextKind.RICH]


def short(limit: int, kind: TextKind = TextKind.PLAIN) -> type[str]:
    """Text of at most `limit` characters (posters and headings must stay short)."""
    checks = (AfterValidator(_safe_links),) if kind is TextKind.RICH else ()
    return Annotated[_TextBase, StringConstraints(max_length=limit), *checks, kind]  # type: ignore


def _url(value: object) -> object:
    if isinstance(value, str) and not re.fullmatch(r"(https://|mailto:|tel:)[^\s<>\"]+", value):
        raise ValueError(_('"{value}" is not an allowed web address '
                           "(use https://…, mailto:… or tel:…)").format(value=value))
    return value


Url = Annotated[str, BeforeValidator(_not_empty), AfterValidator(_url)]
Slug = Annotated[str, BeforeValidator(_not_empty),
                 StringConstraints(pattern=SLUG_PATTERN, max_length=40)]
# A pictogram of the installed icon set, by name (`icon: camera-off`)
Icon = Annotated[str, BeforeValidator(_not_empty), AfterValidator(check_icon)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- guide content -------------------------------------------------------------------

def _year_month(value: object) -> datetime.date | None:
    """`2026-11` (year and month) as the first day of that month."""
    if value is None:
        return None
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", str(value).strip())
    if not match or not 1 <= int(match[2]) <= 12 or not 1900 <= int(match[1]) <= 2100:
        raise ValueError(_('"{value}" is not a year and month; write it like "2026-11" '
                           "(the year, a dash, then the month)").format(value=value))
    return datetime.date(int(match[1]), int(match[2]), 1)


YearMonth = Annotated[datetime.date | None, BeforeValidator(_year_month)]


class Source(Model):
    name: short(80)
    publisher: short(80) | None = None
    title: short(120) | None = None
    period: short(40) | None = None
    year: Annotated[int, Field(ge=1900, le=2100)]
    url: Url | None = None
    # When an editor last checked that the figure still holds: the age warning counts
    # from here rather than from `year`.
    reviewed: YearMonth = None

    @field_validator("reviewed")
    @classmethod
    def _reviewed_after_the_figure(cls, value: datetime.date | None,
                                   info: ValidationInfo) -> datetime.date | None:
        year = info.data.get("year")
        if value is not None and year is not None and value.year < year:
            raise ValueError(_("the review ({review}) is before the figure itself ({year}); "
                               "check both dates").format(review=f"{value:%Y-%m}", year=year))
        return value


class Statistic(Model):
    value: Annotated[str, BeforeValidator(_not_empty),
                     StringConstraints(pattern=NUMBER_PATTERN)]
    unit: short(12) | None = None
    label: short(160, TextKind.RICH)
    source: Source


class Paragraph(Model):
    type: Literal["paragraph"]
    text: RichText


class Rule(Model):
    type: Literal["rule"]
    commitment: RichText
    why: RichText | None = None
    icon: Icon | None = None


class Quote(Model):
    type: Literal["quote"]
    tone: Literal["good", "bad", "neutral"] = "neutral"
    title: short(90) | None = None
    text: RichText
    attribution: short(90) | None = None
    lesson: RichText | None = None


class StatisticBlock(Statistic):
    type: Literal["statistic"]


class Myth(Model):
    type: Literal["myth"]
    claim: short(120)
    verdict: Literal["true", "false", "true-but"]
    answer: short(120) | None = None
    explanation: RichText
    statistics: list[Statistic] = []
    icon: Icon | None = None


class Link(Model):
    label: short(90)
    url: Url
    note: short(140) | None = None


class Links(Model):
    type: Literal["links"]
    title: short(90) | None = None
    items: Annotated[list[Link], Field(min_length=1)]


NetworkPosition = Literal["personal", "mostly-personal", "mixed", "mostly-professional",
                          "professional"]
NETWORK_POSITIONS: tuple[str, ...] = NetworkPosition.__args__  # type: ignore[attr-defined]


class Network(Model):
    name: short(60)
    position: NetworkPosition
    group: Literal["network", "forum", "establishment"] = "network"


class NetworkMap(Model):
    type: Literal["network-map"]
    title: short(90) | None = None
    caption: RichText | None = None
    networks: Annotated[list[Network], Field(min_length=2, max_length=30)]


class Chain(Model):
    type: Literal["chain"]
    title: short(90) | None = None
    steps: Annotated[list[short(90)], Field(min_length=2, max_length=6)]


class Callout(Model):
    type: Literal["callout"]
    title: short(90) | None = None
    text: RichText


class ContactsBlock(Model):
    type: Literal["contacts"]
    title: short(90) | None = None


class Slogan(Model):
    type: Literal["slogan"]
    text: short(140)


Block = Annotated[Union[Paragraph, Rule, Quote, StatisticBlock, Myth, Links, NetworkMap, Chain,
                        Callout, ContactsBlock, Slogan], Field(discriminator="type")]
BLOCK_TYPES: tuple[str, ...] = ("paragraph", "rule", "quote", "statistic", "myth", "links",
                                "network-map", "chain", "callout", "contacts", "slogan")


class Section(Model):
    id: Slug
    kicker: short(40) | None = None
    title: short(80)
    icon: Icon | None = None
    intro: RichText | None = None
    blocks: Annotated[list[Block], Field(min_length=1)]


class GuideSource(Model):
    """The earlier guide this one is adapted from, credited in the colophon."""

    title: short(120)
    publisher: short(120)
    partners: Annotated[list[short(120)], Field(max_length=6)] = []
    year: Annotated[int, Field(ge=1900, le=2100)]


class GuideMeta(Model):
    """`content/<guide>/<lang>/guide.yaml`: the guide's own words in one language."""

    title: short(70)
    subtitle: short(120) | None = None
    audience: RichText
    purpose: RichText
    closing: short(140)
    source: GuideSource | None = None
    # Wording that belongs to this guide rather than to the templates.
    contacts_title: short(60)
    contacts_intro: short(160)
    poster_contact_line: short(70)
    qr_caption: short(60)


Verdict = Literal["true", "false", "true-but"]
# The kinds of message a poster carries, each with its own composition
PosterLayout = Literal["points", "statistic", "myth", "slogan", "contacts"]
_LAYOUT_NEEDS = {"statistic": "statistic", "myth": "verdict", "slogan": "icon"}


class Poster(Model):
    id: Slug
    layout: PosterLayout | None = None  # left out: chosen from what the poster holds
    icon: Icon | None = None
    kicker: short(40) | None = None
    headline: short(70)
    points: Annotated[list[short(90)], Field(max_length=3)] = []
    statistic: Statistic | None = None
    verdict: Verdict | None = None
    show_contacts: bool = False

    @model_validator(mode="after")
    def _layout_has_its_content(self) -> "Poster":
        layout = self.layout or ("statistic" if self.statistic else
                                 "contacts" if self.show_contacts else
                                 "myth" if self.verdict else "points")
        needed = _LAYOUT_NEEDS.get(layout)
        if needed and getattr(self, needed) is None:
            raise ValueError(_('the layout "{layout}" needs a `{needed}`; add one, or choose '
                               "another layout").format(layout=layout, needed=needed))
        object.__setattr__(self, "layout", layout)
        object.__setattr__(self, "show_contacts", self.show_contacts or layout == "contacts")
        return self


class PosterSet(Model):
    posters: Annotated[list[Poster], Field(min_length=1)]


Punctuation = Annotated[str, StringConstraints(max_length=3)]


class Labels(Model):
    """Every word the templates print themselves, in one language."""

    language_name: Text
    contents: Text
    source: Text
    source_for: Text
    verdict_true: Text
    verdict_false: Text
    verdict_true_but: Text
    myth_claim: Text
    story: Text
    commitment: Text
    statistic_from: Text
    statistic_reviewed: Text
    months: Annotated[list[Text], Field(min_length=12, max_length=12)]
    colophon_adapted_from: Text
    colophon_publisher: Text
    colophon_partners: Text
    colophon_pictograms: Text = "Pictograms"
    network_map_personal: Text
    network_map_professional: Text
    network_map_positions: Annotated[list[Text], Field(min_length=5, max_length=5)]
    network_map_legend_forum: Text
    network_map_legend_establishment: Text
    phone: Text
    email: Text
    intranet: Text
    notes_title: Text
    page: Text
    qr_alt: Text
    proof_changes_title: Text
    proof_changes_none: Text
    proof_changes_first: Text
    proof_before: Text
    proof_after: Text
    skip_to_content: Text
    proof_title: Text
    proof_intro: Text
    proof_errors: Text
    proof_warnings: Text
    proof_pages: Text
    proof_statistics: Text
    proof_ok: Text
    proof_signature_title: Text
    proof_signature_name: Text
    proof_signature_role: Text
    proof_signature_date: Text
    proof_signature_sign: Text
    library_title: Text
    library_intro: Text
    library_booklet: Text
    library_poster: Text
    library_web: Text
    purpose_booklet_print: Text
    purpose_booklet_screen: Text
    purpose_booklet_office: Text
    purpose_poster_print: Text
    purpose_poster_screen: Text
    purpose_picture_card: Text
    purpose_picture_slide: Text
    purpose_picture_banner: Text
    purpose_web: Text
    quote_open: Punctuation
    quote_close: Punctuation
    colon: Punctuation
    unit_space: Punctuation = ""


Audience = Literal["staff", "public", "everyone"]
# The documents every guide can have without a format file: the booklet and the web page.
# Every other name is a format of `formats/<name>.yaml` (posters, flyers, cards, slides…).
BUILT_IN_FORMATS = ("booklet", "web")
# What a guide offers, and what a brand builds, when it does not say: the booklet, the A3
# posters and the web page, as before formats were data
DEFAULT_FORMATS = ("booklet", "affiche-a3", "web")
# `posters`, the name of the A3 posters before formats were data, still means them
_FORMAT_ALIASES = {"posters": "affiche-a3"}


def _format_names(value: object) -> object:
    if isinstance(value, list):
        return list(dict.fromkeys(_FORMAT_ALIASES.get(item, item) if isinstance(item, str)
                                  else item for item in value))
    return value


FormatNames = Annotated[list[Slug], BeforeValidator(_format_names)]


class GuideFile(Model):
    """What `content/<guide>/guide.yaml` says: the guide as the library lists it, and
    what it needs from each establishment that publishes it."""

    title: short(70)
    date: datetime.date
    audience: Audience
    # the formats it offers: booklet, web, and names of formats/<name>.yaml
    formats: Annotated[FormatNames, Field(min_length=1)] = list(DEFAULT_FORMATS)
    languages: Annotated[list[Literal["fr", "en"]], Field(min_length=1)]
    contacts_for: Slug  # what the contacts are for: a topic, like "social-media"
    intranet_for: Slug | None = None
    max_pages: Annotated[int, Field(ge=4, le=200, multiple_of=4)] | None = None


class GuideInfo(GuideFile):
    """A validated guide.yaml, with the guide's slug and folder."""

    slug: Slug
    folder: Path

    @property
    def poster_formats(self) -> list[str]:
        """The formats it offers that are made from its posters (all but booklet and web)."""
        return [name for name in self.formats if name not in BUILT_IN_FORMATS]


class Guide(Model):
    """A whole guide in one language, as the templates receive it."""

    info: GuideInfo
    lang: Literal["fr", "en"]
    meta: GuideMeta
    sections: list[Section]
    posters: list[Poster]
    labels: Labels


# --- brand ---------------------------------------------------------------------------

def _colour(value: object) -> object:
    if value is None:
        raise ValueError(_("is empty. A colour starting with # must be in quotes, "
                           'like "#1B4F8A" (without quotes YAML reads # as a comment)'))
    if not isinstance(value, str) or not re.fullmatch(r"#[0-9A-Fa-f]{6}", value):
        raise ValueError(_('"{value}" is not a colour (use #RRGGBB, for example "#1B4F8A")')
                         .format(value=value))
    return value.upper()


Colour = Annotated[str, BeforeValidator(_colour)]

_FONT_FILE_TYPES = (".ttf", ".otf", ".woff", ".woff2")
_IMAGE_TYPES = (".svg", ".png", ".jpg", ".jpeg")


def _brand_file(allowed_suffixes: tuple[str, ...]) -> BeforeValidator:
    """A file named relative to the brand folder, which must exist inside it."""

    def check(value: object, info: ValidationInfo) -> Path:
        if value is None:
            raise ValueError(_("is empty; name a file in the brand folder"))
        if isinstance(value, str) and (value.startswith("/") or ".." in value.split("/")):
            raise ValueError(_('"{value}" points outside the brand folder').format(value=value))
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/ -]*", value):
            raise ValueError(_('"{value}" is not a file name inside the brand folder')
                             .format(value=value))
        brand_dir: Path = info.context["brand_dir"]
        path = (brand_dir / value).resolve()
        if not path.is_relative_to(brand_dir.resolve()):
            raise ValueError(_('"{value}" points outside the brand folder').format(value=value))
        if path.suffix.lower() not in allowed_suffixes:
            raise ValueError(_('"{value}" is not a supported file type ({types})').format(
                value=value, types=", ".join(allowed_suffixes)))
        if not path.exists():
            raise ValueError(_('the file "{value}" was not found in the brand folder')
                             .format(value=value))
        check_asset(path)  # a regular file of bounded size, whose bytes match its type
        return path

    return BeforeValidator(check)


FontFile = Annotated[Path, _brand_file(_FONT_FILE_TYPES)]
ImageFile = Annotated[Path, _brand_file(_IMAGE_TYPES)]
FontFamilyName = Annotated[str, BeforeValidator(_not_empty),
                           StringConstraints(pattern=FONT_NAME_PATTERN)]


class FontFiles(Model):
    regular: FontFile
    bold: FontFile | None = None
    italic: FontFile | None = None
    bold_italic: FontFile | None = None


class FontFamily(Model):
    """A font family, from files in the brand folder or from a `fontpkg-…` package."""

    family: FontFamilyName
    package: Annotated[str, StringConstraints(pattern=FONT_PACKAGE_PATTERN)] | None = None
    files: FontFiles | None = None
    # OpenType features to turn on, by their four-letter tags: a font whose default zero
    # is slashed may offer a plain one as an alternate ("ss01", say), or the reverse
    features: list[Annotated[str, StringConstraints(pattern=FONT_FEATURE_PATTERN)]] = []

    @model_validator(mode="after")
    def _one_origin(self) -> "FontFamily":
        if (self.package is None) == (self.files is None):
            raise ValueError(_("give either `files` (font files in the brand folder) "
                               "or `package` (an installed fontpkg package), not both"))
        if self.package is not None:
            object.__setattr__(self, "files", _package_font_files(self.package))
            object.__setattr__(self, "package", None)
        return self


def _package_font_files(package: str) -> FontFiles:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ValueError(_('the font package "{package}" is not installed '
                           "(add it to pyproject.toml)").format(package=package))
    folder = Path(spec.origin).parent / "files"
    styles = {"regular": "Regular", "bold": "Bold", "italic": "Italic",
              "bold_italic": "BoldItalic"}
    found = {}
    for key, style in styles.items():
        matches = sorted(folder.glob(f"*-{style}.[to]tf"))
        if matches:
            found[key] = matches[0]
    if "regular" not in found:
        raise ValueError(_('the font package "{package}" has no regular font file')
                         .format(package=package))
    return FontFiles.model_construct(**found)


class Fonts(Model):
    body: FontFamily
    heading: FontFamily | None = None

    @property
    def families(self) -> list[FontFamily]:
        return [self.body] + ([self.heading] if self.heading else [])


# Every text/background pair the templates draw: (foreground, background, where, large text)
CONTRAST_PAIRS = (
    ("text", "paper", N_("body text"), False),
    ("text", "tint", N_("stories and map columns"), False),
    ("primary", "paper", N_("headings, figures and links"), False),
    ("primary", "tint", N_("labels in stories"), False),
    ("accent", "paper", N_("part kickers"), False),
    ("on_primary", "primary", N_("cover, back cover and posters"), False),
    ("on_accent", "accent", N_("verdict badges and the map axis"), False),
)


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2.1 contrast ratio of two #RRGGBB colours."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


@dataclass(frozen=True)
class LowContrast:
    """A pair of brand colours that does not reach WCAG AA where the templates use it."""

    foreground: str
    background: str
    ratio: float
    needed: float
    use: str


class Colours(Model):
    primary: Colour
    on_primary: Colour = "#FFFFFF"
    accent: Colour
    on_accent: Colour = "#FFFFFF"
    text: Colour = "#1A1A1A"
    paper: Colour = "#FFFFFF"
    tint: Colour

    def low_contrast(self) -> list[LowContrast]:
        """Every pair of CONTRAST_PAIRS below WCAG AA (4.5:1, or 3:1 for large text)."""
        found = []
        for fg, bg, use, large in CONTRAST_PAIRS:
            ratio = contrast_ratio(getattr(self, fg), getattr(self, bg))
            needed = 3.0 if large else 4.5
            if ratio < needed:
                found.append(LowContrast(fg, bg, ratio, needed, use))
        return found


Language = Literal["fr", "en"]


def _text_form(value: object) -> str:
    return "per-language" if isinstance(value, dict) else "once"


def localised(text_type: object) -> object:
    """Brand text written once, or once per language: `{fr: "…", en: "…"}`.

    The form is chosen from the value itself (a group of keys or not), so that an error
    is reported for that form alone, not once per form pydantic tried.
    """
    return Annotated[Union[Annotated[text_type, Tag("once")],  # type: ignore[valid-type]
                           Annotated[dict[Language, text_type], Tag("per-language")]],
                     Discriminator(_text_form)]


class Logo(Model):
    file: ImageFile
    alt: localised(short(160))


class Contact(Model):
    role: localised(short(90))
    name: localised(short(90)) | None = None
    phone: Annotated[str, StringConstraints(pattern=PHONE_PATTERN)] | None = None
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s<>\"]+@[^@\s<>\"]+\.[a-z]{2,}$")] \
        | None = None
    hours: localised(short(90)) | None = None

    @model_validator(mode="after")
    def _reachable(self) -> "Contact":
        if not self.phone and not self.email:
            raise ValueError(_("give at least a phone number or an e-mail address"))
        return self


def _empty_group(value: object) -> object:
    return {} if value is None else value


class GuideSettings(Model):
    """What a brand gives one guide, under `guides.<guide>:`; what it leaves out falls
    back to the brand's defaults."""

    contacts: Annotated[list[Contact], Field(min_length=1, max_length=4)] | None = None
    intranet_url: Url | None = None


GuideSettingsGroup = Annotated[GuideSettings, BeforeValidator(_empty_group)]


SYSTEM_ICC_FOLDER = Path("/usr/share/color/icc")


def _icc_profile(value: object, info: ValidationInfo) -> Path:
    """An ICC profile in the printers/ folder, or one installed in the system ICC folder."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(_("is empty; name an ICC profile file (.icc)"))
    folder: Path = info.context["printers_dir"]
    path = (folder / value).resolve() if not value.startswith("/") else Path(value).resolve()
    if not (path.is_relative_to(folder.resolve()) or path.is_relative_to(SYSTEM_ICC_FOLDER)):
        raise ValueError(_('"{value}" must be in the printers/ folder or in {folder}').format(
            value=value, folder=SYSTEM_ICC_FOLDER))
    if path.suffix.lower() not in (".icc", ".icm") or not path.is_file():
        if path.is_relative_to(folder.resolve() / "generated"):
            raise ValueError(_('the ICC profile "{value}" was not found (profiles in '
                               "printers/generated/ are built by `make setup`)").format(
                                   value=value))
        raise ValueError(_('the ICC profile "{value}" was not found').format(value=value))
    with path.open("rb") as handle:
        header = handle.read(40)
    if header[36:40] != b"acsp":
        raise ValueError(_('"{value}" is not an ICC colour profile').format(value=value))
    if header[16:20] != b"CMYK":
        space = header[16:20].decode("latin-1").strip()
        raise ValueError(_('"{value}" is not a CMYK profile (its colours are {space}); a '
                           "printer ticket needs the print shop's CMYK profile").format(
                               value=value, space=space))
    return path


class OutputCondition(Model):
    """The printing condition the PDF/X output intent names (ISO 15930)."""

    # A characterised condition of the ICC registry ("FOGRA39", "FOGRA51"…), or "Custom"
    identifier: Annotated[str, StringConstraints(pattern=CONDITION_PATTERN)]
    # Only the ICC registry is known to print shops' preflights
    registry: Literal["http://www.color.org"] | None = None
    info: short(200)


class PrinterTicket(Model):
    """What a print shop asks for: `printers/<name>.yaml`."""

    name: short(90)
    bleed_mm: Annotated[float, Field(ge=0, le=10)] = 3
    crop_marks: bool = True
    pdf_variant: Literal["pdf/x-1a", "pdf/x-3", "pdf/x-4"] = "pdf/x-4"
    icc_profile: Annotated[Path, BeforeValidator(_icc_profile)]
    output_condition: OutputCondition | None = None
    min_image_dpi: Annotated[int, Field(ge=72, le=2400)] = 300
    max_ink_percent: Annotated[int, Field(ge=100, le=400)] = 300
    # 100 % black text overprints what lies under it: no white gap if plates shift
    overprint_black_text: bool = True


# --- formats -------------------------------------------------------------------------

FormatKind = Literal["poster", "flyer", "card", "slide", "banner"]
# An A3 poster is read from 3 metres: its type sizes (templates/css/poster.css) are those
# of that distance. Letters stay readable when their size grows with the distance they
# are read from, so a poster read from `viewing_distance_m` has its type scaled by
# viewing_distance_m / A3_VIEWING_DISTANCE_M (an A2 read from 4 m: 1.33).
A3_VIEWING_DISTANCE_M = 3.0


class FormatSize(Model):
    width: Annotated[float, Field(ge=1, le=4000)]
    height: Annotated[float, Field(ge=1, le=4000)]
    unit: Literal["mm", "px"]


class Margins(Model):
    """Space kept clear inside the sheet's edges, in the unit of its size."""

    top: Annotated[float, Field(ge=0, le=500)]
    right: Annotated[float, Field(ge=0, le=500)]
    bottom: Annotated[float, Field(ge=0, le=500)]
    left: Annotated[float, Field(ge=0, le=500)]


class FormatFile(Model):
    """What `formats/<name>.yaml` says: a sheet or an image made from a guide's posters."""

    label: dict[Language, short(60)]
    kind: FormatKind
    # print: a PDF/X for the print shop (bleed, marks, CMYK) and a screen PDF;
    # png: an RGB picture of exactly `size` pixels
    output: Literal["print", "png"]
    size: FormatSize
    margins: Margins
    viewing_distance_m: Annotated[float | None, Field(ge=0.3, le=30,
                                                      validate_default=True)] = None
    # The type sizes of an A3 poster multiplied by this; posters give their viewing
    # distance instead, from which it follows
    type_scale: Annotated[float | None, Field(ge=0.1, le=5, validate_default=True)] = None
    file_stem: Slug | None = None  # output files are <file_stem>-<poster id>; the name by default
    qr_code: bool = True  # the QR code in the footer (useless on a picture seen on a phone)

    @field_validator("size")
    @classmethod
    def _size_in_its_unit(cls, size: FormatSize, info: ValidationInfo) -> FormatSize:
        output = info.data.get("output")
        if output == "print" and size.unit != "mm":
            raise ValueError(_("a format printed on paper gives its size in mm (unit: mm)"))
        if output == "png" and size.unit != "px":
            raise ValueError(_("a picture (output: png) gives its size in pixels (unit: px)"))
        if output == "png" and not (size.width.is_integer() and size.height.is_integer()):
            raise ValueError(_("a picture's size is a whole number of pixels"))
        return size

    @field_validator("margins")
    @classmethod
    def _margins_leave_room(cls, margins: Margins, info: ValidationInfo) -> Margins:
        size = info.data.get("size")
        if size is not None and (margins.left + margins.right >= size.width / 2
                                 or margins.top + margins.bottom >= size.height / 2):
            raise ValueError(_("the margins take half the sheet or more; make them smaller"))
        return margins

    @field_validator("viewing_distance_m")
    @classmethod
    def _poster_distance(cls, value: float | None, info: ValidationInfo) -> float | None:
        if info.data.get("kind") == "poster" and value is None:
            raise ValueError(_("a poster gives the distance in metres it is read from (an A3 "
                               "poster: 3); its type size follows from it"))
        return value

    @field_validator("type_scale")
    @classmethod
    def _scale_or_distance(cls, value: float | None, info: ValidationInfo) -> float | None:
        poster = info.data.get("kind") == "poster"
        if poster and value is not None:
            raise ValueError(_("a poster's type size follows from `viewing_distance_m`; "
                               "remove `type_scale`"))
        if not poster and value is None:
            raise ValueError(_("give the type sizes of an A3 poster multiplied by a number "
                               "(1 for the same sizes)"))
        return value


class Format(FormatFile):
    """A validated format, with its name (the file's name without .yaml)."""

    name: Slug

    @property
    def scale(self) -> float:
        """How much larger than an A3 poster's its type is."""
        if self.viewing_distance_m is not None:
            return self.viewing_distance_m / A3_VIEWING_DISTANCE_M
        return self.type_scale or 1.0

    @property
    def stem(self) -> str:
        return self.file_stem or self.name

    @property
    def sides(self) -> int:
        """Pages of each document: a flyer has the message on its front, the contacts on
        its back."""
        return 2 if self.kind == "flyer" else 1

    @property
    def pixels(self) -> tuple[int, int]:
        """A picture's width and height in pixels."""
        return int(self.size.width), int(self.size.height)

    @property
    def size_mm(self) -> tuple[float, float]:
        """The sheet's size in mm (a CSS pixel is 1/96 inch)."""
        factor = 25.4 / 96 if self.size.unit == "px" else 1.0
        return self.size.width * factor, self.size.height * factor

    def css_length(self, value: float) -> str:
        return f"{value:g}{self.size.unit}"


class BrandFile(Model):
    """What an establishment writes in `brands/<slug>/brand.yaml`."""

    name: short(90)
    short_name: short(40)
    logo: Logo
    # The logo already spells the establishment's name: it is not printed again beside it
    logo_contains_name: bool = False
    # How large the logo is drawn on the cover, the posters and the back cover
    logo_size: Literal["small", "medium", "large"] = "medium"
    colours: Colours
    fonts: Fonts
    contacts: Annotated[list[Contact], Field(max_length=4)] = []
    intranet_url: Url | None = None
    languages: Annotated[list[Language], Field(min_length=1)] = ["fr"]
    printer: Slug = "default"
    # the formats it builds, among those each guide offers (booklet, web, formats/<name>)
    formats: Annotated[FormatNames, Field(min_length=1)] = list(DEFAULT_FORMATS)
    credit: localised(short(200)) | None = None
    guides: Annotated[dict[Slug, GuideSettingsGroup], Field(min_length=1)] | None = None

    def in_language(self, lang: str) -> "BrandFile":
        """Return a copy whose per-language texts are reduced to `lang`."""
        return _pick_language(self, lang)

    def settings_for(self, guide: str) -> GuideSettings:
        """What this brand gives one guide (empty when it gives nothing of its own)."""
        return (self.guides or {}).get(guide) or GuideSettings()

    def for_guide(self, guide: GuideInfo) -> "BrandFile":
        """The brand as one guide's templates see it: that guide's contacts and intranet
        page (or the brand's defaults), and no other guide's values."""
        settings = self.settings_for(guide.slug)
        intranet = (settings.intranet_url or self.intranet_url) if guide.intranet_for else None
        return self.model_copy(update={"contacts": settings.contacts or self.contacts,
                                       "intranet_url": intranet, "guides": None})


def language_maps(value: object, key_path: tuple[str | int, ...] = ()
                  ) -> list[tuple[tuple[str | int, ...], dict]]:
    """List the per-language texts of a model, with where they are."""
    if _is_group_map(value):
        return [found for key, item in value.items()
                for found in language_maps(item, (*key_path, key))]
    if isinstance(value, dict):
        return [(key_path, value)]
    if isinstance(value, BaseModel):
        return [found for name in type(value).model_fields
                for found in language_maps(getattr(value, name), (*key_path, name))]
    if isinstance(value, list):
        return [found for index, item in enumerate(value)
                for found in language_maps(item, (*key_path, index))]
    return []


def _is_group_map(value: object) -> bool:
    """A map of groups, like `guides:`, as opposed to a text written once per language."""
    return isinstance(value, dict) and any(isinstance(v, BaseModel) for v in value.values())


def _pick_language(value: object, lang: str) -> object:
    if _is_group_map(value):
        return {key: _pick_language(item, lang) for key, item in value.items()}
    if isinstance(value, dict):
        return value[lang]
    if isinstance(value, BaseModel):
        updates = {name: _pick_language(getattr(value, name), lang)
                   for name in type(value).model_fields}
        return value.model_copy(update=updates)
    if isinstance(value, list):
        return [_pick_language(item, lang) for item in value]
    return value


class Brand(BrandFile):
    """A validated brand, with the folder it was read from."""

    slug: Slug
    folder: Path
