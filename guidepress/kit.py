"""The build of print kits: runs the stages in order for each brand, guide and language.

Inputs are validated before anything renders; then every target (a booklet, a poster)
renders in a bounded worker, is checked, and only then replaces the previous file, so
bad input or a failed render never leaves a half-written or stale file in `output/`.
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from guidepress import (library, manifest, pdf, post, preflight, proof, publish, render,
                        typography, validate, workers)
from jinja2.sandbox import ImmutableSandboxedEnvironment

from guidepress.i18n import N_, _
from guidepress.load import load_yaml
from guidepress.models import Brand, Format, Guide, GuideInfo, Poster, PrinterTicket
from guidepress.plan import Edition, Project, Target, plan
from guidepress.problems import InputError, InputErrors, Problem, RenderError, exit_code

if TYPE_CHECKING:
    from pikepdf import Pdf

T = TypeVar("T")


@dataclass
class Produced:
    """The PDFs of one target, checked, and what WeasyPrint had to say while making them."""

    files: dict[str, bytes]
    warnings: list[str]
    findings: list[preflight.Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """What a build did: targets built, skipped and failed, files written, and every
    problem, each reported once. A brand with a problem publishes nothing."""

    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)  # outputs the plan no longer makes
    built: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    reports: dict[str, preflight.Report] = field(default_factory=dict)  # published brands
    targets: int = 0
    peak_rss_mb: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 everything built, 1 a document could not be produced, 2 bad input."""
        return exit_code(self.problems)


def prepare(project: Project, slugs: list[str], langs: list[str] | None,
            printer: str | None = None, guides: list[str] | None = None,
            draft: bool = False) -> list[Edition]:
    """Validate every brand, guide and printer ticket of the run; report all problems together.

    `guides` names the guides to build; by default each brand builds the guides it enables.
    A `draft` edition's print PDFs say that they are not approved.
    """
    errors: list[InputError] = []
    editions = []
    tickets: dict[str, PrinterTicket] = {}
    infos: dict[str, GuideInfo | None] = {}
    formats: dict[str, Format | None] = {}
    for slug in slugs:
        ticket = None
        try:
            brand = validate.load_brand(project.root, slug, langs)
            name = printer or brand.printer
            ticket = tickets.get(name) or validate.load_printer(project.root, name)
            tickets[name] = ticket
        except InputErrors as exc:
            errors.extend(exc.errors)
            brand = None
        wanted = guides or (validate.enabled_guides(project.root, brand) if brand
                            else validate.list_guides(project.root))
        for guide_slug in wanted:
            info = _guide_info(project, guide_slug, infos, errors)
            if info is None:
                continue
            if brand is not None:
                errors.extend(validate.check_needs(project.root, brand, info))
                # a guide's own templates are checked like a brand's, with its fonts
                errors.extend(validate.check_brand_templates(
                    project.root, info.folder / "templates",
                    [face.family for face in brand.fonts.families]))
            in_each_language = _load_languages(project, info, brand,
                                               _languages(brand, info, langs, errors), errors)
            if brand is None or ticket is None:
                continue
            chosen = _formats(project, [name for name in info.poster_formats
                                        if name in brand.formats], formats, errors)
            for guide in in_each_language:
                setter = typography.typesetter_for(guide.lang, brand)
                own = brand.for_guide(info).in_language(guide.lang)
                editions.append(Edition(typography.typeset(own, setter),
                                        typography.typeset(guide, setter), ticket, draft,
                                        chosen))
    if errors:
        raise InputErrors(errors)
    return editions


def _formats(project: Project, names: list[str], loaded: dict[str, Format | None],
             errors: list[InputError]) -> tuple[Format, ...]:
    """The formats of `formats/` named, each read once per run."""
    found = [_read_once(loaded, name, functools.partial(validate.load_format, project.root,
                                                        name), errors) for name in names]
    return tuple(format_ for format_ in found if format_ is not None)


def _read_once(loaded: dict[str, T | None], key: str, read: Callable[[], T],
               errors: list[InputError]) -> T | None:
    """`read()` once per run for `key`, whatever the number of brands that need it: its
    input errors are collected (once), and it is then None."""
    if key not in loaded:
        try:
            loaded[key] = read()
        except InputErrors as exc:
            errors.extend(exc.errors)
            loaded[key] = None
    return loaded[key]


def check_guides(project: Project, guides: list[str]) -> None:
    """Validate guides that no brand of the run builds, on their own (without a brand's
    fonts or values); raise every problem together."""
    errors: list[InputError] = []
    for slug in guides:
        info = _guide_info(project, slug, {}, errors)
        if info is not None:
            _load_languages(project, info, None, info.languages, errors)
    if errors:
        raise InputErrors(errors)


