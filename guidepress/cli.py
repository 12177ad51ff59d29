"""Command line: parse arguments, run the build, print what happened. Exit codes:
0 everything built, 1 a document could not be produced (with compare: a page changed),
2 bad input or usage, 130 interrupted (Ctrl-C). A brand that fails publishes nothing."""

from __future__ import annotations

import argparse
import datetime
import errno
import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

from guidepress import compare, i18n, kit, progress, scaffold, validate, workers
from guidepress.i18n import N_, _
from guidepress.problems import InputErrors, RenderError

DEFAULT_BRAND = "default"
INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C

# argparse's own words (usage line, its error messages), so that a mistyped option is told
# in the interface language too; marked here for extraction into the catalogue.
ARGPARSE_MESSAGES = (
    N_("usage: "), N_("positional arguments"), N_("options"),
    N_("show this help message and exit"), N_("argument %(argument_name)s: %(message)s"),
    N_("unrecognized arguments: %s"), N_("not allowed with argument %s"),
    N_("the following arguments are required: %s"), N_("expected one argument"),
    N_("invalid %(type)s value: %(value)r"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
)


def parser() -> argparse.ArgumentParser:
    """Describe the command line, in the interface language (set before this is called)."""
    p = argparse.ArgumentParser(prog="build.py", description=_("Build branded print kits."))
    p.add_argument("command", nargs="?",
                   choices=("build", "check", "new-brand", "new-guide", "watch", "worker",
                            "compare", "accept"),
                   default="build", help=_("build (default) renders the kits; check validates "
                   "and preflights without rendering; new-brand SLUG starts a brand folder; "
                   "new-guide SLUG starts a guide; watch rebuilds on every change and serves "
                   "a preview page; worker takes jobs from --queue; compare shows the pages "
                   "of output/ that differ from the accepted set (accepted/), side by side in "
                   "compare/; accept makes the current outputs the accepted set"))
    p.add_argument("--ui-lang", choices=i18n.LANGUAGES, default=None,
                   help=_("language of the messages (default: GUIDEPRESS_LANG, then the "
                          "system's locale, then French)"))
    p.add_argument("--port", type=int, default=8000, help=_("with watch: the preview's port"))
    p.add_argument("slug", nargs="?",
                   help=_("with new-brand or new-guide: the new brand's or guide's folder name"))
    p.add_argument("--name", help=_("with new-brand: the establishment's full name"))
    p.add_argument("--title", help=_("with new-guide: the guide's title"))
    which = p.add_mutually_exclusive_group()
    which.add_argument("--brand", default=DEFAULT_BRAND,
                       help=_("brand folder name under brands/"))
    which.add_argument("--all-brands", action="store_true",
                       help=_("every folder under brands/"))
    guides = p.add_mutually_exclusive_group()
    guides.add_argument("--guide", action="append", metavar="GUIDE",
                        help=_("guide folder name under content/ (repeatable)"))
    guides.add_argument("--all-guides", action="store_true",
                        help=_("every guide each brand enables (the default)"))
    p.add_argument("--lang", action="append", choices=("fr", "en"),
                   help=_("language to build (repeatable); default: the brand's languages"))
    p.add_argument("--printer", help=_("printer ticket under printers/ (default: the brand's)"))
    p.add_argument("--max-statistic-age", type=int, default=5, metavar=_("YEARS"),
                   help=_("warn about statistics older than this (default: 5 years)"))
    p.add_argument("--today", type=_date, default=None, metavar="YYYY-MM-DD",
                   help=_("date the age of statistics is counted to (default: today's date)"))
    p.add_argument("--jobs", type=int, default=None,
                   help=_("documents rendered at once (default: all cores)"))
    p.add_argument("--timeout", type=float, default=300, metavar=_("SECONDS"),
                   help=_("time limit of one document (default: 300)"))
    p.add_argument("--memory", type=int, default=3000, metavar="MB",
                   help=_("memory limit of one document's worker (default: 3000)"))
    p.add_argument("--force", action="store_true",
                   help=_("rebuild every document, even those whose inputs did not change"))
    p.add_argument("--queue", metavar="URL", nargs="?", const="",
                   help=_("render on a job queue (redis://[:password@]host:port/db) instead of "
                          "this machine; with worker: the queue to serve. Without a URL, or "
                          "for worker without --queue, the URL is read from ${variable}, which "
                          "`ps` does not show").format(variable=QUEUE_VARIABLE))
    p.add_argument("--queue-file", type=Path, metavar=_("FILE"),
                   help=_("like --queue, with the URL read from the first line of FILE"))
    p.add_argument("--storage", type=Path, default=None, metavar="DIR",
                   help=_("with --queue: the folder shared with the workers for inputs and "
                          "outputs (default: ~/.cache/guidepress/storage)"))
    p.add_argument("--heartbeat", type=float, default=10, metavar=_("SECONDS"),
                   help=_("with worker: heartbeat period; a job whose worker misses about "
                          "three is retried elsewhere (default: 10)"))
    p.add_argument("--burst", action="store_true",
                   help=_("with worker: stop once the queue is empty"))
    p.add_argument("--output", type=Path, default=None,
                   help=_("output folder (default: output/)"))
    p.add_argument("--project", type=Path, default=Path(__file__).resolve().parent.parent,
                   help=argparse.SUPPRESS)
    return p


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _('"{value}" is not a date like 2026-11-29').format(value=value)) from None


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code; a user never sees a traceback."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--ui-lang", choices=i18n.LANGUAGES, default=None)
    known, _rest = early.parse_known_args(argv)
    # Once per run: every message from here on, in workers too, speaks this language.
    i18n.set_language(i18n.choose(known.ui_lang))
    # argparse looks its messages up through its module's `_` and `ngettext` at call time.
    argparse._ = i18n._  # type: ignore[attr-defined]
    argparse.ngettext = i18n.ngettext  # type: ignore[attr-defined]
    args = parser().parse_args(argv)
    args.interrupted = []
    previous = _note_interrupts(args.interrupted)
    try:
        return _run(args)
    except KeyboardInterrupt:  # outside a build (check, new-brand…): nothing was written
        print(_("interrupted: nothing was written, output/ keeps its previous files"),
              file=sys.stderr)
        return 130
    except OSError as exc:
        print(_os_message(exc, args), file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _note_interrupts(pressed: list[bool]) -> object:
    """Have Ctrl-C append to `pressed` before it raises KeyboardInterrupt as usual; return
    the handler it replaces (None outside the main thread, which alone gets signals).

    A library can turn the KeyboardInterrupt raised inside it into an error of its own
    (pydantic's serialiser does): `pressed` still says that Ctrl-C was pressed, so the
    user reads the interruption's message, not that error's traceback."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def on_ctrl_c(number: int, frame: object) -> None:
        pressed.append(True)
        signal.default_int_handler(number, frame)

    return signal.signal(signal.SIGINT, on_ctrl_c)


def _os_message(exc: OSError, args: argparse.Namespace) -> str:
    """Say in words what the system refused: a full disk, a folder without permission..."""
    where = exc.filename or (args.output or _("the output folder"))
    if exc.errno == errno.ENOSPC:
        return _("the disk is full while writing {path}; free some space and run the same "
                 "command again").format(path=where)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return _("cannot write to {path}: permission denied; choose another folder with "
                 "--output or change its permissions").format(path=where)
    if exc.errno == errno.EADDRINUSE:
        return _("port {port} is already used by another program; choose another one, for "
                 "example: --port {other}").format(port=args.port, other=args.port + 1)
    return _("the system refused an operation on {path}: {reason}").format(
        path=where, reason=exc.strerror or exc)


def _run(args: argparse.Namespace) -> int:
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
        print(_("--queue: give the queue's address as redis://[:password@]host:port/db"),
              file=sys.stderr)
        return 2
    if args.command == "worker":
        return _worker(args)
    if args.command in ("compare", "accept"):
        return _compare(project, (args.output or project.root / "output").resolve(),
                        accept=args.command == "accept")
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
        print(i18n.ngettext("{count} problem in the input; nothing was written:",
                            "{count} problems in the input; nothing was written:",
                            len(exc.errors)).format(count=len(exc.errors)), file=sys.stderr)
        for error in exc.errors:
            print(f"  {error}", file=sys.stderr)
        return 2
    except RenderError as exc:
        print(_("could not produce the documents; nothing was written: {reason}").format(
            reason=exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return _interrupted(args, output)
    except Exception:
        if not args.interrupted:
            raise
        return _interrupted(args, output)  # Ctrl-C, reported by a library as its own error
    progress.summary(outcome, output)
    for problem in outcome.problems:
        print(_("FAILED {problem}").format(problem=problem), file=sys.stderr)
    return outcome.exit_code


def _interrupted(args: argparse.Namespace, output: Path) -> int:
    message = (_("interrupted: every brand not yet published keeps its previous files "
                 "in {folder}; the queued jobs were cancelled") if args.queue else
               _("interrupted: every brand not yet published keeps its previous files "
                 "in {folder}"))
    print(message.format(folder=output), file=sys.stderr)
    return INTERRUPTED


def _compare(project: kit.Project, output: Path, accept: bool) -> int:
    """Compare the outputs with the accepted set (exit 1 if a page changed), or accept them."""
    accepted, sheets = project.root / "accepted", project.root / "compare"
    if not any(compare.outputs(output)):
        print(_("there are no PDFs in {folder}: build first").format(folder=output),
              file=sys.stderr)
        return 2
    if accept:
        count = compare.accept(output, accepted)
        print(i18n.ngettext("accepted {count} page of {folder} as the reference, in {accepted}",
                            "accepted {count} pages of {folder} as the reference, in {accepted}",
                            count).format(count=count, folder=output, accepted=accepted))
        return 0
    if not accepted.is_dir():
        print(_("there is no accepted set yet ({accepted}): look at the outputs, then run "
                "build.py accept").format(accepted=accepted), file=sys.stderr)
        return 2
    changes = compare.compare(output, accepted)
    shutil.rmtree(sheets, ignore_errors=True)
    for change in changes:
        what = (_("new page") if change.before is None else _("page gone")
                if change.after is None else _("{share} of the pixels differ").format(
                    share=f"{change.share:.1%}"))
        sheet = sheets / f"{change.name[:-4]}-page-{change.page:02d}.png"
        sheet.parent.mkdir(parents=True, exist_ok=True)
        compare.side_by_side(change).save(sheet)
        print(_("changed: {name} page {page} ({what}): {sheet}").format(
            name=change.name, page=change.page, what=what, sheet=sheet))
    count = len(changes)
    print(i18n.ngettext("{count} page changed since the accepted set",
                        "{count} pages changed since the accepted set", count).format(count=count)
          + (_("; if they are right, run build.py accept") if changes else ""))
    return 1 if changes else 0


QUEUE_VARIABLE = "GUIDEPRESS_QUEUE"


def queue_address(args: argparse.Namespace) -> str | None:
    """The queue's URL: from --queue URL, from --queue-file, or from $GUIDEPRESS_QUEUE
    (for `--queue` without a URL, and for `worker`): a password on the command line would
    be visible to every user of the machine in `ps`."""
    if args.queue_file is not None:
        try:
            lines = args.queue_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(_("--queue-file: cannot read {file} ({reason})").format(
                file=args.queue_file, reason=getattr(exc, "strerror", None) or exc)) from None
        if not lines or not lines[0].strip():
            raise ValueError(_("--queue-file: {file} is empty; write the queue's URL on its "
                               "first line").format(file=args.queue_file))
        return lines[0].strip()
    if args.queue or (args.queue is None and args.command != "worker"):
        return args.queue
    value = os.environ.get(QUEUE_VARIABLE, "").strip()
    if not value:
        raise ValueError(_("no queue given: set {variable} to its URL "
                           "(redis://[:password@]host:port/db), or use --queue-file FILE")
                         .format(variable=QUEUE_VARIABLE))
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
        print(_("usage: .venv/bin/python build.py worker --queue "
                "redis://[:password@]host:port/db [--storage DIR]"), file=sys.stderr)
        return 2
    try:
        return queue.run_worker(args.queue, storage.FolderStorage(_storage_root(args)),
                                workers.Limits(args.timeout, args.memory), args.heartbeat,
                                args.burst)
    except queue.QueueError as exc:
        print(_("the worker cannot start: {reason}").format(reason=exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _new_brand(project: kit.Project, args: argparse.Namespace) -> int:
    if not args.slug or not args.name:
        print(_('usage: .venv/bin/python build.py new-brand <slug> --name "<establishment name>"'),
              file=sys.stderr)
        return 2
    try:
        scaffold.new_brand(project.root, args.slug, args.name, i18n.language())
    except ValueError as exc:
        print(_("cannot create the brand: {reason}").format(reason=exc), file=sys.stderr)
        return 2
    print(scaffold.next_steps(args.slug))
    return 0


def _new_guide(project: kit.Project, args: argparse.Namespace) -> int:
    if not args.slug or not args.title:
        print(_('usage: .venv/bin/python build.py new-guide <slug> --title "<guide title>"'),
              file=sys.stderr)
        return 2
    try:
        scaffold.new_guide(project.root, args.slug, args.title, args.today)
    except ValueError as exc:
        print(_("cannot create the guide: {reason}").format(reason=exc), file=sys.stderr)
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
    reports = kit.preflight_existing(editions, output, args.max_statistic_age, args.today,
                                     args.lang)
    for report in reports.values():
        print(report.text())
    return 1 if any(report.errors for report in reports.values()) else 0
