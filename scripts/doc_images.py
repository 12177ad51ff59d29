"""Draw the pictures of docs/ecrire-un-guide.md: `make doc-images`.

Each block type of the starter guide (the one `new-guide` writes) is rendered alone, with
the default brand and the real block templates, at the width of the booklet's text, then
cropped and saved as docs/images/bloc-<type>.png; the starter's poster becomes
docs/images/affiche.png. Nothing is drawn by hand: change a template, run this again.
"""

from __future__ import annotations

import datetime
import shutil
import sys
import tempfile
from pathlib import Path

import pypdfium2
from PIL import Image, ImageChops

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from guidepress import kit, pdf, render, scaffold  # noqa: E402

OUTPUT = ROOT / "docs" / "images"
TODAY = datetime.date(2026, 11, 1)
SCALE = 1.6  # pixels per point: the booklet's 122 mm text width becomes about 550 px

# One block alone on a page as wide as the booklet's text, with the booklet's styles.
PAGE = """<!DOCTYPE html>
<html lang="{{ guide.lang }}">
<head><meta charset="utf-8"><title>{{ block.type }}</title>
<style>{{ brand_css }}</style>
<style>
{% include "css/common.css" %}
{% include "css/booklet.css" %}
@page { size: 122mm 297mm; margin: 3mm;
  @bottom-center { content: none; } @top-left { content: none; } @top-right { content: none; } }
</style></head>
<body class="booklet"><section class="part">{% include "blocks/" ~ block.type ~ ".html.j2" %}
</section></body></html>"""


def main() -> None:
    """Render every block type and the poster of the starter guide into docs/images/."""
    with tempfile.TemporaryDirectory() as folder:
        project = kit.Project(Path(folder))
        for name in ("content", "templates", "brands", "printers", "formats"):
            shutil.copytree(ROOT / name, project.root / name)
        # A fixed date: the same pictures whatever the day they are drawn.
        scaffold.new_guide(project.root, "exemple", "Écrire un guide", TODAY)
        (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["exemple"])
        env = render.template_environment(project.templates, edition.brand)
        fetcher = pdf.ProjectFetcher((project.templates, edition.brand.folder,
                                      *(face.files.regular.parent
                                        for face in edition.brand.fonts.families)))
        screen = render.Profile("screen")
        OUTPUT.mkdir(parents=True, exist_ok=True)
        for block in [b for section in edition.guide.sections for b in section.blocks]:
            html = env.from_string(PAGE).render(
                block=block, guide=edition.guide, brand=edition.brand,
                labels=edition.guide.labels, profile=screen,
                brand_css=render.brand_stylesheet(edition.brand, screen))
            document = render.Document(f"{block.type}.pdf", html, "doc")
            data = pdf.write_pdf(pdf.lay_out(document, fetcher, project.root), screen)
            save(cropped(first_page(data, SCALE)), OUTPUT / f"bloc-{_name(block)}.png")
        poster = render.render_poster(env, edition.guide, edition.brand,
                                      edition.guide.posters[0], screen)
        data = pdf.write_pdf(pdf.lay_out(poster, fetcher, project.root), screen)
        save(first_page(data, 0.25), OUTPUT / "affiche.png")


def _name(block: object) -> str:
    if block.type == "quote":  # a story, or a testimony
        return "quote-histoire" if block.tone in ("good", "bad") else "quote-temoignage"
    return block.type


def first_page(data: bytes, scale: float) -> Image.Image:
    """The first page of a PDF as an image."""
    document = pypdfium2.PdfDocument(data)
    try:
        return document[0].render(scale=scale).to_pil().convert("RGB")
    finally:
        document.close()


def cropped(image: Image.Image, margin: int = 6) -> Image.Image:
    """The image cut to what is drawn on it, with a small white margin."""
    box = ImageChops.difference(image, Image.new("RGB", image.size, "white")).getbbox()
    if box is None:
        return image
    left, top, right, bottom = box
    return image.crop((max(left - margin, 0), max(top - margin, 0),
                       min(right + margin, image.width), min(bottom + margin, image.height)))


def save(image: Image.Image, path: Path) -> None:
    image.save(path, format="PNG", optimize=True)
    print(f"{path.relative_to(ROOT)}: {image.width} x {image.height}")


if __name__ == "__main__":
    main()
