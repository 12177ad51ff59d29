"""Each kit is rendered once per test run; the tests only open the PDFs it produced."""

from __future__ import annotations

import datetime
import os
import shutil
from pathlib import Path

import pytest

from guidepress import i18n, kit

# The tests written before the French interface check the English wording: they run in
# English (subprocesses too); tests of the French messages choose French explicitly.
os.environ["GUIDEPRESS_LANG"] = "en"
i18n.set_language("en")

ROOT = Path(__file__).resolve().parent.parent
BRANDS = ("default", "gh-port-lumiere")
# The day every test build pretends to run on: statistic ages never depend on the real date.
TODAY = datetime.date(2026, 11, 29)


@pytest.fixture(scope="session")
def project() -> kit.Project:
    return kit.Project(ROOT)


@pytest.fixture(scope="session")
def built(project: kit.Project, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build both demo brands, every language they declare, into a temporary output/."""
    output = tmp_path_factory.mktemp("output")
    outcome = kit.build(project, list(BRANDS), None, output, today=TODAY)
    assert outcome.failures == [] and outcome.input_errors == []
    return output


@pytest.fixture
def scratch_project(tmp_path: Path) -> Path:
    """A copy of the project's inputs that a test may break."""
    for name in ("content", "brands", "templates", "printers"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path
