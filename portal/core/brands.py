"""Brand folders of the portal, read, written and checked by the engine.

Each establishment has, under the portal's data folder, a guidepress project of its own:
`project/brands/<slug>/` (brand.yaml, logo, fonts) beside copies of the published guides,
the templates and the printer tickets. A change is written into a staging copy, checked
by `kit.prepare` exactly as `build.py check` would, and only then replaces the brand
folder. File names in the folder are fixed here; nothing a user sends names a path.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.conf import settings

from guidepress import kit, scaffold, validate
from guidepress.models import Brand
from guidepress.problems import InputError, InputErrors

from portal.core.models import Establishment, GuideVersion

LOGO_SUFFIXES = (".svg", ".png", ".jpg", ".jpeg")
FONT_STYLES = ("regular", "bold", "italic", "bold_italic")
# Fonts an establishment can pick without uploading any: (label, family, origin)
BUNDLED_FONTS = {
    "atkinson": ("Atkinson Hyperlegible", "package", "fontpkg_atkinson_hyperlegible"),
    "fira-sans": ("Fira Sans", "files", "brands/gh-port-lumiere/fonts/FiraSans"),
}


def establishment_folder(establishment: Establishment) -> Path:
    return settings.DATA / "establishments" / str(establishment.pk)


def project(establishment: Establishment) -> kit.Project:
    return kit.Project(establishment_folder(establishment) / "project")


def brand_folder(establishment: Establishment) -> Path:
    return project(establishment).root / "brands" / establishment.slug


def output_folder(establishment: Establishment) -> Path:
    """Where kit.build publishes: `<this>/<slug>/…`."""
    return establishment_folder(establishment) / "output"


def guide_folder(version: GuideVersion) -> Path:
    return settings.DATA / "guides" / version.guide / f"v{version.number}"


def latest_versions() -> dict[str, GuideVersion]:
    """The newest published version of each guide."""
    latest: dict[str, GuideVersion] = {}
    for version in GuideVersion.objects.order_by("guide", "-number"):
        latest.setdefault(version.guide, version)
    return latest


def publish_guide(guide: str, user) -> GuideVersion:  # noqa: ANN001 - a Django user
    """Copy `content/<guide>/` as its next version; the guide must pass the engine's check."""
    root = kit.Project(settings.ROOT)
    kit.check_guides(root, [guide])  # InputErrors: shown to the central editor
    source = root.root / "content" / guide
    last = GuideVersion.objects.filter(guide=guide).order_by("-number").first()
    number = last.number + 1 if last else 1
    version = GuideVersion(guide=guide, number=number, digest=tree_digest(source),
                           published_by=user)
    target = guide_folder(version)
    if target.exists():
        shutil.rmtree(target)  # left by a publication whose database write failed
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, target)
    version.save()
    return version


def tree_digest(folder: Path) -> str:
    """sha256 of the names and bytes of every file under a folder."""
    digest = hashlib.sha256()
    if folder.is_dir():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def brand_digest(establishment: Establishment) -> str:
    return tree_digest(brand_folder(establishment))


def sync_inputs(root: Path, versions: dict[str, GuideVersion]) -> None:
    """Make `root` a guidepress project: the published guides, templates, formats and
    tickets."""
    for name in ("templates", "printers", "formats"):
        _replace_tree(settings.ROOT / name, root / name)
    content = root / "content"
    if content.exists():
        shutil.rmtree(content)
    content.mkdir(parents=True)
    for guide, version in versions.items():
        shutil.copytree(guide_folder(version), content / guide)


def _replace_tree(source: Path, target: Path) -> None:
    staged = target.with_name(target.name + ".new")
    if staged.exists():
        shutil.rmtree(staged)
    shutil.copytree(source, staged)
    if target.exists():
        shutil.rmtree(target)
    staged.rename(target)


def ensure_brand(establishment: Establishment) -> None:
    """Give a new establishment the engine's starting brand folder (`new-brand`)."""
    root = project(establishment).root
    sync_inputs(root, latest_versions())
    if not brand_folder(establishment).exists():
        scaffold.new_brand(root, establishment.slug, establishment.name)


def load(establishment: Establishment) -> tuple[Brand | None, list[InputError]]:
    """The establishment's brand as the engine reads it, or its problems."""
    try:
        return validate.load_brand(project(establishment).root, establishment.slug), []
    except InputErrors as exc:
        return None, exc.errors


def raw(establishment: Establishment) -> dict:
    """brand.yaml as plain data (for the form's first values, even when it has problems)."""
    path = brand_folder(establishment) / "brand.yaml"
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}


@dataclass
class Upload:
    """An uploaded file, already bounded in size, with the name the brand folder gives it."""

    name: str
    data: bytes


@dataclass
class BrandChange:
    """A new brand.yaml and the files to put beside it."""

    data: dict
    uploads: list[Upload] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)  # files of the current folder to keep


def check_and_save(establishment: Establishment, change: BrandChange) -> list[InputError]:
    """Write the brand into a staging project, check it with `kit.prepare` (the brand, its
    files, its printer ticket, and what every published guide needs), and only if it has
    no problem make it the establishment's brand. Return the problems."""
    versions = latest_versions()
    base = establishment_folder(establishment)
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="staging-", dir=base) as staging:
        root = Path(staging)
        sync_inputs(root, versions)
        folder = root / "brands" / establishment.slug
        folder.mkdir(parents=True)
        current = brand_folder(establishment)
        for name in change.keep:
            if (current / name).is_file():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(current / name, folder / name)
        for upload in change.uploads:
            (folder / upload.name).parent.mkdir(parents=True, exist_ok=True)
            (folder / upload.name).write_bytes(upload.data)
        (folder / "brand.yaml").write_text(
            yaml.safe_dump(change.data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        try:
            kit.prepare(kit.Project(root), [establishment.slug], None,
                        guides=sorted(versions) or None)
        except InputErrors as exc:
            return exc.errors
        _swap(folder, current)
    return []


def _swap(new: Path, current: Path) -> None:
    """Put the checked folder in place of the current one (the old one is removed)."""
    current.parent.mkdir(parents=True, exist_ok=True)
    old = current.with_name(current.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if current.exists():
        current.rename(old)
    shutil.move(str(new), current)
    if old.exists():
        shutil.rmtree(old)


def logo_name(upload_name: str) -> str:
    """logo.<suffix>: the suffix of the uploaded name if it is an image type the engine
    takes (it then checks the bytes match it), else .png, which the engine will refuse
    with its own words."""
    suffix = Path(upload_name).suffix.lower()
    return "logo" + (suffix if suffix in LOGO_SUFFIXES else ".png")


def font_name(style: str, data: bytes) -> str:
    """fonts/body-<style>.<ttf|otf>, the type read from the file's first bytes."""
    return f"fonts/body-{style}." + ("otf" if data[:4] == b"OTTO" else "ttf")


def bundled_font_files(key: str) -> list[Upload]:
    """The files of a bundled font family that is not an installed package."""
    _, origin, where = BUNDLED_FONTS[key]
    if origin != "files":
        return []
    stems = {"regular": "Regular", "bold": "Bold", "italic": "Italic",
             "bold_italic": "BoldItalic"}
    uploads = []
    for style, stem in stems.items():
        path = settings.ROOT / f"{where}-{stem}.ttf"
        if path.is_file():
            uploads.append(Upload(f"fonts/body-{style}.ttf", path.read_bytes()))
    return uploads