def _load_languages(project: Project, info: GuideInfo, brand: Brand | None, langs: list[str],
                    errors: list[InputError]) -> list[Guide]:
    """Validate a guide in each language, and that the languages match one another."""
    guides = []
    for lang in langs:
        try:
            guides.append(validate.load_guide(project.root, lang, brand, info))
        except InputErrors as exc:
            errors.extend(exc.errors)
    errors.extend(validate.compare_editions(guides))
    return guides


def _guide_info(project: Project, slug: str, infos: dict[str, GuideInfo | None],
                errors: list[InputError]) -> GuideInfo | None:
    """Read a guide's guide.yaml once per run, whatever the number of brands."""
    return _read_once(infos, slug, functools.partial(validate.load_guide_info, project.root,
                                                     slug), errors)


def _languages(brand: Brand | None, info: GuideInfo, langs: list[str] | None,
               errors: list[InputError]) -> list[str]:
    """The languages of a guide to build: those asked for, or those the brand builds and
    the guide is written in."""
    if langs:
        return langs  # a language the guide lacks is then named by load_guide
    if brand is None:
        return info.languages
    common = [lang for lang in brand.languages if lang in info.languages]
    if not common:
        errors.append(InputError(
            f"content/{info.slug}/guide.yaml", 0, "languages",
            _('the guide "{guide}" is written in {languages}, and brands/{brand} builds only '
              "{brand_languages}").format(guide=info.slug, languages=", ".join(info.languages),
                                          brand=brand.slug,
                                          brand_languages=", ".join(brand.languages))))
    return common


def build(project: Project, slugs: list[str], langs: list[str] | None, output: Path,
          printer: str | None = None,
          max_statistic_age: int = preflight.DEFAULT_MAX_STATISTIC_AGE,
          jobs: int | None = None, limits: workers.Limits | None = None,
          force: bool = False,
          on_progress: Callable[[Progress], None] | None = None, *,
          today: datetime.date, guides: list[str] | None = None,
          runner: Runner | None = None, draft: bool = False) -> Outcome:
    """Build the kits of `slugs` into `output/<brand>/<guide>/<lang>/`.

    `today` dates the preflight's age check of statistics; only the command line reads
    the clock, so that a build (and a test) never depends on the day it runs.

    Bad input stops everything before rendering (InputErrors); with several brands, a
    brand with bad input is set aside and the others go on. Targets whose inputs are
    unchanged since the manifest was written are skipped (unless `force`); the others
    render each in a bounded worker (`runner`: local forked workers by default). A brand
    is then published as one unit, exactly as the plan says, or, if any of its targets,
    its preflight or its proof sheet failed, not at all: its folder keeps the previous
    good files. With `draft`, the print PDFs carry a "not approved" watermark in their slug.
    """
    started = time.monotonic()
    pdf.fresh_font_configuration()  # fonts are loaded again for each build
    editions, problems = _prepare_each(project, slugs, langs, printer, guides, draft)
    targets = plan(editions)
    outcome = Outcome(targets=len(targets), problems=problems)
    reports = brand_reports(editions, max_statistic_age, today, langs)
    brands = {slug: publish.BrandBuild(report) for slug, report in reports.items()}
    for edition in editions:
        brands[edition.brand.slug].editions.append(edition)
    to_render = _skip_up_to_date(project, targets, output, brands, force, outcome, on_progress)
    jobs, limits = jobs or os.cpu_count() or 1, limits or workers.Limits()
    results = (runner or run_locally)(project, to_render, jobs, limits)
    _record_results(to_render, results, brands, outcome, on_progress)
    published = publish.publish(output, brands, outcome.problems,
                                functools.partial(_proof_sheet, project), jobs, limits)
    outcome.written, outcome.removed = published.written, published.removed
    outcome.problems = published.problems
    outcome.reports = {slug: brands[slug].report for slug in published.brands}
    outcome.seconds = time.monotonic() - started
    return outcome


def _skip_up_to_date(project: Project, targets: list[Target], output: Path,
                     brands: dict[str, publish.BrandBuild], force: bool, outcome: Outcome,
                     on_progress: Callable[[Progress], None] | None
                     ) -> list[tuple[Target, str]]:
    """Keep the files of targets whose inputs did not change; return the others."""
    manifests = {slug: manifest.load(output / slug) for slug in brands}
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    digests = manifest.Digests()
    to_render = []
    for target in targets:
        slug, where = target.edition.brand.slug, target.edition.where
        inputs = manifest.inputs_hash(project.templates, target, epoch, digests)
        if not force and manifest.up_to_date(manifests[slug], output / slug, where, target,
                                             inputs):
            outcome.skipped += 1
            brands[slug].reuse(manifests[slug], output / slug, where, target)
            _notify(on_progress, target, "skipped", outcome, 0.0)
        else:
            to_render.append((target, inputs))
    return to_render


