"""Hostile and unusual brands (issue 11): each is refused with a clear message, bounded,
or drawn well. The number in each test's name is the point of the issue.

Most cases use a small copy of the project (one section and one poster per language), so
that the few tests that build stay fast.
"""

from __future__ import annotations

import io
import mmap
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image
from weasyprint.formatting_structure import boxes

from conftest import ROOT, TODAY
from guidepress import kit, pdf, render, workers
from guidepress.problems import InputErrors
from test_errors import edit, problems

BRAND = "brands/default/brand.yaml"
SVG = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


GUIDE = "reseaux-sociaux"


@pytest.fixture
def small_project(tmp_path: Path) -> Path:
    """The project's brands, templates and printers, with one guide of one section and one
    poster (the brands publish only that guide)."""
    for name in ("templates", "printers", "brands", "formats"):
        shutil.copytree(ROOT / name, tmp_path / name)
    for brand in ("default", "gh-port-lumiere"):  # the other guide is at the end of the file
        path = tmp_path / "brands" / brand / "brand.yaml"
        text = path.read_text(encoding="utf-8")
        path.write_text(text[:text.index("  photos-videos:\n")], encoding="utf-8")
    (tmp_path / "content" / GUIDE).mkdir(parents=True)
    shutil.copy(ROOT / "content" / GUIDE / "guide.yaml", tmp_path / "content" / GUIDE)
    for lang in ("fr", "en"):
        source, folder = ROOT / "content" / GUIDE / lang, tmp_path / "content" / GUIDE / lang
        (folder / "sections").mkdir(parents=True)
        for name in ("guide.yaml", "sections/05-secret.yaml"):
            shutil.copy(source / name, folder / name)
        first, second, *_ = (source / "posters.yaml").read_text(encoding="utf-8").split(
            "\n  - id:")
        (folder / "posters.yaml").write_text(f"{first}\n  - id:{second.rstrip()}\n",
                                             encoding="utf-8")
    return tmp_path


def use_logo(project: Path, name: str, content: bytes) -> None:
    (project / "brands/default" / name).write_bytes(content)
    edit(project / BRAND, 'file: "logo.svg"', f'file: "{name}"')


def brand_template(project: Path, name: str, text: str, brand: str = "default") -> Path:
    path = project / "brands" / brand / "templates" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(project: Path, *args: str) -> tuple[int, str]:
    """Run the command line in a process of its own, as a user would."""
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--project", str(project),
                             "--output", str(project / "output"), *args],
                            capture_output=True, text=True, timeout=300)
    return result.returncode, result.stderr


# --- 1, 2: SVG <use> that loops or multiplies ------------------------------------------

SELF = f'<svg {SVG} viewBox="0 0 10 10"><g id="a"><rect width="4" height="4"/>' \
       '<use href="#a"/></g></svg>'
MUTUAL = f'<svg {SVG} viewBox="0 0 10 10"><g id="a"><use href="#b"/></g>' \
         '<g id="b"><use xlink:href="#a"/></g></svg>'


@pytest.mark.parametrize("content, chain", [(SELF, "#a → #a"), (MUTUAL, "#a → #b → #a")])
def test_01_a_use_that_refers_to_itself_is_refused(small_project: Path, content: str,
                                                   chain: str) -> None:
    use_logo(small_project, "loop.svg", content.encode())
    assert problems(small_project) == [
        f'{BRAND}:5: logo.file: "loop.svg" has a <use> that refers back to itself ({chain}), '
        "which can never be drawn; remove the loop"]


def test_01_an_svg_weasyprint_fails_to_draw_fails_the_document(small_project: Path) -> None:
    # The loop is in a picture the brand's template shows, not in the logo that is checked:
    # WeasyPrint logs "Failed to render SVG image" and goes on; the poster must fail.
    (small_project / "brands/default/loop.svg").write_text(SELF, encoding="utf-8")
    brand_template(small_project, "partials/logo.html.j2",
                   '<img class="logo" src="brands/default/loop.svg" alt="">')
    (edition,) = kit.prepare(kit.Project(small_project), ["default"], ["fr"])
    target = kit.Target(edition, 0)
    (outcome,) = workers.run([lambda: kit.render_target(kit.Project(small_project), target)],
                             1, workers.Limits(120, 3000))
    assert outcome.failure == ("poster-stade.pdf: Failed to render SVG image "
                               "brands/default/loop.svg")


