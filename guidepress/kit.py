"""The build of print kits: runs the stages in order for each brand and language.

Nothing is written until every document of the run has been produced and checked, so
bad input or a failed render never leaves a half-written or stale file in `output/`.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from pathlib import Path

from guidepress import pdf, post, preflight, render, typography, validate
from guidepress.load import load_yaml
from guidepress.models import Brand, Guide, Poster, PrinterTicket
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
    """One brand's guide in one language, validated and typeset, with its printer ticket."""

    brand: Brand
    guide: Guide
    ticket: PrinterTicket


@dataclass
class Outcome:
    """What a build produced, per output folder."""

    files: dict[Path, dict[str, bytes]] = field(default_factory=dict)
    reports: dict[str, preflight.Report] = field(default_factory=dict)

    def written(self) -> list[Path]:
        return [folder / name for folder, files in self.files.items() for name in files]


def prepare(project: Project, slugs: list[str], langs: list[str] | None,
            printer: str | None = None) -> list[Edition]:
    """Validate every brand, guide and printer ticket of the run; report all problems together."""
    errors: list[InputError] = []
    editions = []
    tickets: dict[str, PrinterTicket] = {}
    for slug in slugs:
        ticket = None
        try:
            brand = validate.load_brand(project.root, slug)
            name = printer or brand.printer
            ticket = tickets.get(name) or validate.load_printer(project.root, name)
            tickets[name] = ticket
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
        if brand is None or ticket is None:
            continue
        for guide in guides:
            setter = typography.typesetter_for(guide.lang, brand)
            editions.append(Edition(typography.typeset(brand.in_language(guide.lang), setter),
                                    typography.typeset(guide, setter), ticket))
    if errors:
        raise InputErrors(errors)
    return editions


def build(project: Project, slugs: list[str], langs: list[str] | None, output: Path,
          printer: str | None = None,
          max_statistic_age: int = preflight.DEFAULT_MAX_STATISTIC_AGE) -> Outcome:
    """Build the kits of `slugs` into `output/<brand>/<lang>/`, all or nothing.

    Every document is preflighted; the reports are written to `output/<brand>/`
    even when a preflight error stops the PDFs from being written.
    """
    editions = prepare(project, slugs, langs, printer)
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
    reports = preflight_editions(editions, outcome.files, output, max_statistic_age)
    for slug, report in reports.items():
        post.publish({"preflight.txt": report.text().encode()}, output / slug)
    failed = [f"{finding}" for report in reports.values() for finding in report.errors]
    if failed:
        raise RenderError("preflight found errors:\n  " + "\n  ".join(failed))
    for folder, files in outcome.files.items():
        post.publish(files, folder)
    outcome.reports = reports
    return outcome


def preflight_editions(editions: list[Edition], files: dict[Path, dict[str, bytes]],
                       output: Path, max_statistic_age: int) -> dict[str, preflight.Report]:
    """Run every preflight check on the editions and their documents, one report per brand."""
    reports: dict[str, preflight.Report] = {}
    today = datetime.date.today()
    for edition in editions:
        brand, guide = edition.brand, edition.guide
        report = reports.get(brand.slug)
        if report is None:
            report = reports[brand.slug] = preflight.Report(brand.slug)
            preflight.check_brand(brand, report)
        preflight.check_statistics(guide, report, max_statistic_age, today)
        documents = files.get(output / brand.slug / guide.lang, {})
        for name, data in documents.items():
            preflight.check_document(f"{guide.lang}/{name}", data, brand, edition.ticket,
                                     report)
        report.checked.append(f"{len(documents)} documents in {guide.lang}: fonts embedded and "
                              "declared, page counts, image resolution, total ink")
    return reports


def created_at(guide: Guide) -> str:
    """The date written into every PDF: SOURCE_DATE_EPOCH if set, else the guide's date."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        moment = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
    else:
        moment = datetime.datetime.combine(guide.meta.date, datetime.time(),
                                           datetime.timezone.utc)
    return moment.isoformat()


def render_edition(project: Project, edition: Edition) -> dict[str, bytes]:
    """Produce every PDF of one edition in memory, checked."""
    brand, guide, ticket = edition.brand, edition.guide, edition.ticket
    env = render.template_environment(project.templates, brand)
    fetcher = pdf.ProjectFetcher((project.templates, brand.folder, ticket.icc_profile,
                                  *(face.files.regular.parent for face in brand.fonts.families)))
    created = created_at(guide)
    printing = render.Profile("print", ticket, created)
    screen = render.Profile("screen", None, created)
    base = project.root

    booklet = _booklet(env, guide, brand, printing, fetcher, base)
    files = {"guide-print.pdf": pdf.write_pdf(booklet, printing)}
    notes = booklet.document.html.count('class="notes"')
    on_screen = pdf.lay_out(render.render_booklet(env, guide, brand, screen, notes_pages=notes),
                            fetcher, base)
    files["guide-screen.pdf"] = pdf.write_pdf(on_screen, screen)
    files["guide-office.pdf"] = post.impose(pdf.write_pdf(on_screen, screen, tagged=False))

    errors = []
    for index, poster in enumerate(guide.posters):
        for profile in (printing, screen):
            try:
                rendered = _poster(env, guide, brand, poster, index, profile, fetcher, base)
            except InputErrors as exc:
                errors.extend(exc.errors)
                break
            files[rendered.document.name] = pdf.write_pdf(rendered, profile)
    if errors:
        raise InputErrors(errors)
    declared = post.declared_font_names(brand)
    for name, data in files.items():
        post.check_fonts(f"{brand.slug}/{guide.lang}/{name}", data, declared)
    return files


def _booklet(env, guide: Guide, brand: Brand, profile: render.Profile,
             fetcher: pdf.ProjectFetcher, base: Path) -> pdf.Rendered:
    rendered = pdf.lay_out(render.render_booklet(env, guide, brand, profile), fetcher, base)
    padding = -len(rendered.pages.pages) % 4
    if padding:
        # Saddle stitching needs a multiple of 4 pages: pad with note pages, never blanks.
        rendered = pdf.lay_out(render.render_booklet(env, guide, brand, profile,
                                                     notes_pages=padding), fetcher, base)
    pages = len(rendered.pages.pages)
    if pages % 4:
        raise RenderError(f"{brand.slug}/{guide.lang}/guide: {pages} pages after padding, "
                          "not a multiple of 4")
    return rendered


def _poster(env, guide: Guide, brand: Brand, poster: Poster, index: int,
            profile: render.Profile, fetcher: pdf.ProjectFetcher, base: Path) -> pdf.Rendered:
    rendered = pdf.lay_out(render.render_poster(env, guide, brand, poster, profile),
                           fetcher, base)
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
    return rendered


def _split_field(field_name: str) -> tuple[str | int, ...]:
    """Turn `points[1]` into ("points", 1) to locate it in the YAML file."""
    if "[" in field_name:
        name, index = field_name.rstrip("]").split("[")
        return (name, int(index))
    return (field_name,)
