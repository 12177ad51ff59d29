"""Builds on a job queue (RQ on Redis) that spreads over several machines.

This layer sits above the engine. The submitting side (`Runner`, plugged into
`kit.build`) snapshots each brand's inputs into the storage and enqueues one job per
target; a worker (`run_worker`, on any machine with the installed package) fetches the
snapshot, checks it against its hash, validates and renders the one target with the
normal engine code in a bounded child, and stores the outputs under the target's inputs
hash. The submitting side then publishes them into `output/` exactly as a local build.

Jobs are data: JSON (RQ's JSONSerializer, never pickle), and a worker runs one function
only, `render_job`, whatever a job names; so writing to Redis cannot run code on a worker.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import redis
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rq import Queue, Retry, SimpleWorker
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation
from rq.job import Job, JobStatus, get_current_job
from rq.serializers import JSONSerializer

from jinja2 import Environment
from jinja2.bccache import BytecodeCache, Bucket
from jinja2.sandbox import ImmutableSandboxedEnvironment

from guidepress import kit, manifest, pdf, render, snapshot, workers
from guidepress.i18n import _, ngettext
from guidepress.plan import Edition, Project, Target, plan
from guidepress.problems import InputError, InputErrors, RenderError
from guidepress.storage import Storage, StorageError, Stored

QUEUE_NAME = "guidepress"
RENDER_JOB = "guidepress.queue.render_job"
POLL_SECONDS = 0.1  # a poll reads the pending jobs' statuses only (see `_ended`)
MARGIN_SECONDS = 120  # fetching and unpacking the snapshot, validating, storing


class QueueError(RenderError):
    """The queue cannot be reached or used; nothing is published."""


def redact(url: str) -> str:
    """The URL with its password (and user) replaced by ***, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=f":***@{host}"))


def connect(url: str) -> redis.Redis:
    """Open the Redis of `url` and check that it answers; QueueError in plain words if not."""
    try:
        connection = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=60,
                                          health_check_interval=30)
        connection.ping()
    except ValueError as exc:
        raise QueueError(_("{url} is not a Redis address ({reason}); write it as "
                           "redis://[:password@]host:port/db").format(
                               url=redact(url), reason=_without(url, exc))) from None
    except redis.AuthenticationError:
        raise QueueError(_("the queue at {url} refused the password").format(
            url=redact(url))) from None
    except redis.RedisError as exc:
        raise QueueError(_("cannot reach the queue at {url}: {reason}; is redis-server "
                           "running there?").format(url=redact(url),
                                                    reason=_without(url, exc))) from None
    return connection


def _without(url: str, exc: BaseException) -> str:
    """An error's text with the URL's password removed, should a library quote it."""
    text = str(exc).rstrip(".")
    password = urlsplit(url).password
    return text.replace(password, "***") if password else text


def target_key(target: Target) -> str:
    """What names a target inside its edition, in a job: booklet, web, poster:<id> (A3) or
    <format>:<id>."""
    if target.web:
        return "web"
    if target.poster_index is None:
        return "booklet"
    return f"{target.stem}:{target.poster_id}"


