"""Untrusted branding and content: the table of bad inputs in docs/security.md, case by case.

Every case states its exact outcome: a validation error (file, line, key, words), a
refused render that names what was refused, or escaped output. None may crash, reach the
network, read a file outside the project, or leave a broken file in output/.
"""

from __future__ import annotations

import http.server
import os
import threading
import time
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from conftest import edit, problems
from guidepress import cli, kit, post, workers
from guidepress.load import load_yaml
from guidepress.problems import InputErrors

BRAND = "brands/default/brand.yaml"
SECTION = "content/reseaux-sociaux/fr/sections/01-reseaux-sociaux.yaml"
LOGO = 'file: "logo.svg"'


def logo_problem(project: Path, name: str, content: bytes) -> list[str]:
    (project / "brands/default" / name).write_bytes(content)
    edit(project / BRAND, LOGO, f'file: "{name}"')
    return problems(project)


# --- YAML ----------------------------------------------------------------------------

def test_01_aliases_are_refused(scratch_project: Path) -> None:
    edit(scratch_project / BRAND, 'name: "Centre', 'name: &n "Centre')
    assert problems(scratch_project) == [
        f"{BRAND}:2: anchors and aliases (& and *) are not allowed in guide "
        "files; write the value out in full\n"
        '    2 | name: &n "Centre hospitalier du Val-Fleuri"\n'
        "      |       ^"]


def test_02_a_file_that_is_not_utf8_is_named(scratch_project: Path) -> None:
    path = scratch_project / SECTION
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1", errors="replace"))
    assert (f"{SECTION}:2: this file is not saved as UTF-8 text; save it again with the UTF-8 "
            "encoding") in problems(scratch_project)


def test_03_a_huge_file_is_refused_before_parsing(scratch_project: Path) -> None:
    path = scratch_project / SECTION
    path.write_text(path.read_text(encoding="utf-8") + "#" * 1_000_001, encoding="utf-8")
    (problem,) = problems(scratch_project)
    assert problem.startswith(f"{SECTION}:1: this file is too large (")
    assert problem.endswith("bytes; the limit is 1000000)")


def test_04_deep_nesting_is_refused(scratch_project: Path) -> None:
    nested = "x: " + "[" * 30 + "]" * 30 + "\n"
    (scratch_project / SECTION).write_text(nested, encoding="utf-8")
    assert any("nesting is too deep" in p for p in problems(scratch_project))


@pytest.mark.parametrize("case, text", [("05 control", "\\a"), ("06 bidi", "\u202e")])
def test_05_06_invisible_characters_are_refused(scratch_project: Path, case: str,
                                                text: str) -> None:
    edit(scratch_project / SECTION, 'title: "', f'title: "{text}')
    assert f"{SECTION}:3: title: contains an invisible control or text-direction character; " \
           "retype the text" in problems(scratch_project)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "http://intranet.example",
                                 "file:///etc/passwd"])
def test_07_09_links_are_limited_to_https_mailto_tel(scratch_project: Path, url: str) -> None:
    path = scratch_project / "content/reseaux-sociaux/fr/sections/05-secret.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("url: ") + 5
    end = text.index("\n", start)
    path.write_text(text[:start] + f'"{url}"' + text[end:], encoding="utf-8")
    found = problems(scratch_project)
    assert any(f'"{url}" is not an allowed web address' in p for p in found), found


def booklet_html(project: Path) -> str:
    (edition,) = kit.prepare(kit.Project(project), ["default"], ["fr"], guides=["reseaux-sociaux"])
    env = kit.render.template_environment(project / "templates", edition.brand)
    return kit.render.render_booklet(env, edition.guide, edition.brand,
                                     kit.render.Profile("screen")).html


def test_10_a_markdown_link_to_a_file_stays_plain_text(scratch_project: Path) -> None:
    edit(scratch_project / SECTION, 'intro: "', 'intro: "[voir](file:///etc/passwd) ')
    html = booklet_html(scratch_project)
    assert "[voir](file:///etc/passwd)" in html
    assert 'href="file:' not in html


def test_11_raw_html_in_content_is_escaped(scratch_project: Path) -> None:
    edit(scratch_project / SECTION, 'intro: "', 'intro: "<script>alert(1)</script><img src=x> ')
    html = booklet_html(scratch_project)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x&gt;" in html
    assert "<script>" not in html


# --- brand values reaching CSS ---------------------------------------------------------

