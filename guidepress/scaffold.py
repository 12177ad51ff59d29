"""`.venv/bin/python build.py new-brand <slug> --name "…"`: start a brand folder from a
template, its comments in the interface language."""

from __future__ import annotations

import html
import re
from pathlib import Path

from guidepress.i18n import _
from guidepress.models import SLUG_PATTERN

RESERVED = {"default", "templates", "fonts", "output"}


def new_brand(project: Path, slug: str, name: str, lang: str = "fr") -> Path:
    """Create `brands/<slug>/` with a brand.yaml commented in `lang` and a placeholder logo."""
    if not re.fullmatch(SLUG_PATTERN, slug) or slug in RESERVED:
        raise ValueError(_('"{slug}" cannot be a brand name: use lowercase letters, digits '
                           'and dashes, like "chu-exemple"').format(slug=slug))
    if not name.strip() or any(ch in name for ch in '"\\\n\r') or len(name) > 90:
        raise ValueError(_("the establishment's name must be one line of at most 90 "
                           "characters, without double quotes or backslashes"))
    folder = project / "brands" / slug
    if folder.exists():
        raise ValueError(_("brands/{slug} already exists; choose another name or edit it")
                         .format(slug=slug))
    scaffolds = project / "templates/scaffold"
    template_file = scaffolds / f"brand.{lang}.yaml"
    if not template_file.is_file():
        template_file = scaffolds / "brand.yaml"
    template = template_file.read_text(encoding="utf-8")
    short_name = name if len(name) <= 40 else name[:39].rstrip() + "…"
    text = (template.replace("{name}", name).replace("{short_name}", short_name)
            .replace("{slug}", slug).replace("{alt_fr}", "Logo " + french_of(name))
            .replace("{of_name}", french_of(name)))
    folder.mkdir(parents=True)
    (folder / "brand.yaml").write_text(text, encoding="utf-8")
    (folder / "logo.svg").write_text(_placeholder_logo(name), encoding="utf-8")
    return folder


def _placeholder_logo(name: str) -> str:
    words = [w for w in re.split(r"[\s-]+", name) if w[:1].isalpha() and w[:1].isupper()]
    initials = html.escape("".join(w[0] for w in words[:3]) or "?")
    return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 120" width="120" '
            'height="120">\n'
            '  <rect x="4" y="4" width="112" height="112" rx="22" fill="#1F4E79"/>\n'
            f'  <!-- placeholder: replace this file with your logo ({initials}) -->\n'
            '  <circle cx="60" cy="60" r="30" fill="none" stroke="#FFFFFF" stroke-width="8"/>\n'
            "</svg>\n")


# Nouns that take "du" / "de la" when they open an establishment's name.
_MASCULINE = {"chu", "chr", "chru", "ch", "chs", "chi", "ghu", "ght", "centre", "groupe",
              "groupement", "institut", "pôle", "pole", "service", "site"}
_FEMININE = {"clinique", "polyclinique", "maison", "fondation", "résidence", "residence",
             "direction", "mutuelle", "fédération", "federation"}
_VOWELS = "aeiouyàâäéèêëîïôöûùüœAEIOUYÀÂÄÉÈÊËÎÏÔÖÛÙÜŒ"


def french_of(name: str) -> str:
    """`de` + the name with French elision and article: "du CHU de Saint-Exemple",
    "de l'Hôpital Nord", "de la Clinique des Pins", "des Hospices civils"."""
    words = name.split()
    first = words[0] if words else ""
    lower = first.lower()
    for article, replacement in (("le", "du"), ("les", "des"), ("la", "de la")):
        if lower == article and len(words) > 1:
            return f"{replacement} {' '.join(words[1:])}"
    if lower.startswith(("l'", "l’")):
        return f"de {name}"
    if lower in ("hospices", "hôpitaux", "hopitaux"):
        return f"des {name}"
    if lower in _MASCULINE:
        return f"du {name}"
    if lower in _FEMININE:
        return f"de la {name}"
    if first[:1] in _VOWELS or lower.startswith(("hôp", "hop", "hosp", "hôtel", "hotel")):
        return f"de l’{name}"
    return f"de {name}"


def next_steps(slug: str) -> str:
    """What to do after `new-brand`: commands that work as typed from the project folder."""
    return _("""Created brands/{slug}/ with brand.yaml and a placeholder logo.svg. Next:
  1. Replace brands/{slug}/logo.svg with your logo (SVG, PNG or JPEG).
  2. Edit brands/{slug}/brand.yaml: colours, contacts, intranet page (each key is explained).
  3. Check it:   .venv/bin/python build.py check --brand {slug}
  4. Build it:   .venv/bin/python build.py --brand {slug}
  To change a template, copy it from templates/ into brands/{slug}/templates/ and edit it."""
             ).format(slug=slug)
