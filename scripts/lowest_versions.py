"""Print `name==version` for every lower bound in pyproject.toml (run by `make check-min`).

Installed with these as constraints, the suite shows whether the bounds are true: the
lowest versions we claim to support must work.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path


def lowest(pyproject: Path) -> list[str]:
    """The lowest allowed version of each direct dependency, test tools included."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    pins = []
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*>=\s*([0-9][^,;\s]*).*",
                             requirement.strip())
        if match is None:
            sys.exit(f"{requirement!r} has no lower bound (name>=version)")
        pins.append(f"{match.group(1)}=={match.group(2)}")
    return pins


if __name__ == "__main__":
    print("\n".join(lowest(Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml"))))
