"""Profile the rendering of one edition in this process: `python scripts/profile_build.py [brand]`.

Prints the functions with the most cumulative time; the figures are quoted in the
README's performance section.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from guidepress import kit  # noqa: E402


def main() -> None:
    brand = sys.argv[1] if len(sys.argv) > 1 else "default"
    project = kit.Project(ROOT)
    (edition,) = kit.prepare(project, [brand], ["fr"], guides=["reseaux-sociaux"])
    profiler = cProfile.Profile()
    profiler.enable()
    kit.render_edition(project, edition)
    profiler.disable()
    stats = pstats.Stats(profiler).sort_stats("cumulative")
    stats.print_stats(r"guidepress|weasyprint/(__init__|document)|pdfplumber|pypdf/_page|"
                      r"subprocess", 25)


if __name__ == "__main__":
    main()
