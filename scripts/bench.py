"""Benchmark: every figure measured in one run and printed as `name: value (goal)`.

    python scripts/bench.py [N]      N fictional establishments for the batch (default 20)

- build_vs_raw_ratio: our cold build of the default kit with one worker ÷ plain
  WeasyPrint rendering of the same HTML documents, one after the other in this process
  (each print and each screen document laid out and written: our build writes a screen PDF
  from its print layout when the two documents differ only in colours and print rules);
  also in CPU time (this process and its workers), which a busy machine disturbs less.
- noop_rebuild_s: the same build again with nothing changed (in process), and the whole
  command `python build.py` for comparison.
- parallel_speedup: the N-establishment batch with --jobs 1 ÷ with --jobs 2.
- peak_rss_mb_per_worker and pages_per_s, from the --jobs 2 batch.
- queue_vs_local_ratio: the same batch through a Redis queue served by 2 workers (on this
  machine, empty storage, timed once both workers wait for jobs) ÷ the local pool of 2 in
  a fresh process (both sides start from a new process that only warmed WeasyPrint up);
  also in CPU time (the submitting process, the workers and all their children), and
  against the --jobs 2 batch of this process.
- portal_poster_preview_s: in the portal, a colour changed and saved (checked by the
  engine), then the preview job run by a warm worker, until the poster's PNG is written.
The goals are printed beside the figures, not asserted: these machines are noisy.
"""

from __future__ import annotations

import datetime
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import weasyprint
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parent.parent
GUIDES = ["reseaux-sociaux"]  # the figures below are measured on the social-networks guide
sys.path.insert(0, str(ROOT))

from guidepress import kit  # noqa: E402

TODAY = datetime.date.today()
COLOURS = ["#1F4E79", "#0F5E59", "#5B2C6F", "#7B241C", "#1B4F72", "#186A3B", "#6E2C00",
           "#283747", "#4A235A", "#0E6251"]

TODAY = datetime.date.today()  # the bench measures time, not statistic ages


def main() -> None:
    if sys.argv[1:2] == ["--batch"]:  # the fresh process of fresh_batch
        seconds, cpu = timed_batch(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]),
                                   *sys.argv[5:])
        print(f"{seconds} {cpu}")
        return
    count = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("BENCH_N", 20))
    with tempfile.TemporaryDirectory(prefix="guidepress-bench-") as folder:
        work = Path(folder)
        project = make_project(work / "project", count)
        ratio, cold, raw, (cold_cpu, raw_cpu) = build_vs_raw(project, work)
        print(f"build_vs_raw_ratio: {ratio:.2f} (goal <= 1.25; ours {cold:.1f} s, "
              f"raw WeasyPrint {raw:.1f} s; in CPU time {cold_cpu / raw_cpu:.2f}, ours "
              f"{cold_cpu:.1f} s, raw {raw_cpu:.1f} s)")
        noop, command = noop_rebuild(project, work)
        print(f"noop_rebuild_s: {noop:.2f} (goal <= 0.5; whole command with Python start-up "
              f"{command:.2f} s)")
        one, (two, two_cpu), outcome, pages = batch(project, work, count)
        print(f"parallel_speedup: {one / two:.2f} (goal >= 1.8 on 2 cores; {count} "
              f"establishments, --jobs 1 {one:.1f} s, --jobs 2 {two:.1f} s)")
        print(f"peak_rss_mb_per_worker: {outcome.peak_rss_mb:.0f} (goal <= 300)")
        print(f"pages_per_s: {pages / two:.1f} ({pages} pages with --jobs 2)")
        poster, checked = portal_preview()
        print(f"portal_poster_preview_s: {poster:.2f} (goal <= 3 with a warm worker; of "
              f"which the engine's check of the saved brand {checked:.2f} s)")
        queued, queued_cpu = queue_batch(project, work, count)
        local, local_cpu = fresh_batch(project, work / "batch-local-fresh", count)
        print(f"queue_vs_local_ratio: {queued / local:.2f} (goal <= 1.10; 2 queue workers "
              f"{queued:.1f} s, local pool of 2 {local:.1f} s, each from a fresh process; "
              f"in CPU time {queued_cpu / local_cpu:.2f}, queue {queued_cpu:.1f} s, local "
              f"{local_cpu:.1f} s; against the --jobs 2 batch above, {two:.1f} s in this "
              f"warmer process, {queued / two:.2f})")