def _record_results(to_render: list[tuple[Target, str]], results: Iterator[workers.Result],
                    brands: dict[str, publish.BrandBuild], outcome: Outcome,
                    on_progress: Callable[[Progress], None] | None) -> None:
    """Take each rendered target's files, or its problems."""
    for result in results:
        target, inputs = to_render[result.index]
        slug = target.edition.brand.slug
        outcome.peak_rss_mb = max(outcome.peak_rss_mb, result.peak_rss_mb)
        if result.ok:
            outcome.built += 1
            warnings = [preflight.Finding("warning", target.label, f"WeasyPrint: {w}")
                        for w in result.value.warnings]
            brands[slug].record(target, inputs, result.value.files,
                                result.value.findings + warnings, result.value.checked)
            _notify(on_progress, target, "built", outcome, result.seconds)
        else:
            outcome.failed += 1
            outcome.problems += [Problem.from_input(slug, target.label, error)
                                 for error in result.input_errors]
            if result.failure is not None:
                outcome.problems.append(Problem(slug, target.label, result.failure))
            _notify(on_progress, target, "failed", outcome, result.seconds)


# What renders a build's targets, given (target, inputs hash) pairs: it yields one
# workers.Result per target, whose value is the target's Produced. Local forked workers
# by default; guidepress.queue.Runner sends them to a job queue instead.
Runner = Callable[[Project, list[tuple[Target, str]], int, workers.Limits],
                  Iterator[workers.Result]]


def run_locally(project: Project, to_render: list[tuple[Target, str]], jobs: int,
                limits: workers.Limits) -> Iterator[workers.Result]:
    """Render each target in a bounded worker forked from this process."""
    envs = _warm_templates(project, to_render)
    calls = [functools.partial(render_target, project, target, envs[_env_key(target.edition)])
             for target, _inputs in to_render]
    if calls:
        pdf.warm_up()
    # Each worker makes its own font configuration: WeasyPrint writes @font-face files
    # into it, and two workers sharing one inherited from here would overwrite each other.
    return workers.run(calls, jobs, limits, initializer=pdf.fresh_font_configuration,
                       labels=[target.label for target, _ in to_render])


def _prepare_each(project: Project, slugs: list[str], langs: list[str] | None,
                  printer: str | None, guides: list[str] | None, draft: bool = False
                  ) -> tuple[list[Edition], list[Problem]]:
    """Validate brand by brand: one bad brand among many is set aside, not fatal.

    When no brand is valid, every problem is raised together, as for a single brand.
    """
    if len(slugs) == 1:
        return prepare(project, slugs, langs, printer, guides, draft), []
    editions: list[Edition] = []
    problems: list[Problem] = []
    for slug in slugs:
        try:
            editions += prepare(project, [slug], langs, printer, guides, draft)
        except InputErrors as exc:
            problems += [Problem.from_input(slug, slug, error) for error in exc.errors]
    if not editions:
        raise InputErrors([problem.input for problem in problems if problem.input])
    return editions, problems


@dataclass(frozen=True)
class Progress:
    """One target done, for a progress display."""

    label: str
    status: str  # built, skipped or failed
    done: int
    total: int
    seconds: float


def _notify(callback: Callable[[Progress], None] | None, target: Target, status: str,
            outcome: Outcome, seconds: float) -> None:
    if callback is not None:
        done = outcome.built + outcome.skipped + outcome.failed
        callback(Progress(target.label, status, done, outcome.targets, seconds))


def _env_key(edition: Edition) -> tuple[str, str]:
    return edition.brand.slug, edition.guide.info.slug


def _warm_templates(project: Project, to_render: list[tuple[Target, str]]
                    ) -> dict[tuple[str, str], ImmutableSandboxedEnvironment]:
    """Make each brand's and guide's template environment for this build and compile its
    templates here, so that forked workers inherit them; an environment lives for one
    build only.

    Nothing is rendered here: a brand or guide template runs only in a bounded worker.
    """
    envs: dict[tuple[str, str], ImmutableSandboxedEnvironment] = {}
    for target, _inputs in to_render:
        edition, key = target.edition, _env_key(target.edition)
        if key in envs:
            continue
        envs[key] = render.template_environment(project.templates, edition.brand,
                                                edition.guide.info.folder)
        try:
            render.compile_templates(envs[key], project.templates, edition.brand)
        except InputErrors:
            pass  # the brand's targets report it, by file and line, from their workers
    return envs


