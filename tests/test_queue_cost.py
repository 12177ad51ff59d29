"""Issue 14, point 6, the queue's fixed costs: what a queue worker does per job, counted
(never timed), and the limits and controls it must keep while doing less.

One real `build.py worker` (a script that counts its forks, jobs, renders and heartbeats
into a file) serves a real redis-server for the whole module. What a job's bounded child
does comes from the first character of the job's inputs hash: a normal render, or a
render that sleeps first, or one that asks for too much memory.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from pypdf import PdfReader
from rq import Queue
from rq.command import send_stop_job_command
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from guidepress import kit, manifest, pdf, queue, snapshot, storage, workers
from guidepress.plan import plan

ROOT = Path(__file__).resolve().parent.parent
GUIDE = "reseaux-sociaux/fr"
NORMAL, SLOW, ENDLESS, GREEDY = "1", "a", "b", "c"  # the inputs hash's first character

COST_WORKER = textwrap.dedent("""
    import json, os, sys, time
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from guidepress import kit, queue, storage, workers

    def note(*line):
        with open({calls!r}, "a") as calls:
            calls.write(json.dumps(line) + "\\n")

    os.register_at_fork(before=lambda: note("fork", os.getpid()))
    render_job, render_target = queue.render_job, kit.render_target
    heartbeats = queue.RenderWorker.maintain_heartbeats
    current = {{}}

    def job(request):  # what the worker runs for a job (RenderJob.func names it)
        current["inputs"] = request["inputs"]
        note("job", os.getpid(), request["inputs"])
        return render_job(request)

    def render(*args):  # in the job's bounded child
        note("render", os.getpid(), os.getppid(), current["inputs"])
        kind = current["inputs"][0]
        if kind == {slow!r}:
            time.sleep(4)
        elif kind == {endless!r}:
            time.sleep(600)
        elif kind == {greedy!r}:
            hog = bytearray(4000 * 2**20)
        return render_target(*args)

    def beat(self, *args):
        note("heartbeat", os.getpid())
        return heartbeats(self, *args)

    queue.render_job, kit.render_target = job, render
    queue.RenderWorker.maintain_heartbeats = beat
    note("worker", os.getpid())
    queue.run_worker({url!r}, storage.FolderStorage(Path({store!r})),
                     workers.Limits(120, 3000), heartbeat=1)
""")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> storage.FolderStorage:
    return storage.FolderStorage(tmp_path_factory.mktemp("storage"))


@pytest.fixture(scope="module")
def worker(redis_url: str, store: storage.FolderStorage,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The counting worker, in an empty folder of its own, ready (idle) when yielded."""
    import subprocess

    folder = tmp_path_factory.mktemp("machine")
    calls = folder.parent / "calls.jsonl"
    script = COST_WORKER.format(root=str(ROOT), calls=str(calls), url=redis_url,
                                store=str(store.root), slow=SLOW, endless=ENDLESS,
                                greedy=GREEDY)
    log = folder.parent / "worker.log"
    process = subprocess.Popen([sys.executable, "-c", script], cwd=folder,
                               stdout=open(log, "w"), stderr=subprocess.STDOUT)
    _wait_for(lambda: "Listening on" in log.read_text(), 120, f"the worker ({log})")
    yield {"process": process, "calls": calls, "log": log}
    process.terminate()
    process.wait(30)


