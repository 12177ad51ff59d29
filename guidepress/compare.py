"""Visual regression: every output's pages, rendered small, compared with a reference.

Two uses. `build.py compare` compares each PDF and picture (PNG) of `output/` with the
last accepted set,
low-resolution PNGs under `accepted/` (`build.py accept` replaces that set with the
current outputs); the proof sheet shows the pages that changed since the previous build.
A page has changed when more than CHANGED_SHARE of its pixels differ by more than
TOLERANCE in a channel: anti-aliasing and font hinting noise stay below that.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pypdfium2
from PIL import Image, ImageChops

SCALE = 0.25  # 18 pixels per inch: small to keep, enough to see a block move or a colour change
TOLERANCE = 48  # of 255, in any channel
CHANGED_SHARE = 0.002  # of a page's pixels


@dataclass(frozen=True)
class PageChange:
    """A page that differs from its reference; `before` is None for a new page, `after`
    None for a page gone."""

    name: str  # the PDF, relative to the folder compared
    page: int  # from 1
    share: float  # of the pixels that differ (1.0 for a page new, gone or resized)
    before: Image.Image | None
    after: Image.Image | None


def page_images(data: bytes, scale: float = SCALE) -> list[Image.Image]:
    """Every page of a PDF as a small RGB image."""
    document = pypdfium2.PdfDocument(data)
    try:
        return [document[index].render(scale=scale).to_pil().convert("RGB")
                for index in range(len(document))]
    finally:
        document.close()


def picture_images(data: bytes, scale: float = SCALE) -> list[Image.Image]:
    """A picture output (a card, a slide) as one small RGB image, at the size a PDF page
    of the same CSS size gets from `page_images` (a CSS pixel is 0.75 pt)."""
    with Image.open(BytesIO(data)) as picture:
        size = (max(1, round(picture.width * 0.75 * scale)),
                max(1, round(picture.height * 0.75 * scale)))
        return [picture.convert("RGB").resize(size, Image.Resampling.LANCZOS)]


def images(path: Path, scale: float = SCALE) -> list[Image.Image]:
    """The pages of an output, PDF or picture, small."""
    data = path.read_bytes()
    return picture_images(data, scale) if path.suffix == ".png" else page_images(data, scale)


def difference(before: Image.Image, after: Image.Image) -> float:
    """The share of pixels that differ by more than TOLERANCE in a channel."""
    if before.size != after.size:
        return 1.0
    # the largest channel difference of each pixel, then 255 where it is past the tolerance
    channels = ImageChops.difference(before.convert("RGB"), after.convert("RGB")).split()
    largest = ImageChops.lighter(ImageChops.lighter(channels[0], channels[1]), channels[2])
    changed = largest.point(lambda value: 255 if value > TOLERANCE else 0).histogram()[255]
    return changed / (after.width * after.height)


def changed_pages(name: str, before: list[Image.Image], after: list[Image.Image]
                  ) -> list[PageChange]:
    """The pages of one document that changed, appeared or went."""
    found = []
    for index in range(max(len(before), len(after))):
        old = before[index] if index < len(before) else None
        new = after[index] if index < len(after) else None
        share = 1.0 if old is None or new is None else difference(old, new)
        if share > CHANGED_SHARE:
            found.append(PageChange(name, index + 1, round(share, 4), old, new))
    return found


def outputs(folder: Path) -> Iterator[tuple[str, Path]]:
    """Every PDF and picture under `folder` (a brand's folder, or the whole output), by
    relative name."""
    for path in sorted([*folder.rglob("*.pdf"), *folder.rglob("*.png")]):
        relative = path.relative_to(folder)
        if not any(part.startswith(".") for part in relative.parts):  # staging folders
            yield relative.as_posix(), path


def accepted_images(accepted: Path, name: str) -> list[Image.Image]:
    """The accepted pages of one output (none if it was never accepted)."""
    folder = accepted / name
    pages = sorted(folder.glob("page-*.png")) if folder.is_dir() else []
    return [Image.open(path).convert("RGB") for path in pages]


def compare(output: Path, accepted: Path) -> list[PageChange]:
    """Every page of `output` that differs from the accepted set, and every accepted
    output that is gone."""
    found = []
    names = set()
    for name, path in outputs(output):
        names.add(name)
        found += changed_pages(name, accepted_images(accepted, name), images(path))
    accepted_names = [*accepted.rglob("*.pdf"), *accepted.rglob("*.png")] \
        if accepted.is_dir() else []
    for folder in sorted(p for p in accepted_names if p.is_dir()):
        name = folder.relative_to(accepted).as_posix()
        if name not in names:
            found += changed_pages(name, accepted_images(accepted, name), [])
    return found


def accept(output: Path, accepted: Path) -> int:
    """Make the current outputs the accepted set; return how many pages it holds."""
    staging = accepted.with_name(accepted.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    count = 0
    for name, path in outputs(output):
        folder = staging / name
        folder.mkdir(parents=True)
        for number, image in enumerate(images(path), start=1):
            image.save(folder / f"page-{number:02d}.png", optimize=True)
            count += 1
    shutil.rmtree(accepted, ignore_errors=True)
    staging.mkdir(parents=True, exist_ok=True)
    staging.rename(accepted)
    return count


def side_by_side(change: PageChange, height: int = 160) -> Image.Image:
    """The page before and after, at one height, on a grey sheet (white where a page is
    missing)."""
    def fitted(image: Image.Image | None, like: Image.Image | None) -> Image.Image:
        shape = image or like
        assert shape is not None
        width = max(1, round(shape.width * height / shape.height))
        if image is None:
            return Image.new("RGB", (width, height), "white")
        return image.resize((width, height))

    left, right = fitted(change.before, change.after), fitted(change.after, change.before)
    sheet = Image.new("RGB", (left.width + right.width + 12, height + 8), (128, 128, 128))
    sheet.paste(left, (4, 4))
    sheet.paste(right, (left.width + 8, 4))
    return sheet


def png_bytes(image: Image.Image) -> bytes:
    buffer = BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