def _proof_sheet(project: Project, brand: publish.BrandBuild, folder: Path,
                 wheres: list[str]) -> dict[str, bytes]:
    """The proof sheet and the library page of a brand, from the files of its new folder
    (in a worker); the guides' own templates play no part in them."""
    edition = brand.editions[0]
    kit_tools = tools(project, edition, with_guide=False)
    entries = json.loads((folder / manifest.MANIFEST).read_bytes())["files"]
    previous = folder.parent / edition.brand.slug  # the folder the new one replaces
    return {"proof.pdf": proof.make_proof(kit_tools, edition, folder, wheres, brand.report,
                                          project.root, previous),
            library.INDEX: library.index_page(kit_tools[0], edition, folder, entries)}


def brand_reports(editions: list[Edition], max_statistic_age: int, today: datetime.date,
                  langs: list[str] | None = None) -> dict[str, preflight.Report]:
    """Start one preflight report per brand with the checks that need no PDF (`langs`:
    the languages asked for, else each brand's own)."""
    reports: dict[str, preflight.Report] = {}
    guides: set[tuple[str, str]] = set()
    for edition in editions:
        slug, info = edition.brand.slug, edition.guide.info
        if slug not in reports:
            reports[slug] = preflight.Report(slug)
            preflight.check_brand(edition.brand, reports[slug])
        if (slug, info.slug) not in guides:
            guides.add((slug, info.slug))
            preflight.check_languages(edition.brand, info, langs or edition.brand.languages,
                                      reports[slug])
        preflight.check_statistics(edition.guide, reports[slug], max_statistic_age, today)
    return reports


def preflight_existing(editions: list[Edition], output: Path, max_statistic_age: int,
                       today: datetime.date, langs: list[str] | None = None
                       ) -> dict[str, preflight.Report]:
    """Preflight without rendering: brand checks, and the PDFs and pictures already in
    `output/`."""
    reports = brand_reports(editions, max_statistic_age, today, langs)
    for edition in editions:
        folder = output / edition.brand.slug / edition.where
        for path in sorted(folder.glob("*.pdf")):
            preflight.check_document(f"{edition.where}/{path.name}", path.read_bytes(),
                                     edition.brand, edition.ticket,
                                     reports[edition.brand.slug])
    for target in plan(editions):
        if target.png and (output / target.path).is_file():
            preflight.check_picture(target.path, (output / target.path).read_bytes(),
                                    target.format.pixels, reports[target.edition.brand.slug])
    return reports


