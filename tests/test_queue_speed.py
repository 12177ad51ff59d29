"""Issue 14, point 6, the queue's half: what a queue worker does once per snapshot rather
than once per job, and the YAML read by libyaml's C parser, counted (never timed)."""

from __future__ import annotations

import collections
import gc
import json
import random
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import redis
from rq import Queue
from rq.serializers import JSONSerializer

from guidepress import kit, load, manifest, queue, snapshot, storage, workers
from guidepress.problems import InputErrors

ROOT = Path(__file__).resolve().parent.parent
GUIDE = "reseaux-sociaux/fr"

# A `build.py worker` in burst mode whose kit.prepare and template compiling write one
# line per call (with the process's PID) to a file: the work horses are forks, so a
# counter in memory would not come back.
COUNTING_WORKER = textwrap.dedent("""
    import json, os, sys
    sys.path.insert(0, {root!r})
    from guidepress import kit, queue, render, storage, workers

    def counted(name, function):
        def call(*args, **kwargs):
            with open({calls!r}, "a") as calls:
                calls.write(json.dumps([name, os.getpid()]) + "\\n")
            return function(*args, **kwargs)
        return call

    kit.prepare = counted("prepare", kit.prepare)
    render.compile_templates = counted("compile", render.compile_templates)
    render_job, render_target = queue.render_job, kit.render_target

    def job(request):  # what the worker runs for a job (RenderJob.func names it)
        with open({calls!r}, "a") as calls:
            calls.write(json.dumps(["job", os.getpid()]) + "\\n")
        return render_job(request)

    def render(*args):  # in the job's bounded child
        import gc
        with open({calls!r}, "a") as calls:
            calls.write(json.dumps(["render", os.getpid(), os.getppid(),
                                    gc.get_freeze_count()]) + "\\n")
        return render_target(*args)

    queue.render_job, kit.render_target = job, render
    with open({calls!r}, "a") as calls:
        calls.write(json.dumps(["worker", os.getpid()]) + "\\n")
    queue.run_worker({url!r}, storage.FolderStorage(__import__("pathlib").Path({store!r})),
                     workers.Limits(120, 2000), burst=True)
""")



def _request(edition: kit.Edition, digest: str, target: str, inputs: str) -> queue.JobRequest:
    return queue.JobRequest(brand="default", guide="reseaux-sociaux", lang="fr",
                            printer=edition.brand.printer, target=target, snapshot=digest,
                            inputs=inputs, tool=manifest.tool_version(), epoch="",
                            seconds=120, memory_mb=2000)


def test_a_worker_prepares_a_snapshot_once_for_all_its_jobs(
        project: kit.Project, edition: kit.Edition, redis_url: str, tmp_path: Path) -> None:
    """Three jobs of one snapshot through a real worker: the brand, guide and ticket are
    validated and the templates compiled once, in the worker, before its first fork; the
    bounded children that render start from that (before: once per job, three times)."""
    store = storage.FolderStorage(tmp_path / "storage")
    digest = store.put_snapshot(snapshot.make(project, edition, edition.brand.printer))
    posters = [poster.id for poster in edition.guide.posters[:2]]
    targets = ["web", *(f"poster:{poster}" for poster in posters)]
    jobs = Queue(queue.QUEUE_NAME, connection=redis.Redis.from_url(redis_url),
                 serializer=JSONSerializer)
    requests = [_request(edition, digest, target, f"{number + 1}" * 64)
                for number, target in enumerate(targets)]
    for request in requests:
        jobs.enqueue(queue.RENDER_JOB, request=request.model_dump())
    calls = tmp_path / "calls.jsonl"
    script = COUNTING_WORKER.format(root=str(ROOT), calls=str(calls), url=redis_url,
                                    store=str(tmp_path / "storage"))
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for request in requests:  # every job built its target
        assert store.has_outputs(request.inputs), done.stderr
    assert set(store.get_outputs("2" * 64).files) == {f"poster-{posters[0]}.pdf",
                                                       f"poster-{posters[0]}-screen.pdf"}
    lines = [json.loads(line) for line in calls.read_text().splitlines()]
    worker = next(pid for name, pid, *_ in lines if name == "worker")
    renders = [line for line in lines if line[0] == "render"]
    assert [line[0] for line in lines].count("prepare") == 1, lines
    assert [line[0] for line in lines].count("compile") == 1, lines
    assert all(pid == worker for name, pid, *_ in lines if name != "render")  # not in a child
    assert len(renders) == 3 and len({pid for _, pid, _, _ in renders} | {worker}) == 4
    assert {parent for _, _, parent, _ in renders} == {worker}
    # each child started with the worker's objects out of its garbage collector's sight
    assert all(frozen > 10000 for _, _, _, frozen in renders), renders


