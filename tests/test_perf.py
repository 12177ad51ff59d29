"""A cheaper kit (issue 14, point 6), and the weak points fixed beside it.

Speed itself is measured by `make bench`, never asserted here. These tests check that the
cheaper ways give the same answers as the slow ones: the booklet laid out once, ink and
small text read from the drawing instead of Ghostscript and pdfplumber; and the worker's
plain failure message, the queue URL kept out of `ps`, and stale job folders removed.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pdfplumber
import pytest
import weasyprint
from pypdf import PdfReader

from guidepress import cli, inks, kit, pdf, preflight, queue, render, validate, workers
from tests.conftest import ROOT

# --- the booklet, laid out once ----------------------------------------------------------


def test_the_booklet_laid_out_once_is_the_booklet_laid_out_again(project: kit.Project) -> None:
    """Leaving unneeded note pages out gives the pages a second layout would give."""
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])
    env, fetcher, printing, screen = kit.tools(project, edition)
    guide, brand = edition.guide, edition.brand
    once, notes = kit._booklet(env, guide, brand, screen, fetcher, project.root)
    unpadded = pdf.lay_out(render.render_booklet(env, guide, brand, screen), fetcher,
                           project.root)
    assert notes == -len(unpadded.pages.pages) % 4 and notes > 0  # something was left out
    again = pdf.lay_out(render.render_booklet(env, guide, brand, screen, notes_pages=notes),
                        fetcher, project.root)
    texts = [[page.extract_text() for page in PdfReader(_bytes(r, screen)).pages]
             for r in (once, again)]
    assert len(texts[0]) % 4 == 0
    assert texts[0] == texts[1]
    assert once.document.html == again.document.html  # what the PDF's identifier hashes


def _bytes(rendered: pdf.Rendered, profile: render.Profile) -> io.BytesIO:
    return io.BytesIO(pdf.write_pdf(rendered, profile))


def test_a_total_page_count_in_a_stylesheet_means_a_second_layout(project: kit.Project) -> None:
    """`counter(pages)` would print the count of the pages left out: then lay out again."""
    (edition,) = kit.prepare(project, ["default"], ["fr"], guides=["photos-videos"])
    env, fetcher, printing, screen = kit.tools(project, edition)
    padded = pdf.lay_out(render.render_booklet(env, edition.guide, edition.brand, screen,
                                               notes_pages=3), fetcher, project.root)
    first = pdf.pages_showing(padded, "notes")[0]
    assert kit._notes_can_go(padded, first)
    counted = pdf.Rendered(render.Document(
        "x.pdf", padded.document.html.replace("counter(page)", "counter(page) '/' counter(pages)"),
        "booklet"), padded.pages, [])
    assert not kit._notes_can_go(counted, first)
    by_side = pdf.Rendered(render.Document(
        "x.pdf", padded.document.html.replace("</style>", "@page back:left { margin: 1cm }"
                                              "</style>", 1), "booklet"), padded.pages, [])
    assert not kit._notes_can_go(by_side, first)


# --- ink and small text, from the drawing -------------------------------------------------

def _print_pdfs(built: Path) -> list[Path]:
    return sorted(path for path in built.glob("*/*/*/*.pdf")
                  if preflight.post.profile_of(path.name) == "print")


def test_ink_from_the_drawing_bounds_ghostscripts_render_on_every_real_page(built: Path) -> None:
    """On every page of both demo kits' print PDFs: the drawing's figure is never below
    Ghostscript's (1 point of rounding), and at most 100 points above it, the black text
    it assumes may overprint any colour of its page (Ghostscript sees where it does)."""
    compared = 0
    for path in _print_pdfs(built):
        scanned = inks.scan(path.read_bytes(), preflight.SMALL_TEXT_PT)
        rendered = _rendered_ink_per_page(path)
        assert len(rendered) == len(scanned)
        for number, (page, ink) in enumerate(zip(scanned, rendered, strict=True), start=1):
            assert page.highest is not None, f"{path.name} page {number} needed a render"
            assert ink - 1 <= page.highest <= ink + 100.5, (path, number, page.highest, ink)
            compared += 1
    assert compared > 100


def _rendered_ink_per_page(path: Path) -> list[float]:
    """Ghostscript's figure for each page, as `preflight.total_ink` measures it (one run)."""
    from PIL import Image, ImageMath

    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-dUseBleedBox",
                        "-sDEVICE=tiff32nc", "-r24", f"-sOutputFile={folder}/p-%03d.tif",
                        str(path)], check=True, capture_output=True, timeout=300)
        found = []
        for page in sorted(Path(folder).glob("p-*.tif")):
            with Image.open(page) as image:
                preflight._clear_marks_on_the_edge(image)
                c, m, y, k = image.split()
                total = ImageMath.lambda_eval(lambda a: a["c"] + a["m"] + a["y"] + a["k"],
                                              c=c, m=m, y=y, k=k)
                found.append(total.getextrema()[1] / 255 * 100)
    return found


@pytest.mark.parametrize("css, expected", [
    ("background: device-cmyk(0.5 0.5 0 0)", 100),
    ("background: device-cmyk(1 1 1 1)", 400),
    ("background: device-cmyk(0.2 0.9 0.7 0.1); border: 3mm solid device-cmyk(0 0 0 1)", 190),
])
def test_flat_colours_give_the_same_ink_both_ways(css: str, expected: float) -> None:
    html = (f"<style>@page {{ size: 50mm 50mm; margin: 0; bleed: 3mm; {css} }}</style>"
            "<p style='color: device-cmyk(0 0 0 1)'>Texte</p>")
    data = weasyprint.HTML(string=html).write_pdf()
    (page,) = inks.scan(data, 9)
    assert page.highest == pytest.approx(preflight.total_ink(data), abs=1)
    assert page.highest == pytest.approx(expected, abs=1)