Digest = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class JobRequest(BaseModel):
    """What one job asks a worker: a target of an edition, and where its inputs are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    brand: Name
    guide: Name
    lang: Annotated[str, Field(pattern=r"^[a-z]{2}$")]
    printer: Name
    target: Annotated[str, Field(
        pattern=r"^(booklet|web|[a-z0-9][a-z0-9-]{0,39}:[a-z0-9][a-z0-9-]{0,62})$")]
    snapshot: Digest
    inputs: Digest
    tool: Annotated[str, Field(max_length=500)]
    epoch: Annotated[str, Field(pattern=r"^[0-9]{0,12}$")]
    seconds: Annotated[float, Field(gt=0, le=86400)]
    memory_mb: Annotated[int, Field(gt=0, le=1 << 20)]
    draft: bool = False  # print PDFs carry the "not approved" watermark


class Runner:
    """Run a build's targets on the queue instead of local workers (see `kit.build`)."""

    def __init__(self, url: str, storage: Storage, printer: str | None = None,
                 reuse: bool = True, say: Callable[[str], None] | None = None) -> None:
        self.url = url
        self.storage = storage
        self.printer = printer
        self.reuse = reuse  # take outputs already in the storage (not with --force)
        self.say = say or (lambda text: print(text, file=sys.stderr, flush=True))

    def __call__(self, project: Project, to_render: list[tuple[Target, str]], jobs: int,
                 limits: workers.Limits) -> Iterator[workers.Result]:
        if not to_render:
            return
        connection = connect(self.url)
        queue = Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)
        waiting: list[tuple[int, Target, str]] = []
        for index, (target, inputs) in enumerate(to_render):
            stored = self._stored(inputs) if self.reuse else None
            if stored is None:
                waiting.append((index, target, inputs))
            else:
                yield _from_storage(index, target, stored, 0.0)
        if not waiting:
            self.say(ngettext("queue: nothing to render, {count} document taken from the "
                              "storage", "queue: nothing to render, {count} documents taken "
                              "from the storage", len(to_render)).format(count=len(to_render)))
            return
        pending = self._enqueue(project, queue, waiting, limits)
        self.say(_("queue: {sent} sent to {url}, {stored} taken from the storage").format(
            sent=ngettext("{count} job", "{count} jobs", len(pending)).format(
                count=len(pending)), url=redact(self.url),
            stored=ngettext("{count} document", "{count} documents",
                            len(to_render) - len(pending)).format(
                                count=len(to_render) - len(pending))))
        try:
            # While the workers render: the brands' proof sheets are rendered here
            # afterwards, in forks that then start warm, as a local build's do
            pdf.warm_up()
            yield from self._collect(queue, pending, {i: (t, h) for i, t, h in waiting})
        except redis.RedisError as exc:
            raise QueueError(_("lost the queue at {url}: {reason}").format(
                url=redact(self.url), reason=_without(self.url, exc))) from None
        finally:
            if pending:  # Ctrl-C, or the build stopped: take back what was not done
                _cancel(connection, list(pending))

    def _stored(self, inputs: str) -> Stored | None:
        try:
            return self.storage.get_outputs(inputs)
        except StorageError as exc:
            raise QueueError(_("{reason}; delete that folder of the storage and build again")
                             .format(reason=exc)) from None

    def _enqueue(self, project: Project, queue: Queue, waiting: list[tuple[int, Target, str]],
                 limits: workers.Limits) -> dict[str, int]:
        snapshots: dict[str, str] = {}
        epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
        datas = []
        for index, target, inputs in waiting:
            edition = target.edition
            printer = self.printer or edition.brand.printer
            key = f"{edition.brand.slug}\0{printer}"
            if key not in snapshots:
                try:
                    snapshots[key] = self.storage.put_snapshot(
                        snapshot.make(project, edition, printer))
                except (OSError, StorageError) as exc:
                    raise QueueError(_("cannot store the inputs of {brand}: {reason}").format(
                        brand=edition.brand.slug, reason=exc)) from None
            request = JobRequest(brand=edition.brand.slug, guide=edition.guide.info.slug,
                                 lang=edition.guide.lang,
                                 printer=printer, target=target_key(target),
                                 snapshot=snapshots[key], inputs=inputs,
                                 tool=manifest.tool_version(), epoch=epoch,
                                 seconds=limits.seconds, memory_mb=limits.memory_mb,
                                 draft=edition.draft)
            datas.append(Queue.prepare_data(
                RENDER_JOB, kwargs={"request": request.model_dump()},
                timeout=int(limits.seconds) + MARGIN_SECONDS, retry=Retry(max=1),
                result_ttl=24 * 3600, failure_ttl=24 * 3600, description=target.label))
        try:
            jobs = queue.enqueue_many(datas)
        except redis.RedisError as exc:
            raise QueueError(_("cannot send the jobs to {url}: {reason}").format(
                url=redact(self.url), reason=_without(self.url, exc))) from None
        return {job.id: index for job, (index, _target, _inputs) in zip(jobs, waiting)}

    def _collect(self, queue: Queue, pending: dict[str, int],
                 targets: dict[int, tuple[Target, str]]) -> Iterator[workers.Result]:
        started = time.monotonic()
        while pending:
            time.sleep(POLL_SECONDS)
            # Jobs of a worker that stopped sending heartbeats (killed, machine lost) are
            # retried once or failed here; the workers do it too, but only every few minutes.
            queue.started_job_registry.cleanup()
            ids = _ended(queue.connection, list(pending))
            for job_id, job in zip(ids, Job.fetch_many(ids, queue.connection,
                                                      serializer=JSONSerializer)):
                status = job.get_status(refresh=False) if job else None
                if status not in ENDED:
                    continue
                index = pending.pop(job_id)
                target, inputs = targets[index]
                seconds = time.monotonic() - started
                yield self._finished(index, target, inputs, job, status, seconds)

    def _finished(self, index: int, target: Target, inputs: str, job: Job | None,
                  status: JobStatus | None, seconds: float) -> workers.Result:
        if status == JobStatus.FINISHED:
            result = job.return_value() or {}
            if result.get("status") == "input":
                return workers.Result(index, input_errors=[
                    InputError(**error) for error in result.get("errors", [])],
                    seconds=seconds)
            stored = self._stored(inputs)
            if stored is None:
                return workers.Result(index, failure=_(
                    "the worker said it was done, but its outputs are not in the storage: do "
                    "the workers use the same --storage as this command?"), seconds=seconds)
            return _from_storage(index, target, stored,
                                 float(stored.record.get("seconds", seconds)))
        if job is None:
            return workers.Result(index, failure=_("the job disappeared from the queue"),
                                   seconds=seconds)
        return workers.Result(index, failure=_failure(job, status), seconds=seconds)


