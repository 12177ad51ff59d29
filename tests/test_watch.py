"""`build.py watch`: a change shows on the preview page within seconds; an error shows
with its file and line while the last good thumbnails stay."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import ROOT, free_port


def get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return response.read().decode()


def wait_for_version(port: int, above: int, limit: float) -> tuple[int, float]:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        try:
            version = json.loads(get(port, "/version"))["version"]
            if version > above:
                return version, time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"no new preview after {limit} s")


def test_watch_shows_changes_and_errors(scratch_project: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "build.py"), "watch", "--brand", "gh-port-lumiere",
         "--lang", "fr", "--guide", "reseaux-sociaux", "--port", str(port),
         "--project", str(scratch_project),
         "--output", str(scratch_project / "output")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first, _ = wait_for_version(port, 0, 120)
        page = get(port, "/")
        assert page.count("<figure>") == 19 and "reseaux-sociaux/fr/poster-stade.pdf" in page
        assert "location.reload()" in page

        posters = scratch_project / "content/reseaux-sociaux/fr/posters.yaml"
        posters.write_text(posters.read_text(encoding="utf-8").replace(
            "Publier, c’est parler au micro d’un stade plein",
            "Publier, c’est parler dans un stade"), encoding="utf-8")
        second, seconds = wait_for_version(port, first, 60)
        print(f"change shown on the preview in {seconds:.2f} s")
        assert 'class="error"' not in get(port, "/")

        posters.write_text(posters.read_text(encoding="utf-8").replace(
            'id: "stade"', 'id: "stade"\n    colour: "rouge"'), encoding="utf-8")
        wait_for_version(port, second, 60)
        page = get(port, "/")
        assert ("content/reseaux-sociaux/fr/posters.yaml:3: posters (1st).colour: unknown key"
                in page)
        assert page.count("<figure>") == 19  # the last good preview stays
    finally:
        process.terminate()
        process.wait(timeout=10)