def test_a_page_with_an_image_is_measured_by_ghostscript(tmp_path: Path) -> None:
    from PIL import Image
    Image.new("CMYK", (20, 20), (255, 255, 255, 255)).save(tmp_path / "ink.jpg")
    html = ("<style>@page { size: 50mm 50mm; margin: 0 }</style>"
            f"<img src='{(tmp_path / 'ink.jpg').as_uri()}' style='width: 40mm'>")
    data = weasyprint.HTML(string=html).write_pdf()
    assert [page.highest for page in inks.scan(data, 9)] == [None]
    report = preflight.Report("x")
    ticket = validate.load_printer(ROOT, "default")
    preflight._check_ink(data, inks.scan(data, 9), "x/poster-x.pdf", ticket, report)
    assert any("total ink reaches 400 %" in finding.message for finding in report.errors)
    assert "at most" not in report.checked[-1]


def test_small_text_in_a_mix_of_inks_is_found_by_the_scan_and_named_by_pdfplumber() -> None:
    html = ("<style>@page { size: 50mm 50mm; margin: 5mm } p { font-size: 7pt }</style>"
            "<p style='color: device-cmyk(0 0 0 1)'>Noir seul</p>"
            "<p style='color: device-cmyk(0.6 0.3 0 0.2)'>Trois encres</p>")
    mixed = weasyprint.HTML(string=html).write_pdf()
    black = weasyprint.HTML(string=html.replace("0.6 0.3 0 0.2", "0 0 0 0.7")).write_pdf()
    assert [p.small_mixed_text for p in inks.scan(mixed, 9)] == [True]
    assert [p.small_mixed_text for p in inks.scan(black, 9)] == [False]
    brand = validate.load_brand(ROOT, "default")
    ticket = validate.load_printer(ROOT, "default")
    report = preflight.Report("x")
    preflight.check_document("fr/poster-x.pdf", mixed, brand, ticket, report)
    (finding,) = [f for f in report.findings if "pt text" in f.message]
    assert finding.message.startswith('7 pt text in 3 inks (C 60 M 30 K 20 %), e.g. "Trois')


def test_the_scan_and_pdfplumber_agree_on_real_print_pdfs(built: Path) -> None:
    """Where the scan finds no small text in a mix of inks, pdfplumber finds none either."""
    for path in _print_pdfs(built)[:6]:
        data = path.read_bytes()
        scanned = any(page.small_mixed_text for page in inks.scan(data, 9))
        report = preflight.Report("x")
        with pdfplumber.open(path) as document:
            preflight._check_small_text(document, path.name, report)
        assert scanned == bool(report.findings), path


# --- workers: plain failure messages, the queue's URL, stale folders ----------------------

def test_an_unexpected_error_is_a_plain_message_with_the_details_in_a_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    def broken() -> None:
        {}["missing"]  # a bug, as a library might have one

    (result,) = workers.run([broken], 1, workers.Limits(), labels=["default/fr/poster-stade"])
    logs = list((tmp_path / "guidepress/logs").glob("failure-*.txt"))
    assert len(logs) == 1
    assert result.failure == (
        "an unexpected error stopped default/fr/poster-stade (KeyError: 'missing'); this is a "
        "fault of guidepress or of a library it uses, not of your files: the details are in "
        f"{logs[0]}; build again, and if it happens again send that file to whoever "
        "maintains guidepress")
    assert "Traceback" not in result.failure
    text = logs[0].read_text(encoding="utf-8")
    assert text.startswith("default/fr/poster-stade\nTraceback") and "KeyError" in text


def test_the_worker_takes_the_queue_url_from_the_environment(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("GUIDEPRESS_QUEUE", "redis://:s3cret@127.0.0.1:1/0")
    assert cli.main(["worker"]) == 1
    err = capsys.readouterr().err
    assert "cannot reach the queue at redis://:***@127.0.0.1:1/0" in err
    assert "s3cret" not in err


def test_the_queue_url_can_come_from_a_file_or_be_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.delenv("GUIDEPRESS_QUEUE", raising=False)
    assert cli.main(["worker"]) == 2
    assert capsys.readouterr().err.strip() == (
        "no queue given: set GUIDEPRESS_QUEUE to its URL (redis://[:password@]host:port/db), "
        "or use --queue-file FILE")
    secret = tmp_path / "queue-url"
    secret.write_text("redis://:s3cret@127.0.0.1:1/0\n", encoding="utf-8")
    assert cli.main(["worker", "--queue-file", str(secret)]) == 1
    err = capsys.readouterr().err
    assert "redis://:***@127.0.0.1:1/0" in err and "s3cret" not in err


def test_job_folders_of_killed_workers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # a process that is gone, as after kill -9
    stale = tmp_path / f"{queue.JOB_FOLDER}{child.pid}-abc"
    live = tmp_path / f"{queue.JOB_FOLDER}{os.getpid()}-def"
    other = tmp_path / "guidepress-job-xyz"  # not named by a PID: not ours to judge
    for folder in (stale, live, other):
        (folder / "brands").mkdir(parents=True)
    assert queue.remove_stale_job_folders(tmp_path) == [stale]
    assert not stale.exists() and live.exists() and other.exists()
