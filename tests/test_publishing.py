"""Publishing: a brand's folder holds exactly what the plan makes, is replaced as one unit,
and stays as it was when a run fails, the disk fills up or the user presses Ctrl-C."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import POSTER_COUNT, ROOT, TODAY, copy_project, edit, overfill_stade_poster
from guidepress import cli, kit, post, workers

BRAND = "gh-port-lumiere"
GUIDE = "reseaux-sociaux"  # the project copies below hold this guide only
POSTERS = "content/reseaux-sociaux/{}/posters.yaml"


def one_guide(project: Path) -> Path:
    """Keep only the social-networks guide in a copy of the project."""
    shutil.rmtree(project / "content/photos-videos")
    for brand in ("default", BRAND):  # the other guide is at the end of the file
        path = project / "brands" / brand / "brand.yaml"
        text = path.read_text(encoding="utf-8")
        path.write_text(text[:text.index("  photos-videos:\n")], encoding="utf-8")
    return project


def tree(output: Path) -> dict[str, str]:
    """Every file under output/, with the sha256 of its bytes."""
    return {p.relative_to(output).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(output.rglob("*")) if p.is_file()}


def remove_poster(project: Path, lang: str, poster: str) -> None:
    path = project / POSTERS.format(lang)
    text = path.read_text(encoding="utf-8")
    start = text.index(f'  - id: "{poster}"')
    end = text.find("  - id:", start + 1)
    path.write_text(text[:start] + (text[end:] if end > 0 else ""), encoding="utf-8")


@pytest.fixture(scope="module")
def first_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One brand built in both languages, once for this module, and a copy of it."""
    project = one_guide(copy_project(tmp_path_factory.mktemp("published") / "project"))
    outcome = kit.build(kit.Project(project), [BRAND], None, project / "output", today=TODAY)
    # both languages: the booklet, the web page and the posters
    assert outcome.problems == [] and outcome.built == 2 * (2 + POSTER_COUNT[GUIDE])
    pristine = project.parent / "pristine"
    shutil.copytree(project, pristine, symlinks=True)
    return project, pristine


@pytest.fixture
def published(first_build: tuple[Path, Path]) -> Path:
    """The built project, inputs and output/, as the first build left it; a test may
    change it. Always at the same path: the manifest's input hashes name the folders."""
    project, pristine = first_build
    shutil.rmtree(project)
    shutil.copytree(pristine, project, symlinks=True)
    return project


def build(project: Path, langs: list[str] | None = None, **options) -> kit.Outcome:
    return kit.build(kit.Project(project), [BRAND], langs, project / "output", today=TODAY,
                     **options)


def run_cli(project: Path, *extra: str) -> int:
    return cli.main(["--project", str(project), "--brand", BRAND, "--output",
                     str(project / "output"), "--today", TODAY.isoformat(), *extra])


# --- publishing against the plan (issue 17, point 7) --------------------------------

