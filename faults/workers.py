"""Workers killed, stopped and restarted; a message that kills its worker
(scenarios 1, 2, 8, 10)."""

from __future__ import annotations

import functools
import os
import signal
import time

from faults.common import Ctx, finish, scenario, sleep_until
from faults.poison import MARKER
from faults.processes import Proc
from faults.report import Result
from faults.stack import phone


def progressed(ctx: Ctx, ids: list[str], share: float) -> bool:
    return len(ids) - ctx.stack.not_done(ids) >= len(ids) * share


def sending_children(ctx: Ctx) -> list[int]:
    """Pool children of the messages worker that are inside a gateway call right now."""
    from whatsapp.models import MessageAttempt

    children = set(ctx.stack.p["worker-main"].children())
    workers = MessageAttempt.objects.filter(outcome="sending").values_list("worker", flat=True)
    pids = {int(w.rsplit(":", 1)[1]) for w in workers if w.rsplit(":", 1)[-1].isdigit()}
    return sorted(children & pids)


def replaced(worker: Proc, victim: int) -> bool:
    """The pool has started a child in place of the killed one."""
    children = worker.children()
    return victim not in children and len(children) >= 4


@scenario(1, "kill9")
def kill9(ctx: Ctx) -> list[Result]:
    stack = ctx.stack
    stack.instance("main")
    stack.sim.set_fault("send-message", latency=0.2)  # sends are in flight when the kill lands
    burst, stream = ctx.n(2000, 200), ctx.n(4000, 400)
    result = Result(
        1,
        "kill9",
        "kill -9 of the messages worker mid-burst, then of a pool child 20 times",
        f"A burst of {burst} messages; when a fifth was sent, `kill -9` of the whole messages "
        f"worker (main process and pool), started again at once. Then {stream} more, and 20 "
        "times in a row `kill -9` of a pool child caught inside a gateway call (its attempt row "
        "`sending`), each after the pool replaced the previous one. The gateway answers each "
        "send after 0.2 s.",
        f"{burst} + at least {stream} messages, 20 child kills",
        live_test="`tests/messages/test_live.py::test_kill9_of_the_messages_worker_mid_burst_"
        "loses_nothing`, `tests/faults/test_pool_child_kills.py`",
    )
    ids = stack.backlog("kill9", burst)
    sleep_until(lambda: progressed(ctx, ids, 0.2), 300)
    main = stack.p["worker-main"]
    main.kill9()
    main.start()
    ids += stack.backlog("kill9c", stream)
    kills, fed, last_kill = 0, stream, time.monotonic()
    while kills < 20:
        if stack.not_done(ids) < 50:  # keep sends in flight until the 20th kill
            ids += stack.backlog("kill9c", 200, first=fed)
            fed += 200
        if not sleep_until(lambda: bool(sending_children(ctx)), 60):
            break
        victims = sending_children(ctx)
        if not victims:
            continue
        try:
            os.kill(victims[0], signal.SIGKILL)
        except ProcessLookupError:
            continue
        kills += 1
        last_kill = time.monotonic()
        sleep_until(functools.partial(replaced, main, victims[0]), 30)
    result.figures["child kills done"] = kills
    result.checks["20 children killed mid-send"] = kills == 20
    stack.sim.clear_faults()
    finish(ctx, result, ids, "kill9", last_kill)
    result.duplicated += stack.duplicates("kill9c")
    return [result]


