#!/usr/bin/env python3
"""Build branded print kits: `.venv/bin/python build.py [--brand B | --all-brands] [--lang L]`."""

import sys
from pathlib import Path


def _wrong_interpreter(missing: str) -> int:
    """Run with a Python that lacks guidepress's packages: say which command to run."""
    here = Path(__file__).resolve().parent
    venv = here / ".venv" / "bin" / "python"
    # The catalogues may not be compiled yet (no set-up, no Babel): both wordings live here.
    from guidepress.i18n import choose  # standard library only

    flag = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--ui-lang=")), None)
    if "--ui-lang" in sys.argv[:-1]:
        flag = sys.argv[sys.argv.index("--ui-lang") + 1]
    french = choose(flag) == "fr"
    args = " ".join(sys.argv[1:])
    if venv.exists():
        shown = venv.relative_to(Path.cwd()) if venv.is_relative_to(Path.cwd()) else venv
        command = f"{shown} build.py {args}".rstrip()
        text = (f"Ce Python ne contient pas les paquets de guidepress (il manque « {missing} »). "
                f"Lancez :\n  {command}" if french else
                f"This Python lacks guidepress's packages ({missing} is missing). Run:\n"
                f"  {command}")
    else:
        text = (f"guidepress n'est pas encore installé (il manque « {missing} »). Lancez "
                f"d'abord :\n  make setup\npuis :\n  .venv/bin/python build.py {args}".rstrip()
                if french else
                f"guidepress is not set up yet ({missing} is missing). First run:\n"
                f"  make setup\nthen:\n  .venv/bin/python build.py {args}".rstrip())
    print(text, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        from guidepress.cli import main
    except ModuleNotFoundError as exc:
        sys.exit(_wrong_interpreter(exc.name or str(exc)))
    sys.exit(main())
