"""Builds of the portal, as jobs: a preview (the cover and one poster) or a whole kit.

A job names a Build row by its id and nothing else. With PORTAL_JOBS=rq it goes to the
django-rq queue "portal" and a worker (`python -m portal rqworker portal`) runs it; with
"inline" the same function runs in the request's process. Either way the engine does the
work through `kit`: `kit.prepare` and `kit.run_locally` (bounded forked workers) for the
preview, `kit.build` for the kit, which publishes it atomically.
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pypdfium2
import rq
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from guidepress import kit, workers
from guidepress.plan import plan
from guidepress.problems import InputErrors

from portal.core import brands
from portal.core.language import engine_speaking
from portal.core.models import Build, Establishment, GuideVersion

log = logging.getLogger("portal")
PREVIEW_SCALE = 0.5  # thumbnails: about 300 px wide for an A5 page
PROOF_SCALE = 1.0
UNEXPECTED = gettext_noop("The build stopped on an unexpected error; the worker's log says why.")


class Worker(rq.Worker):
    """RQ's worker, named so that `rqworker --worker-class portal.core.jobs.Worker` loads
    this module, and so the engine, in the worker's parent: each job's fork starts warm."""


def submit(build: Build) -> None:
    """Send a build to the queue (or run it now, with PORTAL_JOBS=inline)."""
    function = run_preview if build.kind == Build.PREVIEW else run_kit
    if settings.PORTAL_JOBS == "inline":
        function(build.pk)
        return
    import django_rq

    django_rq.get_queue("portal").enqueue(function, build.pk, job_timeout=900)


@contextmanager
def locked(establishment: Establishment) -> Iterator[None]:
    """One writer at a time in an establishment's folder, across processes and machines
    sharing it (a brand saved while a worker builds waits for the build)."""
    folder = brands.establishment_folder(establishment)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def previews_folder(build: Build) -> Path:
    return brands.establishment_folder(build.establishment) / "previews" / str(build.pk)


def _versions(build: Build) -> dict[str, GuideVersion]:
    return {guide: GuideVersion.objects.get(guide=guide, number=number)
            for guide, number in build.guide_versions.items()}


def _start(build_id: int) -> Build:
    return Build.objects.select_related("establishment").get(pk=build_id)


def _set(build: Build, **fields: object) -> None:
    for name, value in fields.items():
        setattr(build, name, value)
    build.save(update_fields=list(fields))


def _finish(build: Build, problems: list[str]) -> None:
    _set(build, status=Build.FAILED if problems else Build.DONE,
         problems="\n".join(problems), finished_at=timezone.now())


def run_preview(build_id: int) -> None:
    """Render the first poster and the booklet of the first guide, in French, as drafts,
    and save a PNG of the poster and of the cover."""
    build = _start(build_id)
    _set(build, status=Build.RUNNING, progress="poster")
    establishment = build.establishment
    folder = previews_folder(build)
    folder.mkdir(parents=True, exist_ok=True)

    def preview() -> list[str]:
        with locked(establishment), engine_speaking(build.lang):
            project = brands.project(establishment)
            brands.sync_inputs(project.root, _versions(build))
            guides = sorted(build.guide_versions)[:1]
            editions = kit.prepare(project, [establishment.slug], ["fr"], guides=guides or None,
                                   draft=True)
            targets = plan(editions[:1])
            # the first poster in the guide's first format (the A3 poster unless it says
            # otherwise), and the booklet
            chosen = [t for t in targets if t.poster_index == 0 and not t.png][:1]
            chosen += [t for t in targets if t.poster_index is None and not t.web]
            results = kit.run_locally(project, [(t, "") for t in chosen], len(chosen),
                                      workers.Limits())
            problems = []
            for result in results:
                target = chosen[result.index]
                if not result.ok:
                    problems += [str(e) for e in result.input_errors]
                    problems += [result.failure] if result.failure else []
                    continue
                files = result.value.files
                if target.poster_index is not None:
                    screen = next(n for n in files if n.endswith("-screen.pdf"))
                    _page_png(files[screen], 0, folder / "poster.png", PREVIEW_SCALE)
                    _set(build, progress="cover")
                else:
                    _page_png(files["guide-screen.pdf"], 0, folder / "cover.png", PREVIEW_SCALE)
            return problems

    _finish(build, _problems_of(build, "preview", preview))


def run_kit(build_id: int) -> None:
    """Build the establishment's kit with `kit.build` (a draft until approved), then draw
    its proof sheet's pages for the browser."""
    build = _start(build_id)
    _set(build, status=Build.RUNNING, progress="")
    establishment = build.establishment
    output = brands.output_folder(establishment)

    def progress(step: kit.Progress) -> None:
        _set(build, progress=f"{step.done}/{step.total}")

    def build_kit() -> list[str]:
        with locked(establishment), engine_speaking(build.lang):
            project = brands.project(establishment)
            brands.sync_inputs(project.root, _versions(build))
            outcome = kit.build(project, [establishment.slug], None, output,
                                today=datetime.date.today(),
                                guides=sorted(build.guide_versions) or None,
                                draft=build.draft, on_progress=progress)
            problems = [str(problem) for problem in outcome.problems]
            if not problems:
                published = output / establishment.slug
                _set(build, inputs_hash=kit_inputs_hash(published))
                folder = previews_folder(build)
                folder.mkdir(parents=True, exist_ok=True)
                proof = (published / "proof.pdf").read_bytes()
                for index in range(len(pypdfium2.PdfDocument(proof))):
                    _page_png(proof, index, folder / f"proof-{index + 1}.png", PROOF_SCALE)
            return problems

    _finish(build, _problems_of(build, "kit build", build_kit))


def _problems_of(build: Build, what: str, work: Callable[[], list[str]]) -> list[str]:
    """Run a job's work; its problems, the engine's input errors, or one plain sentence
    for anything unexpected (the page must stop waiting; the log says why)."""
    try:
        return work()
    except InputErrors as exc:
        return [str(error) for error in exc.errors]
    except Exception:  # noqa: BLE001 - see above
        log.exception("%s %s failed", what, build.pk)
        return [_unexpected(build)]


def _unexpected(build: Build) -> str:
    with translation.override(build.lang):
        return translation.gettext(UNEXPECTED)


def kit_inputs_hash(published: Path) -> str:
    """One hash for a published kit: its manifest's files and their inputs hashes."""
    manifest = json.loads((published / "manifest.json").read_bytes())
    digest = hashlib.sha256()
    for name, entry in sorted(manifest["files"].items()):
        digest.update(f"{name}\0{entry.get('sha256', '')}\0{entry.get('inputs', '')}\n"
                      .encode())
    return digest.hexdigest()


def _page_png(data: bytes, index: int, path: Path, scale: float) -> None:
    document = pypdfium2.PdfDocument(data)
    image = document[index].render(scale=scale).to_pil()
    temporary = path.with_suffix(".tmp")
    image.save(temporary, format="PNG")
    temporary.replace(path)
