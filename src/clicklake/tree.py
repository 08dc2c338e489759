"""A supervised process tree: children started, watched, restarted with backoff, and stopped in order.

`clicklake up` and the single-stage commands describe their children as `Stage`s (which
function runs in the child, how many of it, when it stops); `Supervisor.run` does the rest:

- every child is forked from a fork server (multiprocessing's `forkserver`), a clean process
  that imported the stages once (`clicklake._preload`) before any handle was open: nothing
  open is shared, each stage opens its own stream, catalog and metadata handles, and a child
  starts in a fraction of a second rather than re-importing everything. Sockets the parent
  bound are handed over (each HTTP worker accepts on its own listening socket, all on one
  port; the kernel spreads connections over them);
- a child that dies is restarted after a pause that doubles with each quick death (from
  `FIRST_BACKOFF_S` up to `MAX_BACKOFF_S`; a child that ran `STEADY_S` starts afresh), with a
  log line saying how it died. One that dies `LOOP_DEATHS` times within `LOOP_WINDOW_S` is
  reported as dying in a loop, and is still restarted. One that dies `START_FAILURES` times in
  a row before it was ever ready stops the whole tree with an error: it will not start;
- SIGINT or SIGTERM to the parent stops the children rank by rank (`Stage.stop_rank`, lower
  first), each rank with SIGTERM and then waited for, so that the HTTP workers finish their
  requests before the loader commits what the stream holds. A child that does not stop within
  its `stop_timeout_s` is killed and said so. Children ignore SIGINT (a Ctrl-C reaches the whole
  terminal's process group; the parent orders the stop) and stop by themselves when the parent
  is gone.

Written here rather than on uvicorn's multi-worker supervisor, which supervises copies of one
HTTP server only; the tree also holds the loader, realtime and the scheduler, which are not
servers and must stop after the HTTP workers.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as MpEvent
from typing import Any, Final

from clicklake.config import Settings
from clicklake.errors import TerminalError

log = logging.getLogger("clicklake.tree")

FIRST_BACKOFF_S: Final = 0.5
MAX_BACKOFF_S: Final = 30.0
#: A child that ran this long before it died is restarted at once (its backoff starts afresh).
STEADY_S: Final = 30.0
LOOP_DEATHS: Final = 5
LOOP_WINDOW_S: Final = 60.0
START_FAILURES: Final = 3
_spawn = multiprocessing.get_context("forkserver")
_spawn.set_forkserver_preload(["clicklake._preload"])


def start_fork_server() -> None:
    """Start the fork server now (it imports while the caller prepares); its environment is this process's."""
    from multiprocessing import forkserver

    forkserver.ensure_running()


@dataclass(frozen=True)
class Child:
    """What a child process is given: its stage's name, its number, the sockets and options of its stage."""

    stage: str
    index: int
    sockets: tuple[socket.socket, ...]
    options: dict[str, Any]
    ready: MpEvent

    @property
    def name(self) -> str:
        return f"{self.stage}-{self.index}" if self.index else self.stage


#: A child's body: runs in the child until SIGTERM, calls `child.ready.set()` once it serves.
Target = Callable[[Settings, Child], None]