ENDED = (None, JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)


def _ended(connection: redis.Redis, ids: list[str]) -> list[str]:
    """The jobs of `ids` that ended (or are gone), from their status alone: one small read
    per job and poll, whatever the size of the batch; only those are fetched whole."""
    pipeline = connection.pipeline(transaction=False)
    for job_id in ids:
        pipeline.hget(Job.key_for(job_id), "status")
    ended = {None, *(status.value for status in ENDED if status is not None)}
    return [job_id for job_id, status in zip(ids, pipeline.execute())
            if (status.decode() if status is not None else None) in ended]


def _from_storage(index: int, target: Target, stored: Stored, seconds: float
                  ) -> workers.Result:
    """A worker's outputs as the local pool would have returned them."""
    unexpected = set(stored.files) - set(target.names)
    if unexpected:  # never publish a name this target does not make
        return workers.Result(index, failure=_("the storage holds unexpected files for "
                                               "{document}: {names}").format(
            document=target.label, names=", ".join(sorted(unexpected))))
    record = stored.record
    produced = kit.Produced({name: stored.files[name] for name in target.names
                             if name in stored.files},
                            list(record.get("warnings", [])),
                            [kit.preflight.Finding(*finding)
                             for finding in record.get("findings", [])],
                            list(record.get("checked", [])))
    return workers.Result(index, value=produced, seconds=seconds,
                           peak_rss_mb=float(record.get("peak_rss_mb", 0.0)))


def _failure(job: Job, status: JobStatus) -> str:
    if status == JobStatus.STOPPED:
        return _("the job was stopped on the queue")
    if status == JobStatus.CANCELED:
        return _("the job was cancelled on the queue")
    message = job.get_meta(refresh=False).get("failure")
    if message:
        return _("{reason} (tried twice)").format(reason=message)
    result = job.latest_result()
    text = (result.exc_string or "").strip() if result else ""
    if "AbandonedJobError" in text:
        return _("the worker stopped in the middle of this document twice (killed, or its "
                 "machine lost); see the workers' logs")
    return (text.splitlines() or [_("failed on the worker, without a message")])[-1]


def _cancel(connection: redis.Redis, ids: list[str]) -> None:
    """Take back the jobs of a build that stopped: queued ones are cancelled, running ones
    stopped, so that no worker keeps rendering for nobody."""
    try:
        for job in Job.fetch_many(ids, connection, serializer=JSONSerializer):
            if job is None:
                continue
            status = job.get_status(refresh=False)
            if status == JobStatus.STARTED:
                send_stop_job_command(connection, job.id, serializer=JSONSerializer)
            elif status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
                try:
                    job.cancel()
                except InvalidJobOperation:
                    pass
    except redis.RedisError:
        pass  # the queue is gone: nothing left to take back