def test_a_forked_worker_leaves_what_it_inherited_to_its_parent() -> None:
    """A bounded worker (local builds, and a queue job's render) starts with its parent's
    objects frozen, out of its garbage collector's sight (before: none, and each collection
    wrote to them all, copying their pages); the parent's collector is left as it was."""
    before = gc.get_freeze_count()
    (result,) = workers.run([gc.get_freeze_count], 1, workers.Limits(60, 2000))
    assert result.ok and result.value > 10000
    assert gc.get_freeze_count() == before == 0


def test_a_prepared_edition_is_the_one_of_its_snapshot(
        project: kit.Project, edition: kit.Edition, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Kept by the snapshot's digest: a brand changed (a new snapshot) is prepared again,
    from its own files; the same snapshot is not; and no more than KEEP_PREPARED are kept."""
    monkeypatch.setattr(queue, "KEEP_PREPARED", 2)
    store = storage.FolderStorage(tmp_path / "storage")
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    calls: list[str] = []
    original = kit.prepare
    monkeypatch.setattr(kit, "prepare",
                        lambda project, *args: calls.append(project.root.name)
                        or original(project, *args))
    memo: collections.OrderedDict = collections.OrderedDict()
    digests = []
    for colour in ("#1F4E79", "#5B2C6F"):
        brand_yaml = (edition.brand.folder / "brand.yaml").read_text(encoding="utf-8")
        copy = kit.Project(tmp_path / f"project-{colour[1:]}")
        for name in ("content", "templates", "printers", "formats"):
            _copy(project.root / name, copy.root / name)
        _copy(edition.brand.folder, copy.root / "brands" / "default")
        (copy.root / "brands/default/brand.yaml").write_text(
            brand_yaml.replace('"#1F4E79"', f'"{colour}"'), encoding="utf-8")
        mine = kit.prepare(copy, ["default"], ["fr"], None, ["reseaux-sociaux"])[0]
        assert mine.brand.colours.primary == colour
        digests.append(store.put_snapshot(snapshot.make(copy, mine, mine.brand.printer)))
    calls.clear()
    first, second = digests
    for digest in (first, first, second, second, first):
        root, meta = queue._unpacked(store, unpacked, digest)
        prepared = queue._prepared(memo, _request(edition, digest, "web", "0" * 64), root, meta)
        assert prepared.project.root == unpacked / digest
        assert prepared.edition.brand.folder.is_relative_to(unpacked / digest)
        assert prepared.edition.ticket.icc_profile.is_relative_to(unpacked / digest)
    assert calls == [first, second]  # once per snapshot, in the order first seen
    assert memo[(first, "default", "reseaux-sociaux", "fr", edition.brand.printer, False)
                ].edition.brand.colours.primary == "#1F4E79"
    assert memo[(second, "default", "reseaux-sociaux", "fr", edition.brand.printer, False)
                ].edition.brand.colours.primary == "#5B2C6F"
    # a draft is another edition, a third one: the least recently used (second) is dropped
    draft = _request(edition, second, "web", "0" * 64).model_copy(update={"draft": True})
    queue._prepared(memo, draft, *queue._unpacked(store, unpacked, second))
    assert [(key[0], key[-1]) for key in memo] == [(first, False), (second, True)]
    assert calls == [first, second, second]


def _copy(source: Path, destination: Path) -> None:
    shutil.copytree(source, destination)


def test_a_job_in_a_folder_of_its_own_keeps_nothing_prepared(
        project: kit.Project, edition: kit.Edition, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the worker's folder of unpacked snapshots, each job unpacks into a folder
    deleted after it: nothing prepared from it may be kept."""
    store = storage.FolderStorage(tmp_path / "storage")
    digest = store.put_snapshot(snapshot.make(project, edition, edition.brand.printer))
    settings = queue.WorkerSettings(store, workers.Limits(120, 2000), None)
    monkeypatch.setattr(queue, "_settings", settings)
    request = _request(edition, digest, "web", "9" * 64)
    assert queue.render_job(request.model_dump())["status"] == "built"
    assert store.has_outputs("9" * 64)
    assert len(settings.prepared) == 0


# --- YAML read with libyaml's C parser, its messages and lines unchanged -----------------

def _project_yaml() -> list[Path]:
    return sorted(path for folder in ("content", "brands", "formats", "printers")
                  for path in (ROOT / folder).rglob("*.yaml"))


def test_valid_files_are_read_by_libyaml_with_the_same_data_and_lines(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every YAML file of the project goes through libyaml's C parser: the pure-Python
    composer (before: every file, node by node) is not called, and the data and the line
    of every key are those it gives."""
    calls: list[int] = []
    original = load._StrictLoader.compose_node
    monkeypatch.setattr(load._StrictLoader, "compose_node",
                        lambda self, *args: calls.append(1) or original(self, *args))
    fast = [load.load_yaml(path, path.name) for path in _project_yaml()]
    assert len(fast) > 40 and calls == []
    monkeypatch.setattr(load, "_fast_path_fits", lambda text: False)
    strict = [load.load_yaml(path, path.name) for path in _project_yaml()]
    assert len(calls) > 1000  # the strict composer alone reads node by node
    for one, other in zip(fast, strict, strict=True):
        assert (one.data, one.lines, one.problems) == (other.data, other.lines,
                                                       other.problems)
    assert max(max(source.lines.values()) for source in fast) > 50


def _outcome(path: Path, text: str) -> tuple:
    path.write_text(text, encoding="utf-8")
    try:
        source = load.load_yaml(path, "f.yaml")
    except InputErrors as exc:
        return ("refused", exc.errors)
    return ("read", source.data, source.lines, source.problems)


def test_libyaml_and_the_strict_loader_agree_on_mutated_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Characters deleted, inserted or replaced at random (seeded) in each YAML file of the
    project: read with libyaml or with the strict loader alone, the same data and lines,
    or the same messages at the same file:line. Where the two parsers differ (a tab, a
    !tag, a | block, `{u?nit: mm}`, found by this very test), the strict loader reads."""
    rng = random.Random(14)
    fits = load._fast_path_fits
    cases = 0
    for source in _project_yaml():
        text = source.read_text(encoding="utf-8")
        for _ in range(5):
            chars = list(text)
            for _ in range(rng.randint(1, 3)):
                index = rng.randrange(len(chars))
                change = rng.random()
                if change < 0.4:
                    del chars[index]
                else:
                    chars.insert(index, rng.choice(" :-\"'#[]{}&*!|>\n\t,?%@`x\\"))
            mutated = "".join(chars)
            monkeypatch.setattr(load, "_fast_path_fits", fits)
            fast = _outcome(tmp_path / "f.yaml", mutated)
            monkeypatch.setattr(load, "_fast_path_fits", lambda text: False)
            assert fast == _outcome(tmp_path / "f.yaml", mutated), mutated
            cases += 1
    assert cases > 200


@pytest.mark.parametrize(("text", "line", "words"), [
    ("a: &x 1\nb: *x\n", 1, "anchors and aliases (& and *) are not allowed"),
    ("a:\n  b: 1\n c: 2\n", 3, "line 3 is out of line: align it with line"),
    ("a: " + "[" * 400 + "\n", 1, "nesting is too deep (more than 24 levels"),
    ('a: "open\nb: 2\n', 1, "the quote opened on line 1 is never closed"),
])
def test_refused_yaml_keeps_its_message_and_line(tmp_path: Path, text: str, line: int,
                                                 words: str) -> None:
    assert load._fast_path_fits(text)  # these go to libyaml first
    outcome = _outcome(tmp_path / "bad.yaml", text)
    assert outcome[0] == "refused"
    (error,) = outcome[1]
    assert (error.file, error.line) == ("f.yaml", line) and words in error.message


def test_a_poll_fetches_only_the_jobs_that_ended(redis_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The submitting side polls its pending jobs by their status alone and fetches whole
    only those that ended (before: every pending job, whole, at each poll, which grows
    with the batch)."""
    connection = redis.Redis.from_url(redis_url)
    jobs = Queue("guidepress-poll-test", connection=connection, serializer=JSONSerializer)
    queued = [jobs.enqueue(queue.RENDER_JOB, request={"n": number}) for number in range(5)]
    queued[1].set_status("failed")
    queued[3].delete()  # gone from Redis: ended too, and said so
    fetched: list[list[str]] = []
    original = queue.Job.fetch_many
    monkeypatch.setattr(queue.Job, "fetch_many", lambda ids, *args, **kwargs:
                        fetched.append(list(ids)) or original(ids, *args, **kwargs))
    runner = queue.Runner(redis_url, storage.FolderStorage(Path("/nonexistent")))
    pending = {job.id: number for number, job in enumerate(queued)}
    collect = runner._collect(jobs, pending, {n: (None, "0" * 64) for n in range(5)})
    ended = sorted([next(collect).index, next(collect).index])
    assert ended == [1, 3]
    assert fetched == [[queued[1].id, queued[3].id]]
    assert sorted(pending.values()) == [0, 2, 4]  # still waited for
    for job in queued[:3] + queued[4:]:
        job.delete()
