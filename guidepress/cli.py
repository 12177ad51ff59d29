"""Command line: parse arguments, run the build, print what happened. Exit codes:
0 everything built, 1 a document could not be produced, 2 bad input or usage."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from guidepress import kit, validate
from guidepress.problems import InputErrors, RenderError

DEFAULT_BRAND = "default"


def parser() -> argparse.ArgumentParser:
    """Describe the command line."""
    p = argparse.ArgumentParser(prog="build.py", description="Build branded print kits.")
    p.add_argument("command", nargs="?", choices=("build", "check"), default="build",
                   help="build (default) renders the kits; check only validates the inputs")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--brand", default=DEFAULT_BRAND, help="brand folder name under brands/")
    which.add_argument("--all-brands", action="store_true", help="every folder under brands/")
    p.add_argument("--lang", action="append", choices=("fr", "en"),
                   help="language to build (repeatable); default: the brand's languages")
    p.add_argument("--output", type=Path, default=None, help="output folder (default: output/)")
    p.add_argument("--project", type=Path, default=Path(__file__).resolve().parent.parent,
                   help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    args = parser().parse_args(argv)
    project = kit.Project(args.project.resolve())
    slugs = validate.list_brands(project.root) if args.all_brands else [args.brand]
    output = (args.output or project.root / "output").resolve()
    try:
        if args.command == "check":
            editions = kit.prepare(project, slugs, args.lang)
            for edition in editions:
                print(f"ok  {edition.brand.slug} ({edition.guide.lang})")
            return 0
        outcome = kit.build(project, slugs, args.lang, output)
    except InputErrors as exc:
        count = len(exc.errors)
        print(f"{count} problem{'s' if count > 1 else ''} in the input; nothing was written:",
              file=sys.stderr)
        for error in exc.errors:
            print(f"  {error}", file=sys.stderr)
        return 2
    except RenderError as exc:
        print(f"could not produce a document; nothing was written: {exc}", file=sys.stderr)
        return 1
    for path in outcome.written():
        print(f"wrote {path}")
    return 0