def test_12_a_colour_cannot_close_a_css_rule(scratch_project: Path) -> None:
    edit(scratch_project / BRAND, 'primary: "#1F4E79"', 'primary: "#000; } body { display: none"')
    assert (f'{BRAND}:10: colours.primary: "#000; }} body {{ display: none" is not a colour '
            '(use #RRGGBB, for example "#1B4F8A")').replace("}}", "}").replace("{{", "{") \
        in problems(scratch_project)


def test_13_a_font_name_cannot_inject_css(scratch_project: Path) -> None:
    edit(scratch_project / BRAND, 'family: "Atkinson Hyperlegible"',
         'family: "Atkinson\\"; } * { color: red } x { font-family: \\""')
    assert any(p.startswith(f"{BRAND}:19: fonts.body.family:") and "font name uses letters" in p
               for p in problems(scratch_project))


def test_14_a_font_package_must_be_a_fontpkg(scratch_project: Path) -> None:
    edit(scratch_project / BRAND, 'package: "fontpkg_atkinson_hyperlegible"', 'package: "os"')
    assert any(p.startswith(f"{BRAND}:20: fonts.body.package:") for p in problems(scratch_project))


# --- assets --------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["../../../etc/passwd", "/etc/passwd"])
def test_15_16_logo_paths_stay_in_the_brand_folder(scratch_project: Path, value: str) -> None:
    edit(scratch_project / BRAND, LOGO, f'file: "{value}"')
    assert f'{BRAND}:5: logo.file: "{value}" points outside the brand folder' \
        in problems(scratch_project)


def test_17_a_symlink_out_of_the_brand_folder_is_refused(scratch_project: Path) -> None:
    os.symlink("/etc/hostname", scratch_project / "brands/default/logo-link.svg")
    edit(scratch_project / BRAND, LOGO, 'file: "logo-link.svg"')
    assert f'{BRAND}:5: logo.file: "logo-link.svg" points outside the brand folder' \
        in problems(scratch_project)


def test_18_a_text_file_named_ttf_is_not_a_font(scratch_project: Path) -> None:
    folder = scratch_project / "brands/gh-port-lumiere/fonts"
    (folder / "FiraSans-Regular.ttf").write_text("not a font", encoding="utf-8")
    with pytest.raises(InputErrors) as caught:
        kit.prepare(kit.Project(scratch_project), ["gh-port-lumiere"], ["fr"])
    assert [str(e) for e in caught.value.errors] == [
        'brands/gh-port-lumiere/brand.yaml:22: fonts.body.files.regular: "FiraSans-Regular.ttf" '
        "is not really a TTF file (its content does not match its name)"]


def test_19_a_png_that_is_not_a_png(scratch_project: Path) -> None:
    assert f'{BRAND}:5: logo.file: "logo.png" is not really a PNG file (its content does not ' \
           "match its name)" in logo_problem(scratch_project, "logo.png", b"GIF89a....")


def test_20_a_decompression_bomb_is_refused(scratch_project: Path) -> None:
    path = scratch_project / "brands/default/logo.png"
    Image.new("1", (9000, 5000)).save(path)
    edit(scratch_project / BRAND, LOGO, 'file: "logo.png"')
    assert f'{BRAND}:5: logo.file: "logo.png" is 9000×5000 pixels, more than the 40 million ' \
           "allowed" in problems(scratch_project)


SVG_CASES = [
    ("21 entities", b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]>'
     b'<svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
     '"bad.svg" declares a DOCTYPE or entities; save it as plain SVG'),
    ("22 script", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
     '"bad.svg" contains a <script> element; a logo must be a plain drawing'),
    ("23 onload", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
     '"bad.svg" contains a script attribute (onload)'),
    ("24 external", b'<svg xmlns="http://www.w3.org/2000/svg" '
     b'xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="file:///etc/passwd"/></svg>',
     '"bad.svg" refers to another file or address (file:///etc/passwd); embed everything in '
     "the SVG"),
    ("25 foreignObject", b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject>'
     b"<p>x</p></foreignObject></svg>",
     '"bad.svg" contains a <foreignObject> element; a logo must be a plain drawing'),
    ("26 too many elements", b'<svg xmlns="http://www.w3.org/2000/svg">'
     + b"<rect/>" * 6000 + b"</svg>",
     '"bad.svg" is too complex (more than 5000 elements or 32 levels); simplify the drawing'),
    ("27 css import", b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import '
     b'url(http://127.0.0.1/x.css);</style></svg>',
     '"bad.svg" loads something from outside in its <style>'),
]


