"""Command line: parse arguments, run the build, print what happened. Exit codes:
0 everything built, 1 a document could not be produced, 2 bad input or usage, 130
interrupted (Ctrl-C). A brand that fails publishes nothing."""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from guidepress import kit, progress, scaffold, validate, workers
from guidepress.problems import InputErrors, RenderError

DEFAULT_BRAND = "default"
INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C


def parser() -> argparse.ArgumentParser:
    """Describe the command line."""
    p = argparse.ArgumentParser(prog="build.py", description="Build branded print kits.")
    p.add_argument("command", nargs="?",
                   choices=("build", "check", "new-brand", "new-guide", "watch", "worker"),
                   default="build", help="build (default) renders the kits; check validates "
                   "and preflights without rendering; new-brand SLUG starts a brand folder; "
                   "new-guide SLUG starts a guide; watch rebuilds on every change and serves "
                   "a preview page; worker takes jobs from --queue")
    p.add_argument("--port", type=int, default=8000, help="with watch: the preview's port")
    p.add_argument("slug", nargs="?",
                   help="with new-brand or new-guide: the new brand's or guide's folder name")
    p.add_argument("--name", help="with new-brand: the establishment's full name")
    p.add_argument("--title", help="with new-guide: the guide's title")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--brand", default=DEFAULT_BRAND, help="brand folder name under brands/")
    which.add_argument("--all-brands", action="store_true", help="every folder under brands/")
    guides = p.add_mutually_exclusive_group()
    guides.add_argument("--guide", action="append", metavar="GUIDE",
                        help="guide folder name under content/ (repeatable)")
    guides.add_argument("--all-guides", action="store_true",
                        help="every guide each brand enables (the default)")
    p.add_argument("--lang", action="append", choices=("fr", "en"),
                   help="language to build (repeatable); default: the brand's languages")
    p.add_argument("--printer", help="printer ticket under printers/ (default: the brand's)")
    p.add_argument("--max-statistic-age", type=int, default=5, metavar="YEARS",
                   help="warn about statistics older than this (default: 5 years)")
    p.add_argument("--today", type=_date, default=None, metavar="YYYY-MM-DD",
                   help="date the age of statistics is counted to (default: today's date)")
    p.add_argument("--jobs", type=int, default=None,
                   help="documents rendered at once (default: all cores)")
    p.add_argument("--timeout", type=float, default=300, metavar="SECONDS",
                   help="time limit of one document (default: 300)")
    p.add_argument("--memory", type=int, default=3000, metavar="MB",
                   help="memory limit of one document's worker (default: 3000)")
    p.add_argument("--force", action="store_true",
                   help="rebuild every document, even those whose inputs did not change")
    p.add_argument("--queue", metavar="URL", nargs="?", const="",
                   help="render on a job queue (redis://[:password@]host:port/db) instead of "
                   "this machine; with worker: the queue to serve. Without a URL, or for "
                   f"worker without --queue, the URL is read from ${QUEUE_VARIABLE}, "
                   "which `ps` does not show")
    p.add_argument("--queue-file", type=Path, metavar="FILE",
                   help="like --queue, with the URL read from the first line of FILE")
    p.add_argument("--storage", type=Path, default=None, metavar="DIR",
                   help="with --queue: the folder shared with the workers for inputs and "
                   "outputs (default: ~/.cache/guidepress/storage)")
    p.add_argument("--heartbeat", type=float, default=10, metavar="SECONDS",
                   help="with worker: heartbeat period; a job whose worker misses about "
                   "three is retried elsewhere (default: 10)")
    p.add_argument("--burst", action="store_true",
                   help="with worker: stop once the queue is empty")
    p.add_argument("--output", type=Path, default=None, help="output folder (default: output/)")
    p.add_argument("--project", type=Path, default=Path(__file__).resolve().parent.parent,
                   help=argparse.SUPPRESS)
    return p


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f'"{value}" is not a date like 2026-11-29') from None


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    args = parser().parse_args(argv)
    # The only place the clock is read: everything below receives this date.
    args.today = args.today or datetime.date.today()
    project = kit.Project(args.project.resolve())
    if args.command == "new-brand":
        return _new_brand(project, args)
    if args.command == "new-guide":
        return _new_guide(project, args)
    if args.command == "watch":
        from guidepress.watch import watch  # only this command needs watchfiles

        watch(project, args.brand, args.lang, (args.output or project.root / "output").resolve(),
              args.port, today=args.today, guides=args.guide)
        return 0
    try:
        args.queue = queue_address(args)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.queue and urlsplit(args.queue).scheme not in ("redis", "rediss", "unix"):
        print("--queue: give the queue's address as redis://[:password@]host:port/db",
              file=sys.stderr)
        return 2
    if args.command == "worker":
        return _worker(args)
    slugs = validate.list_brands(project.root) if args.all_brands else [args.brand]
    output = (args.output or project.root / "output").resolve()
    try:
        if args.command == "check":
            return _check(project, slugs, args, output)
        with progress.Display() as display:
            outcome = kit.build(project, slugs, args.lang, output, args.printer,
                                args.max_statistic_age, args.jobs,
                                workers.Limits(args.timeout, args.memory), args.force,
                                on_progress=display.update, today=args.today,
                                guides=args.guide, runner=_runner(args))
    except InputErrors as exc:
        count = len(exc.errors)
        print(f"{count} problem{'s' if count > 1 else ''} in the input; nothing was written:",
              file=sys.stderr)
        for error in exc.errors:
            print(f"  {error}", file=sys.stderr)
        return 2
    except RenderError as exc:
        print(f"could not produce the documents; nothing was written: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: every brand not yet published keeps its previous files in "
              f"{output}" + ("; the queued jobs were cancelled" if args.queue else ""),
              file=sys.stderr)
        return INTERRUPTED
    progress.summary(outcome, output)
    for problem in outcome.problems:
        print(f"FAILED {problem}", file=sys.stderr)
    return outcome.exit_code