def _wait_for(condition: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _calls(worker: dict, since: int = 0) -> list[list]:
    lines = worker["calls"].read_text().splitlines() if worker["calls"].exists() else []
    return [json.loads(line) for line in lines[since:]]


def _jobs(redis_url: str) -> Queue:
    return Queue(queue.QUEUE_NAME, connection=redis.Redis.from_url(redis_url),
                 serializer=JSONSerializer)


def _send(jobs: Queue, store: storage.FolderStorage, project: kit.Project,
          edition: kit.Edition, target: str, inputs: str, seconds: float = 120,
          memory_mb: int = 2000, epoch: str = "") -> Job:
    digest = store.put_snapshot(snapshot.make(project, edition, edition.brand.printer))
    request = queue.JobRequest(brand="default", guide="reseaux-sociaux", lang="fr",
                               printer=edition.brand.printer, target=target, snapshot=digest,
                               inputs=inputs, tool=manifest.tool_version(), epoch=epoch,
                               seconds=seconds, memory_mb=memory_mb)
    return jobs.enqueue(queue.RENDER_JOB, request=request.model_dump(), retry=queue.Retry(max=1),
                        job_timeout=int(seconds) + queue.MARGIN_SECONDS)


def _ended(job: Job) -> bool:
    return job.get_status(refresh=True) in (JobStatus.FINISHED, JobStatus.FAILED,
                                            JobStatus.STOPPED)


def _fetched(job: Job) -> Job:
    """The job whole, as the submitting side fetches it once ended."""
    return Job.fetch(job.id, job.connection, serializer=JSONSerializer)


def test_a_job_costs_one_fork_and_no_new_redis_connection(
        project: kit.Project, edition: kit.Edition, redis_url: str,
        store: storage.FolderStorage, worker: dict) -> None:
    """Three jobs: the worker runs each itself and forks once per job, the bounded child
    that renders (before: RQ's work horse, which forked the child in its turn: two forks a
    job, and a new Redis connection from each horse)."""
    jobs = _jobs(redis_url)
    first = _send(jobs, store, project, edition, "web", NORMAL + "0" * 63)  # the edition
    _wait_for(lambda: _ended(first), 120, "the first job")  # is prepared by this one
    connection = redis.Redis.from_url(redis_url)
    before = _calls(worker)
    connections = connection.info("stats")["total_connections_received"]
    posters = [poster.id for poster in edition.guide.posters[:2]]
    sent = [_send(jobs, store, project, edition, target, f"{NORMAL}{number}" + "0" * 62,
                  epoch="1700000000")
            for number, target in enumerate(["web", *(f"poster:{p}" for p in posters)], 1)]
    _wait_for(lambda: all(_ended(job) for job in sent), 120, "three jobs")
    assert [job.get_status() for job in sent] == [JobStatus.FINISHED] * 3
    calls = _calls(worker, len(before))
    pid = worker["process"].pid
    assert [call for call in calls if call[0] == "fork"] == [["fork", pid]] * 3
    assert [call[1] for call in calls if call[0] == "job"] == [pid] * 3  # not in a fork
    renders = [call for call in calls if call[0] == "render"]
    assert len(renders) == 3 and {parent for _, _, parent, _ in renders} == {pid}
    assert len({child for _, child, _, _ in renders} | {pid}) == 4
    # none: the worker reuses its connection for every job (the test's are open already)
    assert connection.info("stats")["total_connections_received"] - connections == 0
    # the job's date reaches the child that renders (the worker's environment is left alone)
    poster = store.get_outputs(f"{NORMAL}2" + "0" * 62).files[f"poster-{posters[0]}.pdf"]
    created = PdfReader(__import__("io").BytesIO(poster)).metadata["/CreationDate"]
    assert created.startswith(datetime.datetime.fromtimestamp(
        1700000000, datetime.timezone.utc).strftime("D:%Y%m%d")), created


def test_a_long_render_keeps_its_heartbeats(project: kit.Project, edition: kit.Edition,
                                            redis_url: str, store: storage.FolderStorage,
                                            worker: dict) -> None:
    """A render of 4 s with heartbeats every second (a job is taken as abandoned after
    about 3 s without one): the worker keeps beating while its child renders, and the
    submitter's clean-up of abandoned jobs leaves the job alone."""
    jobs = _jobs(redis_url)
    since = len(_calls(worker))
    job = _send(jobs, store, project, edition, "web", SLOW + "1" * 63)
    while not _ended(job):
        jobs.started_job_registry.cleanup()  # as the submitting side does at each poll
        time.sleep(0.2)
    assert job.get_status() == JobStatus.FINISHED
    assert store.has_outputs(SLOW + "1" * 63)
    beats = [call for call in _calls(worker, since) if call[0] == "heartbeat"]
    assert len(beats) >= 3 and {pid for _, pid in beats} == {worker["process"].pid}
    assert len([call for call in _calls(worker, since) if call[0] == "render"]) == 1


@pytest.mark.parametrize("inputs, limit, message", [
    (ENDLESS + "2" * 63, {"seconds": 2},
     "stopped after 2 s: the document took too long to lay out (tried twice)"),
    (GREEDY + "3" * 63, {"memory_mb": 1000},
     "ran out of memory: the document needed more than the memory limit of 1000 MB "
     "(raise it with --memory) (tried twice)")], ids=["time", "memory"])
def test_the_limits_still_hold(project: kit.Project, edition: kit.Edition, redis_url: str,
                               store: storage.FolderStorage, worker: dict, inputs: str,
                               limit: dict, message: str) -> None:
    job = _send(_jobs(redis_url), store, project, edition, "web", inputs, **limit)
    _wait_for(lambda: _ended(job), 60, "the job to fail")
    assert job.get_status() == JobStatus.FAILED
    assert queue._failure(_fetched(job), JobStatus.FAILED) == message
    assert worker["process"].poll() is None


def test_stopping_a_job_kills_its_child(project: kit.Project, edition: kit.Edition,
                                        redis_url: str, store: storage.FolderStorage,
                                        worker: dict) -> None:
    """What a cancelled build does to its running jobs: the child that renders is killed
    at once, the job is stopped (not retried) and the worker takes the next job."""
    jobs = _jobs(redis_url)
    since = len(_calls(worker))
    job = _send(jobs, store, project, edition, "web", ENDLESS + "4" * 63)
    _wait_for(lambda: any(call[0] == "render" for call in _calls(worker, since)), 60,
              "the render to start")
    child = next(call[1] for call in _calls(worker, since) if call[0] == "render")
    send_stop_job_command(jobs.connection, job.id, serializer=JSONSerializer)
    _wait_for(lambda: _ended(job), 20, "the job to stop")
    assert job.get_status() == JobStatus.STOPPED
    _wait_for(lambda: not Path(f"/proc/{child}").exists(), 10, "the child to be gone")
    assert not store.has_outputs(ENDLESS + "4" * 63)
    after = _send(jobs, store, project, edition, "web", NORMAL + "4" * 63)
    _wait_for(lambda: _ended(after), 60, "the next job")
    assert after.get_status() == JobStatus.FINISHED
    assert len([call for call in _calls(worker, since) if call[0] == "render"]) == 2


def test_the_submitter_warms_weasyprint_while_the_workers_render(
        project: kit.Project, edition: kit.Edition, redis_url: str,
        store: storage.FolderStorage, worker: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The brands' proof sheets are rendered by the submitting side after the last result,
    in forks of it: it warms WeasyPrint up once while the workers render, as a local build
    does before forking (before: never, and each proof sheet's fork paid for it)."""
    events: list[str] = []
    warm_up = pdf.warm_up
    monkeypatch.setattr(pdf, "warm_up", lambda: events.append("warm") or warm_up())
    target = next(t for t in plan([edition]) if queue.target_key(t) == "web")
    runner = queue.Runner(redis_url, store, say=events.append)
    results = list(runner(project, [(target, NORMAL + "5" * 63)], 1, workers.Limits()))
    assert [result.ok for result in results] == [True]
    assert events[0].startswith("queue: 1 job sent to redis://")
    assert events[1:] == ["warm"]


def test_a_worker_compiles_the_templates_two_brands_share_once(
        project: kit.Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two brands prepared by one worker, each from its own snapshot: the second compiles
    only the templates whose source differs (its own cover), and every template of its
    edition carries the path of its own snapshot, which error messages name (before: the
    second compiled all 28 again)."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from guidepress import render
    from guidepress.problems import RenderError

    store = storage.FolderStorage(tmp_path / "storage")
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    settings = queue.WorkerSettings(store, workers.Limits(120, 2000), unpacked)
    compiled: list[tuple[str, str]] = []
    original = ImmutableSandboxedEnvironment.compile
    monkeypatch.setattr(ImmutableSandboxedEnvironment, "compile", lambda self, source, name=None,
                        filename=None, *args: compiled.append((name, filename))
                        or original(self, source, name, filename, *args))
    envs, roots, counts = [], [], []
    for slug in ("default", "gh-port-lumiere"):
        edition = next(e for e in kit.prepare(project, [slug], ["fr"]) if e.where == GUIDE)
        digest = store.put_snapshot(snapshot.make(project, edition, edition.brand.printer))
        request = queue.JobRequest(brand=slug, guide="reseaux-sociaux", lang="fr",
                                   printer=edition.brand.printer, target="web", snapshot=digest,
                                   inputs="0" * 64, tool=manifest.tool_version(), epoch="",
                                   seconds=120, memory_mb=2000)
        root, meta = queue._unpacked(store, unpacked, digest)
        before = len(compiled)
        prepared = queue._prepared(settings.prepared, request, root, meta, settings.compiled)
        envs.append(prepared.env)
        roots.append(root)
        counts.append(len(compiled) - before)
    assert counts[0] >= 28
    own = [name for name, _ in compiled[counts[0]:]]
    assert own == ["partials/cover.html.j2"], own  # gh-port-lumiere's own cover
    for name in envs[1].list_templates():
        if not name.endswith(".j2"):
            continue
        template = envs[1].get_template(name)
        codes = [template.root_render_func.__code__,
                 *(block.__code__ for block in template.blocks.values())]
        assert all(Path(code.co_filename).is_relative_to(roots[1]) for code in codes), name
    brand = next(e for e in kit.prepare(kit.Project(roots[1]), ["gh-port-lumiere"], ["fr"])
                 if e.where == GUIDE).brand
    with pytest.raises(RenderError, match=r"^templates/web\.html\.j2:\d+: this template uses "
                                          r"a value that does not exist"):
        render.render_template(envs[1], "web.html.j2", brand)
