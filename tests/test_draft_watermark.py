"""A draft kit (not yet approved in the portal) says so in the print PDFs' slug, outside
the bleed, and nowhere else; the approved kit is the same PDF without it."""

from __future__ import annotations

import dataclasses
import io

import pikepdf
import pypdfium2
import pytest
from PIL import ImageStat

from guidepress import kit, manifest, queue
from guidepress.pdfx import DRAFT, MARK_SLUG_MM, MM
from guidepress.plan import plan


@pytest.fixture(scope="module")
def posters(project: kit.Project) -> dict[bool, dict[str, bytes]]:
    """The first social-networks poster of the default brand in French, draft and final."""
    edition = kit.prepare(project, ["default"], ["fr"], guides=["reseaux-sociaux"])[0]
    made = {}
    for draft in (False, True):
        target = next(t for t in plan([dataclasses.replace(edition, draft=draft)])
                      if t.poster_index == 0)
        made[draft] = kit.render_target(project, target).files
    return made


def _slug_darkness(data: bytes) -> tuple[float, float]:
    """Mean darkness (0 white, 1 black) of the middle of the top and bottom slugs."""
    page = pypdfium2.PdfDocument(data)[0]
    image = page.render(scale=2).to_pil().convert("L")
    width, height = image.size
    slug = int(MARK_SLUG_MM * MM * 2) - 2  # the slug's height in pixels, inside it
    strips = [image.crop((width // 3, 1, 2 * width // 3, slug)),
              image.crop((width // 3, height - slug, 2 * width // 3, height - 1))]
    return tuple(1 - ImageStat.Stat(strip).mean[0] / 255 for strip in strips)


def test_draft_print_pdf_carries_the_watermark_in_the_slug_only(posters) -> None:
    name = next(n for n in posters[True] if not n.endswith("-screen.pdf"))
    draft, final = posters[True][name], posters[False][name]
    with pikepdf.open(io.BytesIO(draft)) as pdf:
        page = pdf.pages[0]
        assert DRAFT in page.Resources.XObject
        trim, media = [float(v) for v in page.TrimBox], [float(v) for v in page.MediaBox]
        expected = [trim[0] - 8 * MM, trim[1] - 8 * MM, trim[2] + 8 * MM, trim[3] + 8 * MM]
        assert media == pytest.approx(expected, abs=0.001)  # 3 mm bleed + 5 mm slug
        # the form is drawn after the page, outside the bleed box: nothing inside it moves
        assert all(-8 * MM <= y - trim[1] <= -3 * MM or 3 * MM <= y - trim[3] <= 8 * MM
                   for y in _form_baselines(page.Resources.XObject[DRAFT]))
    with pikepdf.open(io.BytesIO(final)) as pdf:
        assert DRAFT not in pdf.pages[0].Resources.get("/XObject", {})
    top, bottom = _slug_darkness(draft)
    assert top > 0.02 and bottom > 0.02  # letters drawn above and below
    assert _slug_darkness(final) == (0.0, 0.0)  # the approved sheet's slug is white


def test_screen_pdfs_never_carry_the_watermark(posters) -> None:
    screen = next(n for n in posters[True] if n.endswith("-screen.pdf"))
    assert posters[True][screen] == posters[False][screen]


def test_draft_changes_the_inputs_hash_and_travels_in_queue_jobs(project: kit.Project) -> None:
    edition = kit.prepare(project, ["default"], ["fr"], guides=["photos-videos"])[0]
    final = plan([edition])[0]
    draft = plan([dataclasses.replace(edition, draft=True)])[0]
    # a rebuild after approval renders again instead of reusing the draft's files
    assert (manifest.inputs_hash(project.templates, final, "", manifest.Digests())
            != manifest.inputs_hash(project.templates, draft, "", manifest.Digests()))
    assert queue.JobRequest.model_fields["draft"].default is False


def _form_baselines(form: pikepdf.Stream) -> list[float]:
    """The y of each `cm` translation in the watermark form (one per line of text)."""
    return [float(operands[5]) for operands, operator in pikepdf.parse_content_stream(form)
            if str(operator) == "cm"]