def use_bomb(layers: int = 8, fan_out: int = 10) -> bytes:
    """A few dozen elements that draw fan_out ** layers rectangles."""
    groups = ['<g id="l0"><rect width="1" height="1"/></g>']
    groups += [f'<g id="l{n}">' + f'<use href="#l{n - 1}"/>' * fan_out + "</g>"
               for n in range(1, layers + 1)]
    return (f'<svg {SVG} viewBox="0 0 10 10"><defs>{"".join(groups)}</defs>'
            f'<use href="#l{layers}"/></svg>').encode()


def test_02_a_use_bomb_is_refused_at_validation(small_project: Path) -> None:
    use_logo(small_project, "bomb.svg", use_bomb())
    assert problems(small_project) == [
        f'{BRAND}:5: logo.file: "bomb.svg" is too complex: its <use> elements draw more than '
        "20000 elements; simplify the drawing"]


def test_02_a_logo_that_reuses_a_shape_a_few_times_is_fine(small_project: Path) -> None:
    use_logo(small_project, "stars.svg", use_bomb(layers=2, fan_out=12))  # 144 rectangles
    (edition,) = kit.prepare(kit.Project(small_project), ["default"], ["fr"])
    assert edition.brand.logo.file.name == "stars.svg"


# --- 4, 5: workers end with their parent, and stay within their memory -----------------