@pytest.mark.parametrize("case, content, message", SVG_CASES, ids=[c[0] for c in SVG_CASES])
def test_21_27_unsafe_svg_logos_are_refused(scratch_project: Path, case: str, content: bytes,
                                            message: str) -> None:
    assert f"{BRAND}:5: logo.file: {message}" in logo_problem(scratch_project, "bad.svg",
                                                              content)


# --- templates a brand overrides --------------------------------------------------------

def override(project: Path, name: str, text: str) -> kit.Target:
    path = project / "brands/default/templates" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    (edition,) = kit.prepare(kit.Project(project), ["default"], ["fr"], guides=["reseaux-sociaux"])
    return kit.Target(edition, 0)


def failure_of(project: Path, target: kit.Target) -> str:
    (outcome,) = workers.run([lambda: kit.render_target(kit.Project(project), target)], 1,
                             workers.Limits(60, 3000))
    assert outcome.failure is not None
    return outcome.failure


def input_errors_of(project: Path, target: kit.Target) -> list[str]:
    (outcome,) = workers.run([lambda: kit.render_target(kit.Project(project), target)], 1,
                             workers.Limits(60, 3000))
    assert outcome.failure is None
    return [str(error) for error in outcome.input_errors]


def test_28_a_template_cannot_reach_python_internals(scratch_project: Path) -> None:
    target = override(scratch_project, "partials/logo.html.j2",
                      "{{ ''.__class__.__mro__[1].__subclasses__() }}")
    assert input_errors_of(scratch_project, target) == [
        "brands/default/templates/partials/logo.html.j2:1: this template does something a "
        "template may not do (access to attribute '__class__' of 'str' object is unsafe.)"]


def test_29_a_template_cannot_read_a_system_file(scratch_project: Path) -> None:
    target = override(scratch_project, "partials/logo.html.j2", '<img src="file:///etc/passwd">')
    assert failure_of(scratch_project, target) == (
        "poster-stade.pdf: refused to load /etc/passwd: it is outside the project's templates, "
        "fonts and the brand folder")


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("name, text", [
    ("partials/logo.html.j2", '<img src="http://127.0.0.1:{port}/logo.png">'),
    ("css/common.css", "@import url(http://127.0.0.1:{port}/evil.css);"),
])
def test_30_31_nothing_is_fetched_from_the_network(scratch_project: Path, name: str,
                                                   text: str) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        target = override(scratch_project, name, text.format(port=server.server_port))
        failure = failure_of(scratch_project, target)
    finally:
        server.shutdown()
    assert "refused to load 'http://127.0.0.1:" in failure
    assert "nothing is fetched from the network" in failure
    assert _Recorder.hits == []


def test_32_attachments_never_reach_the_pdf(scratch_project: Path) -> None:
    target = override(scratch_project, "partials/logo.html.j2",
                      '<link rel="attachment" href="brands/default/logo.svg">')
    assert failure_of(scratch_project, target) == (
        "default/reseaux-sociaux/fr/poster-stade.pdf: the PDF carries attached files; nothing "
        "may be attached")


def test_32b_a_brand_file_of_another_type_is_never_served(scratch_project: Path) -> None:
    target = override(scratch_project, "partials/logo.html.j2",
                      '<img src="brands/default/brand.yaml" alt="">')
    failure = failure_of(scratch_project, target)
    assert failure.startswith("poster-stade.pdf: refused to load ")
    assert failure.endswith("brand.yaml: its content is not an allowed image, font, stylesheet "
                            "or colour profile")


def test_33_an_undefined_value_in_a_template_fails_clearly(scratch_project: Path) -> None:
    target = override(scratch_project, "partials/logo.html.j2", "{{ brand.slogan }}")
    assert input_errors_of(scratch_project, target) == [
        "brands/default/templates/partials/logo.html.j2:1: this template uses a value that does "
        "not exist ('Brand object' has no attribute 'slogan')"]


# --- bounded rendering, concurrent builds, interrupted writes ---------------------------

def test_34_a_runaway_document_is_stopped_and_fails_alone(scratch_project: Path) -> None:
    target = override(scratch_project, "partials/logo.html.j2",
                      "{% for i in range(100000) %}<p>{{ i }}</p>{% endfor %}")
    calls = [lambda: kit.render_target(kit.Project(scratch_project), target), lambda: "fine"]
    started = time.monotonic()
    outcomes = sorted(workers.run(calls, 2, workers.Limits(seconds=3, memory_mb=3000)),
                      key=lambda o: o.index)
    assert time.monotonic() - started < 20
    assert outcomes[0].failure == "stopped after 3 s: the document took too long to lay out"
    assert outcomes[1].value == "fine"


