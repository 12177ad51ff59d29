"""Builds on the job queue: a real redis-server, two `build.py worker` processes each in an
empty folder (as if on two machines), and the same batch built locally to compare with.

One batch of 6 establishments (French, three sections and two posters, to keep the time
down) goes through the queue once, with one worker killed (kill -9) in the middle of a
booklet; the tests then look at what it left.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from conftest import TODAY, free_port, running_redis
from guidepress import kit, queue, scaffold, snapshot, storage

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "pw-Zq81vXk"
BRANDS = ["default", "gh-port-lumiere", "chu-amont", "ch-aval", "clinique-est",
          "hopital-ouest"]
BUILD = [sys.executable, str(ROOT / "build.py")]
GUIDE = "reseaux-sociaux"



@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of our own on a free port, with a password, gone after the tests."""
    yield from running_redis(tmp_path_factory.mktemp("redis"), PASSWORD)


@pytest.fixture(scope="module")
def batch_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project with 6 establishments, three sections and two posters."""
    root = tmp_path_factory.mktemp("project")
    for name in ("content", "brands", "templates", "printers", "formats"):
        shutil.copytree(ROOT / name, root / name)
    shutil.rmtree(root / "content/photos-videos")  # one guide: the social-networks one
    for brand in ("default", "gh-port-lumiere"):  # the other guide is at the end of the file
        path = root / "brands" / brand / "brand.yaml"
        text = path.read_text(encoding="utf-8")
        path.write_text(text[:text.index("  photos-videos:\n")], encoding="utf-8")
    for slug in BRANDS[2:]:
        scaffold.new_brand(root, slug, f"Centre hospitalier {slug.split('-')[-1].title()}")
    for posters in root.glob("content/**/posters.yaml"):
        text = posters.read_text(encoding="utf-8")
        items = re.split(r"(?m)^(?=  - id: )", text)
        posters.write_text(items[0] + items[1] + items[-1], encoding="utf-8")  # 2 posters
    for sections in root.glob("content/**/sections"):  # a shorter booklet
        for path in sorted(sections.glob("*.yaml"))[3:]:
            path.unlink()
    return root


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("storage")


@pytest.fixture(scope="module")
def worker_logs(redis_url: str, store: Path, tmp_path_factory: pytest.TempPathFactory):
    """Two workers, each with its current folder in an empty temporary folder."""
    started = {}
    for name in ("one", "two"):
        folder = tmp_path_factory.mktemp(f"machine-{name}")
        log = folder.parent / f"worker-{name}.log"
        process = subprocess.Popen([*BUILD, "worker", "--queue", redis_url, "--storage",
                                    str(store), "--heartbeat", "1"], cwd=folder,
                                   stdout=open(log, "w"), stderr=subprocess.STDOUT,
                                   start_new_session=True)
        started[name] = (process, log)
    for process, log in started.values():
        _wait_for(lambda: "Listening on" in log.read_text(), 60, f"worker {log}")
    yield started
    for process, _ in started.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process, _ in started.values():
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            _kill_tree(process.pid)


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _tree(pid: int) -> list[int]:
    """A process and all its descendants (the worker and a job's bounded child)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found += _tree(int(child))
    return found


def _kill_tree(pid: int) -> list[int]:
    pids = _tree(pid)
    for each in pids:
        try:
            os.kill(each, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


def _submit(project: Path, output: Path, *extra: str) -> list[str]:
    return [*BUILD, "--project", str(project), "--lang", "fr", "--all-brands", "--output",
            str(output), *extra]


@pytest.fixture(scope="module")
def local_build(batch_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("local")
    outcome = kit.build(kit.Project(batch_project), BRANDS, ["fr"], output, jobs=2,
                        today=TODAY)
    assert outcome.problems == [] and outcome.built == 6 * 4
    return output


@pytest.fixture(scope="module")
def queued(batch_project: Path, local_build: Path, redis_url: str, store: Path,
           worker_logs, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The batch through the queue, with one worker killed (kill -9) mid-booklet."""
    output = tmp_path_factory.mktemp("queued")
    started = time.monotonic()
    submitter = subprocess.Popen(_submit(batch_project, output, "--queue", redis_url,
                                         "--storage", str(store)),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The worker that starts the 4th booklet is killed: late enough that both workers
    # shared most of the batch, early enough that the job is mid-render.
    booklet = re.compile(r"guidepress: \S+/fr booklet \(([0-9a-f-]+)\)")
    seen: set[str] = set()
    victim = None
    while victim is None:
        assert submitter.poll() is None, submitter.communicate()
        for name, (process, log) in worker_logs.items():
            for job_id in booklet.findall(log.read_text()):
                if job_id not in seen:
                    seen.add(job_id)
                    if len(seen) >= 4:
                        victim = (name, process, job_id)
        time.sleep(0.05)
    name, process, job_id = victim
    _wait_for(lambda: len(_tree(process.pid)) >= 2, 30, "the job's bounded child")
    killed = _kill_tree(process.pid)
    stdout, stderr = submitter.communicate(timeout=600)
    return {"output": output, "code": submitter.returncode, "stdout": stdout,
            "stderr": stderr, "killed": name, "killed_pids": killed, "job": job_id,
            "seconds": time.monotonic() - started}


def _documents(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.suffix in (".pdf", ".html")
            and len(path.relative_to(folder).parts) > 2}  # not the proof or library page


def test_batch_through_the_queue_is_byte_identical_to_the_local_build(queued, local_build):
    assert queued["code"] == 0, queued["stderr"]
    local, remote = _documents(local_build), _documents(queued["output"])
    assert len(local) == 6 * (3 + 2 * 2 + 1)  # booklet: 3 PDFs, 2 posters: 2 each, web page
    assert sorted(remote) == sorted(local)
    assert [name for name in local if local[name] != remote[name]] == []
    assert "queue: 24 jobs sent to redis://:***@127.0.0.1:" in queued["stderr"]
    assert ("summary: documents in this run 24, built 24, up to date (not rebuilt) 0, failed 0"
            in queued["stdout"])
    print(f"queue batch with a kill -9: {queued['seconds']:.1f} s")


def test_a_worker_killed_mid_job_has_its_job_retried_on_the_other(queued, worker_logs):
    other = "two" if queued["killed"] == "one" else "one"
    killed_log = worker_logs[queued["killed"]][1].read_text()
    other_log = worker_logs[other][1].read_text()
    job = queued["job"]
    assert len(queued["killed_pids"]) >= 2  # the worker and the job's bounded child
    assert f"Job OK ({job})" not in killed_log  # killed before it could finish
    assert re.search(rf"guidepress: \S+/fr booklet \({job}\)", other_log)
    assert f"Job OK ({job})" in other_log


def test_storage_holds_only_whole_outputs(queued, store: Path):
    folders = sorted((store / "outputs").iterdir())
    assert len(folders) == 24 and not [f for f in folders if f.name.startswith(".tmp")]
    shared = storage.FolderStorage(store)
    for folder in folders:
        stored = shared.get_outputs(folder.name)
        assert stored is not None and stored.files


def test_a_second_identical_batch_renders_nothing(queued, batch_project: Path,
                                                  redis_url: str, store: Path,
                                                  tmp_path: Path):
    connection = redis.Redis.from_url(redis_url)
    jobs_before = len(connection.keys("rq:job:*"))
    result = subprocess.run(_submit(batch_project, tmp_path / "output", "--queue",
                                    redis_url, "--storage", str(store)),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "queue: nothing to render, 24 documents taken from the storage" in result.stderr
    assert len(connection.keys("rq:job:*")) == jobs_before  # not even enqueued
    first, second = _documents(queued["output"]), _documents(tmp_path / "output")
    assert first == second


def test_a_job_is_json_naming_the_target_and_the_inputs_hash(queued, redis_url: str):
    connection = redis.Redis.from_url(redis_url)
    raw = connection.hget(f"rq:job:{queued['job']}", "data")
    payload = json.loads(zlib.decompress(raw))  # JSON, not pickle
    print(json.dumps(payload, indent=1))
    function, instance, args, kwargs = payload
    assert function == "guidepress.queue.render_job" and instance is None and args == []
    request = kwargs["request"]
    assert request["lang"] == "fr" and request["target"] == "booklet"
    assert request["brand"] in BRANDS
    assert re.fullmatch(r"[0-9a-f]{64}", request["snapshot"])
    assert re.fullmatch(r"[0-9a-f]{64}", request["inputs"])


def test_the_password_is_never_printed(queued, worker_logs):
    for text in (queued["stdout"], queued["stderr"],
                 *(log.read_text() for _, log in worker_logs.values())):
        assert PASSWORD not in text
    assert "redis://:***@127.0.0.1:" in worker_logs["two"][1].read_text()


def test_a_job_naming_another_function_is_refused(queued, redis_url: str):
    """Anyone who can write to Redis cannot make a worker run code of their choosing."""
    connection = redis.Redis.from_url(redis_url)
    jobs = Queue(queue.QUEUE_NAME, connection=connection, serializer=JSONSerializer)
    marker = Path(f"/tmp/guidepress-pwned-{os.getpid()}")
    evil = jobs.enqueue("os.system", f"touch {marker}")
    malformed = jobs.enqueue(queue.RENDER_JOB, request={"brand": "../../etc", "lang": "fr"})
    for job in (evil, malformed):
        _wait_for(lambda: job.get_status() == JobStatus.FAILED, 60, "the job to fail")
    assert not marker.exists()
    assert ("refused: this worker runs guidepress.queue.render_job only, not 'os.system'"
            in evil.latest_result().exc_string)
    assert ("refused a malformed job: 10 problems, the first: ('brand',): String should match "
            "pattern" in malformed.latest_result().exc_string)


def test_a_job_that_fails_twice_fails_alone(batch_project: Path, queued, redis_url: str,
                                            store: Path, tmp_path: Path):
    """A brand whose snapshot never reaches the storage: its jobs fail (twice each), with
    the reason in the outcome; the other brands, already in the storage, are published."""
    scaffold.new_brand(batch_project, "ch-perdu", "Centre hospitalier Perdu")

    class Forgetful(storage.FolderStorage):
        def put_snapshot(self, data: bytes) -> str:
            if b"brands/ch-perdu/" in zlib.decompressobj(31).decompress(data):
                return storage.sha256(data)  # says it kept it, but did not
            return super().put_snapshot(data)

    runner = queue.Runner(redis_url, Forgetful(store), say=lambda text: None)
    try:
        outcome = kit.build(kit.Project(batch_project), [*BRANDS, "ch-perdu"], ["fr"],
                            tmp_path, today=TODAY, runner=runner)
    finally:
        shutil.rmtree(batch_project / "brands" / "ch-perdu")
    failed = {problem.where: problem.message for problem in outcome.problems}
    assert sorted(failed) == [f"ch-perdu/{GUIDE}/fr booklet",
                              f"ch-perdu/{GUIDE}/fr poster qui-prevenir",
                              f"ch-perdu/{GUIDE}/fr poster stade", f"ch-perdu/{GUIDE}/fr web page"]
    assert re.fullmatch(r"the inputs snapshot [0-9a-f]{12} is not in the storage \S+ "
                        r"\(No such file or directory\) \(tried twice\)",
                        failed[f"ch-perdu/{GUIDE}/fr booklet"])
    assert outcome.built == 24
    assert len(_documents(tmp_path)) == 6 * 8
    assert not (tmp_path / "ch-perdu" / GUIDE / "fr").exists()


def test_ctrl_c_cancels_the_queued_jobs(batch_project: Path, queued, redis_url: str,
                                        store: Path, tmp_path: Path):
    log = tmp_path / "submitter.log"
    # Another date, so other inputs hashes: jobs that render, not outputs already stored
    # (which a worker answers at once, before the Ctrl-C could find them queued)
    submitter = subprocess.Popen(_submit(batch_project, tmp_path / "output", "--queue",
                                         redis_url, "--storage", str(store), "--force"),
                                 stdout=subprocess.DEVNULL, stderr=open(log, "w"), text=True,
                                 env={**os.environ, "SOURCE_DATE_EPOCH": "1600000000"})
    connection = redis.Redis.from_url(redis_url)
    jobs = Queue(queue.QUEUE_NAME, connection=connection, serializer=JSONSerializer)
    _wait_for(lambda: "queue: 24 jobs sent" in log.read_text(), 120, "the jobs to be sent")
    submitter.send_signal(signal.SIGINT)
    submitter.wait(60)
    stderr = log.read_text()
    assert submitter.returncode == 130
    assert "interrupted: every brand not yet published keeps its previous files" in stderr
    assert "jobs were cancelled" in stderr
    assert "Traceback" not in stderr
    assert jobs.count == 0
    assert len(jobs.canceled_job_registry) >= 10
    _wait_for(lambda: len(jobs.started_job_registry) == 0, 30, "running jobs to stop")
    assert not (tmp_path / "output" / "default" / GUIDE / "fr").exists()


def test_an_unreachable_queue_is_a_clear_error(batch_project: Path, tmp_path: Path):
    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    result = subprocess.run(_submit(batch_project, tmp_path / "output", "--queue", url,
                                    "--force"), capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert re.search(r"could not produce the documents; nothing was written: cannot reach "
                     r"the queue at redis://:\*\*\*@127\.0\.0\.1:\d+/0: .*Connection "
                     r"refused; is redis-server running there\?", result.stderr)
    assert PASSWORD not in result.stderr + result.stdout and "Traceback" not in result.stderr
    assert not (tmp_path / "output").exists()
    worker = subprocess.run([*BUILD, "worker", "--queue", url], capture_output=True,
                            text=True, cwd=tmp_path, timeout=60)
    assert worker.returncode == 1 and "the worker cannot start: cannot reach" in worker.stderr
    assert PASSWORD not in worker.stderr and "Traceback" not in worker.stderr
    usage = subprocess.run([*BUILD, "--queue", "http://example.org"], capture_output=True,
                           text=True, timeout=60)
    assert usage.returncode == 2 and "--queue: give the queue's address" in usage.stderr


def test_redact_hides_user_and_password():
    assert queue.redact("redis://user:secret@host:6379/0") == "redis://:***@host:6379/0"
    assert queue.redact("redis://host:6379/0") == "redis://host:6379/0"


def test_a_snapshot_is_deterministic_and_unpacks_safely(batch_project: Path, tmp_path: Path):
    project = kit.Project(batch_project)
    (edition,) = kit.prepare(project, ["gh-port-lumiere"], ["fr"])
    first = snapshot.make(project, edition, "default")
    assert snapshot.make(project, edition, "default") == first
    meta = snapshot.extract(first, tmp_path / "a")
    icc = edition.ticket.icc_profile.resolve()
    inside = icc.relative_to((batch_project / "printers").resolve()).as_posix()
    assert meta["icc"] == f"printers/{inside}" and meta["brand"] == "gh-port-lumiere"
    assert (tmp_path / "a" / meta["icc"]).read_bytes() == icc.read_bytes()
    assert (tmp_path / "a/brands/gh-port-lumiere/brand.yaml").is_file()
    assert (tmp_path / "a/printers/default.yaml").is_file()
    assert not (tmp_path / "a/brands/default").exists()  # only this brand's folder
    # a ticket naming a system profile: the profile travels in the snapshot all the same
    (system,) = kit.prepare(project, ["gh-port-lumiere"], ["fr"], "ghostscript")
    meta = snapshot.extract(snapshot.make(project, system, "ghostscript"), tmp_path / "b")
    assert meta["icc"] == "icc/default_cmyk.icc"
    assert (tmp_path / "b/icc/default_cmyk.icc").read_bytes() == \
        Path("/usr/share/color/icc/ghostscript/default_cmyk.icc").read_bytes()


@pytest.mark.parametrize("name, kind, message", [
    ("../escape.txt", "file", "unsafe name '../escape.txt'"),
    ("/etc/evil", "file", "unsafe name '/etc/evil'"),
    ("link", "symlink", "'link', which is not a regular file"),
    ("hard", "hardlink", "'hard', which is not a regular file"),
])
def test_an_unsafe_snapshot_is_refused(tmp_path: Path, name: str, kind: str, message: str):
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(name)
        if kind == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        elif kind == "hardlink":
            info.type, info.linkname = tarfile.LNKTYPE, "/etc/passwd"
        archive.addfile(info, io.BytesIO(b""))
    with pytest.raises(snapshot.SnapshotError, match=re.escape(message)):
        snapshot.extract(buffer.getvalue(), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_storage_checks_what_it_returns(tmp_path: Path):
    shared = storage.FolderStorage(tmp_path)
    digest = shared.put_snapshot(b"inputs")
    (tmp_path / "snapshots" / f"{digest}.tar.gz").write_bytes(b"tampered")
    with pytest.raises(storage.StorageError, match="does not match its hash"):
        shared.get_snapshot(digest)
    with pytest.raises(storage.StorageError, match="is not a sha256 digest"):
        shared.get_snapshot("../../etc/passwd")
    inputs = "a" * 64
    shared.put_outputs(inputs, storage.Stored({"web/index.html": b"<html>"}, {"seconds": 1}))
    shared.put_outputs(inputs, storage.Stored({"web/index.html": b"other"}))  # first stays
    assert shared.get_outputs(inputs).files == {"web/index.html": b"<html>"}
    assert [p.name for p in (tmp_path / "outputs").iterdir()] == [inputs]


def test_damaged_outputs_in_the_storage_are_a_clear_error(tmp_path: Path):
    shared = storage.FolderStorage(tmp_path)
    inputs = "b" * 64
    shared.put_outputs(inputs, storage.Stored({"web/index.html": b"<html>"}))
    (tmp_path / "outputs" / inputs / storage.sha256(b"<html>")).write_bytes(b"<evil>")
    runner = queue.Runner("redis://127.0.0.1:1/0", shared)
    with pytest.raises(queue.QueueError) as error:
        runner._stored(inputs)
    assert str(error.value) == (f"web/index.html of the outputs in {tmp_path}/outputs/{inputs} "
                                "does not match its hash; it was altered or damaged; delete "
                                "that folder of the storage and build again")


def test_the_inputs_hash_does_not_depend_on_where_the_project_is(tmp_path: Path):
    """Two checkouts in different folders share one storage: same inputs, same hash."""
    from guidepress import manifest
    from guidepress.plan import plan

    hashes = []
    for place in ("here", "elsewhere/deeper"):
        root = tmp_path / place
        for name in ("content", "brands", "templates", "printers", "formats"):
            shutil.copytree(ROOT / name, root / name)
        project = kit.Project(root)
        editions = kit.prepare(project, ["gh-port-lumiere"], ["fr"])
        hashes.append([manifest.inputs_hash(project.templates, target, "", manifest.Digests())
                       for target in plan(editions)])
    assert hashes[0] == hashes[1] and len(set(hashes[0])) == len(hashes[0])
