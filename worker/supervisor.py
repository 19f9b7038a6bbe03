"""The process runner of `make run`: one crashed process is restarted, the others keep running.

honcho's Manager stops every process as soon as one exits, so a stopped simulator (a gateway
outage, the very thing a person may want to try) took the web, the workers and beat down with it.
This keeps honcho's pieces that do their job well (spawning each command in its own process
group, the prefixed and coloured output) and replaces only the policy:

* a process that exits on its own is started again after a backoff (1 s, 2 s, 4 s … 30 s), reset
  once it has stayed up for a while; after `GIVE_UP_AFTER` quick exits in a row it is left
  stopped, with a sentence saying how to start it again once the cause is fixed;
* `python scripts/run.py stop NAME` / `start NAME` / `restart NAME` / `status`, from another
  terminal, stop one process for as long as wanted (e.g. the simulator, to see an outage),
  start it again, or list them; the request travels as a small file in the run directory;
* Ctrl-C (SIGINT) or SIGTERM stops everything, SIGKILL after `KILL_WAIT` seconds.

Supervisord would do the restarting too, but prints children's output without a name per line
and needs a daemon and a config file; this stays a foreground process like honcho.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import signal
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from honcho.colour import get_colours
from honcho.compat import ProcessManager
from honcho.printer import Message, Printer
from honcho.process import Process

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
# A process that stayed up this long was healthy: its next exit starts the backoff over.
STABLE_AFTER = 30.0
GIVE_UP_AFTER = 5
KILL_WAIT = 8.0
SYSTEM = "runner"

RUNNING, WAITING, STOPPED, GAVE_UP = "running", "restarting", "stopped", "gave up"


@dataclass
class Child:
    name: str
    command: str
    proc: Process
    pid: int | None = None
    runner: multiprocessing.Process | None = None
    state: str = STOPPED
    started_at: float = 0.0
    quick_exits: int = 0
    restart_at: float | None = None
    held: bool = False  # stopped on request: not restarted until asked
    restart_now: bool = False  # restarted on request: no backoff
    exits: list[int] = field(default_factory=list)


class Supervisor:
    def __init__(
        self,
        processes: dict[str, str],
        *,
        env: dict[str, str],
        cwd: str,
        run_dir: Path,
        control_hint: str,
        printer: Printer | None = None,
    ) -> None:
        self.events: multiprocessing.Queue[Message] = multiprocessing.Queue()
        self.printer = printer or Printer(output=_stdout())
        self.printer.width = max([len(SYSTEM), *map(len, processes)])
        self.manager = ProcessManager()
        self.run_dir = run_dir
        self.requests = run_dir / "requests"
        self.control_hint = control_hint
        colours = get_colours()
        # `exec`: the shell honcho starts becomes the program, so the pid is the program's own and
        # its exit (or a kill) is seen at once, not when some orphan closes the output pipe.
        self.children = {
            name: Child(
                name,
                command,
                Process(f"exec {command}", name=name, colour=next(colours), env=env, cwd=cwd),
            )
            for name, command in processes.items()
        }
        self.stopping_since: float | None = None
        self.returncode = 0

    # -- the loop ------------------------------------------------------------------------

    def loop(self) -> int:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        self.requests.mkdir(parents=True, exist_ok=True)
        for stale in self.requests.glob("*.json"):
            stale.unlink(missing_ok=True)
        for child in self.children.values():
            self._spawn(child)
        while True:
            try:
                message = self.events.get(timeout=0.2)
            except queue.Empty:
                message = None
            if message is not None:
                self._handle(message)
            if self.stopping_since is None:
                self._restart_due()
                self._serve_requests()
            elif self._all_down():
                break
            elif time.monotonic() - self.stopping_since > KILL_WAIT:
                self._signal_all(force=True)
        self._write_state()
        return self.returncode

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping_since is not None:
            return
        name = signal.Signals(signum).name
        self.say(f"{name} received: stopping every process")
        self.returncode = 130 if signum == signal.SIGINT else 143
        self.stopping_since = time.monotonic()
        self._signal_all(force=False)

    def _handle(self, message: Message) -> None:
        child = self.children[message.name]
        if message.type == "line":
            self.printer.write(message)
        elif message.type == "start":
            child.pid = message.data["pid"]
            self.say(f"{child.name} started (pid {child.pid})")
            self._write_state()
        elif message.type == "stop":
            self._exited(child, message.data["returncode"])

    def _exited(self, child: Child, returncode: int) -> None:
        child.pid, child.runner = None, None
        child.exits.append(returncode)
        if self.stopping_since is not None:
            child.state = STOPPED
            self.say(f"{child.name} stopped (exit {returncode})")
            return
        if child.held:
            child.state = STOPPED
            self.say(
                f"{child.name} stopped on request; the others keep running. Start it again: "
                f"{self.control_hint} start {child.name}"
            )
            self._write_state()
            return
        if child.restart_now:
            self._spawn(child)
            return
        uptime = time.monotonic() - child.started_at
        child.quick_exits = 1 if uptime >= STABLE_AFTER else child.quick_exits + 1
        if child.quick_exits >= GIVE_UP_AFTER:
            child.state = GAVE_UP
            self.say(
                f"{child.name} exited (exit {returncode}) {child.quick_exits} times in a row, each "
                f"within {STABLE_AFTER:.0f} s of starting: not restarting it. The others keep "
                f"running. Fix the cause shown above, then: {self.control_hint} start {child.name}"
            )
        else:
            delay = min(BACKOFF_FIRST * 2 ** (child.quick_exits - 1), BACKOFF_MAX)
            child.state, child.restart_at = WAITING, time.monotonic() + delay
            self.say(
                f"{child.name} exited (exit {returncode}); the others keep running. Restarting "
                f"it in {delay:.0f} s (to keep it stopped: {self.control_hint} stop {child.name})"
            )
        self._write_state()

    def _restart_due(self) -> None:
        now = time.monotonic()
        for child in self.children.values():
            if child.state == WAITING and child.restart_at is not None and child.restart_at <= now:
                self._spawn(child)

    def _all_down(self) -> bool:
        return all(
            c.runner is None or not c.runner.is_alive() for c in self.children.values()
        ) and (all(c.pid is None for c in self.children.values()))

    # -- starting and stopping one process -------------------------------------------------

    def _spawn(self, child: Child) -> None:
        child.held, child.restart_now, child.restart_at = False, False, None
        child.state, child.started_at = RUNNING, time.monotonic()
        child.runner = multiprocessing.Process(
            name=child.name, target=child.proc.run, args=(self.events, True)
        )
        child.runner.start()

    def _signal_all(self, *, force: bool) -> None:
        for child in self.children.values():
            if child.pid is not None:
                (self.manager.kill if force else self.manager.terminate)(child.pid)

    def stop(self, name: str) -> str:
        child = self.children[name]
        child.held = True
        if child.pid is None:
            child.state, child.restart_at = STOPPED, None
            self._write_state()
            return f"{name} is not running"
        self.manager.terminate(child.pid)
        return f"stopping {name}"

    def start(self, name: str) -> str:
        child = self.children[name]
        if child.pid is not None or child.state == RUNNING:
            return f"{name} is already running"
        self._spawn(child)
        return f"starting {name}"

    # -- requests from `run.py stop|start|restart NAME` ------------------------------------

    def _serve_requests(self) -> None:
        for path in sorted(self.requests.glob("*.json")):
            try:
                request = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # still being written; read it next time round
            path.unlink(missing_ok=True)
            action, name = request.get("action"), request.get("name")
            if name not in self.children:
                self.say(f"{action} {name}: there is no process of that name")
                continue
            if action == "stop":
                self.say(self.stop(name))
            elif action == "start":
                self.say(self.start(name))
            elif action == "restart":
                child = self.children[name]
                if child.pid is not None:
                    child.held, child.restart_now, child.quick_exits = False, True, 0
                    self.manager.terminate(child.pid)
                    self.say(f"restarting {name}")
                else:
                    self.say(self.start(name))

    def say(self, text: str) -> None:
        self.printer.write(Message("line", text + "\n", datetime.now(), SYSTEM, None))

    def _write_state(self) -> None:
        state = {
            "pid": os.getpid(),
            "processes": {
                c.name: {"state": c.state, "pid": c.pid, "exits": len(c.exits)}
                for c in self.children.values()
            },
        }
        _atomic_write(self.run_dir / "state.json", json.dumps(state, indent=2))


def send_request(run_dir: Path, action: str, name: str) -> None:
    """Ask the running supervisor to stop, start or restart one process."""
    requests = run_dir / "requests"
    requests.mkdir(parents=True, exist_ok=True)
    _atomic_write(
        requests / f"{uuid.uuid4().hex}.json", json.dumps({"action": action, "name": name})
    )


def read_state(run_dir: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads((run_dir / "state.json").read_text())
    except (OSError, ValueError):
        return None
    return state


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    scratch.write_text(text)
    scratch.replace(path)


def _stdout() -> Any:
    import sys

    return sys.stdout
