"""A snapshot of one brand's inputs, for a worker that has no checkout of the project.

It is a deterministic tar.gz archive (sorted names, no dates, no owners), so the same
inputs give the same bytes and the same sha256 on every machine. It holds the project's
templates, the guide content, the formats (`formats/`), the brand's folder (logo, font
files, template overrides), the printer ticket and its ICC profile, and `snapshot.json`,
which says where the ICC profile is and which installed font files the brand uses
(checked by their sha256 on the worker, which must have the same font packages).

Extraction is for untrusted bytes: only regular files, no absolute names, no `..`, no
links, bounded counts and sizes.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path, PurePosixPath

from guidepress.i18n import _
from guidepress.plan import Edition, Project
from guidepress.storage import sha256

META = "snapshot.json"
MAX_FILES = 5000
MAX_BYTES = 300 * 1024 * 1024


class SnapshotError(Exception):
    """A snapshot that cannot be made or that is unsafe to unpack."""


def make(project: Project, edition: Edition, printer: str) -> bytes:
    """Archive what `edition` is built from, with the ticket `printer`."""
    root = project.root.resolve()
    files: dict[str, Path] = {}
    for folder in (project.templates, root / "content", root / "formats",
                   edition.brand.folder):
        _add_tree(files, root, folder.resolve())
    files[f"printers/{printer}.yaml"] = root / "printers" / f"{printer}.yaml"
    icc = edition.ticket.icc_profile.resolve()
    printers = (root / "printers").resolve()
    icc_name = (f"printers/{icc.relative_to(printers).as_posix()}"
                if icc.is_relative_to(printers) else f"icc/{icc.name}")
    files[icc_name] = icc
    meta = {"brand": edition.brand.slug, "printer": printer, "icc": icc_name,
            "installed_fonts": installed_font_digests(edition)}
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped, \
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        _add(archive, META, json.dumps(meta, sort_keys=True).encode())
        for name in sorted(files):
            _add(archive, name, files[name].read_bytes())
    return buffer.getvalue()


def installed_font_digests(edition: Edition) -> list[str]:
    """sha256 of the brand's font files that come from installed packages, sorted."""
    folder = edition.brand.folder.resolve()
    return sorted(sha256(path.read_bytes()) for face in edition.brand.fonts.families
                  for path in face.files.model_dump().values()
                  if path is not None and not Path(path).resolve().is_relative_to(folder))


def _add_tree(files: dict[str, Path], root: Path, folder: Path) -> None:
    for path in sorted(folder.rglob("*")):
        # Links are left out: a brand folder must not carry in a file from elsewhere.
        if path.is_symlink() or not path.is_file() or any(
                part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        files[path.relative_to(root).as_posix()] = path


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0
    archive.addfile(info, io.BytesIO(data))


def extract(data: bytes, destination: Path) -> dict:
    """Unpack a snapshot into the empty folder `destination`; return its snapshot.json."""
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            members = archive.getmembers()
            if len(members) > MAX_FILES:
                raise SnapshotError(_("the snapshot holds more than {count} files").format(
                    count=MAX_FILES))
            for member in members:
                target = destination / _safe_name(member)
                total += member.size
                if total > MAX_BYTES:
                    raise SnapshotError(_("the snapshot unpacks to more than {size} MB")
                                        .format(size=MAX_BYTES // 2**20))
                target.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                with open(target, "xb") as out:  # x: a name given twice is refused
                    out.write(source.read())
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SnapshotError(_("the snapshot cannot be unpacked: {reason}").format(
            reason=exc)) from None
    try:
        meta = json.loads((destination / META).read_text())
    except (OSError, ValueError):
        raise SnapshotError(_("the snapshot has no readable {name}").format(name=META)) from None
    return meta


def _safe_name(member: tarfile.TarInfo) -> PurePosixPath:
    name = PurePosixPath(member.name)
    if not member.isreg():
        raise SnapshotError(_("the snapshot holds {name}, which is not a regular file (links "
                              "and devices are refused)").format(name=repr(member.name)))
    if name.is_absolute() or ".." in name.parts or "\\" in member.name or not name.parts \
            or name.parts[0] in ("", "."):
        raise SnapshotError(_("the snapshot holds the unsafe name {name}").format(
            name=repr(member.name)))
    return name
