"""What a build shows while it runs: a progress bar on a terminal, plain lines otherwise,
and a summary at the end."""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from guidepress.i18n import _, ngettext, pgettext
from guidepress.kit import Outcome
from guidepress.kit import Progress as Step


class Display:
    """Report each finished target: a rich progress bar on a terminal, a line otherwise."""

    def __init__(self) -> None:
        self.console = Console(stderr=True)
        self.bar: Progress | None = None
        self.task = None

    def __enter__(self) -> "Display":
        if self.console.is_terminal:
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), TimeElapsedColumn(),
                                console=self.console, transient=True)
            self.bar.start()
        return self

    def update(self, step: Step) -> None:
        """Show one finished target."""
        if self.bar is not None:
            if self.task is None:
                self.task = self.bar.add_task(_("building"), total=step.total)
            self.bar.update(self.task, completed=step.done,
                            description=f"{_status(step.status)} {step.label}")
        else:
            timing = f" ({step.seconds:.1f} s)" if step.status != "skipped" else ""
            print(f"[{step.done}/{step.total}] {_status(step.status)} {step.label}{timing}",
                  file=sys.stderr, flush=True)

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.stop()


def _status(status: str) -> str:
    return {"built": _("built"), "skipped": _("up to date"), "failed": _("failed")}.get(
        status, status)


def summary(outcome: Outcome, output: Path) -> None:
    """Print what the build did in counts that add up: every document of the run is built,
    up to date or failed; files and brands not published are counted apart."""
    console = Console()
    if outcome.built == 0 and not outcome.problems and outcome.skipped and not outcome.written:
        console.print(_("up to date: {count} documents unchanged ({seconds} s)").format(
            count=outcome.skipped, seconds=f"{outcome.seconds:.2f}"))
    rows = [(_("documents in this run"), str(outcome.targets)),
            (pgettext("summary", "built"), str(outcome.built)),
            (_("up to date (not rebuilt)"), str(outcome.skipped)),
            (pgettext("summary", "failed"), str(outcome.failed)),
            (_("files written"), str(len(outcome.written))),
            (_("files removed"), str(len(outcome.removed))),
            (_("brands not published"), str(len({p.brand for p in outcome.problems}))),
            (_("time"), f"{outcome.seconds:.1f} s")]
    if console.is_terminal:
        table = Table(title=_("Build summary"), show_edge=False)
        table.add_column(_("documents"))
        table.add_column(_("count"), justify="right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    else:
        print(_("summary: ") + ", ".join(f"{name} {value}" for name, value in rows))
    for slug, report in outcome.reports.items():
        warnings = len(report.findings) - len(report.errors)
        print(_("preflight {brand}: {errors}, {warnings}; see {path}").format(
            brand=slug,
            errors=ngettext("{count} error", "{count} errors", len(report.errors)).format(
                count=len(report.errors)),
            warnings=ngettext("{count} warning", "{count} warnings", warnings).format(
                count=warnings),
            path=output / slug / "preflight.txt"))