def created_at(guide: Guide) -> str:
    """The date written into every PDF: SOURCE_DATE_EPOCH if set, else the guide's date."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        moment = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
    else:
        moment = datetime.datetime.combine(guide.info.date, datetime.time(),
                                           datetime.timezone.utc)
    return moment.isoformat()


def render_target(project: Project, target: Target,
                  env: ImmutableSandboxedEnvironment | None = None) -> Produced:
    """Produce and check the PDFs of one target, in memory.

    `env` is the brand's template environment of this build (a new one when not given).
    """
    edition = target.edition
    brand, guide, ticket = edition.brand, edition.guide, edition.ticket
    env, fetcher, printing, screen = tools(project, edition, env)
    base = project.root
    files: dict[str, bytes] = {}
    placed: dict[str, list[pdf.Placement]] = {}  # print documents' text and images
    warnings: list[str] = []
    if target.web:
        page = render.render_web(env, guide, brand, render.Profile("web", None, screen.created))
        post.verify_web_page(f"{brand.slug}/{edition.where}/{page.name}", page.html)
        return Produced({page.name: page.html.encode()}, [])
    if target.poster_index is None:
        booklet, breaks = _booklet(env, guide, brand, printing, fetcher, base)
        _check_page_limit(base, guide, len(booklet.pages.pages))
        files["guide-print.pdf"] = pdf.write_pdf(booklet, printing)
        placed["guide-print.pdf"] = pdf.placements(booklet)
        warnings += booklet.warnings
        on_screen = render.render_booklet(env, guide, brand, screen, breaks)
        written = _written_from_print(booklet, on_screen, brand, printing)
        if written is None:
            laid_out = pdf.lay_out(on_screen, fetcher, base)
            written = pdf.write_pdf(laid_out, screen)
            warnings += laid_out.warnings
        files[on_screen.name] = written
    elif target.png:  # a picture is made from the screen profile alone (RGB), never printed
        index, form = target.poster_index, target.format
        rendered, _scale = _poster(env, guide, brand, guide.posters[index], index, screen,
                                   fetcher, base, None, form)
        files[rendered.document.name] = pdf.write_pdf(rendered, screen)
        warnings += rendered.warnings
    else:
        index, form = target.poster_index, target.format
        poster = guide.posters[index]
        rendered, scale = _poster(env, guide, brand, poster, index, printing, fetcher, base,
                                  None, form)
        files[rendered.document.name] = pdf.write_pdf(rendered, printing)
        placed[rendered.document.name] = pdf.placements(rendered)
        warnings += rendered.warnings
        on_screen = _poster_document(env, guide, brand, poster, screen, scale, form)
        written = _written_from_print(rendered, on_screen, brand, printing)
        if written is None:  # the print scale is tried first: the sheets are the same size
            laid_out, _scale = _poster(env, guide, brand, poster, index, screen, fetcher,
                                       base, scale, form)
            written = pdf.write_pdf(laid_out, screen)
            warnings += laid_out.warnings
        files[on_screen.name] = written
    report = preflight.Report(brand.slug)
    sides = target.format.sides if target.format is not None else None

    def check(name: str, document: Pdf) -> None:
        post.verify_pdf(f"{brand.slug}/{edition.where}/{name}", document,
                        target.format.size_mm if target.format is not None else None)
        # fonts (embedded, declared), pages, images and ink: errors stop this output
        preflight.check_document(f"{edition.where}/{name}", files[name], brand, ticket,
                                 report, pages=sides, document=document)

    for name in list(files):
        with post.opened(files[name]) as document:  # one parse for every check of a file
            check(name, document)
            if name == "guide-screen.pdf":
                # The office copy: the pages just checked, imposed (their tags go, the
                # imposed copy having no structure tree); WeasyPrint does not write the
                # booklet a third time.
                files["guide-office.pdf"] = post.impose(document)
    if "guide-office.pdf" in files:
        with post.opened(files["guide-office.pdf"]) as document:
            check("guide-office.pdf", document)
    for name, placements in placed.items():
        preflight.check_safe_zone(f"{brand.slug}/{edition.where}/{name}", placements, report,
                                  kind="poster")
    if target.png:  # the picture is the output; its PDF, checked above, is not kept
        files = {target.names[0]: _picture(target, files.popitem()[1], report)}
    return Produced(files, sorted(set(warnings)), report.findings, report.checked)


def _picture(target: Target, data: bytes, report: preflight.Report) -> bytes:
    """The laid-out page as a PNG of exactly the format's pixels, checked."""
    image = post.rasterise(data, target.format.pixels)
    preflight.check_picture(target.path, image, target.format.pixels, report)
    return image


def tools(project: Project, edition: Edition, env: ImmutableSandboxedEnvironment | None = None,
          with_guide: bool = True) -> tuple[ImmutableSandboxedEnvironment, pdf.ProjectFetcher,
                                            render.Profile, render.Profile]:
    """The template environment, URL fetcher and print and screen profiles of an edition;
    the guide's own templates are left out for the brand's proof sheet and library page."""
    brand, ticket = edition.brand, edition.ticket
    guide_folder = edition.guide.info.folder if with_guide else None
    env = env or render.template_environment(project.templates, brand, guide_folder)
    guide_templates = (guide_folder / "templates",) if guide_folder else ()
    fetcher = pdf.ProjectFetcher((project.templates, brand.folder, ticket.icc_profile,
                                  *guide_templates,
                                  *(face.files.regular.parent for face in brand.fonts.families)))
    created = created_at(edition.guide)
    return (env, fetcher, render.Profile("print", ticket, created, edition.draft),
            render.Profile("screen", None, created))


def _written_from_print(rendered: pdf.Rendered, screen: render.Document, brand: Brand,
                        printing: render.Profile) -> bytes | None:
    """The screen PDF written from the print layout, when the screen document is the print
    one but for its print rules and colours (templates or styles of a brand's own may make
    them differ), or None: the screen document is then laid out on its own."""
    separations = render.print_separations(brand, printing)
    if separations is None or \
            render.as_screen(rendered.document.html, printing, separations) != screen.html:
        return None
    return pdf.write_from_print(rendered, screen, separations)


def final_documents(project: Project, edition: Edition) -> list[render.Document]:
    """The HTML of every document of an edition, as the PDF stage receives it, the screen
    documents too (benchmarks: a build writes most of them from the print layouts)."""
    env, fetcher, printing, screen = tools(project, edition)
    guide, brand = edition.guide, edition.brand
    booklet, breaks = _booklet(env, guide, brand, printing, fetcher, project.root)
    documents = [booklet.document, render.render_booklet(env, guide, brand, screen, breaks)]
    for index, poster in enumerate(guide.posters):
        scale = None
        for profile in (printing, screen):
            rendered, scale = _poster(env, guide, brand, poster, index, profile, fetcher,
                                      project.root, scale)
            documents.append(rendered.document)
    return documents