QUEUE_VARIABLE = "GUIDEPRESS_QUEUE"


def queue_address(args: argparse.Namespace) -> str | None:
    """The queue's URL: from --queue URL, from --queue-file, or from $GUIDEPRESS_QUEUE
    (for `--queue` without a URL, and for `worker`): a password on the command line would
    be visible to every user of the machine in `ps`."""
    if args.queue_file is not None:
        try:
            lines = args.queue_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"--queue-file: cannot read {args.queue_file} "
                             f"({getattr(exc, 'strerror', None) or exc})") from None
        if not lines or not lines[0].strip():
            raise ValueError(f"--queue-file: {args.queue_file} is empty; write the queue's "
                             "URL on its first line")
        return lines[0].strip()
    if args.queue or (args.queue is None and args.command != "worker"):
        return args.queue
    value = os.environ.get(QUEUE_VARIABLE, "").strip()
    if not value:
        raise ValueError(f"no queue given: set {QUEUE_VARIABLE} to its URL "
                         "(redis://[:password@]host:port/db), or use --queue-file FILE")
    return value


def _runner(args: argparse.Namespace) -> kit.Runner | None:
    """The queue's runner with --queue; None renders on this machine."""
    if not args.queue:
        return None
    from guidepress import queue, storage  # only queue builds need Redis

    return queue.Runner(args.queue, storage.FolderStorage(_storage_root(args)), args.printer,
                        reuse=not args.force)


def _storage_root(args: argparse.Namespace) -> Path:
    from guidepress import storage

    return (args.storage or storage.default_root()).resolve()


def _worker(args: argparse.Namespace) -> int:
    """Serve the queue: render its jobs, one fork each, within --timeout and --memory."""
    from guidepress import queue, storage

    if not args.queue:
        print("usage: build.py worker --queue redis://[:password@]host:port/db "
              "[--storage DIR]", file=sys.stderr)
        return 2
    try:
        return queue.run_worker(args.queue, storage.FolderStorage(_storage_root(args)),
                                workers.Limits(args.timeout, args.memory), args.heartbeat,
                                args.burst)
    except queue.QueueError as exc:
        print(f"the worker cannot start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _new_brand(project: kit.Project, args: argparse.Namespace) -> int:
    if not args.slug or not args.name:
        print('usage: build.py new-brand <slug> --name "Establishment name"', file=sys.stderr)
        return 2
    try:
        scaffold.new_brand(project.root, args.slug, args.name)
    except ValueError as exc:
        print(f"cannot create the brand: {exc}", file=sys.stderr)
        return 2
    print(scaffold.next_steps(args.slug))
    return 0


def _new_guide(project: kit.Project, args: argparse.Namespace) -> int:
    if not args.slug or not args.title:
        print('usage: build.py new-guide <slug> --title "Guide title"', file=sys.stderr)
        return 2
    try:
        scaffold.new_guide(project.root, args.slug, args.title, args.today)
    except ValueError as exc:
        print(f"cannot create the guide: {exc}", file=sys.stderr)
        return 2
    print(scaffold.guide_next_steps(args.slug))
    return 0


def _check(project: kit.Project, slugs: list[str], args: argparse.Namespace,
           output: Path) -> int:
    """Validate and preflight without rendering; PDFs already in output/ are checked too.

    Every guide is checked: those the brands build with their fonts and values, and the
    others on their own."""
    editions = kit.prepare(project, slugs, args.lang, args.printer, args.guide)
    if not args.guide:
        kit.check_guides(project, sorted(set(validate.list_guides(project.root))
                                         - {e.guide.info.slug for e in editions}))
    reports = kit.preflight_existing(editions, output, args.max_statistic_age, args.today)
    for report in reports.values():
        print(report.text())
    return 1 if any(report.errors for report in reports.values()) else 0
