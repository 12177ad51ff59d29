"""The library page of a brand, `output/<brand>/index.html`: every guide's outputs with a
thumbnail, their size and what each file is for.

The page is self-contained (styles, fonts and thumbnails inline); its only links lead to
the files beside it, which the manifest lists.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pypdfium2
from PIL import Image
from jinja2.sandbox import ImmutableSandboxedEnvironment

from guidepress import render
from guidepress.i18n import _
from guidepress.plan import Edition
from guidepress.problems import RenderError

INDEX = "index.html"
THUMBNAIL_HEIGHT_PX = 150


@dataclass(frozen=True)
class OutputFile:
    """One file of a document: where it is, what it is for, how large it is."""

    name: str  # relative to the brand's output folder
    purpose: str  # the label that says what the file is for
    size: str  # written for people: "1,2 Mo"
    pages: int | None


@dataclass(frozen=True)
class LibraryDocument:
    """A booklet, a poster or a web page, with its files (print, screen, office)."""

    title: str
    kind: str  # booklet, poster or web
    thumbnail: str | None
    files: list[OutputFile]
    kind_label: str | None = None  # a poster's format, when it is not the A3 poster


@dataclass(frozen=True)
class LibraryEdition:
    """One guide in one language."""

    guide: str
    lang: str
    documents: list[LibraryDocument]


def index_page(env: ImmutableSandboxedEnvironment, edition: Edition, brand_output: Path,
               files: dict[str, dict]) -> bytes:
    """Render the library page of a brand from its manifest entries (`files`)."""
    editions = _editions(brand_output, files, edition.guide.lang)
    order = edition.brand.languages
    editions.sort(key=lambda e: (e.guide, order.index(e.lang) if e.lang in order else 99))
    profile = render.Profile("web")
    html = render.render_template(
        env, "library.html.j2", edition.brand, labels=edition.guide.labels,
        lang=edition.guide.lang,
        editions=editions, profile=profile,
        brand_css=render.brand_stylesheet(edition.brand, profile,
                                          embed_text=_texts(edition, editions)))
    verify(html, set(files))
    return html.encode()


def _editions(brand_output: Path, files: dict[str, dict], lang: str) -> list[LibraryEdition]:
    by_edition: dict[str, dict[str, list[tuple[str, dict]]]] = {}
    for name, entry in sorted(files.items()):
        where = "/".join(name.split("/")[:2])
        target = entry.get("target", name)
        by_edition.setdefault(where, {}).setdefault(target, []).append((name, entry))
    editions = []
    for where, targets in by_edition.items():
        guide, edition_lang = where.split("/")
        documents = [_document(brand_output, members, lang) for members in targets.values()]
        order = {"booklet": 0, "web": 1, "poster": 2}
        # the A3 posters before the other formats (which carry their own label)
        documents.sort(key=lambda d: (order[d.kind], d.kind_label is not None, d.files[0].name))
        editions.append(LibraryEdition(guide, edition_lang, documents))
    return editions


def _document(brand_output: Path, members: list[tuple[str, dict]], lang: str
              ) -> LibraryDocument:
    names = [name for name, _entry in members]
    kind = ("web" if names[0].endswith(".html") else
            "booklet" if any(n.endswith("/guide-print.pdf") for n in names) else "poster")
    form = members[0][1].get("format") or {}
    outputs = sorted((OutputFile(name, _purpose(kind, entry.get("profile", ""), form),
                                 _size(int(entry.get("bytes", 0)), lang), entry.get("pages"))
                      for name, entry in members),
                     key=lambda f: _FILE_ORDER.get(f.purpose.rsplit("_", 1)[-1], 4))
    shown = next((n for n in names if n.endswith("-screen.pdf")), None) or \
        next((n for n in names if n.endswith((".pdf", ".png"))), None)
    title = members[0][1].get("title") or names[0].rsplit("/", 1)[-1]
    label = (form.get("label") or {}).get(lang) if form.get("name") != "affiche-a3" else None
    return LibraryDocument(title, kind, _thumbnail(brand_output / shown) if shown else None,
                           outputs, label)


_FILE_ORDER = {"print": 0, "screen": 1, "office": 2, "web": 3}


def _purpose(kind: str, profile: str, form: dict) -> str:
    """The label that says what a file is for; a picture's follows from its format's kind
    (a social-media card, a screen slide, an e-mail banner)."""
    if kind == "web":
        return "purpose_web"
    if profile == "picture":
        return f"purpose_picture_{form.get('kind', 'card')}"
    return f"purpose_{kind}_{profile}"


def _thumbnail(path: Path) -> str:
    """The first page of a PDF, or a picture, as a small PNG data: URL."""
    if path.suffix == ".png":
        with Image.open(path) as picture:
            ratio = THUMBNAIL_HEIGHT_PX / picture.height
            image = picture.convert("RGB").resize(
                (max(1, round(picture.width * ratio)), THUMBNAIL_HEIGHT_PX),
                Image.Resampling.LANCZOS)
        return _png_url(image)
    document = pypdfium2.PdfDocument(path.read_bytes())
    try:
        page = document[0]
        image = page.render(scale=THUMBNAIL_HEIGHT_PX / page.get_height()).to_pil()
    finally:
        document.close()
    return _png_url(image)


def _png_url(image: Image.Image) -> str:
    """A thumbnail as a PNG data: URL, at zlib's default compression: `optimize` took seven
    times as long for 2.5 % fewer bytes (150 instead of 154 KB for the default kit's 18)."""
    buffer = BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _size(count: int, lang: str) -> str:
    """A file size as people read it: "850 ko", "1,2 Mo" (or "1.2 MB" in English)."""
    if count < 1_000_000:
        text, unit = f"{max(count / 1000, 1):.0f}", "ko" if lang == "fr" else "kB"
    else:
        text, unit = f"{count / 1_000_000:.1f}", "Mo" if lang == "fr" else "MB"
    return f"{text.replace('.', ',') if lang == 'fr' else text}\u00a0{unit}"


def _texts(edition: Edition, editions: list[LibraryEdition]) -> str:
    """Every character the page may show, for the embedded font subsets."""
    titles = " ".join(d.title + " " + " ".join(f.name for f in d.files)
                      for e in editions for d in e.documents)
    return (edition.brand.model_dump_json() + edition.guide.labels.model_dump_json() + titles
            + "0123456789,. koMBkB")


_SOURCE = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']|url\(\s*["']?([^"')]*)""",
                     re.IGNORECASE)


def verify(html: str, names: set[str]) -> None:
    """Refuse a library page that loads anything from outside itself or links to anything
    but the outputs it lists."""
    for match in _SOURCE.finditer(html):
        target = match.group(1) if match.group(1) is not None else match.group(2)
        if target.startswith(("data:", "#")) or target in names:
            continue
        raise RenderError(_("{page}: the page refers to {address}, which is neither inside "
                            "the page nor one of the outputs it lists").format(
                                page=INDEX, address=repr(target[:60])))
    if re.search(r"<(?:script|link|iframe)\b|@import", html, re.IGNORECASE):
        raise RenderError(_("{page}: the page would load a script or another page").format(
            page=INDEX))
