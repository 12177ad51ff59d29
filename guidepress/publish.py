"""Publishing: each brand's outputs go into `output/<brand>/` as one unit, exactly as planned.

The new folder is assembled beside the current one (new files written, unchanged ones
hard-linked), its proof sheet rendered from it in a bounded worker, and the two folders
are exchanged in one step. So the folder holds exactly what the plan makes (a poster, a
section or a language removed from the inputs leaves no file behind), its proof sheet and
manifest always describe its files, and a failed build, a full disk or Ctrl-C leaves the
previous good folder as it was.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from guidepress import manifest, pdf, post, preflight, workers
from guidepress.i18n import N_, _
from guidepress.plan import Edition, Target
from guidepress.problems import Problem

ROOT_FILES = ("preflight.txt", "proof.pdf", "index.html", manifest.MANIFEST)


@dataclass
class BrandBuild:
    """What a build made for one brand, before it is published."""

    report: preflight.Report
    editions: list[Edition] = field(default_factory=list)
    files: dict[str, bytes | Path] = field(default_factory=dict)  # new bytes, or a file kept
    entries: dict[str, dict] = field(default_factory=dict)  # manifest entries of `files`
    # preflight findings and checks of each target, by its first file: added to the
    # report in the order of the names, whatever order the workers finished in
    checks: dict[str, tuple[list[preflight.Finding], list[str]]] = field(default_factory=dict)

    def record(self, target: Target, inputs: str, files: dict[str, bytes],
               findings: list[preflight.Finding], checked: list[str]) -> None:
        """Take the files of a target that was rendered (in `<guide>/<lang>/`)."""
        where = target.edition.where
        self.checks[f"{where}/{target.names[0]}"] = (findings, checked)
        for index, (name, data) in enumerate(files.items()):
            self.files[f"{where}/{name}"] = data
            self.entries[f"{where}/{name}"] = {
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
                "pages": post.page_count(data) if name.endswith(".pdf") else None,
                "profile": post.profile_of(name),
                "inputs": inputs,
                "target": target.label,
                "title": target.title,
                # what a poster's format is, for the library page and the portal
                "format": _format_entry(target),
                # findings and checks belong to the target: kept once, on its first file
                "findings": [[f.level, f.subject, f.message] for f in findings]
                if index == 0 else [],
                "checked": checked if index == 0 else [],
            }

    def reuse(self, old: dict, brand_output: Path, where: str, target: Target) -> None:
        """Keep the files of a target that is up to date, with their manifest entries."""
        for name in target.names:
            self._keep(old, brand_output, f"{where}/{name}")

    def keep_edition(self, old: dict, brand_output: Path, where: str) -> None:
        """Keep a guide or a language (`<guide>/<lang>`) this run does not build but the
        brand still has."""
        for key in sorted(k for k in old["files"] if k.startswith(f"{where}/")):
            if (brand_output / key).is_file():
                self._keep(old, brand_output, key)

    def _keep(self, old: dict, brand_output: Path, key: str) -> None:
        entry = old["files"][key]
        self.files[key] = brand_output / key
        self.entries[key] = entry
        if entry.get("findings") or entry.get("checked"):
            self.checks[key] = ([preflight.Finding(*f) for f in entry.get("findings", [])],
                                entry.get("checked", []))

    def complete_report(self) -> None:
        """Add the findings and checks of every target to the brand's report."""
        for key in sorted(self.checks):
            findings, checked = self.checks[key]
            self.report.findings += findings
            self.report.checked += checked
        self.checks.clear()


def _format_entry(target: Target) -> dict | None:
    form = target.format
    if form is None:
        return None
    return {"name": form.name, "kind": form.kind, "output": form.output,
            "label": dict(form.label)}


@dataclass
class Published:
    """What publishing did: files written anew, brands published, problems met."""

    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)  # outputs the plan no longer makes
    brands: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class _Plan:
    """The files of a brand's new folder; the proof sheet is rendered from them."""

    files: dict[str, bytes | Path]
    wheres: list[str]  # the `<guide>/<lang>` folders
    proof: dict[str, bytes] | Path | None  # proof sheet and library page; None: to render
    outputs: list[str]  # the documents, new ones and kept ones
    removed: list[str]  # documents of the current folder that the plan no longer makes


# Renders a brand's proof sheet and library page (`proof.pdf`, `index.html`) from its new
# folder and the `<guide>/<lang>` folders in it.
ProofMaker = Callable[[BrandBuild, Path, list[str]], dict[str, bytes]]