def render_edition(project: Project, edition: Edition) -> dict[str, bytes]:
    """Produce every PDF of one edition in this process (tests and tools)."""
    files: dict[str, bytes] = {}
    env = render.template_environment(project.templates, edition.brand,
                                      edition.guide.info.folder)
    for target in plan([edition]):
        files.update(render_target(project, target, env).files)
    return files


MAX_NOTES_PAGES = 3  # padding to a multiple of 4 never needs more
# A part whose header would open below this depth of a page (0 top, 1 foot) starts the
# next page instead, when the booklet has pages to spare: the page it leaves is then more
# than half full, and one note page fewer is needed
LOW_OPENING = 0.6
# A page of text filled less than this, top to bottom, looks left half empty
THIN_PAGE = 0.4


def _thin_pages(rendered: pdf.Rendered) -> int:
    """How many pages of text (not the cover, the notes or the back cover) are filled less
    than THIN_PAGE."""
    notes = set(pdf.pages_showing(rendered, "notes"))
    fills = pdf.page_fills(rendered)
    return sum(fill < THIN_PAGE for index, fill in enumerate(fills[:-1])
               if index > 0 and index not in notes)


def _booklet(env, guide: Guide, brand: Brand, profile: render.Profile,
             fetcher: pdf.ProjectFetcher, base: Path
             ) -> tuple[pdf.Rendered, render.BookletBreaks]:
    """The booklet padded to a multiple of 4 pages (saddle stitching needs it), and the
    breaks chosen for it: when a page of text is left under THIN_PAGE and pages are to
    spare, one part opening low on a page may move to the next; note pages (never blank
    pages) make up the rest.

    Each layout has the most note pages it can need, and those it does not need are left
    out of the laid-out pages: the notes come after every part, so no page before them
    changes, and `_notes_can_go` checks that the pages after them (the back cover) do not
    depend on their number. When it cannot tell, the booklet is laid out again.
    """
    def lay_out(parts: frozenset[str]) -> tuple[pdf.Rendered, int]:
        """The booklet with MAX_NOTES_PAGES note pages, and its pages before the notes."""
        padded = pdf.lay_out(render.render_booklet(
            env, guide, brand, profile, render.BookletBreaks(MAX_NOTES_PAGES, parts)),
            fetcher, base)
        return padded, len(padded.pages.pages) - MAX_NOTES_PAGES

    parts: frozenset[str] = frozenset()
    padded, pages = lay_out(parts)
    target = -(-pages // 4) * 4
    thin = _thin_pages(padded)
    # Notes make up the spare pages as well as text would: a move is tried only to mend a
    # page of text left under THIN_PAGE, and it costs a layout
    move = _move_worth_trying(padded) if pages < target and thin else None
    if move is not None:  # one layout more, at most
        candidate, candidate_pages = lay_out(frozenset({move}))
        # kept if it needs no more paper and leaves no more page half empty
        if candidate_pages <= target and _thin_pages(candidate) <= thin:
            parts, padded, pages = frozenset({move}), candidate, candidate_pages
    breaks = render.BookletBreaks(target - pages, parts)
    notes = pdf.pages_showing(padded, "notes")
    first = notes[0] if notes else 0
    if notes == list(range(first, first + MAX_NOTES_PAGES)) and _notes_can_go(padded, first):
        kept = padded.pages.pages[:first + breaks.notes_pages] + \
            padded.pages.pages[first + MAX_NOTES_PAGES:]
        final = render.render_booklet(env, guide, brand, profile, breaks)
        rendered = pdf.Rendered(final, padded.pages.copy(kept), padded.warnings, padded.base)
    else:  # a template or stylesheet the check cannot vouch for: the slow, sure way
        rendered = pdf.lay_out(render.render_booklet(env, guide, brand, profile, breaks),
                               fetcher, base)
    pages = len(rendered.pages.pages)
    if pages % 4:
        raise RenderError(_("{where}/guide: {pages} pages after padding, not a multiple of 4")
                          .format(where=f"{brand.slug}/{guide.info.slug}/{guide.lang}",
                                  pages=pages))
    return rendered, breaks


def _move_worth_trying(padded: pdf.Rendered) -> str | None:
    """The part opening low on a page that is worth starting on the next page, judged
    from the laid-out booklet: the lowest whose move is predicted to leave no page under
    THIN_PAGE, or None.

    Moving a part pushes what follows down by the rest of its page; that push is taken up
    by the room left at the foot of a page whose next page opens with a part at its top,
    and what is left of it flows onto the last page of text, or past it onto a new page,
    which must then be filled at least THIN_PAGE.
    """
    fills = pdf.page_fills(padded)
    openings = pdf.part_openings(padded)
    at_top = {o.page - 1 for o in openings if o.depth < TOP_OPENING}  # page indexes
    notes = pdf.pages_showing(padded, "notes")
    if not notes:
        return None
    last = notes[0] - 1  # the last page of text
    for opening in sorted(openings, key=lambda o: -o.depth):
        if opening.depth < LOW_OPENING:
            break
        push = 1 - opening.depth
        for index in range(opening.page - 1, last):
            if index + 1 in at_top:
                push -= max(1 - fills[index], 0.0)
        spill = fills[last] + max(push, 0.0) - 1
        if spill <= 0 or spill >= THIN_PAGE:
            return opening.part_id
    return None


# A part opening this high on its page (0 top, 1 foot) opens at the top of the text area
TOP_OPENING = 0.1


def _notes_can_go(padded: pdf.Rendered, first_notes: int) -> bool:
    """Whether leaving out note pages changes nothing on the pages after them.

    Those pages (the back cover) move back by up to 3 pages: their page number and their
    side (left or right) change. They are unchanged if they print no page number or
    running head (no margin box), and if the stylesheets count no total of pages and
    style pages by side only as the default stylesheet does (running heads).
    """
    after = padded.pages.pages[first_notes + MAX_NOTES_PAGES:]
    html = padded.document.html
    return (not any(pdf.has_margin_boxes(page) for page in after)
            and "counter(pages)" not in html and len(_PAGE_SIDES.findall(html)) <= 2)


# `@page :left`, `@page back:right`, `@page :nth(2n)`: the default stylesheet has two
_PAGE_SIDES = re.compile(r"@page[^{;]*:(?:left|right|recto|verso|nth)", re.IGNORECASE)


def _check_page_limit(base: Path, guide: Guide, pages: int) -> None:
    """A guide may cap its booklet's pages (a leaflet is 4): more is an error, not a cut."""
    limit = guide.info.max_pages
    if limit is not None and pages > limit:
        display = f"content/{guide.info.slug}/guide.yaml"
        source = load_yaml(base / display, display)
        raise InputErrors([source.error(("max_pages",), _(
            "the {lang} booklet has {pages} pages, more than the {limit} this guide allows; "
            "shorten its sections").format(lang=guide.lang, pages=pages, limit=limit))])


# Poster fields that come from brand.yaml, not from the posters file.
_BRAND_FIELDS = {"brand.contacts": N_("the contact footer"),
                 "brand.name": N_("the establishment's name")}


def _poster(env, guide: Guide, brand: Brand, poster: Poster, index: int,
            profile: render.Profile, fetcher: pdf.ProjectFetcher, base: Path,
            known_scale: float | None = None, form: Format | None = None
            ) -> tuple[pdf.Rendered, float]:
    """The poster laid out in its format (A3 when `form` is None) at the largest type
    scale that fits, and that scale; a flyer's back (the contacts) is added after it.

    `known_scale`, the scale found for another profile of the same sheet, is tried first:
    when it fits, the search is not run again."""
    def lay_out(scale: float, measuring: bool = False) -> pdf.Rendered:
        return pdf.lay_out(render.render_poster(env, guide, brand, poster, profile, scale,
                                                form, measuring=measuring), fetcher, base)

    rendered, scale = _fitted(lay_out, known_scale, guide, poster, index, base, form)
    if form is None or form.sides == 1:
        return rendered, scale
    both = pdf.lay_out(_poster_document(env, guide, brand, poster, profile, scale, form),
                       fetcher, base)
    if len(both.pages.pages) != form.sides:
        display = f"brands/{brand.slug}/brand.yaml"
        source = load_yaml(brand.folder / "brand.yaml", display)  # only to say where
        raise InputErrors([source.error(("contacts",), _(
            "the back of the {format} flyer does not hold the contacts on one page; give "
            "fewer contacts, or shorter ones").format(format=form.name))])
    return both, scale


def _poster_document(env, guide: Guide, brand: Brand, poster: Poster,
                     profile: render.Profile, scale: float, form: Format | None
                     ) -> render.Document:
    """The poster as written at `scale`: a flyer's back follows its front."""
    return render.render_poster(env, guide, brand, poster, profile, scale, form,
                                back=form is not None and form.sides == 2)


def _fitted(lay_out: Callable[..., pdf.Rendered], known_scale: float | None,
            guide: Guide, poster: Poster, index: int, base: Path, form: Format | None
            ) -> tuple[pdf.Rendered, float]:
    """The largest scale at which the poster's message fits its sheet, or an error naming
    the field that runs over."""
    rendered, scale = None, known_scale
    if known_scale is not None:
        rendered = lay_out(known_scale)
    if rendered is None or not pdf.fits_one_page(rendered):
        rendered, scale = _largest_that_fits(lay_out)
    if pdf.fits_one_page(rendered):
        return rendered, scale
    display = f"content/{guide.info.slug}/{guide.lang}/posters.yaml"
    source = load_yaml(base / display, display)
    spilled = pdf.overflowing_field(rendered)
    key: tuple[str | int, ...] = ("posters", index)
    hint = _("shorten the headline or the points")
    if spilled is None and len(rendered.pages.pages) == 1:
        # every field is on the sheet, but the sheet's bottom margin is pushed off it
        where = _("its text runs into the sheet's bottom margin")
    elif spilled is None:  # nothing marked as a field went past the first page
        where = _("what runs onto a second page is none of its fields (unknown cause)")
        hint = _("check the brand's templates and styles")
    elif spilled.name in _BRAND_FIELDS:
        where = _("its text leaves no room for {field}").format(
            field=_(_BRAND_FIELDS[spilled.name]))
    else:
        key += spilled.key
        where = _("`{field}` and what follows run onto a second page").format(
            field=spilled.label)
    if form is None or form.name == "affiche-a3":
        message = _('the poster "{id}" does not fit on one A3 page: {where}; {hint}')
    else:
        message = _('the poster "{id}" does not fit in the format "{format}" ({size}): '
                    "{where}; {hint}")
    size = "" if form is None else \
        f"{form.size.width:g} × {form.size.height:g} {form.size.unit}"
    raise InputErrors([source.error(key, message.format(
        id=poster.id, where=where, hint=hint, format=form.name if form else "", size=size))])


def _largest_that_fits(lay_out: Callable[..., pdf.Rendered]
                       ) -> tuple[pdf.Rendered, float]:
    """The poster at the largest type scale of `_SCALES` that fits its sheet, and that
    scale, in as few layouts as the measure allows (usually one, after the measure).

    The poster's message is first measured (`pdf.message_room`) in a layout made for it
    at POSTER_SCALE (`measuring`: plain blocks, about half the cost of the poster's), to
    predict the largest scale whose message fits; the poster is laid out there. A layout
    that fits is kept; one that does not bounds the search and is measured in turn. The
    scales are the points a bisection between the bounds would try, so a short message
    still fills its sheet; a poster whose message cannot be measured (a brand's own
    template), or a third miss, is bisected. If even the smallest scale does not fit, that
    layout is returned for the caller to report.
    """
    low, high = -1, len(_SCALES)  # the largest scale known to fit, the smallest known not to
    kept: pdf.Rendered | None = None
    room = pdf.message_room(lay_out(render.POSTER_SCALE, measuring=True))
    index = (_predicted(room, render.POSTER_SCALE, low, high) if room
             else _SCALES.index(render.POSTER_SCALE))
    predicted = room is not None
    for attempt in range(len(_SCALES)):
        rendered = lay_out(_SCALES[index])
        if pdf.fits_one_page(rendered):
            low, kept = index, rendered
            if predicted:  # the measure predicted the scale above it not to fit
                break
        else:
            high = index
        if high - low <= 1:
            break
        room = pdf.message_room(rendered) if attempt < 1 else None
        predicted = room is not None
        index = _predicted(room, _SCALES[index], low, high) if room else (low + high + 1) // 2
        if index == low:  # nothing above the layout kept is predicted to fit
            break
    if kept is None:
        return rendered, _SCALES[0]
    return kept, _SCALES[low]


def _predicted(room: pdf.Room, scale: float, low: int, high: int) -> int:
    """The largest scale between `low` (excluded unless it is known to fit) and `high`
    (excluded) whose message `room` predicts to fit; the smallest scale if none is and
    none is known to fit yet."""
    for index in range(high - 1, low, -1):
        if room.needed(_SCALES[index] / scale) <= room.available:
            return index
    return max(low, 0)


def _bisection_points(low: float, high: float, steps: int = 3) -> list[float]:
    """The scales a bisection from `low` towards `high` can try in `steps` steps."""
    if not steps:
        return []
    middle = round((low + high) / 2, 3)
    return ([middle] + _bisection_points(low, middle, steps - 1)
            + _bisection_points(middle, high, steps - 1))


# The type scales a poster may take: POSTER_SCALE, and the points of a three-step bisection
# below it (down to POSTER_SCALE_MIN) and above it (short of POSTER_SCALE_MAX)
_SCALES = sorted({render.POSTER_SCALE_MIN, render.POSTER_SCALE,
                  *_bisection_points(render.POSTER_SCALE_MIN, render.POSTER_SCALE),
                  *_bisection_points(render.POSTER_SCALE, render.POSTER_SCALE_MAX)})
