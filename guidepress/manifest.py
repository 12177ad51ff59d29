"""The manifest of a brand's outputs, and the inputs hash that makes rebuilds incremental.

`output/<brand>/manifest.json` lists every file of every guide (named
`<guide>/<lang>/<file>`) with its sha256, pages, profile, size,
preflight findings and the hash of the inputs it was made from. A target whose inputs
hash matches, and whose files are still there unchanged, is skipped.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from guidepress.plan import Target

MANIFEST = "manifest.json"


@lru_cache(maxsize=1)  # the code this process runs: it changes only with a new process
def tool_version() -> str:
    """The versions that shape the output: ours (with a digest of our code) and the
    libraries'. The digest makes a change to guidepress itself rebuild everything."""
    code = Digests().tree(Path(__file__).parent, "*.py")[:12]
    return "; ".join([f"guidepress {version('guidepress')}+{code}"] +
                     [f"{name} {version(name)}" for name in ("weasyprint", "pydyf", "pypdf",
                                                             "pillow", "segno")])


def file_digest(path: Path) -> str:
    """sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Digests:
    """sha256 of the input files, each read once per build: the templates and fonts that
    every target shares are not hashed again for each target. One instance lives for one
    build, so a file changed between two builds (under `watch`) is read again."""

    def __init__(self) -> None:
        self._files: dict[Path, str] = {}

    def file(self, path: Path) -> str:
        if path not in self._files:
            self._files[path] = file_digest(path)
        return self._files[path]

    def tree(self, folder: Path, pattern: str = "*") -> str:
        """One digest of every file under `folder` matching `pattern`, with its name."""
        digest = hashlib.sha256()
        if folder.is_dir():
            for path in sorted(p for p in folder.rglob(pattern) if p.is_file()):
                digest.update(f"{path.relative_to(folder)}\0{self.file(path)}\0".encode())
        return digest.hexdigest()


def inputs_hash(templates: Path, target: Target, epoch: str, digests: Digests) -> str:
    """Hash everything a target's files depend on: models, templates, assets, tool versions
    (`digests`: the files already read in this build)."""
    edition = target.edition
    brand, guide, ticket = edition.brand, edition.guide, edition.ticket
    digest = hashlib.sha256()
    fonts = [path for face in brand.fonts.families
             for path in face.files.model_dump().values() if path is not None]
    places = [brand.folder, brand.logo.file, ticket.icc_profile, *fonts]
    parts = [tool_version(), epoch, _portable(brand, places), _portable(ticket, places),
             *(["draft"] if edition.draft else []),
             digests.tree(templates), digests.tree(brand.folder / "templates"),
             digests.tree(guide.info.folder / "templates"),
             digests.file(brand.logo.file), digests.file(ticket.icc_profile)]
    parts += [digests.file(path) for path in fonts]
    # the guide's folder is left out, like the brand's: its templates are hashed above
    whole_guide = guide.model_dump_json(exclude={"posters": True, "info": {"folder"}})
    if target.web:
        parts += ["web", whole_guide]
    elif target.poster_index is None:
        parts.append(whole_guide)
    else:  # a poster in one format: the format's file counts (its size, its type scale)
        parts += [guide.lang, guide.info.model_dump_json(exclude={"folder"}),
                  guide.labels.model_dump_json(),
                  guide.meta.model_dump_json(),
                  guide.posters[target.poster_index].model_dump_json(),
                  target.format.model_dump_json() if target.format is not None else "A3"]
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _portable(model: BaseModel, paths: list[Path]) -> str:
    """A model as JSON with its files' paths reduced to their names. Their contents are
    hashed apart, so the same inputs hash the same wherever the project and the font
    packages sit: a queue's storage serves checkouts on other machines too."""
    names = {str(path): path.name for path in paths}

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return names.get(value, value) if isinstance(value, str) else value

    return json.dumps(walk(model.model_dump(mode="json")), sort_keys=True, ensure_ascii=False)


def load(brand_output: Path) -> dict:
    """Read a brand's manifest, or an empty one."""
    try:
        data = json.loads((brand_output / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"files": {}}
    return data if isinstance(data.get("files"), dict) else {"files": {}}


def up_to_date(manifest: dict, brand_output: Path, where: str, target: Target,
               inputs: str) -> bool:
    """True when every file of the target (in `<guide>/<lang>/`) is listed with these
    inputs and is unchanged."""
    for name in target.names:
        entry = manifest["files"].get(f"{where}/{name}")
        path = brand_output / where / name
        if not entry or entry.get("inputs") != inputs or not path.is_file() \
                or file_digest(path) != entry.get("sha256"):
            return False
    return True


def to_bytes(entries: dict[str, dict]) -> bytes:
    """The manifest file's bytes, stable for the same entries."""
    return (json.dumps({"tool": tool_version(), "files": dict(sorted(entries.items()))},
                       indent=2, ensure_ascii=False) + "\n").encode()