@dataclass(frozen=True)
class Stage:
    """One kind of child: `target(settings, child)` in `count` processes.

    `target` must be a module-level function (the child imports it by name). The stages of
    the lowest `start_rank` start first, the next rank once every child before it is ready
    (the HTTP port answers before the other stages take the cores to start). Lower
    `stop_rank`s stop first. A `once` stage (demo traffic) is not restarted when it ends.
    Every child is handed all of `sockets`, or with `socket_each` child i only `sockets[i]`
    (one listening socket per HTTP worker; a restarted worker takes over its slot's socket).
    """

    name: str
    target: Target
    count: int = 1
    start_rank: int = 0
    stop_rank: int = 0
    stop_timeout_s: float = 30.0
    sockets: tuple[socket.socket, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    once: bool = False
    socket_each: bool = False

    def __post_init__(self) -> None:
        if self.socket_each and len(self.sockets) != self.count:
            raise ValueError(f"stage {self.name}: {len(self.sockets)} sockets for {self.count} children")

    def sockets_of(self, index: int) -> tuple[socket.socket, ...]:
        """The sockets handed to child `index`."""
        return (self.sockets[index],) if self.socket_each else self.sockets


class _Slot:
    """One child of a stage and its history of deaths."""

    def __init__(self, stage: Stage, index: int) -> None:
        self.stage = stage
        self.index = index
        self.process: BaseProcess | None = None
        self.ready: MpEvent = _spawn.Event()
        self.started_at = 0.0
        self.ever_ready = False
        self.start_failures = 0
        self.backoff = FIRST_BACKOFF_S
        self.restart_at: float | None = None
        self.deaths: deque[float] = deque()
        self.finished = False

    @property
    def name(self) -> str:
        return f"{self.stage.name}-{self.index}" if self.stage.count > 1 else self.stage.name


def _how(process: BaseProcess) -> str:
    code = process.exitcode
    if code is None:
        return "is running"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class Supervisor:
    """Runs `stages` until SIGINT or SIGTERM; `on_ready` is called once, when stage `announce_after` first served."""

    def __init__(
        self,
        settings: Settings,
        stages: list[Stage],
        on_ready: Callable[[], None] | None = None,
        announce_after: str = "http",
    ) -> None:
        self.settings = settings
        self.announce_after = announce_after
        self.slots = [_Slot(stage, i) for stage in stages for i in range(stage.count)]
        self.on_ready = on_ready
        self.stop = threading.Event()
        self.asked_to_stop = False
        self._announced = False

    def pids(self, stage: str) -> list[int]:
        """The process ids of a stage's live children."""
        return [s.process.pid for s in self.slots if s.stage.name == stage and s.process and s.process.pid]

    def _start(self, slot: _Slot) -> None:
        slot.ready = _spawn.Event()
        child = Child(slot.stage.name, slot.index, slot.stage.sockets_of(slot.index), slot.stage.options, slot.ready)
        process = _spawn.Process(
            target=_child_main,
            args=(slot.stage.target, self.settings, child),
            name=f"clicklake-{slot.name}",
            daemon=False,
        )
        process.start()
        log.info("started %s (pid %s)", slot.name, process.pid)
        slot.process = process
        slot.started_at = time.monotonic()
        slot.restart_at = None

    def _asked(self, *_: object) -> None:
        self.asked_to_stop = True
        self.stop.set()

    def run(self) -> None:
        """Start every child, watch them until asked to stop, then stop them in order.

        Raises:
            TerminalError: a child failed to start `START_FAILURES` times in a row, or the
                loader (any child of the last rank) did not stop cleanly.
        """
        before = {sig: signal.signal(sig, self._asked) for sig in (signal.SIGINT, signal.SIGTERM)}
        failed: str | None = None
        try:
            failed = self._watch()
        finally:
            unclean = self._stop_all()
            for sig, handler in before.items():
                signal.signal(sig, handler)
        if failed:
            raise TerminalError(failed)
        if unclean:
            raise TerminalError(f"{unclean} did not stop cleanly (see above)")

    def _start_next_rank(self) -> None:
        """Start the children of the next start rank, once every child started so far was ready once."""
        waiting = [s for s in self.slots if s.process is None]
        if not waiting or not all(s.ever_ready or s.finished for s in self.slots if s.process is not None):
            return
        rank = min(s.stage.start_rank for s in waiting)
        for slot in waiting:
            if slot.stage.start_rank == rank:
                self._start(slot)

    def _announce_when_ready(self) -> None:
        """Mark the children that served, and call `on_ready` once the `announce_after` stage has (before
        the next rank is forked, so that the address is printed as soon as it answers)."""
        for slot in self.slots:
            if slot.process is not None and not slot.ever_ready and slot.ready.is_set():
                slot.ever_ready = True
                slot.start_failures = 0
        if not self._announced and all(s.ever_ready for s in self.slots if s.stage.name == self.announce_after):
            self._announced = True
            if self.on_ready is not None:
                self.on_ready()

    def _watch(self) -> str | None:
        self._start_next_rank()
        while not self.stop.wait(0.1):
            self._announce_when_ready()
            self._start_next_rank()
            now = time.monotonic()
            for slot in self.slots:
                process = slot.process
                if process is None or slot.finished:
                    continue
                if process.is_alive():
                    continue
                if slot.restart_at is None:
                    failure = self._died(slot, process, now)
                    if failure:
                        return failure
                elif now >= slot.restart_at:
                    log.info("restarting %s", slot.name)
                    self._start(slot)
        self._announce_when_ready()  # a stop that came between the port answering and the next look
        return None

    def _died(self, slot: _Slot, process: BaseProcess, now: float) -> str | None:
        ran = now - slot.started_at
        how = _how(process)
        process.join()
        if slot.stage.once:
            slot.finished = True
            if process.exitcode == 0:
                log.info("%s finished", slot.name)
                return None
            if not slot.ready.is_set():
                return f"the {slot.stage.name} stage failed (it {how}); its error is above"
            log.error("%s %s", slot.name, how)
            return None
        if slot.ready.is_set():
            slot.ever_ready = True
        if not slot.ever_ready:
            slot.start_failures += 1
            if slot.start_failures >= START_FAILURES:
                return (
                    f"the {slot.stage.name} stage failed to start {slot.start_failures} times in a row "
                    f"(last: it {how}); its error is above"
                )
        if ran >= STEADY_S:
            slot.backoff = FIRST_BACKOFF_S
        slot.deaths.append(now)
        while slot.deaths and slot.deaths[0] < now - LOOP_WINDOW_S:
            slot.deaths.popleft()
        log.error(
            "%s (pid %s) %s after %.1f s; restarting it in %.1f s", slot.name, process.pid, how, ran, slot.backoff
        )
        if len(slot.deaths) >= LOOP_DEATHS:
            log.error(
                "%s is dying in a loop: %d deaths in the last %.0f s; it keeps being restarted, at most every %.0f s. "
                "Its errors are above.",
                slot.name,
                len(slot.deaths),
                LOOP_WINDOW_S,
                MAX_BACKOFF_S,
            )
        slot.restart_at = now + slot.backoff
        slot.backoff = min(slot.backoff * 2, MAX_BACKOFF_S)
        return None

    def _stop_all(self) -> str | None:
        """SIGTERM rank by rank, waiting for each; the name of the last rank's child that stopped badly, if any."""
        ranks = sorted({s.stage.stop_rank for s in self.slots})
        last = ranks[-1] if ranks else 0
        unclean: str | None = None
        for rank in ranks:
            slots = [s for s in self.slots if s.stage.stop_rank == rank and s.process is not None]
            for slot in slots:
                assert slot.process is not None
                if slot.process.is_alive() and slot.process.pid:
                    log.info("stopping %s", slot.name)
                    os.kill(slot.process.pid, signal.SIGTERM)
            for slot in slots:
                process = slot.process
                assert process is not None
                process.join(slot.stage.stop_timeout_s)
                if process.is_alive():
                    log.error("%s did not stop within %.0f s; killing it", slot.name, slot.stage.stop_timeout_s)
                    process.kill()
                    process.join()
                    if rank == last:
                        unclean = slot.name
                elif rank == last and process.exitcode not in (0, -signal.SIGTERM) and slot.restart_at is None:
                    # (killed by the SIGTERM itself: it was still starting, before it could handle one)
                    log.error("%s %s while stopping", slot.name, _how(process))
                    unclean = slot.name
        return unclean


def _child_main(target: Target, settings: Settings, child: Child) -> None:
    """The first function of every child: SIGINT ignored, a watch on the parent, logging, then the stage."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the fork server ignores it (`clicklake._preload`)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format=f"%(asctime)s %(levelname)s %(name)s[{child.name} %(process)d]: %(message)s",
    )

    parent = os.getppid()  # the fork server, which ends when the supervisor does

    def orphaned() -> None:  # the supervisor was killed: stop as if it had asked
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=orphaned, name="parent-watch", daemon=True).start()
    if child.options.get("nice"):  # a background stage yields the cores to the HTTP workers' answers
        os.nice(int(child.options["nice"]))
    target(settings, child)