# The worker side ------------------------------------------------------------------------

class JobFailed(Exception):
    """A job that could not produce its target; RQ retries it once."""


@dataclasses.dataclass(frozen=True)
class Prepared:
    """An edition of an unpacked snapshot, validated and typeset, with its template
    environment compiled: what every job of that edition starts from."""

    project: Project
    edition: Edition
    env: ImmutableSandboxedEnvironment


# What a prepared edition is made of: the snapshot (content-addressed: its files never
# change under a digest), and the job's fields that `kit.prepare` reads.
PreparedKey = tuple[str, str, str, str, str, bool]
KEEP_PREPARED = 16  # editions kept prepared by a worker, the least recently used dropped


@dataclasses.dataclass(frozen=True)
class WorkerSettings:
    """What a worker was started with; its forks (one per job) inherit it."""

    storage: Storage
    limits: workers.Limits
    # This worker's private folder of unpacked snapshots (see `_unpacked`)
    unpacked: Path | None = None
    # Editions prepared by the worker for earlier jobs, which the bounded child of each
    # later job inherits: a snapshot's editions are validated once per worker, not per job
    prepared: collections.OrderedDict[PreparedKey, Prepared] = dataclasses.field(
        default_factory=collections.OrderedDict, compare=False)
    # Templates compiled for the editions prepared, shared by those with the same sources
    compiled: SharedTemplates = dataclasses.field(
        default_factory=lambda: SharedTemplates(), compare=False)
    # The RQ worker that runs the jobs (None when `render_job` is called outside one)
    worker: RenderWorker | None = dataclasses.field(default=None, compare=False)


_settings: WorkerSettings | None = None


KEEP_COMPILED = 2000  # compiled templates kept by a worker, the oldest dropped


class SharedTemplates(BytecodeCache):
    """Templates compiled once per worker for all the editions it prepares: the brands of
    a batch share the project's templates, unpacked from each brand's snapshot.

    A template is found by its name and the checksum of its source (and the environment's
    options), so a compiled template cannot outlive a change of its file. Its code is
    given the file name of the snapshot it is asked for: error messages name the file
    of the brand being built, and never that of another snapshot.
    """

    def __init__(self) -> None:
        self.codes: dict[tuple, types.CodeType] = {}

    def get_bucket(self, environment: Environment, name: str, filename: str | None,
                   source: str) -> Bucket:
        key = (type(environment).__name__, environment.autoescape,
               environment.trim_blocks, environment.lstrip_blocks,
               tuple(environment.extensions), name, self.get_source_checksum(source))
        bucket = Bucket(environment, repr(key), key[-1])
        bucket.source_key = key  # type: ignore[attr-defined]
        code = self.codes.get(key)
        if code is not None:
            bucket.code = _retargeted(code, filename or "<template>")
        return bucket

    def set_bucket(self, bucket: Bucket) -> None:
        if bucket.code is not None:
            self.codes[bucket.source_key] = bucket.code  # type: ignore[attr-defined]
        while len(self.codes) > KEEP_COMPILED:
            del self.codes[next(iter(self.codes))]


def _retargeted(code: types.CodeType, filename: str) -> types.CodeType:
    """`code` (a compiled template, its blocks and macros) as if compiled from `filename`."""
    if code.co_filename == filename:
        return code
    return code.replace(co_filename=filename, co_consts=tuple(
        _retargeted(const, filename) if isinstance(const, types.CodeType) else const
        for const in code.co_consts))


class RenderJob(Job):
    """A job that can only call `render_job`, and no callback, whatever Redis says."""

    @property
    def func(self) -> Callable[..., Any]:
        if self.func_name != RENDER_JOB:
            raise JobFailed(_("refused: this worker runs {allowed} only, not {asked}").format(
                allowed=RENDER_JOB, asked=repr(str(self.func_name)[:80])))
        return render_job

    @property
    def success_callback(self) -> None:
        return None

    @property
    def failure_callback(self) -> None:
        return None

    @property
    def stopped_callback(self) -> None:
        return None


