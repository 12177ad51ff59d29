"""Stage 6, post: check finished PDFs and put them in place without ever half-writing one."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import re
import shutil
import struct
import tempfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pikepdf
import pypdfium2
from PIL import Image, ImageCms
from pypdf import PdfReader

from guidepress.i18n import _
from guidepress.models import Brand
from guidepress.problems import RenderError

@contextlib.contextmanager
def opened(pdf: bytes | pikepdf.Pdf) -> Iterator[pikepdf.Pdf]:
    """A PDF's bytes parsed by qpdf (pikepdf), or a PDF already parsed, left open: the
    checks of one file share one parse of it."""
    if isinstance(pdf, pikepdf.Pdf):
        yield pdf
        return
    with pikepdf.open(BytesIO(pdf)) as document:
        yield document


def declared_font_names(brand: Brand) -> set[str]:
    """Return the normalised family names of the brand's fonts, as PDFs name them."""
    return {_normalised(face.family) for face in brand.fonts.families}


def _normalised(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def pdf_fonts(pdf: bytes) -> dict[str, set[str]]:
    """Map each font a PDF draws text with (subset prefix removed) to the characters drawn."""
    drawn: dict[str, set[str]] = {}

    def visit(text, _cm, _tm, font, _size) -> None:  # noqa: ANN001 - pypdf callback
        if font is not None and text.strip():
            name = str(font.get("/BaseFont", "")).lstrip("/").split("+")[-1]
            drawn.setdefault(name, set()).update(text.strip())

    for page in PdfReader(BytesIO(pdf)).pages:
        page.extract_text(visitor_text=visit)
    return drawn


def font_resources(pdf: bytes | pikepdf.Pdf) -> dict[str, bool]:
    """Map each font of a PDF's pages (subset prefix removed) to whether it is embedded.

    WeasyPrint puts in a page's resources only the fonts it draws with, so this is the
    quick way to know them; `pdf_fonts` extracts the text to say which characters.
    """
    fonts: dict[str, bool] = {}
    with opened(pdf) as document:  # qpdf: many times faster than pypdf here
        for page in document.pages:
            resources = page.obj.get("/Resources") or pikepdf.Dictionary()
            for font in (resources.get("/Font") or pikepdf.Dictionary()).values():
                name = str(font.get("/BaseFont", "")).lstrip("/").split("+")[-1]
                descriptor = font.get("/FontDescriptor")
                if descriptor is None and "/DescendantFonts" in font:
                    descriptor = font.DescendantFonts[0].get("/FontDescriptor")
                keys = set(descriptor.keys()) if descriptor is not None else set()
                embedded = bool(keys & {"/FontFile", "/FontFile2", "/FontFile3"})
                fonts[name] = fonts.get(name, True) and embedded
    return fonts


def unembedded_fonts(pdf: bytes) -> list[str]:
    """Return the names of fonts a PDF uses without embedding them."""
    return sorted(name for name, embedded in font_resources(pdf).items() if not embedded)


def check_fonts(name: str, pdf: bytes, declared: set[str],
                document: pikepdf.Pdf | None = None) -> None:
    """Fail when a PDF draws with a font the brand did not declare, or one not embedded
    (`document`: the PDF already parsed, if it is)."""
    fonts = font_resources(pdf if document is None else document)
    foreign = [font for font in fonts
               if not any(_normalised(font).startswith(family) for family in declared)]
    if foreign:
        drawn = pdf_fonts(pdf)  # slow, so only to name the characters of a fallback
        font = sorted(foreign)[0]
        shown = " ".join(f'"{c}" (U+{ord(c):04X})' for c in sorted(drawn.get(font, ""))[:8])
        raise RenderError(_("the brand's fonts cannot draw {characters}, so the system font "
                            "{font} was used instead; replace these characters or choose a "
                            "font that has them").format(characters=shown, font=font), name)
    missing = sorted(font for font, embedded in fonts.items() if not embedded)
    if missing:
        raise RenderError(_("these fonts are not embedded in the PDF: {fonts}").format(
            fonts=", ".join(missing)), name)


A4_LANDSCAPE = (841.89, 595.28)


def saddle_stitch_order(pages: int) -> list[tuple[int, int]]:
    """Pairs of page indexes (left, right) for each sheet side, front then back.

    Printed double-sided (flip on the short edge), stacked and folded, the sheets give
    the pages in reading order.
    """
    if pages % 4:
        raise RenderError(_("a saddle-stitched booklet needs a multiple of 4 pages, not {pages}")
                          .format(pages=pages))
    sides = []
    for sheet in range(pages // 4):
        sides.append((pages - 1 - 2 * sheet, 2 * sheet))
        sides.append((2 * sheet + 1, pages - 2 - 2 * sheet))
    return sides


def impose(pdf: bytes | pikepdf.Pdf) -> bytes:
    """Put two A5 pages side by side on each A4 landscape side, in saddle-stitch order.

    Each page becomes a form XObject drawn at its place: nothing is re-parsed.
    """
    with opened(pdf) as source, pikepdf.new() as imposed:
        forms = [imposed.copy_foreign(pikepdf.Page(page).as_form_xobject())
                 for page in source.pages]
        width, height = A4_LANDSCAPE
        for left, right in saddle_stitch_order(len(source.pages)):
            names, drawing = pikepdf.Dictionary(), []
            for slot, (index, x) in enumerate(((left, 0.0), (right, width / 2))):
                llx, lly, urx, ury = (float(v) for v in source.pages[index].mediabox)
                offset_x = x + (width / 2 - (urx - llx)) / 2 - llx
                offset_y = (height - (ury - lly)) / 2 - lly
                names[pikepdf.Name(f"/P{slot}")] = forms[index]
                drawing.append(f"q 1 0 0 1 {offset_x:.3f} {offset_y:.3f} cm /P{slot} Do Q")
            side = imposed.add_blank_page(page_size=(width, height))
            side.Resources = pikepdf.Dictionary(XObject=names)
            side.Contents = imposed.make_stream("\n".join(drawing).encode())
        for key in ("/Title", "/Author", "/CreationDate", "/ModDate"):
            if key in source.docinfo:  # as text: older pikepdf refuses another file's objects
                imposed.docinfo[key] = pikepdf.String(str(source.docinfo[key]))
        output = BytesIO()
        imposed.save(output, deterministic_id=True)  # the same pages give the same bytes
        return output.getvalue()


def verify_pdf(name: str, pdf: bytes | pikepdf.Pdf,
               page_mm: tuple[float, float] | None = None) -> None:
    """Refuse a PDF that carries files, links to other schemes, or unexpected page sizes
    (`page_mm`, a format's sheet; by default A5, A3 or A4 landscape)."""
    with opened(pdf) as document:
        names = document.Root.get("/Names")
        if names is not None and "/EmbeddedFiles" in names:
            raise RenderError(_("{name}: the PDF carries attached files; nothing may be "
                                "attached").format(name=name))
        sizes = {_rounded(page.trimbox) for page in document.pages}
        expected = ({(round(page_mm[0]), round(page_mm[1]))} if page_mm is not None
                    else {(148, 210), (297, 420), (297, 210)})
        if not sizes <= expected:
            raise RenderError(_("{name}: unexpected page size {sizes} mm").format(
                name=name, sizes=sorted(sizes)))
        for page in document.pages:
            for annotation in page.obj.get("/Annots") or []:
                if annotation.get("/Subtype") == "/FileAttachment":
                    raise RenderError(_("{name}: the PDF carries attached files; nothing may "
                                        "be attached").format(name=name))
                uri = str((annotation.get("/A") or pikepdf.Dictionary()).get("/URI", ""))
                if uri and not uri.startswith(("https://", "mailto:", "tel:")):
                    raise RenderError(_("{name}: a link points to {address}; only https, "
                                        "mailto and tel links are allowed").format(
                                            name=name, address=repr(uri[:60])))


_EXTERNAL_RESOURCE = re.compile(r"""(?:src|href)\s*=\s*["'](?!#|data:|https://|mailto:|tel:)"""
                                r"""|url\(\s*(?!["']?(?:data:|#))""", re.IGNORECASE)


def verify_web_page(name: str, html: str) -> None:
    """Refuse a web page that would load anything from outside itself."""
    found = _EXTERNAL_RESOURCE.search(html)
    if found:
        start = max(found.start() - 30, 0)
        raise RenderError(_("{name}: the page refers to a file outside itself near {excerpt}")
                          .format(name=name, excerpt=repr(html[start:found.end() + 40])))
    loads = (r"""<(?:img|script|iframe|source)\s[^>]*\bsrc\s*=\s*["']https?:"""
             r"""|<link\s[^>]*\bhref\s*=\s*["']https?:|@import""")
    if re.search(loads, html, re.IGNORECASE):
        raise RenderError(_("{name}: the page would load something from the network")
                          .format(name=name))


def _rounded(box: pikepdf.Array) -> tuple[int, int]:
    left, bottom, right, top = (float(v) for v in box)
    return round(abs(right - left) * 25.4 / 72), round(abs(top - bottom) * 25.4 / 72)


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold a brand's output folder so that two builds never interleave its files.

    The lock file sits beside the folder (`.<brand>.lock`), since the folder itself is
    replaced whole when a build publishes it.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def profile_of(name: str) -> str:
    """Which profile an output file was made for, from its name."""
    if name.endswith(".html"):
        return "web"
    if name.endswith(".png"):
        return "picture"
    if name == "guide-office.pdf":
        return "office"
    return "screen" if name.endswith("-screen.pdf") else "print"


def rasterise(pdf: bytes, size: tuple[int, int]) -> bytes:
    """The first page of a screen PDF as a PNG of exactly `size` pixels, RGB, tagged sRGB
    (pdfium draws it: the same renderer as the thumbnails)."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        # the page is size × 0.75 pt (CSS pixels): 4/3 gives one pixel per CSS pixel
        image = page.render(scale=size[0] / page.get_width()).to_pil().convert("RGB")
    finally:
        document.close()
    if image.size != size:  # a rounding of the renderer's: never more than a pixel
        if abs(image.size[0] - size[0]) > 1 or abs(image.size[1] - size[1]) > 1:
            raise RenderError(_("the page drew as {width} × {height} px instead of "
                                "{expected_width} × {expected_height}").format(
                                    width=image.size[0], height=image.size[1],
                                    expected_width=size[0], expected_height=size[1]))
        image = image.resize(size, Image.Resampling.LANCZOS)
    buffer = BytesIO()
    image.save(buffer, format="PNG", icc_profile=_SRGB)
    return buffer.getvalue()


def _undated(profile: bytes) -> bytes:
    """The ICC profile with a fixed creation date: littleCMS stamps a profile it makes with
    the second it was made (header bytes 24 to 35), and the same page would give other PNG
    bytes at every run. Its profile ID (an MD5 of the header, bytes 84 to 99) is left
    zero, which says "not computed"."""
    date = struct.pack(">6H", 2000, 1, 1, 0, 0, 0)
    return profile[:24] + date + profile[36:84] + bytes(16) + profile[100:]


_SRGB = _undated(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def page_count(pdf: bytes) -> int:
    """Number of pages of a PDF."""
    with pikepdf.open(BytesIO(pdf)) as document:
        return len(document.pages)


# --- publishing a brand's files as one unit ----------------------------------------------
#
# A brand's new files are written into a hidden staging folder beside output/<brand>/,
# unchanged ones hard-linked from the current folder, and the two folders are then
# exchanged in one system call. A reader, a crash, a full disk or Ctrl-C sees either all
# the old files or all the new ones, never a mix.

STAGING = ".{}.staging-"
PREVIOUS = ".{}.previous-"


def clear_leftovers(folder: Path) -> None:
    """Remove what a killed build left beside `folder`; call it under `locked()`.

    A staging folder is dropped. A previous folder is put back when the folder itself is
    missing (a build killed between the two renames of the fallback swap).
    """
    for stray in folder.parent.glob(STAGING.format(folder.name) + "*"):
        shutil.rmtree(stray, ignore_errors=True)
    for previous in sorted(folder.parent.glob(PREVIOUS.format(folder.name) + "*")):
        if not folder.exists():
            os.rename(previous, folder)
        else:
            shutil.rmtree(previous, ignore_errors=True)


@contextlib.contextmanager
def staged(folder: Path) -> Iterator[Path]:
    """A new, hidden, empty folder beside `folder`, removed on leaving unless swapped in."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=STAGING.format(folder.name)))
    try:
        staging.chmod(0o755)  # it becomes the published folder: readable, like any new one
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # after a swap: the old files


def put(staging: Path, name: str, source: bytes | Path) -> None:
    """Write `source` (new bytes, or an existing file to keep) as `staging/name`."""
    path = staging / name
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    if isinstance(source, Path):
        try:
            os.link(source, path)  # unchanged: the same file, its date kept
            return
        except OSError:
            source = source.read_bytes()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(descriptor, "wb") as stream:
        os.fchmod(stream.fileno(), 0o644)  # outputs are published: readable, whatever umask
        stream.write(source)
        stream.flush()
        os.fsync(stream.fileno())


def swap_in(staging: Path, folder: Path) -> None:
    """Make `staging` the new `folder` in one step; the old files end up in `staging`."""
    for directory in sorted({p for p in staging.rglob("*") if p.is_dir()} | {staging}):
        _fsync_directory(directory)
    if not folder.exists():
        os.rename(staging, folder)
        staging.mkdir()  # so that the caller's clean-up finds what it expects
    elif not _exchange(staging, folder):
        # No atomic exchange on this file system: rename aside, then into place. A crash
        # between the two leaves PREVIOUS, which clear_leftovers() puts back.
        previous = folder.parent / (PREVIOUS.format(folder.name) + staging.name[-8:])
        os.rename(folder, previous)
        os.rename(staging, folder)
        os.rename(previous, staging)
    _fsync_directory(folder.parent)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> bool:
    """Exchange two paths atomically (Linux renameat2); False when the system cannot."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                 _RENAME_EXCHANGE) == 0:
        return True
    number = ctypes.get_errno()
    if number in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(number, os.strerror(number), str(second))


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
