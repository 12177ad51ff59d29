"""What a build shows while it runs: a progress bar on a terminal, plain lines otherwise,
and a summary at the end."""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

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
                self.task = self.bar.add_task("building", total=step.total)
            self.bar.update(self.task, completed=step.done,
                            description=f"{step.status} {step.label}")
        else:
            timing = f" ({step.seconds:.1f} s)" if step.status != "skipped" else ""
            print(f"[{step.done}/{step.total}] {step.status} {step.label}{timing}",
                  file=sys.stderr, flush=True)

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.stop()


def summary(outcome: Outcome, output: Path) -> None:
    """Print the table of what the build did, and where the reports are."""
    console = Console()
    if outcome.built == 0 and not outcome.problems and outcome.skipped and not outcome.written:
        console.print(f"up to date: {outcome.skipped} documents unchanged "
                      f"({outcome.seconds:.2f} s)")
    table = Table(title="Build summary", show_edge=False) if console.is_terminal else None
    rows = [("built", str(outcome.built)), ("skipped (up to date)", str(outcome.skipped)),
            ("failed", str(outcome.failed)), ("time", f"{outcome.seconds:.1f} s"),
            ("files written", str(len(outcome.written))),
            ("files removed", str(len(outcome.removed))),
            ("brands not published", str(len({p.brand for p in outcome.problems})))]
    if table is not None:
        table.add_column("targets")
        table.add_column("count", justify="right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    else:
        print("summary: " + ", ".join(f"{name} {value}" for name, value in rows))
    for slug, report in outcome.reports.items():
        warnings = len(report.findings) - len(report.errors)
        print(f"preflight {slug}: {len(report.errors)} error(s), {warnings} warning(s), "
              f"see {output / slug / 'preflight.txt'}")
