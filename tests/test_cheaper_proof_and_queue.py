"""Issue 14, point 6 (continued): what a cold build spends beyond plain WeasyPrint, counted
(never timed): the proof sheet's rasterising, the queue's round trips."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pikepdf
import pypdfium2
import pytest
import weasyprint
from PIL import Image
from pypdf import PdfReader

from guidepress import kit, manifest, preflight, proof, queue, snapshot, storage, workers

GUIDE = "reseaux-sociaux/fr"


def _pdf(size: str, pages: int, colour: str) -> bytes:
    body = "".join(f'<p style="break-before: page; color: {colour}">Page {n}</p>'
                   for n in range(1, pages + 1))
    return weasyprint.HTML(string=f"<style>@page {{ size: {size} }}</style>{body}").write_pdf()


@pytest.fixture(scope="module")
def proof_tools(project: kit.Project) -> tuple:
    edition = next(e for e in kit.prepare(project, ["default"], ["fr"])
                   if e.where == GUIDE)
    return kit.tools(project, edition, with_guide=False), edition


def _outputs(folder: Path, colour: str) -> Path:
    where = folder / GUIDE
    where.mkdir(parents=True)
    (where / "guide-print.pdf").write_bytes(_pdf("A5", 3, colour))
    (where / "poster-stade.pdf").write_bytes(_pdf("A3", 1, "black"))
    Image.new("RGB", (1080, 1350), colour).save(where / "carte-portrait-stade.png")
    return folder


def _make(proof_tools: tuple, output: Path, previous: Path) -> bytes:
    tools, edition = proof_tools
    return proof.make_proof(tools, edition, output, [GUIDE], preflight.Report("default"),
                            output, previous)


def test_proof_thumbnails_have_the_pixels_they_print_at_whatever_the_page_size(
        proof_tools: tuple, tmp_path: Path) -> None:
    output = _outputs(tmp_path / "new", "black")
    data = _make(proof_tools, output, tmp_path / "none")
    heights = _image_heights(data)
    # 3 booklet pages, 1 poster and 1 card; the A3 poster (twice the A5 page's height) is
    # not rasterised at twice the pixels, nor the card kept at its 1350 px: every thumbnail
    # prints 30 mm tall, at 120 ppi.
    assert len(heights) == 5
    assert set(heights) == {142} == {proof.THUMBNAIL_HEIGHT_PX}


def _image_heights(data: bytes) -> list[int]:
    """The pixel heights of every image in a PDF."""
    with pikepdf.Pdf.open(io.BytesIO(data)) as document:
        return sorted(int(item.Height) for item in document.objects
                      if isinstance(item, pikepdf.Stream) and item.get("/Subtype") == "/Image")


def test_a_proof_rasterises_each_page_of_an_output_at_most_once(
        proof_tools: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    previous = _outputs(tmp_path / "before", "black")
    output = _outputs(tmp_path / "new", "red")  # the booklet changed, the poster did not
    rendered: list[tuple[int, float]] = []
    original = pypdfium2.PdfPage.render

    def counting(page: pypdfium2.PdfPage, *args, **kwargs):  # noqa: ANN202
        rendered.append((round(page.get_height()), kwargs.get("scale", 1)))
        return original(page, *args, **kwargs)

    monkeypatch.setattr(pypdfium2.PdfPage, "render", counting)
    data = _make(proof_tools, output, previous)
    # the changed booklet: its 3 pages before and its 3 pages now, once each (the thumbnails
    # are made from the images of the comparison); the unchanged poster: once
    a5, a3 = round(210 / 25.4 * 72), round(420 / 25.4 * 72)
    assert sorted(height for height, _scale in rendered) == [a5] * 6 + [a3]
    text = "".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages
                            ).split())
    assert f"{GUIDE}/guide-print.pdf" in text and f"{GUIDE}/poster-stade.pdf" in text


# --- a queue worker unpacks a snapshot once, not once per job ----------------------------

def _snapshot_with(name: str) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped, \
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        snapshot._add(archive, snapshot.META, json.dumps({"brand": name}).encode())
    return buffer.getvalue()


def test_a_worker_unpacks_each_snapshot_once_for_all_the_jobs_of_a_brand(
        project: kit.Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    edition = next(e for e in kit.prepare(project, ["default"], ["fr"]) if e.where == GUIDE)
    store = storage.FolderStorage(tmp_path / "storage")
    digest = store.put_snapshot(snapshot.make(project, edition, edition.brand.printer))
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    monkeypatch.setattr(queue, "_settings", queue.WorkerSettings(
        store, workers.Limits(120, 2000), unpacked))
    extracted: list[Path] = []
    original = snapshot.extract
    monkeypatch.setattr(snapshot, "extract",
                        lambda data, folder: extracted.append(folder) or original(data, folder))
    poster = edition.guide.posters[0].id
    for number, target in enumerate(["web", f"poster:{poster}"]):
        request = queue.JobRequest(
            brand="default", guide="reseaux-sociaux", lang="fr", printer=edition.brand.printer,
            target=target, snapshot=digest, inputs=f"{number}" * 64,
            tool=manifest.tool_version(), epoch="", seconds=120, memory_mb=2000)
        assert queue.render_job(request.model_dump())["status"] == "built"
        assert store.has_outputs(request.inputs)
    assert len(extracted) == 1  # two jobs, one unpacking
    assert store.get_outputs("1" * 64).files.keys() == {
        f"poster-{poster}.pdf", f"poster-{poster}-screen.pdf"}
    # unpacked whole, under its hash, read-only: no job changes what the next one reads
    folder = unpacked / digest
    assert [path.name for path in unpacked.iterdir()] == [digest]
    assert all(not path.stat().st_mode & 0o222 for path in [folder, *folder.rglob("*")])


def test_a_worker_keeps_a_bounded_number_of_snapshots_unpacked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queue, "KEEP_UNPACKED", 2)
    store = storage.FolderStorage(tmp_path / "storage")
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    digests = [store.put_snapshot(_snapshot_with(name)) for name in ("a", "b", "c")]
    for digest in digests:
        root, meta = queue._unpacked(store, unpacked, digest)
        assert root == unpacked / digest and set(meta) == {"brand"}
    assert sorted(path.name for path in unpacked.iterdir()) == sorted(digests[1:])
    # a snapshot damaged in the storage is refused, and nothing is left unpacked for it
    damaged = _snapshot_with("d")
    digest = storage.sha256(damaged)
    (tmp_path / "storage" / "snapshots" / f"{digest}.tar.gz").write_bytes(damaged[:-5])
    with pytest.raises(storage.StorageError, match="does not match its hash"):
        queue._unpacked(store, unpacked, digest)
    assert sorted(path.name for path in unpacked.iterdir()) == sorted(digests[1:])