def publish(output: Path, brands: dict[str, BrandBuild], problems: list[Problem],
            make_proof: ProofMaker, jobs: int, limits: workers.Limits) -> Published:
    """Publish every brand without a problem; a brand with one keeps its previous folder.

    `make_proof(brand, folder, wheres)` renders a brand's proof sheet and library page
    from the files of its new folder; it runs in a bounded worker, like every document.
    """
    done = Published(problems=list(problems))
    for brand in brands.values():
        brand.complete_report()  # before the check for errors; languages kept add theirs later
    for slug, brand in brands.items():
        done.problems += [Problem(slug, slug, f"preflight: {f.subject}: {f.message}")
                          for f in brand.report.errors]
    with contextlib.ExitStack() as stack:
        staged: dict[str, tuple[_Plan, Path]] = {}
        for slug in sorted(brands):
            if any(problem.brand == slug for problem in done.problems):
                continue
            folder = output / slug
            try:
                stack.enter_context(post.locked(folder))
                post.clear_leftovers(folder)
                plan = _plan(brands[slug], folder)
                if plan is None:  # the folder already holds exactly this
                    done.brands.append(slug)
                    continue
                staging = stack.enter_context(post.staged(folder))
                _stage(staging, plan, brands[slug])
                staged[slug] = (plan, staging)
            except (OSError, _Changed) as exc:
                done.problems.append(Problem(slug, slug, _explain(exc, folder)))
        _render_proofs(staged, brands, make_proof, jobs, limits, done)
        for slug, (plan, staging) in staged.items():
            if any(problem.brand == slug for problem in done.problems):
                continue
            folder = output / slug
            try:
                if isinstance(plan.proof, dict):
                    for name, data in plan.proof.items():
                        post.put(staging, name, data)
                post.swap_in(staging, folder)
            except OSError as exc:
                done.problems.append(Problem(slug, slug, _explain(exc, folder)))
                continue
            done.brands.append(slug)
            done.written += [folder / name for name in plan.outputs
                             if isinstance(plan.files[name], bytes)]
            done.removed += [folder / name for name in plan.removed]
            if isinstance(plan.proof, dict):
                done.written += [folder / name for name in plan.proof]
    return done


def _plan(brand: BrandBuild, folder: Path) -> _Plan | None:
    """Everything the new folder holds, or None when the current one already does."""
    old = manifest.load(folder)
    built = {edition.where for edition in brand.editions}
    languages = brand.editions[0].brand.languages
    for where in sorted({"/".join(key.split("/")[:2]) for key in old["files"]}):
        # another guide, or a language of the brand, that this run does not build
        if where not in built and where.split("/")[-1] in languages and \
                (folder / where).is_dir():
            brand.keep_edition(old, folder, where)
    brand.complete_report()
    files = dict(brand.files)
    files[manifest.MANIFEST] = manifest.to_bytes(brand.entries)
    files["preflight.txt"] = brand.report.text().encode()
    wheres = sorted({"/".join(key.split("/")[:2]) for key in brand.files},
                    key=lambda w: (w.split("/")[0], languages.index(w.split("/")[1])))
    current = {p.relative_to(folder).as_posix() for p in folder.rglob("*")
               if p.is_file() and len(p.relative_to(folder).parts) > 1} \
        if folder.is_dir() else set()
    outputs_changed = (any(isinstance(source, bytes) for source in brand.files.values())
                       or set(brand.files) != current)
    proof = folder / "proof.pdf"
    plan = _Plan(files, wheres, None, list(brand.files), sorted(current - set(brand.files)))
    if outputs_changed or not proof.is_file() or not _same(folder, "preflight.txt", files):
        return plan
    if _same(folder, manifest.MANIFEST, files):
        return None
    plan.proof = proof
    return plan


def _same(folder: Path, name: str, files: dict[str, bytes | Path]) -> bool:
    try:
        return (folder / name).read_bytes() == files[name]
    except OSError:
        return False


class _Changed(Exception):
    """A file kept from the previous build changed while this build ran."""


def _stage(staging: Path, plan: _Plan, brand: BrandBuild) -> None:
    for name, source in plan.files.items():
        if isinstance(source, Path) and name in brand.entries and \
                manifest.file_digest(source) != brand.entries[name]["sha256"]:
            raise _Changed(_("{name} changed while this build ran (another build?)").format(
                name=name))
        post.put(staging, name, source)
    if isinstance(plan.proof, Path):
        post.put(staging, "proof.pdf", plan.proof)
        if (plan.proof.parent / "index.html").is_file():
            post.put(staging, "index.html", plan.proof.parent / "index.html")


def _render_proofs(staged: dict[str, tuple[_Plan, Path]], brands: dict[str, BrandBuild],
                   make_proof: ProofMaker, jobs: int, limits: workers.Limits,
                   done: Published) -> None:
    """Render the proof sheets that are needed, each in a bounded worker."""
    slugs = [slug for slug, (plan, _staged) in staged.items() if plan.proof is None]
    calls = [functools.partial(make_proof, brands[slug], staged[slug][1],
                               staged[slug][0].wheres)
             for slug in slugs]
    for result in workers.run(calls, jobs, limits, initializer=pdf.fresh_font_configuration):
        slug = slugs[result.index]
        if result.ok:
            staged[slug][0].proof = result.value
        else:
            message = result.failure or "; ".join(str(e) for e in result.input_errors)
            done.problems.append(Problem(slug, f"{slug} proof sheet", message))


_REASONS = {
    errno.ENOSPC: N_("the disk is full"),
    errno.EDQUOT: N_("the disk quota is used up"),
    errno.EFBIG: N_("a file is larger than this system allows (file-size limit, ulimit -f)"),
    errno.EACCES: N_("permission denied"),
    errno.EPERM: N_("permission denied"),
    errno.EROFS: N_("the disk is read-only"),
}


def _explain(exc: Exception, folder: Path) -> str:
    """A write failure in words, without a traceback."""
    if isinstance(exc, _Changed):
        return _("{reason}; nothing was changed in {folder}; run the build again").format(
            reason=exc, folder=folder)
    assert isinstance(exc, OSError)
    known = _REASONS.get(exc.errno or 0)
    reason = _(known) if known else (exc.strerror or str(exc))
    return _("could not write {folder}: {reason} (errno {errno}); nothing was changed there. "
             "Free some space or fix the cause, then run the build again").format(
                 folder=folder, reason=reason, errno=exc.errno)