def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's bookkeeping is left


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_04_workers_end_within_2_s_of_their_killed_parent(small_project: Path,
                                                          sig: signal.Signals) -> None:
    # A template slow to lay out keeps both workers busy for minutes.
    brand_template(small_project, "partials/logo.html.j2",
                   "{% for i in range(100000) %}<p>{{ i }}</p>{% endfor %}")
    build = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "--project",
                              str(small_project), "--output", str(small_project / "output"),
                              "--lang", "fr", "--jobs", "2", "--timeout", "600"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(_children(build.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        started = _children(build.pid)
        assert len(started) == 2, "the build did not start its two workers"
        os.kill(build.pid, sig)
        build.wait()
        killed = time.monotonic()
        while any(_running(pid) for pid in started) and time.monotonic() - killed < 2:
            time.sleep(0.05)
        assert [pid for pid in started if _running(pid)] == []
    finally:
        build.kill()
        for pid in _children(build.pid):
            os.kill(pid, signal.SIGKILL)


def test_05_the_memory_limit_bounds_memory_reserved_before_the_fork() -> None:
    # Touching address space the parent reserved needs no new address space: a limit on
    # the address space alone lets this worker use 1 GB under a 300 MB limit.
    region = mmap.mmap(-1, 1024 * 1024 * 1024)

    def touch() -> str:
        for offset in range(0, len(region), 4096):
            region[offset] = 1
        return "touched 1 GB"

    calls = [touch, lambda: bytearray(600 * 1024 * 1024), lambda: "fine"]
    outcomes = sorted(workers.run(calls, 1, workers.Limits(seconds=60, memory_mb=300)),
                      key=lambda o: o.index)
    message = ("ran out of memory: the document needed more than the memory limit of 300 MB "
               "(raise it with --memory)")
    assert [o.failure for o in outcomes] == [message, message, None]
    assert outcomes[2].value == "fine"  # the parent goes on with the next document


# --- 6: only regular files inside their folder, of bounded size --------------------------

def test_06_a_brand_file_linked_to_dev_zero_is_refused(small_project: Path) -> None:
    path = small_project / BRAND
    path.unlink()
    path.symlink_to("/dev/zero")
    assert problems(small_project) == [
        f"{BRAND}: this file is a link to something outside its folder; put the file itself in "
        "the folder"]


@pytest.mark.parametrize("name", [BRAND, f"content/{GUIDE}/fr/sections/05-secret.yaml",
                                  "brands/default/templates/partials/logo.html.j2"])
def test_06_a_pipe_is_refused_without_waiting(small_project: Path, name: str) -> None:
    path = small_project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    os.mkfifo(path)
    assert f"{name}: this file is not a regular file (it is a device, a pipe or a socket); " \
           "put a plain file here" in problems(small_project)


def test_06_a_logo_that_is_a_pipe_is_named(small_project: Path) -> None:
    os.mkfifo(small_project / "brands/default/pipe.png")
    edit(small_project / BRAND, 'file: "logo.svg"', 'file: "pipe.png"')
    assert problems(small_project) == [
        f'{BRAND}:5: logo.file: "pipe.png" is not a regular file (it is a device, a pipe or a '
        "socket); put a plain file here"]


def test_06_a_brand_template_linking_outside_is_refused(small_project: Path) -> None:
    path = small_project / "brands/default/templates/partials/logo.html.j2"
    path.parent.mkdir(parents=True)
    path.symlink_to("/etc/passwd")
    assert problems(small_project) == [
        "brands/default/templates/partials/logo.html.j2: this file is a link to something "
        "outside its folder; put the file itself in the folder"]


def test_06_a_brand_templates_folder_linking_outside_is_refused(small_project: Path) -> None:
    (small_project / "brands/default/templates").mkdir()
    (small_project / "brands/default/templates/partials").symlink_to("/etc")
    assert problems(small_project) == [
        "brands/default/templates/partials: this folder is a link to something outside the "
        "brand's templates; put the files themselves here"]


def test_06_an_oversized_brand_stylesheet_is_refused(small_project: Path) -> None:
    brand_template(small_project, "css/brand.css", "/* padding */" * 100_000)
    assert problems(small_project) == [
        "brands/default/templates/css/brand.css: this file is too large (1300000 bytes; the "
        "limit is 1000000)"]


# --- 7: images decoded completely ------------------------------------------------------

def _png(width: int = 200, height: int = 200) -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((width, height)).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


def _corrupt_pixels(data: bytes) -> bytes:
    """Scramble the compressed pixels but keep the chunk's checksum right."""
    data = bytearray(data)
    start = data.index(b"IDAT")
    length = struct.unpack(">I", data[start - 4:start])[0]
    body = data[start + 4:start + 4 + length]
    for index in range(length // 3, length // 3 + 40):
        body[index] ^= 0x5A
    data[start + 4:start + 4 + length] = body
    data[start + 4 + length:start + 8 + length] = struct.pack(">I", zlib.crc32(b"IDAT" + body))
    return bytes(data)


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((200, 200)).convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize("name, content, reason", [
    ("logo.png", _corrupt_pixels(_png()),
     "its pixel data is corrupt: Error -3 while decompressing data: incorrect data check"),
    ("logo.png", _png()[:-300], "the file is cut short"),
    ("logo.jpg", _jpeg()[:-300], "the file is cut short"),
], ids=["png-corrupt", "png-truncated", "jpeg-truncated"])
def test_07_an_image_whose_pixels_do_not_decode_is_refused(small_project: Path, name: str,
                                                           content: bytes, reason: str) -> None:
    assert "weasyprint" in sys.modules  # it makes Pillow accept damaged images process-wide
    use_logo(small_project, name, content)
    assert problems(small_project) == [
        f'{BRAND}:5: logo.file: "{name}" is damaged: its pixels cannot be read ({reason}); '
        "export the image again"]


def test_07_a_sound_png_logo_passes(small_project: Path) -> None:
    use_logo(small_project, "logo.png", _png(1200, 400))
    (edition,) = kit.prepare(kit.Project(small_project), ["default"], ["fr"])
    assert edition.brand.logo.file.name == "logo.png"


def test_07_checking_an_image_leaves_pillow_settings_alone(small_project: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 123_456_789)
    use_logo(small_project, "logo.png", _png(300, 100))
    kit.prepare(kit.Project(small_project), ["default"], ["fr"])
    assert Image.MAX_IMAGE_PIXELS == 123_456_789  # shared by the whole process (issue 17)


# --- 8: deep nesting ---------------------------------------------------------------------

def test_08_brackets_nested_400_deep_give_a_message(small_project: Path) -> None:
    section = f"content/{GUIDE}/fr/sections/05-secret.yaml"
    (small_project / section).write_text("x: " + "[" * 400 + "]" * 400 + "\n",
                                         encoding="utf-8")
    code, err = run_cli(small_project, "check", "--lang", "fr")
    assert code == 2
    assert "Traceback" not in err
    assert err.splitlines()[1:] == [
        f"  {section}:1: nesting is too deep (more than 24 levels of lists or groups); "
        "flatten the structure"]


# --- 9: brand templates with errors ----------------------------------------------------

def test_09_a_template_syntax_error_names_the_file_and_line(small_project: Path) -> None:
    brand_template(small_project, "partials/logo.html.j2",
                   '<img class="logo">\n{% if brand.name %}\n<p>\n')
    assert problems(small_project) == [
        "brands/default/templates/partials/logo.html.j2:2: template syntax error: Unexpected "
        "end of template. Jinja was looking for the following tags: 'elif' or 'else' or "
        "'endif'. The innermost block that needs to be closed is 'if'."]


def test_09_an_undefined_value_fails_only_that_brand(small_project: Path) -> None:
    brand_template(small_project, "partials/logo.html.j2", "<p>\n{{ brand.slogan }}</p>\n")
    output = small_project / "output"
    outcome = kit.build(kit.Project(small_project), ["default", "gh-port-lumiere"], ["fr"],
                        output, jobs=2, today=TODAY)
    message = ("brands/default/templates/partials/logo.html.j2:2: this template uses a value "
               "that does not exist ('Brand object' has no attribute 'slogan')")
    assert {str(problem.input) for problem in outcome.problems} == {message}
    # the brand's documents fail; its proof sheet is not attempted, nothing of it is written
    assert {problem.where for problem in outcome.problems} == {
        f"default/{GUIDE}/fr booklet", f"default/{GUIDE}/fr poster stade",
        f"default/{GUIDE}/fr web page"}
    assert (output / f"gh-port-lumiere/{GUIDE}/fr/poster-stade.pdf").exists()
    assert not (output / f"default/{GUIDE}/fr/poster-stade.pdf").exists()


# --- 10, 12: languages of brand texts ---------------------------------------------------

def _english_only(project: Path) -> None:
    path = project / BRAND
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    text = "".join(line for line in lines if not line.lstrip().startswith("fr: "))
    path.write_text(text.replace('languages: ["fr", "en"]', 'languages: ["en"]'),
                    encoding="utf-8")


def test_10_a_language_the_brand_is_not_made_in_is_named(small_project: Path) -> None:
    _english_only(small_project)
    assert problems(small_project, langs=["fr"]) == [
        f'{BRAND}:31: languages: "fr" was asked for (--lang fr), but this brand is made in en '
        'only; add "fr" to languages, with the brand\'s texts in that language']


def test_10_all_brands_in_that_language_build_the_others(small_project: Path) -> None:
    _english_only(small_project)
    code, err = run_cli(small_project, "--all-brands", "--lang", "fr")
    assert "Traceback" not in err and "KeyError" not in err
    assert code == 2
    assert (f'FAILED default: {BRAND}:31: languages: "fr" was asked for (--lang fr), but this '
            "brand is made in en only" in err)
    assert (small_project / f"output/gh-port-lumiere/{GUIDE}/fr/guide-print.pdf").exists()


@pytest.mark.parametrize("old, new, expected", [
    ('fr: "Logo du centre', 'fr: "' + "très " * 40 + 'Logo du centre',
     f"{BRAND}:7: logo.alt.fr: is too long (285 characters, at most 160); shorten it"),
    ('    en: "Logo of the Val', '    de: "Logo of the Val',
     f"{BRAND}:8: logo.alt.de: \"de\" is not allowed as a key here; use one of: 'fr' or 'en'"),
    ('      fr: "Direction de la communication"', "      fr:",
     f"{BRAND}:23: contacts (1st).role.fr: is empty; write a value after the colon"),
], ids=["too-long", "unknown-language", "empty"])
def test_12_per_language_texts_are_explained_once(small_project: Path, old: str, new: str,
                                                  expected: str) -> None:
    edit(small_project / BRAND, old, new)
    assert problems(small_project) == [expected]


# --- 13: fonts named in brand stylesheets ------------------------------------------------

def test_13_a_stylesheet_naming_an_undeclared_font_is_named(small_project: Path) -> None:
    brand_template(small_project, "css/brand.css",
                   "h1 { font-family: var(--gp-heading-font), serif; }\n"
                   '.cover h1 { font-family: "DejaVu Serif", serif; }\n'
                   "@media print { .poster-headline { font: bold 80pt/1 Liberation Sans; } }\n")
    hint = ("is not one of the brand's fonts (Atkinson Hyperlegible); declare it under fonts "
            "in brand.yaml, or write var(--gp-body-font) or var(--gp-heading-font)")
    assert problems(small_project) == [
        f'brands/default/templates/css/brand.css:2: font-family: the font "DejaVu Serif" {hint}',
        f'brands/default/templates/css/brand.css:3: font: the font "Liberation Sans" {hint}']


# --- 14: logos sized by area ---------------------------------------------------------------

WIDE = (f'<svg {SVG} viewBox="0 0 400 50"><rect width="400" height="50" fill="#1F4E79"/>'
        "</svg>")
TALL = (f'<svg {SVG} viewBox="0 0 60 180"><rect width="60" height="180" fill="#1F4E79"/>'
        "</svg>")


def _logo_boxes(project: Path) -> dict[str, tuple[float, float]]:
    """Width and height, in mm, of the logo on the cover, the back cover and the poster."""
    (edition,) = kit.prepare(kit.Project(project), ["default"], ["fr"])
    env = render.template_environment(project / "templates", edition.brand)
    fetcher = pdf.ProjectFetcher((project / "templates", edition.brand.folder,
                                  edition.brand.fonts.body.files.regular.parent))
    profile = render.Profile("screen")
    booklet = pdf.lay_out(render.render_booklet(env, edition.guide, edition.brand, profile),
                          fetcher, project).pages.pages
    poster = pdf.lay_out(render.render_poster(env, edition.guide, edition.brand,
                                              edition.guide.posters[0], profile),
                         fetcher, project).pages.pages
    found = {}
    for where, page in (("cover", booklet[0]), ("back", booklet[-1]), ("poster", poster[0])):
        (logo,) = _boxes_of_class(page._page_box, "logo")
        found[where] = (logo.width * 25.4 / 96, logo.height * 25.4 / 96)
    return found


def _boxes_of_class(box: boxes.Box, name: str) -> list[boxes.Box]:
    element = getattr(box, "element", None)
    if isinstance(box, boxes.ReplacedBox) and element is not None \
            and name in (element.get("class") or "").split():
        return [box]
    return [found for child in getattr(box, "children", None) or []
            for found in _boxes_of_class(child, name)]


def test_14_wide_and_tall_logos_are_sized_by_area(small_project: Path) -> None:
    use_logo(small_project, "wide.svg", WIDE.encode())
    wide = _logo_boxes(small_project)
    (small_project / BRAND).write_text((small_project / BRAND).read_text(
        encoding="utf-8").replace('file: "wide.svg"', 'file: "tall.svg"'), encoding="utf-8")
    (small_project / "brands/default/tall.svg").write_text(TALL, encoding="utf-8")
    tall = _logo_boxes(small_project)
    # The box of an 8:1 logo is as tall as its drawing: 62 × 7.8 mm on the cover, not 26 × 3.3.
    assert wide["cover"] == pytest.approx((62.2, 7.78), abs=0.1)
    assert wide["back"] == pytest.approx((50.9, 6.36), abs=0.1)
    assert wide["poster"] == pytest.approx((107.5, 13.4), abs=0.1)
    # A 1:3 logo is bounded by the height allowed: 30 mm on the cover, 46 mm on posters.
    assert tall["cover"] == pytest.approx((12.7, 30), abs=0.1)
    assert tall["poster"] == pytest.approx((21.9, 46), abs=0.1)


def test_14_a_square_logo_keeps_a_square_box(small_project: Path) -> None:
    boxes_mm = _logo_boxes(small_project)
    assert boxes_mm["cover"] == pytest.approx((22, 22), abs=0.1)
    assert boxes_mm["poster"] == pytest.approx((38, 38), abs=0.1)


# --- 15: contrast checked at validation ----------------------------------------------------

def test_15_a_pale_primary_is_refused_before_rendering(small_project: Path) -> None:
    edit(small_project / BRAND, 'primary: "#1F4E79"', 'primary: "#9DC3E6"')
    with pytest.raises(InputErrors) as caught:
        kit.prepare(kit.Project(small_project), ["default"], ["fr"])
    assert [str(error) for error in caught.value.errors] == [
        f"{BRAND}:10: colours.primary: #9DC3E6 on colours.paper (#FFFFFF) has a contrast of "
        "1.84:1, below the 4.5:1 needed (WCAG AA) for headings, figures and links; make one "
        "of the two darker or lighter",
        f"{BRAND}:10: colours.primary: #9DC3E6 on colours.tint (#E7EFF7) has a contrast of "
        "1.59:1, below the 4.5:1 needed (WCAG AA) for labels in stories; make one of the two "
        "darker or lighter",
        f"{BRAND}:11: colours.on_primary: #FFFFFF on colours.primary (#9DC3E6) has a contrast "
        "of 1.84:1, below the 4.5:1 needed (WCAG AA) for cover, back cover and posters; make "
        "one of the two darker or lighter"]


def test_15_a_default_colour_is_located_at_the_one_written(small_project: Path) -> None:
    edit(small_project / BRAND, '  on_accent: "#FFFFFF"\n', "")
    edit(small_project / BRAND, 'accent: "#B23A0B"', 'accent: "#F4A261"')
    found = problems(small_project)
    assert (f"{BRAND}:12: colours.accent: colours.on_accent (#FFFFFF) on #F4A261 has a contrast "
            "of 2.06:1, below the 4.5:1 needed (WCAG AA) for verdict badges and the map axis; "
            "make one of the two darker or lighter") in found

