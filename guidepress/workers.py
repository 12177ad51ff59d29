"""Bounded work: each call runs in its own forked process with a memory and a time limit.

A document that loops, eats memory or crashes its process fails alone; the others go on.
Forking (rather than spawning) lets every worker start with the parent's imports and
compiled templates already in memory. A worker never outlives the build process: the
kernel kills it when its parent ends, however the parent ends (SIGKILL included).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import resource
import signal
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from guidepress.i18n import _
from guidepress.problems import InputError, InputErrors, RenderError


@dataclass(frozen=True)
class Limits:
    """What one document may use before it is stopped."""

    seconds: float = 300.0
    memory_mb: int = 3000  # resident memory of the whole worker, what it shares included


POLL_SECONDS = 0.25  # how often the time and memory of running workers are checked
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@dataclass
class Result:
    """What one call returned, or why it failed."""

    index: int
    value: Any = None
    input_errors: list[InputError] = field(default_factory=list)
    failure: str | None = None
    seconds: float = 0.0
    peak_rss_mb: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failure is None and not self.input_errors


def run(calls: list[Callable[[], Any]], jobs: int, limits: Limits,
        initializer: Callable[[], None] | None = None,
        labels: list[str] | None = None,
        watch: Callable[[list[int]], None] | None = None) -> Iterator[Result]:
    """Run each call in a forked worker, `jobs` at a time; yield outcomes as they finish.

    `initializer` runs first in each worker, for state that must not be shared; `labels`
    name the documents in the message of a failure nobody expected; `watch`, if given,
    is called with the process ids of the running workers after each start and at each
    check (about 4 times a second). Workers still running when this stops (an exception
    in the caller, or the caller leaving the loop) are killed.
    """
    context = multiprocessing.get_context("fork")
    pending = list(enumerate(calls))
    running: dict[Connection, tuple[int, Any, float]] = {}
    parent = os.getpid()
    try:
        while pending or running:
            while pending and len(running) < max(1, jobs):
                index, call = pending.pop(0)
                receiver, sender = context.Pipe(duplex=False)
                label = labels[index] if labels else "the document"
                process = context.Process(target=_child, args=(call, sender, limits,
                                                               initializer, parent, label),
                                          daemon=True)
                with frozen_for_fork():
                    process.start()
                sender.close()
                running[receiver] = (index, process, time.monotonic())
            if watch is not None:
                watch([process.pid for _index, process, _started in running.values()])
            ready = wait(list(running), timeout=POLL_SECONDS)
            for connection in ready:
                index, process, started = running.pop(connection)
                yield _collect(index, connection, process, started, limits)
            for connection, (index, process, started) in list(running.items()):
                failure = _over_limits(process.pid, started, limits)
                if failure:
                    process.kill()
                    process.join()
                    del running[connection]
                    yield Result(index, failure=failure, seconds=time.monotonic() - started)
    finally:
        for connection, (_index, process, _started) in running.items():
            process.kill()  # nobody will read its result
            process.join()
            connection.close()


@contextlib.contextmanager
def frozen_for_fork() -> Iterator[None]:
    """Fork inside this block: the parent's objects are then out of sight of the child's
    garbage collector, whose collections would otherwise write to every object inherited
    and so copy most of the parent's pages into the child (a quarter of a render's page
    faults, a tenth of its CPU time). The parent's own collector is left as it was."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def memory_failure(limits: Limits) -> str:
    """The message of a document stopped for using too much memory."""
    return _("ran out of memory: the document needed more than the memory limit of {limit} MB "
             "(raise it with --memory)").format(limit=limits.memory_mb)


def _over_limits(pid: int, started: float, limits: Limits) -> str | None:
    """Why a running worker must be stopped now, if it must."""
    if time.monotonic() - started > limits.seconds:
        return _("stopped after {seconds} s: the document took too long to lay out").format(
            seconds=f"{limits.seconds:g}")
    if _resident_mb(pid) > limits.memory_mb:
        return memory_failure(limits)
    return None


