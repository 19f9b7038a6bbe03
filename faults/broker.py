"""Redis restarted empty, unreachable, frozen (scenarios 3, 4, 13)."""

from __future__ import annotations

import time

from faults.common import Ctx, Traffic, finish, scenario, sleep_until
from faults.report import Result


def _reset_doorbell() -> None:
    from whatsapp import doorbell

    doorbell.reset()  # this process rings too: no cooldown left from the outage


@scenario(3, "redis_restart")
def redis_restart(ctx: Ctx) -> list[Result]:
    stack = ctx.stack
    stack.instance("main")
    count = ctx.n(1000, 200)
    result = Result(
        3,
        "redis_restart",
        "Redis restarted without persistence, messages queued and dispatched",
        f"{count} messages queued (0.2 s per send); when a tenth was sent, Redis was killed and "
        "started again empty: every doorbell, queued task and reserved task gone.",
        f"{count} messages",
        live_test="`tests/test_broker_outage_live.py::test_workers_survive_redis_restarts_under_"
        "traffic`, `tests/messages/test_live.py::test_a_flushed_broker_loses_no_message_and_"
        "sends_none_twice`",
    )
    stack.sim.set_fault("send-message", latency=0.2)
    ids = stack.backlog("redisrestart", count)
    sleep_until(lambda: len(ids) - stack.not_done(ids) >= count / 10, 300)
    from whatsapp.models import OutboundMessage

    in_flight = OutboundMessage.objects.filter(status__in=["queued", "dispatched", "sending"])
    result.figures["unsent when Redis went"] = in_flight.count()
    stack.redis.stop()
    stack.redis.start()
    _reset_doorbell()
    stack.sim.clear_faults()
    finish(ctx, result, ids, "redisrestart", time.monotonic())
    return [result]


def _enqueue_through(ctx: Ctx, result: Result, tag: str, fault: str, seconds: float) -> None:
    """Steady REST enqueue: 10 s before the fault, through it, 10 s after."""
    stack = ctx.stack
    traffic = Traffic(stack, tag, every=0.2).start()
    time.sleep(10)
    if fault == "stop":
        stack.redis.stop()
    else:
        stack.redis.freeze()
    time.sleep(seconds)
    if fault == "stop":
        stack.redis.start()
    else:
        stack.redis.thaw()
    fault_ended = time.monotonic()
    time.sleep(10)
    traffic.stop()
    _reset_doorbell()
    result.figures.update(traffic.figures())
    result.notes += [f"An answer other than 201: {bad}" for bad in traffic.bad]
    result.checks["every request answered 201"] = set(traffic.codes) == {201}
    limit = 1.0 if fault == "stop" else 1.5
    result.checks[f"p99 ≤ {limit} s"] = traffic.p99() <= limit
    finish(ctx, result, traffic.ids, tag, fault_ended)


@scenario(4, "redis_down")
def redis_down(ctx: Ctx) -> list[Result]:
    ctx.stack.instance("main")
    seconds = 60
    result = Result(
        4,
        "redis_down",
        f"Redis unreachable for {seconds} s during steady REST enqueue",
        f"`POST /api/v1/messages` five times a second through gunicorn; Redis killed 10 s in and "
        f"started again (empty) {seconds} s later; enqueue goes on 10 s more.",
        f"{seconds} s outage, 5 requests/s",
        live_test="`tests/test_doorbell_live.py::test_a_refusing_redis_makes_a_publish_give_up_"
        "at_once`",
    )
    _enqueue_through(ctx, result, "redisdown", "stop", seconds)
    return [result]


@scenario(13, "redis_frozen")
def redis_frozen(ctx: Ctx) -> list[Result]:
    ctx.stack.instance("main")
    seconds = 15
    result = Result(
        13,
        "redis_frozen",
        f"Redis frozen (SIGSTOP) for {seconds} s during steady REST enqueue",
        f"`POST /api/v1/messages` five times a second through gunicorn; Redis stopped with "
        f"SIGSTOP 10 s in (connections hang, nothing is refused) and resumed {seconds} s later.",
        f"{seconds} s freeze, 5 requests/s",
        live_test="`tests/test_doorbell_live.py::test_an_enqueue_with_redis_frozen_is_fast_and_"
        "the_row_is_kept`",
    )
    _enqueue_through(ctx, result, "redisfrozen", "freeze", seconds)
    return [result]