def make_project(project: Path, count: int) -> Path:
    """A copy of the project's inputs with `count` fictional establishments, French only."""
    for name in ("content", "templates", "printers", "formats"):
        shutil.copytree(ROOT / name, project / name)
    (project / "brands").mkdir()
    shutil.copytree(ROOT / "brands/default", project / "brands/default")
    template = (ROOT / "brands/default/brand.yaml").read_text(encoding="utf-8")
    for number in range(1, count + 1):
        folder = project / "brands" / f"etablissement-{number:03d}"
        folder.mkdir()
        shutil.copy(ROOT / "brands/default/logo.svg", folder / "logo.svg")
        text = template.replace("Centre hospitalier du Val-Fleuri",
                                f"Centre hospitalier fictif numéro {number}")
        text = text.replace('"#1F4E79"', f'"{COLOURS[number % len(COLOURS)]}"')
        text = text.replace('languages: ["fr", "en"]', 'languages: ["fr"]')
        (folder / "brand.yaml").write_text(text, encoding="utf-8")
    return project


def build_vs_raw(project: Path, work: Path
                 ) -> tuple[float, float, float, tuple[float, float]]:
    guidepress = kit.Project(project)
    started, cpu = time.perf_counter(), cpu_seconds()
    outcome = kit.build(guidepress, ["default"], None, work / "cold", jobs=1, force=True,
                        guides=GUIDES, today=TODAY)
    cold, cold_cpu = time.perf_counter() - started, cpu_seconds() - cpu
    assert not outcome.problems, outcome.problems
    documents = work / "html"
    documents.mkdir()
    for edition in kit.prepare(guidepress, ["default"], None, guides=GUIDES):
        for document in kit.final_documents(guidepress, edition):
            name = f"{edition.guide.lang}-{document.name.removesuffix('.pdf')}.html"
            (documents / name).write_text(document.html, encoding="utf-8")
    started, cpu = time.perf_counter(), cpu_seconds()
    for path in sorted(documents.glob("*.html")):
        weasyprint.HTML(filename=path).write_pdf(work / f"{path.stem}.pdf")
    raw, raw_cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return cold / raw, cold, raw, (cold_cpu, raw_cpu)