def test_35_a_document_over_its_memory_limit_fails_alone() -> None:
    calls = [lambda: bytearray(600 * 1024 * 1024), lambda: "fine"]
    outcomes = sorted(workers.run(calls, 1, workers.Limits(seconds=60, memory_mb=400)),
                      key=lambda o: o.index)
    assert outcomes[0].failure == ("ran out of memory: the document needed more than the memory "
                                   "limit of 400 MB (raise it with --memory)")
    assert outcomes[1].value == "fine"


def publish_files(folder: Path, files: dict[str, bytes]) -> None:
    """Publish a brand folder the way a build does: staged, then swapped in."""
    with post.locked(folder):
        post.clear_leftovers(folder)
        with post.staged(folder) as staging:
            for name, data in files.items():
                post.put(staging, name, data)
            post.swap_in(staging, folder)


def test_36_an_interrupted_publish_keeps_the_previous_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "default"
    publish_files(folder, {"fr/guide-print.pdf": b"%PDF-good", "proof.pdf": b"%PDF-old proof"})
    real_put = post.put

    def interrupted(staging: Path, name: str, source: bytes | Path) -> None:
        if name == "proof.pdf":  # the new PDF is written; Ctrl-C before the proof sheet
            raise KeyboardInterrupt
        real_put(staging, name, source)

    monkeypatch.setattr(post, "put", interrupted)
    with pytest.raises(KeyboardInterrupt):
        publish_files(folder, {"fr/guide-print.pdf": b"%PDF-new", "proof.pdf": b"%PDF-new proof"})
    assert (folder / "fr/guide-print.pdf").read_bytes() == b"%PDF-good"
    assert (folder / "proof.pdf").read_bytes() == b"%PDF-old proof"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".default.lock", "default"]


def test_37_what_a_killed_build_left_is_cleaned(tmp_path: Path) -> None:
    # killed while staging: a half-written staging folder
    (tmp_path / ".default.staging-abc123/fr").mkdir(parents=True)
    (tmp_path / ".default.staging-abc123/fr/guide-print.pdf").write_bytes(b"%PDF-half")
    # killed between the two renames of the fallback swap: the folder is aside
    (tmp_path / ".default.previous-xyz").mkdir()
    (tmp_path / ".default.previous-xyz/proof.pdf").write_bytes(b"%PDF-good proof")
    with post.locked(tmp_path / "default"):
        post.clear_leftovers(tmp_path / "default")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".default.lock", "default"]
    assert (tmp_path / "default/proof.pdf").read_bytes() == b"%PDF-good proof"


def test_38_two_builds_never_interleave_a_brand_folder(tmp_path: Path) -> None:
    order: list[str] = []

    def writer(name: str) -> None:
        with post.locked(tmp_path / "default"):
            order.append(f"{name} in")
            time.sleep(0.3)
            order.append(f"{name} out")

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])


def test_39_a_link_to_another_scheme_is_caught_after_rendering() -> None:
    import weasyprint
    data = weasyprint.HTML(string='<style>@page{size:A5}</style>'
                           '<a href="file:///etc/passwd">x</a>').write_pdf()
    with pytest.raises(Exception, match="only https, mailto and tel links are allowed"):
        post.verify_pdf("x.pdf", data)


def test_40_built_pdfs_leak_nothing(built: Path) -> None:
    secret = Path("/etc/passwd").read_bytes()[:20]
    paths = sorted(built.glob("*/*/*/*.pdf"))
    assert len(paths) > 60
    for path in paths:
        data = path.read_bytes()
        assert secret not in data
        reader = PdfReader(path)
        assert "/EmbeddedFiles" not in (reader.trailer["/Root"].get("/Names") or {})


def test_41_cli_reports_a_refused_brand_without_a_traceback(
        scratch_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    override(scratch_project, "partials/logo.html.j2", '<img src="file:///etc/passwd">')
    code = cli.main(["--project", str(scratch_project), "--output",
                     str(scratch_project / "output"), "--lang", "fr"])
    err = capsys.readouterr().err
    assert code == 1
    assert ("FAILED default/reseaux-sociaux/fr poster stade: poster-stade.pdf: refused to load "
            "/etc/passwd") in err
    assert "Traceback" not in err
    assert not (scratch_project / "output/default/reseaux-sociaux/fr/poster-stade.pdf").exists()


def test_load_yaml_keeps_lines_for_every_key(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a:\n  b:\n    - c: 1\n", encoding="utf-8")
    source = load_yaml(path, "x.yaml")
    assert source.line_of(("a", "b", 0, "c")) == 3
