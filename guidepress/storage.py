"""Content-addressed storage shared by the machines of a queue: input snapshots and outputs.

Everything is named by a sha256 hex digest, so a key names one content forever and a
reader checks what it gets against its name. `FolderStorage` is a folder, on one machine
or on a volume that several machines mount:

    <root>/snapshots/<sha256>.tar.gz     one brand's inputs (see snapshot.py)
    <root>/outputs/<inputs hash>/        one target's outputs, made by one worker
        record.json                      file names -> sha256, preflight findings, warnings
        <sha256>                         each file's bytes, named by their own digest

An outputs folder appears whole or not at all: it is written under a temporary name and
renamed into place, so a worker killed mid-job leaves no partial outputs behind. Another
store (S3-compatible, for instance) only has to provide the methods of `Storage`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from guidepress.i18n import _

DIGEST = re.compile(r"[0-9a-f]{64}")


class StorageError(Exception):
    """The storage cannot be read or written, or holds something that fails its check."""


@dataclass
class Stored:
    """One target's outputs as a worker left them."""

    files: dict[str, bytes]
    record: dict = field(default_factory=dict)  # findings, warnings, checked, seconds…


class Storage(Protocol):
    """What the queue needs from a store; keys are sha256 hex digests."""

    def put_snapshot(self, data: bytes) -> str:
        """Keep a snapshot; return its sha256."""

    def get_snapshot(self, digest: str) -> bytes:
        """Return the snapshot named `digest`, checked against it."""

    def has_outputs(self, inputs: str) -> bool:
        """True when the outputs of these inputs are stored."""

    def put_outputs(self, inputs: str, stored: Stored) -> None:
        """Keep a target's outputs, all at once; keep the first if two workers race."""

    def get_outputs(self, inputs: str) -> Stored | None:
        """Return the outputs of these inputs, each file checked, or None."""


def sha256(data: bytes) -> str:
    """The hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def _key(digest: str) -> str:
    # Keys come from Redis, which is shared: never let one become a path elsewhere.
    if not isinstance(digest, str) or not DIGEST.fullmatch(digest):
        raise StorageError(_("{value} is not a sha256 digest").format(value=repr(str(digest)[:80])))
    return digest


class FolderStorage:
    """A storage in a folder: local, or a volume shared by every machine."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.snapshots = root / "snapshots"
        self.outputs = root / "outputs"

    def __repr__(self) -> str:
        return f"FolderStorage({str(self.root)!r})"

    def put_snapshot(self, data: bytes) -> str:
        digest = sha256(data)
        path = self.snapshots / f"{digest}.tar.gz"
        if not path.is_file():
            _write_atomically(path, data)
        return digest

    def get_snapshot(self, digest: str) -> bytes:
        return _read_checked(
            self.snapshots / f"{_key(digest)}.tar.gz", digest,
            missing=_("the inputs snapshot {digest} is not in the storage {folder}").format(
                digest=digest[:12], folder=self.root),
            damaged=_("the inputs snapshot {digest} in the storage does not match its hash")
            .format(digest=digest[:12]))

    def has_outputs(self, inputs: str) -> bool:
        return (self.outputs / _key(inputs) / "record.json").is_file()

    def put_outputs(self, inputs: str, stored: Stored) -> None:
        final = self.outputs / _key(inputs)
        if final.exists():
            return
        self.outputs.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".tmp-{inputs[:12]}-", dir=self.outputs))
        try:
            names = {}
            for name, data in stored.files.items():
                digest = sha256(data)
                (staging / digest).write_bytes(data)
                names[name] = digest
            record = {**stored.record, "files": names}
            (staging / "record.json").write_text(json.dumps(record, sort_keys=True))
            for path in staging.iterdir():
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())
            staging.chmod(0o755)
            try:
                os.rename(staging, final)  # atomic; fails if another worker got there first
            except OSError:
                if not final.exists():
                    raise
        except OSError as exc:
            raise StorageError(_("cannot write to the storage {folder}: {reason}").format(
                folder=self.root, reason=exc)) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def get_outputs(self, inputs: str) -> Stored | None:
        folder = self.outputs / _key(inputs)
        try:
            record = json.loads((folder / "record.json").read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise StorageError(_("the outputs in {folder} cannot be read: {reason}").format(
                folder=folder, reason=exc)) from None
        files = {}
        for name, digest in record.pop("files", {}).items():
            files[name] = _read_checked(
                folder / _key(digest), digest,
                missing=_("the outputs in {folder} lack {name}").format(folder=folder, name=name),
                damaged=_("{name} of the outputs in {folder} does not match its hash").format(
                    name=name, folder=folder))
        return Stored(files, record)


def _read_checked(path: Path, digest: str, *, missing: str, damaged: str) -> bytes:
    """Read a content-addressed file, refusing one that is absent or not what its hash says."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StorageError(f"{missing} ({exc.strerror})") from None
    if sha256(data) != digest:
        raise StorageError(_("{problem}; it was altered or damaged").format(problem=damaged))
    return data


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def default_root() -> Path:
    """Where the storage lives when `--storage` is not given: the user's cache folder."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "guidepress" / "storage"
