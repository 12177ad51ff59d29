"""`.venv/bin/python build.py new-brand <slug> --name "…"` and `new-guide <slug> --title "…"`:
start a brand folder or a guide folder from the templates in `templates/scaffold/`, the
brand's comments in the interface language."""

from __future__ import annotations

import datetime
import html
import re
from pathlib import Path

from guidepress.i18n import _
from guidepress.models import SLUG_PATTERN
from guidepress.validate import RESERVED_GUIDE_NAMES

RESERVED = {"default", "templates", "fonts", "output"}


def _check_slug(slug: str, reserved: set[str] | frozenset[str], refusal: str,
                longest: int | None = None) -> None:
    """`refusal` is the translated sentence, with `{slug}`, said when the slug cannot be used."""
    too_long = longest is not None and len(slug) > longest
    if not re.fullmatch(SLUG_PATTERN, slug) or slug in reserved or too_long:
        raise ValueError(refusal.format(slug=slug))


def _check_one_line(text: str, limit: int, refusal: str) -> None:
    """`refusal` is the translated sentence, with `{limit}`, said when `text` is refused."""
    if not text.strip() or any(ch in text for ch in '"\\\n\r') or len(text) > limit:
        raise ValueError(refusal.format(limit=limit))


def _new_folder(project: Path, parent: str, slug: str) -> Path:
    folder = project / parent / slug
    if folder.exists():
        raise ValueError(_("{folder} already exists; choose another name or edit it")
                         .format(folder=f"{parent}/{slug}"))
    return folder


def new_brand(project: Path, slug: str, name: str, lang: str = "fr") -> Path:
    """Create `brands/<slug>/` with a brand.yaml commented in `lang` and a placeholder logo."""
    _check_slug(slug, RESERVED, _('"{slug}" cannot be a brand name: use lowercase letters, '
                                  'digits and dashes, like "chu-exemple"'))
    _check_one_line(name, 90, _("the establishment's name must be one line of at most {limit} "
                                "characters, without double quotes or backslashes"))
    folder = _new_folder(project, "brands", slug)
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


def new_guide(project: Path, slug: str, title: str, today: datetime.date) -> Path:
    """Create `content/<slug>/` with a starter guide in French and English: one commented
    example of every block type and one poster, ready to check and build. `today` dates
    the guide and its example figures."""
    _check_slug(slug, RESERVED_GUIDE_NAMES,
                _('"{slug}" cannot be a guide name: use lowercase letters, digits and dashes, '
                  'like "droit-a-l-image"'), longest=40)
    _check_one_line(title, 70, _("the guide's title must be one line of at most {limit} "
                                 "characters, without double quotes or backslashes"))
    folder = _new_folder(project, "content", slug)
    scaffold = project / "templates" / "scaffold" / "guide"
    values = {"{slug}": slug, "{title}": title.strip(), "{date}": today.isoformat(),
              "{year}": str(today.year)}
    for source in sorted(p for p in scaffold.rglob("*.yaml")):
        text = source.read_text(encoding="utf-8")
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        target = folder / source.relative_to(scaffold)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return folder


def guide_next_steps(slug: str) -> str:
    """What to do after `new-guide`: commands that work as typed from the project folder."""
    return _("""Created content/{slug}/: guide.yaml, and fr/ and en/ with one example of every block
type and one poster. Next:
  1. Edit the texts in content/{slug}/fr/ and content/{slug}/en/ (each key is explained;
     docs/ecrire-un-guide.md shows every block type).
  2. Check it:   .venv/bin/python build.py check --guide {slug}
  3. Build it:   .venv/bin/python build.py --guide {slug}
  4. To publish it with a brand, add "{slug}:" under guides: in brands/<brand>/brand.yaml,
     with the brand's contacts for this guide.""").format(slug=slug)
