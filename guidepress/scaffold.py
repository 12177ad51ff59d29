"""`python build.py new-brand <slug> --name "…"`: start a brand folder from a template."""

from __future__ import annotations

import html
import re
from pathlib import Path

from guidepress.models import SLUG_PATTERN

RESERVED = {"default", "templates", "fonts", "output"}


def new_brand(project: Path, slug: str, name: str) -> Path:
    """Create `brands/<slug>/` with a commented brand.yaml and a placeholder logo."""
    if not re.fullmatch(SLUG_PATTERN, slug) or slug in RESERVED:
        raise ValueError(f'"{slug}" cannot be a brand name: use lowercase letters, digits '
                         'and dashes, like "chu-exemple"')
    if not name.strip() or any(ch in name for ch in '"\\\n\r') or len(name) > 90:
        raise ValueError("the establishment's name must be one line of at most 90 "
                         "characters, without double quotes or backslashes")
    folder = project / "brands" / slug
    if folder.exists():
        raise ValueError(f"brands/{slug} already exists; choose another name or edit it")
    template = (project / "templates/scaffold/brand.yaml").read_text(encoding="utf-8")
    short_name = name if len(name) <= 40 else name[:39].rstrip() + "…"
    text = (template.replace("{name}", name).replace("{short_name}", short_name)
            .replace("{slug}", slug))
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


def next_steps(slug: str) -> str:
    """What to do after `new-brand`, printed for the person who ran it."""
    return f"""Created brands/{slug}/ with brand.yaml and a placeholder logo.svg. Next:
  1. Replace brands/{slug}/logo.svg with your logo (SVG, PNG or JPEG).
  2. Edit brands/{slug}/brand.yaml: colours, contacts, intranet page (each key is explained).
  3. Check it:   python build.py check --brand {slug}
  4. Build it:   python build.py --brand {slug}
  To change a template, copy it from templates/ into brands/{slug}/templates/ and edit it."""