def _resident_mb(pid: int) -> float:
    """Resident memory of a process (VmRSS), in MB; 0 when it has already ended."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _collect(index: int, connection: Connection, process: Any, started: float,
             limits: Limits) -> Result:
    try:
        kind, payload, peak = connection.recv()
    except EOFError:
        process.join()
        code = process.exitcode
        reason = (_("killed by signal {number}").format(number=-code) if code and code < 0
                  else _("exit code {number}").format(number=code))
        return Result(index, failure=_("the worker stopped without an answer ({reason}; the "
                                        "memory limit may have been reached)").format(
                                            reason=reason),
                       seconds=time.monotonic() - started)
    finally:
        connection.close()
    process.join()
    outcome = Result(index, seconds=time.monotonic() - started, peak_rss_mb=peak)
    if peak > limits.memory_mb:  # went over between two checks: its result is not kept
        kind, payload = "render", memory_failure(limits)
    if kind == "ok":
        outcome.value = payload
    elif kind == "input":
        outcome.input_errors = payload
    else:
        outcome.failure = payload
    return outcome


def _child(call: Callable[[], Any], sender: Connection, limits: Limits,
           initializer: Callable[[], None] | None, parent: int, label: str) -> None:
    _end_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if initializer is not None:
        initializer()
    _limit_memory(limits)
    try:
        result: tuple[str, Any] = ("ok", call())
    except InputErrors as exc:
        result = ("input", exc.errors)
    except RenderError as exc:
        result = ("render", str(exc))
    except MemoryError:
        result = ("render", memory_failure(limits))
    except BaseException as exc:  # a bug or a library failure: report it, keep the build going
        result = ("render", unexpected_failure(label, exc))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        sender.send((*result, peak))
    finally:
        sender.close()
        os._exit(0)  # skip the parent's atexit handlers and buffers inherited by fork


def log_folder() -> Path:
    """Where the details of unexpected failures are written: the user's cache folder."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "guidepress" / "logs"


def unexpected_failure(label: str, exc: BaseException) -> str:
    """The message a reader gets for a failure that is a fault of guidepress or of a
    library, not of the input: what failed, which document, what to do, and the file
    that holds the details (the traceback, for whoever maintains guidepress)."""
    summary = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
    try:
        folder = log_folder()
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        log = folder / f"failure-{stamp}-{os.getpid()}.txt"
        log.write_text(f"{label}\n{traceback.format_exc()}", encoding="utf-8")
    except OSError as error:
        return _("an unexpected error stopped {document} ({error}); this is a fault of "
                 "guidepress or of a library it uses, not of your files; its details could "
                 "not be written to {folder} ({reason}); build again, and if it happens "
                 "again tell whoever maintains guidepress").format(
                     document=label, error=summary, folder=log_folder(), reason=error.strerror)
    return _("an unexpected error stopped {document} ({error}); this is a fault of guidepress "
             "or of a library it uses, not of your files: the details are in {log}; build "
             "again, and if it happens again send that file to whoever maintains "
             "guidepress").format(document=label, error=summary, log=log)


def _end_with_parent(parent: int) -> None:
    """Have the kernel kill this worker as soon as the build process ends.

    Without it, a build killed by a CI timeout or a service manager (SIGKILL cannot be
    caught) would leave its workers rendering for minutes. The parent may have ended
    before the request was made: then this worker ends at once.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _limit_memory(limits: Limits) -> None:
    """Bound the address space so that new allocations fail past the memory limit.

    A forked worker starts with the parent's pages resident and more address space
    reserved than used; the limit leaves room for `memory_mb` minus what is already
    resident. Touching memory reserved before the fork needs no new address space: the
    parent watches the worker's resident memory for that.
    """
    with open("/proc/self/statm", encoding="ascii") as statm:
        size_pages, resident_pages = (int(n) for n in statm.read().split()[:2])
    page = resource.getpagesize()
    room = max(0, limits.memory_mb * 1024 * 1024 - resident_pages * page)
    memory = size_pages * page + room
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
