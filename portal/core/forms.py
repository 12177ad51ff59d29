"""The brand form: its fields are brand.yaml's keys; every check is the engine's.

The form only gathers values and files. `brands.check_and_save` writes them as a brand
folder and runs the engine's validation; each problem it reports comes back here and is
put beside the field its key names (`colours.primary` beside the primary colour).
"""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from guidepress import i18n, validate
from guidepress.models import CONTRAST_PAIRS
from guidepress.problems import InputError

from portal.core import brands

COLOUR_KEYS = ("primary", "on_primary", "accent", "on_accent", "text", "paper", "tint")
COLOUR_LABELS = {"primary": _("Primary colour"), "on_primary": _("Text on the primary colour"),
                 "accent": _("Accent colour"), "on_accent": _("Text on the accent colour"),
                 "text": _("Body text"), "paper": _("Paper"), "tint": _("Tint (boxes)")}
CONTACTS = 2
CONTACT_KEYS = ("role", "phone", "email", "hours")
LANGUAGES = [("fr", _("French")), ("en", _("English"))]


def _text(value: object) -> str:
    """A brand text written once or per language, as the form shows it (French first)."""
    if isinstance(value, dict):
        return str(value.get("fr") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


class BrandForm(forms.Form):
    name = forms.CharField(label=_("Establishment name"), required=False)
    short_name = forms.CharField(label=_("Short name"), required=False,
                                 help_text=_("Used where space is short (40 characters)."))
    logo = forms.FileField(label=_("Logo (SVG, PNG or JPEG)"), required=False)
    logo_alt = forms.CharField(label=_("Logo description for screen readers"), required=False)
    font = forms.ChoiceField(label=_("Typeface"), choices=[
        ("atkinson", "Atkinson Hyperlegible"), ("fira-sans", "Fira Sans"),
        ("upload", _("My own font files"))])
    font_family = forms.CharField(label=_("Name of my typeface"), required=False)
    intranet_url = forms.CharField(label=_("Intranet page (default)"), required=False)
    languages = forms.MultipleChoiceField(label=_("Languages of the kit"), choices=LANGUAGES,
                                          widget=forms.CheckboxSelectMultiple, required=False)
    printer = forms.ChoiceField(label=_("Printer ticket"))

    def __init__(self, *args, current: dict, guides: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.current = current
        self.guides = guides
        for key in COLOUR_KEYS:
            self.fields[key] = forms.CharField(
                label=COLOUR_LABELS[key], required=False,
                widget=forms.TextInput(attrs={"class": "colour", "size": 8,
                                              "autocomplete": "off"}))
        for style, label in (("regular", _("Regular")), ("bold", _("Bold")),
                             ("italic", _("Italic")), ("bold_italic", _("Bold italic"))):
            self.fields[f"font_{style}"] = forms.FileField(
                label=_("Font file: %(style)s (TTF or OTF)") % {"style": label}, required=False)
        for index in range(1, CONTACTS + 1):
            for key, label in (("role", _("Department")), ("phone", _("Phone")),
                               ("email", _("E-mail")), ("hours", _("Opening hours"))):
                self.fields[f"contact{index}_{key}"] = forms.CharField(
                    label=label, required=False)
        contact_labels = (("role", _("Department")), ("phone", _("Phone")),
                          ("email", _("E-mail")), ("hours", _("Opening hours")))
        for guide in guides:
            self.fields[f"guide_{guide}_intranet_url"] = forms.CharField(
                label=_("Intranet page for the guide “%(guide)s”") % {"guide": guide},
                required=False)
            for key, label in contact_labels:  # the guide's own contact, if it has one
                self.fields[f"guide_{guide}_contact_{key}"] = forms.CharField(
                    label=label, required=False)
        self.fields["printer"].choices = [(name, name) for name in printer_names()]
        if not self.is_bound:
            self.initial = initial_values(current, guides)

    @property
    def guide_groups(self) -> list[tuple[str, forms.BoundField, list[forms.BoundField]]]:
        """Per published guide: its intranet page field and its own contact's fields."""
        return [(guide, self[f"guide_{guide}_intranet_url"],
                 [self[f"guide_{guide}_contact_{key}"] for key in CONTACT_KEYS])
                for guide in self.guides]

    def clean(self) -> dict:
        """Refuse oversized files before they are read (the request's size is bounded
        earlier, by RequestSizeLimit)."""
        values = super().clean()
        limits = {"logo": settings.PORTAL_MAX_LOGO_BYTES,
                  **{f"font_{style}": settings.PORTAL_MAX_FONT_BYTES
                     for style in brands.FONT_STYLES}}
        for name, limit in limits.items():
            upload = values.get(name)
            if upload is not None and (upload.size is None or upload.size > limit):
                self.add_error(name, _("This file is larger than %(size)s MB.")
                               % {"size": limit // 1_000_000})
        return values

    # --- from the form to a brand folder ---------------------------------------------

    def change(self) -> brands.BrandChange:
        """The brand.yaml and files these values make (call after is_valid())."""
        values = self.cleaned_data
        change = brands.BrandChange(data={})
        data = change.data
        data["name"] = values["name"]
        data["short_name"] = values["short_name"]
        data["logo"] = {"file": self._logo(values.get("logo"), change),
                        "alt": values["logo_alt"]}
        data["colours"] = {key: values[key] for key in COLOUR_KEYS}
        data["fonts"] = {"body": self._font(values, change)}
        contacts = []
        for index in range(1, CONTACTS + 1):
            contact = {key: values[f"contact{index}_{key}"].strip() for key in CONTACT_KEYS}
            if any(contact.values()):
                contacts.append({key: value for key, value in contact.items() if value})
        data["contacts"] = contacts
        if values["intranet_url"].strip():
            data["intranet_url"] = values["intranet_url"].strip()
        data["languages"] = values["languages"]
        data["printer"] = values["printer"]
        if self.guides:
            data["guides"] = {}
            for guide in self.guides:
                own: dict = {}
                url = values[f"guide_{guide}_intranet_url"].strip()
                if url:
                    own["intranet_url"] = url
                contact = {key: values[f"guide_{guide}_contact_{key}"].strip()
                           for key in CONTACT_KEYS}
                if any(contact.values()):
                    own["contacts"] = [{key: value for key, value in contact.items() if value}]
                data["guides"][guide] = own or None
        return change

    def _logo(self, upload: UploadedFile | None, change: brands.BrandChange) -> str:
        if upload is not None:
            name = brands.logo_name(upload.name or "")
            change.uploads.append(brands.Upload(name, _read(upload,
                                                            settings.PORTAL_MAX_LOGO_BYTES)))
            return name
        name = str((self.current.get("logo") or {}).get("file") or "")
        if name in {"logo" + suffix for suffix in brands.LOGO_SUFFIXES}:
            change.keep.append(name)
            return name
        return "logo.svg"

    def _font(self, values: dict, change: brands.BrandChange) -> dict:
        choice = values["font"]
        if choice in brands.BUNDLED_FONTS:
            family, origin, where = brands.BUNDLED_FONTS[choice]
            if origin == "package":
                return {"family": family, "package": where}
            uploads = brands.bundled_font_files(choice)
            change.uploads += uploads
            return {"family": family, "files": {u.name.split("-", 1)[1].split(".")[0]: u.name
                                                for u in uploads}}
        files = {}
        current = (((self.current.get("fonts") or {}).get("body") or {}).get("files") or {})
        for style in brands.FONT_STYLES:
            upload = values.get(f"font_{style}")
            if upload is not None:
                data = _read(upload, settings.PORTAL_MAX_FONT_BYTES)
                files[style] = brands.font_name(style, data)
                change.uploads.append(brands.Upload(files[style], data))
            elif current.get(style) in (f"fonts/body-{style}.ttf", f"fonts/body-{style}.otf"):
                files[style] = current[style]
                change.keep.append(current[style])
        return {"family": values["font_family"], "files": files}

    # --- from the engine's problems to the fields ----------------------------------

    def add_engine_errors(self, errors: list[InputError], slug: str) -> None:
        """Put each of the engine's problems beside the field its key names."""
        brand_file = f"brands/{slug}/brand.yaml"
        for error in errors:
            field = field_for(error.key) if error.file == brand_file else None
            if field is None and error.file.startswith(f"brands/{slug}/fonts"):
                field = "font"
            if field is None and error.file.startswith(f"brands/{slug}/logo"):
                field = "logo"
            if field is None and error.file.startswith(("content/", "templates/")):
                field = "font"  # the guides are checked against the brand's fonts only
            # a problem in brand.yaml is said in its own words; elsewhere, with its place
            message = error.message if field and error.file == brand_file else _where(error, slug)
            self.add_error(field if field in self.fields else None, message)


def _where(error: InputError, slug: str) -> str:
    """A problem that no field holds, said with its place (the brand folder's name hidden)."""
    text = str(error)
    return text.replace(f"brands/{slug}/", "")


# A list position in an engine key: `contacts (2nd)`, `contacts (1er)` (counted from one,
# in the interface's language), or `contacts[1]` (from zero).
_POSITION = r"(?: \((?P<nth>\d+)[^)]*\)|\[(?P<index>\d+)\])"


def field_for(key: str) -> str | None:
    """The form field of a brand.yaml key path (`contacts (2nd).email` -> contact2_email)."""
    if match := re.fullmatch(rf"contacts{_POSITION}(?:\.(?P<part>\w+))?.*", key):
        number = int(match["nth"]) if match["nth"] else int(match["index"]) + 1
        part = match["part"] if match["part"] in CONTACT_KEYS else "role"
        return f"contact{number}_{part}"
    if match := re.fullmatch(r"guides\.([a-z0-9-]+)\.intranet_url.*", key):
        return f"guide_{match[1]}_intranet_url"
    if match := re.fullmatch(rf"guides\.(?P<guide>[a-z0-9-]+)\.contacts{_POSITION}?"
                             r"(?:\.(?P<part>\w+))?.*", key):
        part = match["part"] if match["part"] in CONTACT_KEYS else "role"
        return f"guide_{match['guide']}_contact_{part}"
    if match := re.fullmatch(r"colours\.(\w+).*", key):
        return match[1] if match[1] in COLOUR_KEYS else None
    if match := re.fullmatch(r"fonts\.body\.files\.(\w+).*", key):
        return f"font_{match[1]}"
    if key.startswith("fonts.body.family"):
        return "font_family"
    if key.startswith("logo.alt"):
        return "logo_alt"
    simple = {"name": "name", "short_name": "short_name", "logo": "logo",
              "logo.file": "logo", "fonts": "font", "intranet_url": "intranet_url",
              "languages": "languages", "printer": "printer", "contacts": "contact1_role"}
    for prefix, field in simple.items():
        if key == prefix or key.startswith(prefix + "."):
            return field
    return None


def _read(upload: UploadedFile, limit: int) -> bytes:
    """The uploaded bytes, refused above `limit` before they are read."""
    if upload.size is None or upload.size > limit:
        raise forms.ValidationError(_("This file is larger than %(size)s MB.")
                                    % {"size": limit // 1_000_000})
    return upload.read()


def initial_values(current: dict, guides: list[str]) -> dict:
    """The form's first values, from the establishment's brand.yaml."""
    colours = current.get("colours") or {}
    body = ((current.get("fonts") or {}).get("body") or {})
    if body.get("package") == "fontpkg_atkinson_hyperlegible":
        font = "atkinson"
    elif body.get("family") == "Fira Sans" and "files" in body:
        font = "fira-sans" if str((body["files"] or {}).get("regular", "")).startswith(
            "fonts/body-") else "upload"
    else:
        font = "upload"
    values = {"name": _text(current.get("name")), "short_name": _text(current.get("short_name")),
              "logo_alt": _text((current.get("logo") or {}).get("alt")),
              "font": font, "font_family": body.get("family", ""),
              "intranet_url": _text(current.get("intranet_url")),
              "languages": current.get("languages") or ["fr"],
              "printer": current.get("printer") or "default"}
    values.update({key: colours.get(key, "") for key in COLOUR_KEYS})
    for index, contact in enumerate((current.get("contacts") or [])[:CONTACTS], start=1):
        for key in CONTACT_KEYS:
            values[f"contact{index}_{key}"] = _text(contact.get(key))
    for guide in guides:
        settings_ = ((current.get("guides") or {}).get(guide) or {})
        values[f"guide_{guide}_intranet_url"] = _text(settings_.get("intranet_url"))
        for key in CONTACT_KEYS:
            first = (settings_.get("contacts") or [{}])[0] or {}
            values[f"guide_{guide}_contact_{key}"] = _text(first.get(key))
    return values


def printer_names() -> list[str]:
    return sorted(path.stem for path in (settings.ROOT / "printers").glob("*.yaml"))


def contrast_rows(values: dict[str, str]) -> tuple[list[dict], list[str]]:
    """Every text/background pair the templates draw, with its WCAG ratio (the engine's
    models.Colours), or the engine's words for a colour that is not one."""
    from pydantic import ValidationError
    from guidepress.models import Colours, contrast_ratio

    try:
        colours = Colours(**{key: value for key, value in values.items() if value})
    except ValidationError as exc:
        return [], [f"{'.'.join(str(p) for p in e['loc'])}: "
                    f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
    low = {(pair.foreground, pair.background): pair for pair in colours.low_contrast()}
    rows = []
    for fg, bg, use, large in CONTRAST_PAIRS:
        ink, paper = getattr(colours, fg), getattr(colours, bg)
        rows.append({"fg": fg, "bg": bg, "ink": ink, "paper": paper, "use": i18n._(use),
                     "ratio": contrast_ratio(ink, paper), "needed": 3.0 if large else 4.5,
                     "ok": (fg, bg) not in low})
    return rows, []


def load_printer(name: str):  # noqa: ANN201 - a guidepress PrinterTicket, or None
    """The printer ticket named, as the engine reads it (None if it has problems)."""
    if name not in printer_names():
        return None
    try:
        return validate.load_printer(settings.ROOT, name)
    except Exception:  # noqa: BLE001 - the form shows the swatch without CMYK then
        return None