def cpu_seconds() -> float:
    """CPU time of this process and of its children that ended (the build's workers)."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                          resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def noop_rebuild(project: Path, work: Path) -> tuple[float, float]:
    guidepress = kit.Project(project)
    started = time.perf_counter()
    outcome = kit.build(guidepress, ["default"], None, work / "cold", jobs=1, guides=GUIDES,
                        today=TODAY)
    noop = time.perf_counter() - started
    assert outcome.built == 0 and outcome.skipped == outcome.targets, outcome
    started = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "build.py"), "--project", str(project),
                    "--output", str(work / "cold"), "--guide", GUIDES[0]], check=True,
                   capture_output=True)
    return noop, time.perf_counter() - started


def batch(project: Path, work: Path, count: int
          ) -> tuple[float, tuple[float, float], kit.Outcome, int]:
    """The batch with --jobs 1, then with --jobs 2 (wall and CPU seconds)."""
    guidepress = kit.Project(project)
    slugs = [f"etablissement-{n:03d}" for n in range(1, count + 1)]
    timings = []
    for jobs in (1, 2):
        started, cpu = time.perf_counter(), cpu_seconds()
        outcome = kit.build(guidepress, slugs, None, work / f"batch-{jobs}", jobs=jobs,
                            force=True, guides=GUIDES, today=TODAY)
        timings.append((time.perf_counter() - started, cpu_seconds() - cpu))
        assert not outcome.problems, outcome.problems
    pages = sum(len(PdfReader(p).pages) for p in (work / "batch-2").glob("*/*/*/*.pdf"))
    return timings[0][0], timings[1], outcome, pages


def queue_batch(project: Path, work: Path, count: int) -> tuple[float, float]:
    """The batch through a real redis-server and two `build.py worker` processes, sent
    by a fresh process (`fresh_batch`) once both workers wait for jobs (their start-up is
    not the queue's cost): wall seconds, and CPU seconds of the submitting process, the
    workers and all their children."""
    from guidepress import queue

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (work / "redis").mkdir()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", str(work / "redis")],
                              stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    workers = []
    try:
        time.sleep(0.5)
        for number in (1, 2):
            folder = work / f"machine-{number}"
            folder.mkdir()
            workers.append(subprocess.Popen(
                [sys.executable, str(ROOT / "build.py"), "worker", "--queue", url,
                 "--storage", str(work / "storage")], cwd=folder, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
        connection = queue.connect(url)
        wait_for_idle_workers(connection, workers)
        before = sum(process_cpu_seconds(worker.pid) for worker in workers)
        seconds, cpu = fresh_batch(project, work / "batch-queue", count, url,
                                   str(work / "storage"))
        return seconds, cpu + sum(process_cpu_seconds(w.pid) for w in workers) - before
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(30)
        server.terminate()
        server.wait(10)


def fresh_batch(project: Path, output: Path, count: int, *queue_and_storage: str
                ) -> tuple[float, float]:
    """The batch built by a new process, as `build.py` builds it (timed inside: Python's
    start-up and imports left out, as the queue workers' are): with the local pool of 2,
    or through the queue at the URL given, with the storage given. This process has laid
    out real documents itself (the raw WeasyPrint figure, the portal's preview), and
    workers forked from it would inherit caches that a build does not have."""
    done = subprocess.run([sys.executable, __file__, "--batch", str(project), str(output),
                           str(count), *queue_and_storage], check=True, capture_output=True,
                          text=True)
    seconds, cpu = done.stdout.split()[-2:]
    return float(seconds), float(cpu)


def timed_batch(project: Path, output: Path, count: int, url: str | None = None,
                store: str | None = None) -> tuple[float, float]:
    """The batch in this process, locally with 2 workers or through the queue at `url`:
    wall seconds, and CPU seconds of this process and its children."""
    from guidepress import queue, storage

    runner = (queue.Runner(url, storage.FolderStorage(Path(store)), say=lambda text: None)
              if url else None)
    slugs = [f"etablissement-{n:03d}" for n in range(1, count + 1)]
    started, cpu = time.perf_counter(), cpu_seconds()
    outcome = kit.build(kit.Project(project), slugs, None, output, jobs=2, force=True,
                        guides=GUIDES, today=TODAY, runner=runner)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    assert not outcome.problems, outcome.problems
    return seconds, cpu


WORKERS_READY_SECONDS = 120  # two workers importing WeasyPrint on a busy machine


def wait_for_idle_workers(connection, processes: list[subprocess.Popen]) -> None:
    """Wait until every worker process is registered in Redis and idle (listening for
    jobs), which it is only once WeasyPrint is imported and warmed up."""
    from rq import Worker

    from guidepress import queue

    deadline = time.monotonic() + WORKERS_READY_SECONDS
    pids = {process.pid for process in processes}
    while time.monotonic() < deadline:
        ready = {worker.pid for worker in Worker.all(connection=connection)
                 if worker.get_state() == "idle"}
        if pids <= ready:
            return
        if any(process.poll() is not None for process in processes):
            raise SystemExit("a queue worker stopped before taking jobs")
        time.sleep(0.1)
    raise SystemExit(f"the queue workers were not ready after {WORKERS_READY_SECONDS} s "
                     f"(queue {queue.QUEUE_NAME})")


def process_cpu_seconds(pid: int) -> float:
    """CPU time of a running process and of its children that ended (/proc/PID/stat:
    utime, stime, cutime, cstime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def portal_preview() -> tuple[float, float]:
    """The portal's live preview, in this (warm) process as a worker runs it: seconds from
    saving a brand change to the poster's thumbnail, and of that, the engine's check."""
    folder = tempfile.mkdtemp(prefix="guidepress-bench-portal-")
    os.environ.update(GUIDEPRESS_PORTAL_DATA=folder, PORTAL_ALLOW_DEV_KEY="1",
                      PORTAL_JOBS="inline", DJANGO_SETTINGS_MODULE="portal.settings")
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from portal.core import brands, forms, jobs
    from portal.core.models import Build, Establishment

    try:
        call_command("migrate", verbosity=0)
        user = User.objects.create_user("bench")
        brands.publish_guide("reseaux-sociaux", user)
        establishment = Establishment.objects.create(name="Clinique du Banc", slug="banc")
        brands.ensure_brand(establishment)
        times = []
        for colour in ("#5B2C6F", "#1F4E79"):  # the first run warms the fonts up
            form = forms.BrandForm(forms.initial_values(brands.raw(establishment),
                                                        ["reseaux-sociaux"]) | {
                "primary": colour, "languages": ["fr"]},
                current=brands.raw(establishment), guides=["reseaux-sociaux"])
            assert form.is_valid(), form.errors
            started = time.monotonic()
            assert brands.check_and_save(establishment, form.change()) == []
            checked = time.monotonic() - started
            build = Build.objects.create(establishment=establishment, kind=Build.PREVIEW,
                                         brand_digest="", requested_by=user,
                                         guide_versions={"reseaux-sociaux": 1})
            jobs.submit(build)
            poster = jobs.previews_folder(build) / "poster.png"
            assert poster.is_file(), Build.objects.get(pk=build.pk).problems
            times.append((poster.stat().st_mtime - time.time() + time.monotonic() - started,
                          checked))
        return times[-1]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