class RenderWorker(SimpleWorker):
    """An RQ worker with one fork per job: `render_job` runs in this process (no RQ work
    horse), checks the job and prepares its edition (kept for the later jobs of that
    edition), and forks the bounded child that renders (`workers.run`, with its time and
    memory limits). A fork of RQ's own for each job would cost a second fork, copied pages
    and a new Redis connection per job, and keep nothing prepared.

    While the child renders, this process sends the heartbeats, of a chosen period: a job
    whose worker misses about three of them is taken as abandoned and retried elsewhere.
    Stopping the job (`send_stop_job_command`, a cancelled build) kills the child.
    """

    children: tuple[int, ...] = ()  # the bounded child of the running job, if any

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        period = self.job_monitoring_interval
        remaining = (job.timeout - working_time) if job.timeout and job.timeout > 0 else period
        return int(max(1, min(remaining, period))) + 2 * period

    def kill_horse(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Stop the running job: called by RQ, from its thread of commands, for a stopped
        job, or on a forced shutdown."""
        for pid in self.children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it had just ended

    def watching(self, job: Job) -> Callable[[list[int]], None]:
        """What `workers.run` calls while the job's child runs: note the child (to stop it
        on request) and send the heartbeats that are due."""
        beaten = time.monotonic()

        def watch(pids: list[int]) -> None:
            nonlocal beaten
            self.children = tuple(pids)
            if time.monotonic() - beaten >= self.job_monitoring_interval:
                beaten = time.monotonic()
                execution = next((execution for execution in self.executions.values()
                                  if execution.job_id == job.id), None)
                if execution is not None:
                    self.maintain_heartbeats(job, execution)
        return watch


def render_job(request: dict) -> dict:
    """Render one target in this worker: fetch and check the snapshot, validate, render in a
    bounded child, store the outputs under the inputs hash. Runs in the worker's process
    (see `RenderWorker`); only the bounded child renders."""
    settings = _settings
    if settings is None:
        raise JobFailed(_("this process is not a guidepress worker"))
    try:
        job = JobRequest.model_validate(request)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _failed(_("refused a malformed job: {count} problems, the first: {where}: "
                        "{problem}").format(count=exc.error_count(), where=first["loc"],
                                            problem=first["msg"])) from None
    if settings.storage.has_outputs(job.inputs):
        return {"status": "stored"}  # another worker made it meanwhile
    if job.tool != manifest.tool_version():
        mine, theirs = manifest.tool_version().split("; "), job.tool.split("; ")
        differ = [f"{here} here, {there} there" for here, there in zip(mine, theirs)
                  if here != there] or [f"{job.tool[:200]} there"]
        raise _failed(_("this worker's versions differ from those the build was prepared "
                        "with: {differences}; install the same version everywhere").format(
                            differences=", ".join(differ)))
    try:
        if settings.unpacked is None:
            with tempfile.TemporaryDirectory(prefix=f"{JOB_FOLDER}{os.getpid()}-") as folder:
                meta = snapshot.extract(settings.storage.get_snapshot(job.snapshot),
                                        Path(folder))
                # a folder of this job only: nothing prepared from it is kept
                result = _render(job, meta, Path(folder), settings.limits,
                                 collections.OrderedDict(), None, _watch(settings))
        else:
            root, meta = _unpacked(settings.storage, settings.unpacked, job.snapshot)
            result = _render(job, meta, root, settings.limits, settings.prepared,
                             settings.compiled, _watch(settings))
    except (StorageError, snapshot.SnapshotError) as exc:
        raise _failed(str(exc)) from None
    if result.input_errors:
        return {"status": "input",
                "errors": [dataclasses.asdict(error) for error in result.input_errors]}
    if result.failure:
        raise _failed(result.failure)
    produced = result.value
    try:
        settings.storage.put_outputs(job.inputs, Stored(produced.files, {
            "warnings": produced.warnings,
            "findings": [[f.level, f.subject, f.message] for f in produced.findings],
            "checked": produced.checked, "seconds": round(result.seconds, 3),
            "peak_rss_mb": round(result.peak_rss_mb, 1)}))
    except StorageError as exc:
        raise _failed(str(exc)) from None
    return {"status": "built", "seconds": round(result.seconds, 3)}


def _watch(settings: WorkerSettings) -> Callable[[list[int]], None] | None:
    """The heartbeats and the stop of the running job, when run by a worker."""
    job = get_current_job()
    if settings.worker is None or job is None:
        return None
    return settings.worker.watching(job)


def _prepared(memo: collections.OrderedDict[PreparedKey, Prepared], job: JobRequest,
              root: Path, meta: dict, compiled: SharedTemplates | None = None
              ) -> Prepared | list[InputError]:
    """The job's edition from the snapshot unpacked at `root`: validated and its templates
    compiled once per worker (kept in `memo`, bounded; a template another edition
    compiled already is taken from `compiled`), or its input errors.

    The key holds the snapshot's digest, and `root` is the worker's folder named by it,
    read-only and unpacked again from checked bytes if it was dropped: a prepared edition
    cannot outlive a change of the files it was read from.
    """
    if meta.get("brand") != job.brand or meta.get("printer") != job.printer:
        raise snapshot.SnapshotError(_("the snapshot is not the one of this job's brand"))
    icc = (root / str(meta.get("icc", ""))).resolve()
    if not icc.is_relative_to(root.resolve()) or not icc.is_file():
        raise snapshot.SnapshotError(_("the snapshot lacks the printer's ICC profile"))
    key = (job.snapshot, job.brand, job.guide, job.lang, job.printer, job.draft)
    if key in memo:
        memo.move_to_end(key)
        return memo[key]
    project = Project(root)
    try:
        editions = kit.prepare(project, [job.brand], [job.lang], job.printer, [job.guide],
                               job.draft)
    except InputErrors as exc:
        return exc.errors
    # The profile the submitter hashed, from the snapshot, whatever this machine has.
    edition = dataclasses.replace(editions[0], ticket=editions[0].ticket.model_copy(
        update={"icc_profile": icc}))
    env = render.template_environment(project.templates, edition.brand,
                                      edition.guide.info.folder)
    env.bytecode_cache = compiled
    try:
        render.compile_templates(env, project.templates, edition.brand)
    except InputErrors:
        pass  # the job's render reports it, by file and line, as a local build does
    memo[key] = Prepared(project, edition, env)
    while len(memo) > KEEP_PREPARED:
        memo.popitem(last=False)
    return memo[key]


KEEP_UNPACKED = 8  # snapshots kept unpacked by a worker: a batch's jobs come brand by brand


def _unpacked(storage: Storage, folder: Path, digest: str) -> tuple[Path, dict]:
    """The snapshot `digest` unpacked in the worker's private `folder`, once per worker
    rather than once per job (a brand's jobs share one snapshot).

    It is unpacked only from bytes checked against the digest, into a folder named by it
    and made read-only; the folder appears whole (renamed into place) or not at all, so a
    job killed while unpacking leaves nothing another job would take for a snapshot.
    """
    root = folder / digest
    if not root.is_dir():
        staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=folder))
        try:
            snapshot.extract(storage.get_snapshot(digest), staging)
            _read_only(staging)
            os.rename(staging, root)
        finally:
            if staging.exists():
                _remove(staging)
        others = sorted((path for path in folder.iterdir()
                         if path.name != digest and not path.name.startswith(".")),
                        key=lambda path: path.stat().st_mtime)
        for old in others[:max(0, len(others) - (KEEP_UNPACKED - 1))]:
            _remove(old)  # the least recently used
    os.utime(root)  # the most recently used are kept
    meta = json.loads((root / snapshot.META).read_text())
    return root, meta


def _read_only(folder: Path) -> None:
    """Make an unpacked snapshot read-only: no job can change what the next one reads."""
    for path in sorted(folder.rglob("*"), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    folder.chmod(0o555)


def _remove(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(folder, ignore_errors=True)


def _render(job: JobRequest, meta: dict, root: Path, caps: workers.Limits,
            memo: collections.OrderedDict[PreparedKey, Prepared],
            compiled: SharedTemplates | None = None,
            watch: Callable[[list[int]], None] | None = None) -> workers.Result:
    """Render the job's target from the snapshot unpacked at `root`, in a bounded child;
    the edition comes from `memo` when the worker prepared it already."""
    prepared = _prepared(memo, job, root, meta, compiled)
    if isinstance(prepared, list):
        return workers.Result(0, input_errors=prepared)
    project, edition = prepared.project, prepared.edition
    # Read again for each job: the font packages of this machine may change
    if snapshot.installed_font_digests(edition) != meta.get("installed_fonts"):
        return workers.Result(0, failure=_("the brand's installed font files differ on this "
                                           "worker; install the same font packages everywhere"))
    target = next((t for t in plan([edition]) if target_key(t) == job.target), None)
    if target is None:
        return workers.Result(0, failure=f"{job.brand}/{job.guide}/{job.lang} has no "
                              f"{job.target}")
    limits = workers.Limits(min(job.seconds, caps.seconds), min(job.memory_mb, caps.memory_mb))
    return next(workers.run([functools.partial(kit.render_target, project, target,
                                               prepared.env)], 1,
                            limits, initializer=functools.partial(_in_child, job.epoch),
                            labels=[target.label], watch=watch))


def _in_child(epoch: str) -> None:
    """The bounded child's own set-up: the job's date (the worker's environment is left
    alone) and a font configuration of its own."""
    if epoch:
        os.environ["SOURCE_DATE_EPOCH"] = epoch
    else:
        os.environ.pop("SOURCE_DATE_EPOCH", None)
    pdf.fresh_font_configuration()


JOB_FOLDER = "guidepress-job-"  # + the work horse's PID + "-" + a random part


def remove_stale_job_folders(folder: Path | None = None) -> list[Path]:
    """Delete the job folders whose work horse is gone (killed with SIGKILL, it could
    not clean up); a folder of a process still running is left alone."""
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob(f"{JOB_FOLDER}*-*"):
        pid = path.name[len(JOB_FOLDER):].split("-", 1)[0]
        if not pid.isdigit() or not path.is_dir() or path.is_symlink() or _alive(int(pid)):
            continue
        _remove(path)  # it may hold read-only unpacked snapshots
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _failed(message: str) -> JobFailed:
    """A failure whose words reach the submitter's summary (kept in the job's meta)."""
    job = get_current_job()
    if job is not None:
        job.meta["failure"] = message
        job.save_meta()
    return JobFailed(message)


def run_worker(url: str, storage: Storage, limits: workers.Limits, heartbeat: float = 10,
               burst: bool = False) -> int:
    """Take jobs from the queue until stopped (or, with `burst`, until it is empty)."""
    global _settings
    connection = connect(url)
    removed = remove_stale_job_folders()
    pdf.warm_up()  # each job's fork inherits WeasyPrint's caches
    # Named like a job folder of this process: removed when it ends, or by the next worker
    # on this machine if it is killed
    unpacked = Path(tempfile.mkdtemp(prefix=f"{JOB_FOLDER}{os.getpid()}-snapshots-"))
    manifest.tool_version()  # the version of the code loaded now, which every fork inherits
    worker = RenderWorker([QUEUE_NAME], connection=connection, serializer=JSONSerializer,
                          job_class=RenderJob, job_monitoring_interval=max(1, int(heartbeat)))
    _settings = WorkerSettings(storage, limits, unpacked, worker=worker)
    print(_("guidepress worker {name}: queue {queue} on {url}, storage {storage}").format(
        name=worker.name, queue=QUEUE_NAME, url=redact(url), storage=repr(storage)),
        file=sys.stderr, flush=True)
    if removed:
        print(ngettext("removed {count} folder left in {folder} by a worker that was killed",
                       "removed {count} folders left in {folder} by workers that were killed",
                       len(removed)).format(count=len(removed), folder=tempfile.gettempdir()),
              file=sys.stderr, flush=True)
    try:
        worker.work(burst=burst, logging_level="INFO")
    except redis.RedisError as exc:
        raise QueueError(_("lost the queue at {url}: {reason}").format(
            url=redact(url), reason=_without(url, exc))) from None
    finally:
        _remove(unpacked)
    return 0
