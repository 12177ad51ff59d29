"""Bounded work: each call runs in its own forked process with a memory and a time limit.

A document that loops, eats memory or crashes its process fails alone; the others go on.
Forking (rather than spawning) lets every worker start with the parent's imports and
compiled templates already in memory.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from guidepress.problems import InputError, InputErrors, RenderError


@dataclass(frozen=True)
class Limits:
    """What one document may use before it is stopped."""

    seconds: float = 300.0
    memory_mb: int = 3000  # on top of what the worker holds when it starts (forked)


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
        initializer: Callable[[], None] | None = None) -> Iterator[Result]:
    """Run each call in a forked worker, `jobs` at a time; yield outcomes as they finish.

    `initializer` runs first in each worker, for state that must not be shared.
    """
    context = multiprocessing.get_context("fork")
    pending = list(enumerate(calls))
    running: dict[Connection, tuple[int, Any, float]] = {}
    while pending or running:
        while pending and len(running) < max(1, jobs):
            index, call = pending.pop(0)
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_child, args=(call, sender, limits, initializer),
                                      daemon=True)
            process.start()
            sender.close()
            running[receiver] = (index, process, time.monotonic())
        ready = wait(list(running), timeout=0.5)
        for connection in ready:
            index, process, started = running.pop(connection)
            yield _collect(index, connection, process, started)
        for connection, (index, process, started) in list(running.items()):
            if time.monotonic() - started > limits.seconds:
                process.kill()
                process.join()
                del running[connection]
                yield Result(index, failure=f"stopped after {limits.seconds:g} s: the "
                              "document took too long to lay out",
                              seconds=time.monotonic() - started)


def _collect(index: int, connection: Connection, process: Any, started: float) -> Result:
    try:
        kind, payload, peak = connection.recv()
    except EOFError:
        process.join()
        code = process.exitcode
        reason = (f"killed by signal {-code}" if code and code < 0 else f"exit code {code}")
        return Result(index, failure=f"the worker stopped without an answer ({reason}; "
                       "the memory limit may have been reached)",
                       seconds=time.monotonic() - started)
    finally:
        connection.close()
    process.join()
    outcome = Result(index, seconds=time.monotonic() - started, peak_rss_mb=peak)
    if kind == "ok":
        outcome.value = payload
    elif kind == "input":
        outcome.input_errors = payload
    else:
        outcome.failure = payload
    return outcome


def _child(call: Callable[[], Any], sender: Connection, limits: Limits,
           initializer: Callable[[], None] | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if initializer is not None:
        initializer()
    with open("/proc/self/statm") as statm:
        inherited = int(statm.read().split()[0]) * resource.getpagesize()
    memory = inherited + limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        result: tuple[str, Any] = ("ok", call())
    except InputErrors as exc:
        result = ("input", exc.errors)
    except RenderError as exc:
        result = ("render", str(exc))
    except MemoryError:
        result = ("render", f"ran out of memory (limit {limits.memory_mb} MB)")
    except BaseException as exc:  # a bug or a library failure: report it, keep the build going
        result = ("render", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-3)}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        sender.send((*result, peak))
    finally:
        sender.close()
        os._exit(0)  # skip the parent's atexit handlers and buffers inherited by fork
