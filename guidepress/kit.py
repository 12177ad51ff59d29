"""The build of print kits: runs the stages in order for each brand and language.

Nothing is written until every document of the run has been produced and checked, so
bad input or a failed render never leaves a half-written or stale file in `output/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from guidepress import pdf, post, render, typography, validate
from guidepress.load import load_yaml
from guidepress.models import Brand, Guide, Poster
from guidepress.problems import InputError, InputErrors, RenderError


@dataclass(frozen=True)
class Project:
    """The folders of a guidepress project."""

    root: Path

    @property
    def templates(self) -> Path:
        return self.root / "templates"


@dataclass(frozen=True)
class Edition:
    """One brand's guide in one language, validated and typeset."""

    brand: Brand
    guide: Guide


@dataclass
class Outcome:
    """What a build produced, per output folder."""

    files: dict[Path, dict[str, bytes]] = field(default_factory=dict)

    def written(self) -> list[Path]:
        return [folder / name for folder, files in self.files.items() for name in files]


def prepare(project: Project, slugs: list[str], langs: list[str] | None) -> list[Edition]:
    """Validate every brand and guide of the run; report all problems together."""
    errors: list[InputError] = []
    editions = []
    for slug in slugs:
        try:
            brand = validate.load_brand(project.root, slug)
        except InputErrors as exc:
            errors.extend(exc.errors)
            brand = None
        guides = []
        for lang in langs or (brand.languages if brand else validate.list_languages(project.root)):
            try:
                guides.append(validate.load_guide(project.root, lang, brand))
            except InputErrors as exc:
                errors.extend(exc.errors)
        errors.extend(validate.compare_editions(guides))
        if brand is None:
            continue
        for guide in guides:
            setter = typography.typesetter_for(guide.lang, brand)
            editions.append(Edition(typography.typeset(brand.in_language(guide.lang), setter),
                                    typography.typeset(guide, setter)))
    if errors:
        raise InputErrors(errors)
    return editions


def build(project: Project, slugs: list[str], langs: list[str] | None, output: Path) -> Outcome:
    """Build the kits of `slugs` into `output/<brand>/<lang>/`, all or nothing."""
    editions = prepare(project, slugs, langs)
    outcome = Outcome()
    errors: list[InputError] = []
    for edition in editions:
        folder = output / edition.brand.slug / edition.guide.lang
        try:
            outcome.files[folder] = render_edition(project, edition)
        except InputErrors as exc:
            errors.extend(exc.errors)
    if errors:
        raise InputErrors(errors)
    for folder, files in outcome.files.items():
        post.publish(files, folder)
    return outcome


def render_edition(project: Project, edition: Edition) -> dict[str, bytes]:
    """Produce every PDF of one edition in memory, checked."""
    brand, guide = edition.brand, edition.guide
    env = render.template_environment(project.templates, brand)
    fetcher = pdf.ProjectFetcher((project.templates, brand.folder,
                                  *(face.files.regular.parent for face in brand.fonts.families)))
    declared = post.declared_font_names(brand)
    files = {"guide.pdf": _booklet(env, guide, brand, fetcher, project.root)}
    errors = []
    for index, poster in enumerate(guide.posters):
        try:
            files[f"poster-{poster.id}.pdf"] = _poster(env, guide, brand, poster, index, fetcher,
                                                       project.root)
        except InputErrors as exc:
            errors.extend(exc.errors)
    if errors:
        raise InputErrors(errors)
    for name, data in files.items():
        post.check_fonts(f"{brand.slug}/{guide.lang}/{name}", data, declared)
    return files


def _booklet(env, guide: Guide, brand: Brand, fetcher: pdf.ProjectFetcher, base: Path) -> bytes:
    rendered = pdf.lay_out(render.render_booklet(env, guide, brand), fetcher, base)
    padding = -len(rendered.pages.pages) % 4
    if padding:
        # Saddle stitching needs a multiple of 4 pages: pad with note pages, never blanks.
        rendered = pdf.lay_out(render.render_booklet(env, guide, brand, notes_pages=padding),
                               fetcher, base)
    pages = len(rendered.pages.pages)
    if pages % 4:
        raise RenderError(f"{brand.slug}/{guide.lang}/guide.pdf: {pages} pages after padding, "
                          "not a multiple of 4")
    return pdf.write_pdf(rendered)


def _poster(env, guide: Guide, brand: Brand, poster: Poster, index: int,
            fetcher: pdf.ProjectFetcher, base: Path) -> bytes:
    rendered = pdf.lay_out(render.render_poster(env, guide, brand, poster), fetcher, base)
    if len(rendered.pages.pages) > 1:
        spilled = pdf.overflowing_field(rendered) or "brand.contacts"
        display = f"content/{guide.lang}/posters.yaml"
        source = load_yaml(base / display, display)
        if spilled.startswith("brand."):
            key: tuple[str | int, ...] = ("posters", index)
            where = "its text leaves no room for the contact footer"
        else:
            key = ("posters", index, *_split_field(spilled))
            where = f"`{spilled}` and what follows run onto a second page"
        raise InputErrors([source.error(key, f'the poster "{poster.id}" does not fit on one A3 '
                                        f"page: {where}; shorten the headline or the points")])
    return pdf.write_pdf(rendered)


def _split_field(field_name: str) -> tuple[str | int, ...]:
    """Turn `points[1]` into ("points", 1) to locate it in the YAML file."""
    if "[" in field_name:
        name, index = field_name.rstrip("]").split("[")
        return (name, int(index))
    return (field_name,)
