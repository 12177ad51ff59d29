"""The build of print kits: runs the stages in order for each brand and language.

Inputs are validated before anything renders; then every target (a booklet, a poster)
renders in a bounded worker, is checked, and only then replaces the previous file, so
bad input or a failed render never leaves a half-written or stale file in `output/`.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from guidepress import (manifest, pdf, post, preflight, proof, render, typography, validate,
                        workers)
from jinja2.sandbox import ImmutableSandboxedEnvironment

from guidepress.i18n import _, ngettext
from guidepress.load import load_yaml
from guidepress.models import Brand, Guide, Poster, PrinterTicket
from guidepress.plan import Edition, Project, Target, plan
from guidepress.problems import InputError, InputErrors, RenderError


@dataclass
class Produced:
    """The PDFs of one target, checked, and what WeasyPrint had to say while making them."""

    files: dict[str, bytes]
    warnings: list[str]
    findings: list[preflight.Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """What a build did: files written, failures, input problems and preflight reports."""

    written: list[Path] = field(default_factory=list)
    built: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    input_errors: list[InputError] = field(default_factory=list)
    rejected: list[InputError] = field(default_factory=list)  # brands set aside, not built
    reports: dict[str, preflight.Report] = field(default_factory=dict)
    targets: int = 0
    peak_rss_mb: float = 0.0


def prepare(project: Project, slugs: list[str], langs: list[str] | None,
            printer: str | None = None) -> list[Edition]:
    """Validate every brand, guide and printer ticket of the run; report all problems together."""
    errors: list[InputError] = []
    editions = []
    tickets: dict[str, PrinterTicket] = {}
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
          max_statistic_age: int = preflight.DEFAULT_MAX_STATISTIC_AGE,
          jobs: int | None = None, limits: workers.Limits | None = None,
          force: bool = False,
          on_progress: Callable[[Progress], None] | None = None, *,
          today: datetime.date, runner: Runner | None = None) -> Outcome:
    """Build the kits of `slugs` into `output/<brand>/<lang>/`.

    `today` dates the preflight's age check of statistics; only the command line reads
    the clock, so that a build (and a test) never depends on the day it runs.

    Bad input stops everything before rendering (InputErrors). Targets whose inputs are
    unchanged since the manifest was written are skipped (unless `force`). The others
    render each in a bounded worker (`runner`: local forked workers by default); a target
    that fails keeps its previous files, and a brand whose preflight finds an error keeps
    all of its previous files.
    """
    started = time.monotonic()
    editions, rejected = _prepare_each(project, slugs, langs, printer)
    targets = plan(editions)
    outcome = Outcome(targets=len(targets))
    for slug, errors in rejected.items():
        outcome.failures.append((slug, ngettext(
            "{count} problem in the input; this brand was not built",
            "{count} problems in the input; this brand was not built", len(errors)).format(
                count=len(errors))))
        outcome.rejected += errors
    reports = brand_reports(editions, max_statistic_age, today)
    manifests = {slug: manifest.load(output / slug) for slug in reports}
    entries: dict[str, dict[str, dict]] = {slug: {} for slug in reports}
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    to_render: list[tuple[Target, str]] = []
    for target in targets:
        slug, lang = target.edition.brand.slug, target.edition.guide.lang
        inputs = manifest.inputs_hash(project.templates, target, epoch)
        if not force and manifest.up_to_date(manifests[slug], output / slug, lang, target,
                                             inputs):
            outcome.skipped += 1
            _reuse(manifests[slug], entries[slug], reports[slug], lang, target)
            _notify(on_progress, target, "skipped", outcome, 0.0)
        else:
            to_render.append((target, inputs))
    produced: dict[Path, dict[str, bytes]] = {}
    for result in (runner or run_locally)(project, to_render, jobs or os.cpu_count() or 1,
                                          limits or workers.Limits()):
        target, inputs = to_render[result.index]
        slug, lang = target.edition.brand.slug, target.edition.guide.lang
        outcome.peak_rss_mb = max(outcome.peak_rss_mb, result.peak_rss_mb)
        if result.ok:
            outcome.built += 1
            produced.setdefault(output / slug / lang, {}).update(result.value.files)
            findings = result.value.findings + [
                preflight.Finding("warning", target.label, f"WeasyPrint: {w}")
                for w in result.value.warnings]
            reports[slug].findings += findings
            reports[slug].checked += result.value.checked
            _record(entries[slug], lang, target, inputs, result.value, findings)
            _notify(on_progress, target, "built", outcome, result.seconds)
        else:
            outcome.input_errors += result.input_errors
            message = result.failure or "; ".join(str(e) for e in result.input_errors)
            outcome.failures.append((target.label, message))
            for name in target.names:  # the previous files stay, and so do their entries
                previous = manifests[slug]["files"].get(f"{lang}/{name}")
                if previous:
                    entries[slug][f"{lang}/{name}"] = previous
            _notify(on_progress, target, "failed", outcome, result.seconds)
    outcome.reports = reports
    _publish(project, output, targets, produced, reports, entries, outcome)
    outcome.seconds = time.monotonic() - started
    return outcome


# What renders a build's targets, given (target, inputs hash) pairs: it yields one
# workers.Outcome per target, whose value is the target's Produced. Local forked workers
# by default; guidepress.queue.Runner sends them to a job queue instead.
Runner = Callable[[Project, list[tuple[Target, str]], int, workers.Limits],
                  Iterator[workers.Outcome]]


def run_locally(project: Project, to_render: list[tuple[Target, str]], jobs: int,
                limits: workers.Limits) -> Iterator[workers.Outcome]:
    """Render each target in a bounded worker forked from this process."""
    if to_render:
        _warm_templates(project, [target.edition for target, _inputs in to_render])
    calls = [functools.partial(render_target, project, target) for target, _inputs in to_render]
    # Each worker makes its own font configuration: WeasyPrint writes @font-face files
    # into it, and two workers sharing one inherited from here would overwrite each other.
    return workers.run(calls, jobs, limits, initializer=pdf.fresh_font_configuration)


def _prepare_each(project: Project, slugs: list[str], langs: list[str] | None,
                  printer: str | None) -> tuple[list[Edition], dict[str, list[InputError]]]:
    """Validate brand by brand: one bad brand among many is set aside, not fatal.

    When no brand is valid, every problem is raised together, as for a single brand.
    """
    if len(slugs) == 1:
        return prepare(project, slugs, langs, printer), {}
    editions: list[Edition] = []
    rejected: dict[str, list[InputError]] = {}
    for slug in slugs:
        try:
            editions += prepare(project, [slug], langs, printer)
        except InputErrors as exc:
            rejected[slug] = exc.errors
    if not editions:
        raise InputErrors([error for errors in rejected.values() for error in errors])
    return editions, rejected


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
        done = outcome.built + outcome.skipped + len(outcome.failures)
        callback(Progress(target.label, status, done, outcome.targets, seconds))


def _warm_templates(project: Project, editions: list[Edition]) -> None:
    """Compile each brand's templates once here, so that forked workers inherit them.

    Nothing is rendered here: a brand template runs only in a bounded worker.
    """
    seen = set()
    for edition in editions:
        if edition.brand.slug in seen:
            continue
        seen.add(edition.brand.slug)
        env = render.template_environment(project.templates, edition.brand)
        render.compile_templates(env, project.templates, edition.brand)


def _record(entries: dict[str, dict], lang: str, target: Target, inputs: str,
            produced: Produced, findings: list[preflight.Finding]) -> None:
    for index, (name, data) in enumerate(produced.files.items()):
        entries[f"{lang}/{name}"] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
            "pages": post.page_count(data) if name.endswith(".pdf") else None,
            "profile": post.profile_of(name),
            "inputs": inputs,
            "target": target.label,
            # findings and checks belong to the target: kept once, on its first file
            "findings": [[f.level, f.subject, f.message] for f in findings] if index == 0
            else [],
            "checked": produced.checked if index == 0 else [],
        }


def _reuse(old: dict, entries: dict[str, dict], report: preflight.Report, lang: str,
           target: Target) -> None:
    for name in target.names:
        entry = old["files"][f"{lang}/{name}"]
        entries[f"{lang}/{name}"] = entry
        report.findings += [preflight.Finding(*f) for f in entry.get("findings", [])]
        report.checked += entry.get("checked", [])


def _proof(project: Project, editions: list[Edition], brand_output: Path,
           report: preflight.Report) -> bytes:
    first = editions[0]
    return proof.make_proof(_tools(project, first), first, brand_output,
                            [e.guide.lang for e in editions], report, project.root)


def _publish(project: Project, output: Path, targets: list[Target],
             produced: dict[Path, dict[str, bytes]], reports: dict[str, preflight.Report],
             entries: dict[str, dict[str, dict]], outcome: Outcome) -> None:
    editions_of: dict[str, list[Edition]] = {}
    for target in targets:
        group = editions_of.setdefault(target.edition.brand.slug, [])
        if target.edition not in group:
            group.append(target.edition)
    planned: dict[Path, set[str]] = {}
    for target in targets:
        folder = output / target.edition.brand.slug / target.edition.guide.lang
        planned.setdefault(folder, set()).update(target.names)
    for slug, report in reports.items():
        with post.locked(output / slug):
            post.publish({"preflight.txt": report.text().encode()}, output / slug)
            if report.errors:
                outcome.failures += [(slug, str(f)) for f in report.errors]
                continue
            written = []
            for folder, files in produced.items():
                if folder.parent.name == slug:
                    written += post.publish(files, folder, planned[folder])
            outcome.written += written
            if written or not (output / slug / "proof.pdf").exists():
                try:
                    sheet = _proof(project, editions_of[slug], output / slug, report)
                except (RenderError, InputErrors) as exc:  # e.g. a brand template error
                    outcome.failures.append((f"{slug} proof sheet", str(exc)))
                else:
                    outcome.written += post.publish({"proof.pdf": sheet}, output / slug)
            kept = manifest.load(output / slug)["files"]
            kept = {k: v for k, v in kept.items() if k.split("/")[0] not in
                    {t.edition.guide.lang for t in targets if t.edition.brand.slug == slug}}
            post.publish({manifest.MANIFEST: manifest.to_bytes({**kept, **entries[slug]})},
                         output / slug)


def brand_reports(editions: list[Edition], max_statistic_age: int, today: datetime.date
                  ) -> dict[str, preflight.Report]:
    """Start one preflight report per brand with the checks that need no PDF."""
    reports: dict[str, preflight.Report] = {}
    for edition in editions:
        slug = edition.brand.slug
        if slug not in reports:
            reports[slug] = preflight.Report(slug)
            preflight.check_brand(edition.brand, reports[slug])
        preflight.check_statistics(edition.guide, reports[slug], max_statistic_age, today)
    return reports


def preflight_existing(editions: list[Edition], output: Path, max_statistic_age: int,
                       today: datetime.date) -> dict[str, preflight.Report]:
    """Preflight without rendering: brand checks, and the PDFs already in `output/`."""
    reports = brand_reports(editions, max_statistic_age, today)
    for edition in editions:
        folder = output / edition.brand.slug / edition.guide.lang
        for path in sorted(folder.glob("*.pdf")):
            preflight.check_document(f"{edition.guide.lang}/{path.name}", path.read_bytes(),
                                     edition.brand, edition.ticket,
                                     reports[edition.brand.slug])
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


def render_target(project: Project, target: Target) -> Produced:
    """Produce and check the PDFs of one target, in memory."""
    edition = target.edition
    brand, guide, ticket = edition.brand, edition.guide, edition.ticket
    env, fetcher, printing, screen = _tools(project, edition)
    base = project.root
    files: dict[str, bytes] = {}
    placed: dict[str, list[pdf.Placement]] = {}  # print documents' text and images
    warnings: list[str] = []
    if target.web:
        page = render.render_web(env, guide, brand, render.Profile("web", None, screen.created))
        post.verify_web_page(f"{brand.slug}/{guide.lang}/{page.name}", page.html)
        return Produced({page.name: page.html.encode()}, [])
    if target.poster_index is None:
        booklet = _booklet(env, guide, brand, printing, fetcher, base)
        notes = booklet.document.html.count('class="notes"')
        on_screen = pdf.lay_out(render.render_booklet(env, guide, brand, screen,
                                                      notes_pages=notes), fetcher, base)
        files["guide-print.pdf"] = pdf.write_pdf(booklet, printing)
        placed["guide-print.pdf"] = pdf.placements(booklet)
        files["guide-screen.pdf"] = pdf.write_pdf(on_screen, screen)
        files["guide-office.pdf"] = post.impose(pdf.write_pdf(on_screen, screen, tagged=False))
        warnings += booklet.warnings + on_screen.warnings
    else:
        poster = guide.posters[target.poster_index]
        for profile in (printing, screen):
            rendered = _poster(env, guide, brand, poster, target.poster_index, profile,
                               fetcher, base)
            files[rendered.document.name] = pdf.write_pdf(rendered, profile)
            if profile.for_print:
                placed[rendered.document.name] = pdf.placements(rendered)
            warnings += rendered.warnings
    report = preflight.Report(brand.slug)
    for name, data in files.items():
        post.verify_pdf(f"{brand.slug}/{guide.lang}/{name}", data)
        # fonts (embedded, declared), pages, images and ink: errors stop this output
        preflight.check_document(f"{guide.lang}/{name}", data, brand, ticket, report)
    for name, placements in placed.items():
        preflight.check_safe_zone(f"{brand.slug}/{guide.lang}/{name}", placements, report)
    return Produced(files, sorted(set(warnings)), report.findings, report.checked)


def _tools(project: Project, edition: Edition) -> tuple[
        ImmutableSandboxedEnvironment, pdf.ProjectFetcher, render.Profile, render.Profile]:
    brand, ticket = edition.brand, edition.ticket
    env = render.template_environment(project.templates, brand)
    fetcher = pdf.ProjectFetcher((project.templates, brand.folder, ticket.icc_profile,
                                  *(face.files.regular.parent for face in brand.fonts.families)))
    created = created_at(edition.guide)
    return (env, fetcher, render.Profile("print", ticket, created),
            render.Profile("screen", None, created))


def final_documents(project: Project, edition: Edition) -> list[render.Document]:
    """The HTML of every document of an edition, as the PDF stage receives it (benchmarks)."""
    env, fetcher, printing, screen = _tools(project, edition)
    guide, brand = edition.guide, edition.brand
    booklet = _booklet(env, guide, brand, printing, fetcher, project.root).document
    notes = booklet.html.count('class="notes"')
    documents = [booklet, render.render_booklet(env, guide, brand, screen, notes_pages=notes)]
    for poster in guide.posters:
        documents += [render.render_poster(env, guide, brand, poster, profile)
                      for profile in (printing, screen)]
    return documents


def render_edition(project: Project, edition: Edition) -> dict[str, bytes]:
    """Produce every PDF of one edition in this process (tests and tools)."""
    files: dict[str, bytes] = {}
    for target in plan([edition]):
        files.update(render_target(project, target).files)
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
            message = _('the poster "{id}" does not fit on one A3 page: its text leaves no '
                        "room for the contact footer; shorten the headline or the points")
        else:
            key = ("posters", index, *_split_field(spilled))
            message = _('the poster "{id}" does not fit on one A3 page: `{field}` and what '
                        "follows run onto a second page; shorten the headline or the points")
        raise InputErrors([source.error(key, message.format(id=poster.id, field=spilled))])
    return rendered


def _split_field(field_name: str) -> tuple[str | int, ...]:
    """Turn `points[1]` into ("points", 1) to locate it in the YAML file."""
    if "[" in field_name:
        name, index = field_name.rstrip("]").split("[")
        return (name, int(index))
    return (field_name,)
