"""Each kit is rendered once per test run; the tests only open the PDFs it produced.

Helpers shared by several test files live here too: `edit` and `problems` to break an
input and read the errors, and `EDITIONS`, every (brand, language) the demo builds.
"""

from __future__ import annotations

import datetime
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from guidepress import i18n, kit
from guidepress.problems import InputErrors

# The tests written before the French interface check the English wording: they run in
# English (subprocesses too); tests of the French messages choose French explicitly.
os.environ["GUIDEPRESS_LANG"] = "en"
i18n.set_language("en")

ROOT = Path(__file__).resolve().parent.parent
BRANDS = ("default", "gh-port-lumiere")
EDITIONS = [("default", "fr"), ("default", "en"), ("gh-port-lumiere", "fr"),
            ("gh-port-lumiere", "en")]


def poster_count(guide: str) -> int:
    """How many posters a demo guide has, read from its French content, so that the tests'
    file counts follow the content rather than repeat it."""
    path = ROOT / "content" / guide / "fr" / "posters.yaml"
    return len(yaml.safe_load(path.read_text(encoding="utf-8"))["posters"])


# The posters of each demo guide: reseaux-sociaux (8) and photos-videos (2)
POSTER_COUNT = {guide: poster_count(guide) for guide in ("reseaux-sociaux", "photos-videos")}
# The files each demo brand makes per poster of photos-videos in the formats it chooses
# besides the A3 poster (brands/*/brand.yaml `formats:`): two PDFs per print format (print
# and screen), one PNG per picture
FORMAT_PDFS = {"default": 2, "gh-port-lumiere": 4}  # flyer-a4; affiche-a2, affiche-a1
FORMAT_PNGS = {"default": 2, "gh-port-lumiere": 3}  # carte-carree, diapo; the others
# The day every test build pretends to run on: statistic ages never depend on the real date.
TODAY = datetime.date(2026, 11, 29)


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in a file by `new`; `old` must be there."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def overfill_stade_poster(path: Path) -> None:
    """Give the "stade" poster of a posters.yaml more text than one A3 page holds."""
    edit(path, '      - "Chaque mot est entendu jusqu’au dernier rang."',
         '      - "Chaque mot est entendu jusqu’au dernier rang du stade, même au fond."\n'
         '      - "Avant de publier, je me demande qui va lire et ce qu’il va comprendre."')
    edit(path, 'headline: "Publier, c’est parler au micro d’un stade plein"',
         'headline: "Publier en ligne, c’est parler au micro d’un stade plein à craquer"')
    edit(path, "show_contacts: false", "show_contacts: true\n    statistic:\n"
         '      value: "35"\n      unit: "%"\n      label: "des Français sont sur Facebook"\n'
         '      source:\n        name: "SocialBakers"\n        year: 2012')


def problems(project: Path, brand: str = "default", langs: list[str] | None = None) -> list[str]:
    """The input errors that validating one brand reports, as printed."""
    with pytest.raises(InputErrors) as caught:
        kit.prepare(kit.Project(project), [brand], langs or ["fr"])
    return [str(error) for error in caught.value.errors]


def copy_project(destination: Path) -> Path:
    """A copy of the project's inputs that a test may break."""
    for name in ("content", "brands", "templates", "printers", "formats"):
        shutil.copytree(ROOT / name, destination / name)
    return destination


@pytest.fixture(scope="session")
def project() -> kit.Project:
    return kit.Project(ROOT)


@pytest.fixture(scope="session")
def built(project: kit.Project, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build both demo brands, every guide they enable in every language, into a temporary
    output/."""
    output = tmp_path_factory.mktemp("output")
    outcome = kit.build(project, list(BRANDS), None, output, today=TODAY)
    assert outcome.problems == []
    return output


@pytest.fixture
def scratch_project(tmp_path: Path) -> Path:
    """A copy of the project's inputs that a test may break."""
    return copy_project(tmp_path)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of the test module's own on a free port, gone after its tests."""
    yield from running_redis(tmp_path_factory.mktemp("redis"))


@pytest.fixture(scope="module")
def edition(project: kit.Project) -> kit.Edition:
    """The default brand's French edition of the social-networks guide."""
    return next(e for e in kit.prepare(project, ["default"], ["fr"])
                if e.where == "reseaux-sociaux/fr")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on, now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def running_redis(folder: Path, password: str | None = None) -> Iterator[str]:
    """For a fixture to `yield from`: the URL of a redis-server of the tests' own on a free
    port (with `password`, if given), terminated when the fixture ends."""
    port = free_port()
    server = start_redis(folder, port, password)
    yield f"redis://{f':{password}@' if password else ''}127.0.0.1:{port}/0"
    server.terminate()
    server.wait(10)


def start_redis(folder: Path, port: int, password: str | None = None) -> subprocess.Popen:
    """A redis-server of the tests' own on 127.0.0.1:`port`, keeping nothing on disk, ready
    to answer when this returns; the caller terminates it."""
    import redis  # only the queue and portal tests need it

    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(folder)]
    server = subprocess.Popen(command + (["--requirepass", password] if password else []),
                              cwd=folder, stdout=subprocess.DEVNULL)
    connection = redis.Redis(port=port, password=password)
    for _ in range(100):
        try:
            connection.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    return server


# Debian's Chromium, headless, without the background traffic this closed network refuses.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the browser tests of a module, driven by Playwright."""
    from playwright.sync_api import sync_playwright  # only the browser tests need it

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                              args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