@scenario(2, "rolling_restart")
def rolling_restart(ctx: Ctx) -> list[Result]:
    from whatsapp.models import SessionOperation
    from whatsapp.services import session_requests

    stack = ctx.stack
    stack.instance("main")
    ops = stack.instance("ops", default=False)
    count = ctx.n(2000, 300)
    result = Result(
        2,
        "rolling_restart",
        "SIGTERM of every worker during a drain, a session call hanging 90 s",
        f"A close of another session whose gateway call hangs 90 s is running on the sessions "
        f"worker; {count} messages drain (0.2 s per send). Every worker gets a replacement "
        "started, then SIGTERM (a rolling restart: warm shutdown, each finishes what it holds).",
        f"{count} messages, one 90 s session call",
        live_test="`tests/faults/test_rolling_restart.py`",
    )
    stack.sim.set_fault("close-session", hang=90)
    stack.sim.set_fault("send-message", latency=0.2)
    operation, _ = session_requests.request(ops, "close")
    sleep_until(lambda: SessionOperation.objects.get(pk=operation.pk).status == "running", 60)
    ids = stack.backlog("rolling", count)
    sleep_until(lambda: progressed(ctx, ids, 0.1), 300)
    old = {}
    for proc in stack.p.workers():
        old[proc.name] = proc
        stack.p.procs[proc.name] = Proc(proc.name, proc.args, proc.env).start()
    started = time.monotonic()
    for proc in old.values():
        proc.terminate()
    exits: dict[str, int] = {}
    while len(exits) < len(old) and time.monotonic() - started < 150:
        for name, proc in old.items():
            if name not in exits and not proc.alive():
                exits[name] = round(time.monotonic() - started)
        time.sleep(0.5)
    for name, proc in old.items():
        if name not in exits:
            proc.kill9()
            result.notes.append(f"{name} did not stop within 150 s of SIGTERM: killed.")
    result.figures["seconds to exit after SIGTERM"] = exits
    stack.sim.clear_faults()
    finish(ctx, result, ids, "rolling", started)  # recovery counted from the SIGTERMs
    sleep_until(
        lambda: SessionOperation.objects.get(pk=operation.pk).status not in ("pending", "running"),
        180,
    )
    final = SessionOperation.objects.get(pk=operation.pk)
    result.figures["the hanging session call ended"] = (
        f"{final.status} ({final.error or 'no error'})"
    )
    result.checks["the session operation ended, none left running"] = final.status not in (
        "pending",
        "running",
    )
    return [result]


def windows(times: list[float], seconds: float) -> int:
    """The most entries in any `seconds`-long window."""
    times = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= seconds:
            start += 1
        most = max(most, end - start + 1)
    return most


@scenario(8, "restart_all")
def restart_all(ctx: Ctx) -> list[Result]:
    stack = ctx.stack
    cap = 300
    stack.instance("main", cap_per_minute=cap)
    count = ctx.n(10000, 500)
    result = Result(
        8,
        "restart_all",
        "A backlog, all workers and beat restarted mid-drain",
        f"{count} queued on one number with a cap of {cap} a minute; when a quarter was sent, "
        "every worker and beat stopped (SIGTERM) and started again. The simulator's ledger is "
        f"read for the most sends in any 60 s.",
        f"{count} messages, cap {cap}/min",
        live_test="`tests/messages/test_caps_live.py` (caps at the gateway); the restart itself "
        "runs only here (over a minute)",
    )
    ids = stack.backlog("restart", count)
    sleep_until(lambda: progressed(ctx, ids, 0.25), ctx.drain_timeout(count))
    names = [p.name for p in stack.p.workers()] + ["beat"]
    for name in names:
        stack.p[name].stop()
    for name in names:
        stack.p[name].start()
    fault_ended = time.monotonic()
    finish(ctx, result, ids, "restart", fault_ended, timeout=180 + count * 60 / cap)
    most = windows([e["t"] for e in stack.sim.ledger(message="restart ")], 60)
    result.figures["most sends in any 60 s at the gateway"] = most
    result.checks[f"never more than {cap} in 60 s"] = most <= cap
    return [result]


@scenario(10, "poison")
def poison(ctx: Ctx) -> list[Result]:
    from whatsapp import api
    from whatsapp.models import OutboundMessage
    from whatsapp.services.send import MAX_ATTEMPTS

    stack = ctx.stack
    stack.instance("main")
    count = ctx.n(1000, 50)
    result = Result(
        10,
        "poison",
        "A poison message that always kills its worker child",
        f"One message whose send kills (SIGKILL) the worker child making it, every time "
        f"(faults/poison.py), among {count} others.",
        f"1 poison + {count} messages",
        live_test="`tests/messages/test_recovery.py::test_a_message_that_kills_its_worker_every_"
        "time_fails_after_the_attempt_limit` (the same steps, without the processes)",
    )
    bad = api.send_text(phone(999999), f"{MARKER}1")
    ids = stack.backlog("poison", count)
    started = time.monotonic()
    sleep_until(lambda: OutboundMessage.objects.get(pk=bad.pk).status == "failed", 900)
    bad.refresh_from_db()
    result.figures["the poison message"] = (
        f"{bad.status} after {bad.attempts} attempts in {time.monotonic() - started:.0f} s"
    )
    result.checks[f"failed after the attempt limit ({MAX_ATTEMPTS})"] = (
        bad.status == "failed" and bad.attempts == MAX_ATTEMPTS
    )
    finish(ctx, result, ids, "poison", time.monotonic())
    return [result]