def test_removed_poster_section_and_language_leave_no_stale_file(published: Path) -> None:
    output = published / "output" / BRAND
    proof_before = (output / "proof.pdf").read_bytes()
    # A poster and a section removed, in both languages; only French is rebuilt.
    for lang in ("fr", "en"):
        remove_poster(published, lang, "viralite")
    for path in published.glob(f"content/{GUIDE}/*/sections/08-*.yaml"):
        path.unlink()
    second = build(published, ["fr"])
    assert second.problems == []
    # booklet and web page; the posters left are kept
    assert (second.built, second.skipped) == (2, POSTER_COUNT[GUIDE] - 1)
    names = sorted(p.name for p in (output / GUIDE / "fr").glob("*.pdf"))
    assert not [n for n in names if "viralite" in n]
    assert sorted(p.relative_to(output).as_posix() for p in second.removed) == [
        f"{GUIDE}/fr/poster-viralite-screen.pdf", f"{GUIDE}/fr/poster-viralite.pdf"]
    # English was not part of this run: kept exactly as it was, entries included.
    assert (output / GUIDE / "en/poster-viralite.pdf").is_file()
    files = json.loads((output / "manifest.json").read_text(encoding="utf-8"))["files"]
    on_disk = sorted(p.relative_to(output).as_posix() for p in output.glob("*/*/**/*")
                     if p.is_file())
    assert sorted(files) == on_disk
    assert f"{GUIDE}/en/poster-viralite.pdf" in files
    assert f"{GUIDE}/fr/poster-viralite.pdf" not in files
    # The proof sheet was remade: it shows the outputs of both languages, not the removed ones.
    proof_text = " ".join(page.extract_text() for page in PdfReader(output / "proof.pdf").pages)
    assert (output / "proof.pdf").read_bytes() != proof_before
    proof_text = "".join(proof_text.split())  # long names wrap in the proof's columns
    assert f"{GUIDE}/fr/poster-viralite.pdf" not in proof_text
    assert f"{GUIDE}/en/poster-viralite.pdf" in proof_text

    # The brand drops English (brand.yaml changed: French is rebuilt); the English folder goes.
    edit(published / "brands" / BRAND / "brand.yaml", 'languages: ["fr", "en"]',
         'languages: ["fr"]')
    third = build(published)
    # French alone: the booklet, the web page and the posters left
    assert third.problems == [] and third.targets == 2 + POSTER_COUNT[GUIDE] - 1
    assert not (output / GUIDE / "en").exists()
    files = json.loads((output / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert files and all(name.startswith(f"{GUIDE}/fr/") for name in files)
    proof_text = " ".join(page.extract_text() for page in PdfReader(output / "proof.pdf").pages)
    proof_text = "".join(proof_text.split())
    assert f"{GUIDE}/en/guide-print.pdf" not in proof_text
    assert f"{GUIDE}/fr/guide-print.pdf" in proof_text
    assert sorted(p.name for p in (published / "output").iterdir()) == [f".{BRAND}.lock", BRAND]

    # And a run with nothing changed touches nothing.
    before = tree(published / "output")
    fourth = build(published)
    assert (fourth.built, fourth.written, fourth.removed) == (0, [], [])
    assert tree(published / "output") == before


# --- a failing run writes nothing (issue 17 point 10, issue 11 point 16) ------------

def test_an_overflowing_poster_fails_the_run_and_writes_nothing(
        published: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = tree(published / "output")
    path = published / POSTERS.format("fr")
    overfill_stade_poster(path)
    edit(path, 'headline: "Le secret ne s’arrête pas à l’écran"',
         'headline: "Le secret ne s’arrête jamais à l’écran"')  # a good change too
    code = run_cli(published)
    err = capsys.readouterr().err
    assert code == 2
    # the statistic gives the poster the "statistic" layout: the contacts block is what spills
    message = (f'content/{GUIDE}/fr/posters.yaml:9: posters (1st).show_contacts: the poster '
               '"stade" does not fit on one A3 page: `show_contacts` and what follows run onto '
               "a second page; shorten the headline or the points")
    assert f"FAILED {BRAND}/{GUIDE}/fr poster stade: {message}" in err
    assert err.count(message) == 1, err  # printed once
    assert "Traceback" not in err
    assert tree(published / "output") == before  # the good secret poster is not written either


def test_a_poster_whose_overflow_has_no_known_cause_says_so(published: Path) -> None:
    css = published / "brands" / BRAND / "templates/css/brand.css"
    css.write_text(css.read_text(encoding="utf-8") +
                   'body.poster::after { content: ""; display: block; height: 300mm; }\n',
                   encoding="utf-8")
    (edition,) = kit.prepare(kit.Project(published), [BRAND], ["fr"])
    with pytest.raises(kit.InputErrors) as caught:
        kit.render_target(kit.Project(published), kit.Target(edition, 0))
    assert [str(e) for e in caught.value.errors] == [
        f'content/{GUIDE}/fr/posters.yaml:2: posters (1st): the poster "stade" does not fit on '
        "one A3 page: what runs onto a second page is none of its fields (unknown cause); check "
        "the brand's templates and styles"]


# --- caches live for one build (issue 17, point 8) -----------------------------------

def test_a_template_added_between_two_builds_in_one_process_is_used(published: Path) -> None:
    first = build(published, ["fr"])
    assert first.built == 0  # the templates of the first build are compiled in this process
    override = published / "brands" / BRAND / "templates/blocks/slogan.html.j2"
    override.parent.mkdir(parents=True)
    override.write_text('<p class="slogan">SLOGAN MAISON {{ block.text }}</p>', encoding="utf-8")
    second = build(published, ["fr"])
    assert second.problems == [] and second.built == 2 + POSTER_COUNT[GUIDE]
    output = published / "output" / BRAND / GUIDE / "fr"
    text = " ".join(page.extract_text() for page in PdfReader(output / "guide-screen.pdf").pages)
    assert "SLOGAN MAISON" in text
    assert "SLOGAN MAISON" in (output / "web/index.html").read_text(encoding="utf-8")
    third = build(published, ["fr"])
    assert (third.built, third.skipped) == (0, 2 + POSTER_COUNT[GUIDE])


# --- the proof sheet renders like every other target (issue 11, point 3) ----------------

def test_the_proof_sheet_renders_in_a_bounded_worker_and_its_failure_is_named(
        published: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    output = published / "output" / BRAND
    (output / "proof.pdf").unlink()  # nothing else to render: only the proof sheet
    before = tree(published / "output")

    def runaway(*args: object) -> bytes:
        while True:
            pass

    monkeypatch.setattr(kit, "_proof_sheet", runaway)
    started = time.monotonic()
    outcome = build(published, limits=workers.Limits(seconds=2, memory_mb=3000))
    assert time.monotonic() - started < 30
    assert [str(p) for p in outcome.problems] == [
        f"{BRAND} proof sheet: stopped after 2 s: the document took too long to lay out"]
    assert outcome.exit_code == 1
    assert tree(published / "output") == before


@pytest.mark.parametrize("css, line, message", [
    (":root { --a0: x x x x x x x x x x;\n" + "".join(
        f"  --a{i}: " + " ".join([f"var(--a{i - 1})"] * 10) + ";\n" for i in range(1, 8))
     + "}\n.proof-intro { font-family: var(--a7); }\n", 4,
     "the custom property --a3 expands to more than 10000 values through nested var(); "
     "write its value out"),
    (".proof-intro {\n  font-size: 1e7px;\n}\n", 2,
     'the value "1e7px" is out of range: brand styles use numbers between -2000 and 2000'),
    (".poster-headline { width: calc(1999px * 1999); }\n", 1,
     "calc() multiplies by 1999, more than 100; write the size itself"),
])
def test_brand_css_that_would_hold_or_crash_the_build_is_refused(
        scratch_project: Path, capsys: pytest.CaptureFixture[str], css: str, line: int,
        message: str) -> None:
    path = scratch_project / "brands/default/templates/css/brand.css"
    path.parent.mkdir(parents=True)
    path.write_text(css, encoding="utf-8")
    started = time.monotonic()
    code = cli.main(["--project", str(scratch_project), "--output",
                     str(scratch_project / "output")])
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert code == 2
    assert f"  brands/default/templates/css/brand.css:{line}: {message}\n" in err
    assert "Traceback" not in err
    assert not (scratch_project / "output").exists()


# --- full disk, file-size limit, Ctrl-C (issue 11, point 11) ---------------------------

def change_a_poster(project: Path) -> None:
    edit(project / POSTERS.format("fr"), "Publier, c’est parler au micro d’un stade plein",
         "Publier, c’est parler dans un stade")


def test_a_full_disk_while_publishing_is_a_message_and_changes_nothing(
        published: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    before = tree(published / "output")
    change_a_poster(published)
    real_put = post.put

    def full(staging: Path, name: str, source: bytes | Path) -> None:
        if name == f"{GUIDE}/fr/poster-stade-screen.pdf":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(staging / name))
        real_put(staging, name, source)

    monkeypatch.setattr(post, "put", full)
    code = run_cli(published)
    err = capsys.readouterr().err
    assert code == 1
    folder = published / "output" / BRAND
    assert (f"FAILED {BRAND}: could not write {folder}: the disk is full (errno 28); nothing "
            "was changed there. Free some space or fix the cause, then run the build again"
            in err)
    assert "Traceback" not in err
    assert tree(published / "output") == before
    assert sorted(p.name for p in (published / "output").iterdir()) == [f".{BRAND}.lock", BRAND]


def test_a_real_file_size_limit_leaves_the_previous_folder(tmp_path: Path) -> None:
    folder = tmp_path / "default"
    folder.mkdir()
    (folder / "proof.pdf").write_bytes(b"%PDF-old")
    script = textwrap.dedent(f"""
        import resource
        from pathlib import Path
        from guidepress import post
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))
        folder = Path({str(folder)!r})
        try:
            with post.locked(folder), post.staged(folder) as staging:
                post.put(staging, "fr/guide-print.pdf", b"x" * 2_000_000)
                post.swap_in(staging, folder)
        except OSError as exc:
            print("errno", exc.errno)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.strip() == "errno 27", result.stderr  # EFBIG, not a killed process
    assert (folder / "proof.pdf").read_bytes() == b"%PDF-old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".default.lock", "default"]


def test_ctrl_c_while_publishing_keeps_the_previous_folder(
        published: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    before = tree(published / "output")
    change_a_poster(published)

    def interrupted(staging: Path, folder: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(post, "swap_in", interrupted)
    code = run_cli(published)
    err = capsys.readouterr().err
    assert code == 130
    assert "interrupted: every brand not yet published keeps its previous files" in err
    assert "Traceback" not in err
    assert tree(published / "output") == before
    assert sorted(p.name for p in (published / "output").iterdir()) == [f".{BRAND}.lock", BRAND]


def test_ctrl_c_inside_a_library_that_rewraps_it_is_still_an_interruption(
        published: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C landing while pydantic serialises a model comes out of it as pydantic's own
    PydanticSerializationError, not KeyboardInterrupt: the command printed its traceback
    (seen as a rare failure of the test below). It is the interruption's message now."""
    import pydantic
    import pydantic_core

    before = tree(published / "output")

    class Slow(pydantic.BaseModel):
        name: str

        @pydantic.field_serializer("name")
        def pressed_now(self, value: str) -> str:
            signal.raise_signal(signal.SIGINT)  # the user presses Ctrl-C here
            return value

    def build(*args, **kwargs) -> None:
        Slow(name="booklet").model_dump_json()

    monkeypatch.setattr(kit, "build", build)
    with pytest.raises(pydantic_core.PydanticSerializationError):  # what the library does
        build()
    code = run_cli(published)
    err = capsys.readouterr().err
    assert (code, err) == (130, "interrupted: every brand not yet published keeps its "
                                f"previous files in {published / 'output'}\n")
    assert tree(published / "output") == before


def test_ctrl_c_while_rendering_prints_no_traceback_and_changes_nothing(
        published: Path) -> None:
    before = tree(published / "output")
    for path in published.glob(f"content/{GUIDE}/fr/sections/*.yaml"):  # booklet rebuilt
        path.write_text(path.read_text(encoding="utf-8").replace("réseaux", "Réseaux"),
                        encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "build.py"), "--project", str(published), "--brand", BRAND,
         "--lang", "fr", "--output", str(published / "output"), "--jobs", "1",
         "--today", TODAY.isoformat()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [process.stderr.readline()]
        while not lines[-1].startswith("[") and lines[-1] and len(lines) < 20:
            lines.append(process.stderr.readline())  # a library's warning may come first
        # the first target is done (skipped or built): the others are rendering
        assert lines[-1].startswith("[1/"), lines
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "interrupted: every brand not yet published keeps its previous files" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert tree(published / "output") == before
