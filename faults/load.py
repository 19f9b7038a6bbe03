"""Load on the housekeeping: two beats, a scheduled backlog beside a sending instance, a long
drain with acks (scenarios 9, 12, 14)."""

from __future__ import annotations

import itertools
import re
import statistics
import time
from datetime import datetime, timedelta
from typing import Any

from faults.common import Ctx, finish, scenario
from faults.processes import CELERY, Proc
from faults.report import Result
from faults.stack import DONE, phone, wait_until

STAMP = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+) .*Task (\S+)\[[^\]]+\] succeeded in ([\d.]+)s",
    re.MULTILINE,
)


def task_runs(text: str, task: str) -> list[tuple[datetime, float]]:
    """(when it finished, seconds it took) of each successful run of `task` in a worker log."""
    runs = []
    for match in STAMP.finditer(text):
        if match[2] == task:
            runs.append((datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f"), float(match[3])))
    return runs


def gaps(times: list[datetime]) -> list[float]:
    times = sorted(times)
    return [(b - a).total_seconds() for a, b in itertools.pairwise(times)]


def health_times(instance: Any) -> list[datetime]:
    from whatsapp.models import HealthSample

    return list(HealthSample.objects.filter(instance=instance).values_list("at", flat=True))


@scenario(9, "two_beats")
def two_beats(ctx: Ctx) -> list[Result]:
    from whatsapp.conf import conf

    stack = ctx.stack
    instance = stack.instance("main")
    seconds, period = 180, conf.HEALTH_INTERVAL
    result = Result(
        9,
        "two_beats",
        "Two beat processes for three minutes",
        f"A second beat started beside the first for {seconds} s while 10 messages were queued "
        f"every 5 s; the health recorder's period is {period} s.",
        f"{seconds} s, {10 * seconds // 5} messages",
        live_test="`tests/faults/test_two_beats.py`",
    )
    beat2 = stack.p.add(Proc("beat-2", [*CELERY, "beat", "--loglevel", "INFO"], stack.env))
    started = time.monotonic()
    ids: list[str] = []
    rounds = 0
    while time.monotonic() - started < seconds:
        ids += stack.backlog(f"beats{rounds}", 10)
        rounds += 1
        time.sleep(max(0.0, started + rounds * 5 - time.monotonic()))
    result.figures["second beat alive throughout"] = beat2.alive()
    stack.p.remove("beat-2")
    samples = health_times(instance)
    finish(ctx, result, ids, "beats", time.monotonic())
    result.duplicated = sum(stack.duplicates(f"beats{r}") for r in range(rounds))
    shortest = min(gaps(samples), default=float(period))
    result.figures["health samples"] = len(samples)
    result.figures["shortest gap between samples s"] = round(shortest, 1)
    result.checks["no duplicate health sample (gaps ≥ 0.6 period)"] = shortest >= 0.6 * period
    return [result]


def latency(ctx: Ctx, tag: str, count: int) -> list[float]:
    """Seconds from enqueue to sent, one message at a time, on the instance `other`."""
    from whatsapp import api
    from whatsapp.models import OutboundMessage

    took = []
    for n in range(count):
        started = time.monotonic()
        message = api.send_text(phone(500000 + n), f"{tag} {n}", instance="other")
        sent = OutboundMessage.objects.filter(pk=message.pk, status__in=DONE)
        wait_until(sent.exists, 60, 0.02)
        took.append(time.monotonic() - started)
    return took


def _loaded_row(
    ctx: Ctx, name: str, title: str, how: str, per_transaction: int, idle_s: float
) -> Result:
    """Schedule the backlog `per_transaction` messages per commit, then time `other`'s sends."""
    from django.db import transaction
    from django.utils import timezone

    from whatsapp import api

    stack = ctx.stack
    count = ctx.n(3000, 3000)
    result = Result(
        12,
        name,
        title,
        f"{count} messages scheduled a day ahead on one instance, {how}; another instance's "
        "send latency (enqueue to sent, 20 messages one after another, starting 15 s after the "
        "backlog was stored) against its idle figure.",
        f"{count} scheduled, 20 timed sends",
        live_test="`tests/messages/test_recovery.py::test_the_beat_dispatcher_gets_one_id_per_"
        "instance_with_3000_scheduled_messages`, `tests/test_doorbell.py::test_equal_rings_in_"
        "one_transaction_publish_once_and_different_ones_each`",
    )
    housekeeping = stack.p["worker-housekeeping"]
    mark = len(housekeeping.output())
    later = timezone.now() + timedelta(days=1)
    for start in range(0, count, per_transaction):
        with transaction.atomic():
            for n in range(start, min(count, start + per_transaction)):
                api.send_text(phone(600000 + n), f"{name} {n}", send_after=later)
    time.sleep(15)  # several beat ticks see the backlog
    loaded_s = statistics.median(latency(ctx, f"{name}-timed", 20))
    log = housekeeping.output()[mark:]
    ticks = task_runs(log, "whatsapp.housekeeping.dispatch_all")
    result.enqueued = 20
    result.figures["median latency idle s"] = round(idle_s, 3)
    result.figures["median latency with the backlog s"] = round(loaded_s, 3)
    result.figures["beat dispatcher ticks"] = len(ticks)
    result.figures["slowest tick s"] = round(max((s for _t, s in ticks), default=0.0), 3)
    result.checks["latency within 20 % of idle (+50 ms of timer resolution)"] = (
        loaded_s <= idle_s * 1.2 + 0.05
    )
    result.checks["no tick past its time limit"] = "TimeLimitExceeded" not in log
    result.duplicated = stack.duplicates(f"{name}-timed")
    result.left = stack.left()
    result.recover_s = 0.0
    return result


@scenario(12, "scheduled_backlog")
def scheduled_backlog(ctx: Ctx) -> list[Result]:
    import redis

    stack = ctx.stack
    stack.instance("main")
    stack.instance("other", default=False)
    idle_s = statistics.median(latency(ctx, "idle", 20))
    batched = _loaded_row(
        ctx,
        "scheduled_backlog",
        "A day-ahead backlog on one instance while another sends (500 per commit)",
        "stored 500 per transaction (as a batch or a script does)",
        500,
        idle_s,
    )
    broker = redis.Redis.from_url(stack.redis.url(0))
    wait_until(lambda: broker.llen("default") == 0, 300)
    stack.fresh()
    stack.instance("main")
    stack.instance("other", default=False)
    singly = _loaded_row(
        ctx,
        "scheduled_backlog_singly",
        "The same backlog stored one message per commit (as REST clients do)",
        "each in its own transaction (one REST request each)",
        1,
        idle_s,
    )
    return [batched, singly]


@scenario(14, "long_drain")
def long_drain(ctx: Ctx) -> list[Result]:
    from whatsapp.conf import conf

    stack = ctx.stack
    instance = stack.instance("main")
    count = ctx.n(10000, 1000)
    period = conf.HEALTH_INTERVAL
    result = Result(
        14,
        "long_drain",
        "A long drain with acks on: sweeps and health keep their period",
        f"{count} messages drained with delivery and read acks for each (two webhooks per "
        f"message); the sweep (every 30 s) and the health recorder (every {period} s) are timed "
        "from the housekeeping worker's log and the samples.",
        f"{count} messages, {2 * count} acks",
        live_test="only here (the drain takes minutes)",
    )
    stack.sim.set_acks(1.0, 2.0)
    housekeeping = stack.p["worker-housekeeping"]
    mark = len(housekeeping.output())
    begun = timezone_now()
    ids = stack.backlog("drain", count)
    finish(ctx, result, ids, "drain", time.monotonic())
    sweeps = [t for t, _s in task_runs(housekeeping.output()[mark:], "whatsapp.housekeeping.sweep")]
    samples = [t for t in health_times(instance) if t >= begun]
    sweep_gap = max(gaps(sweeps), default=0.0)
    health_gap = max(gaps(samples), default=0.0)
    result.figures["sweeps"] = len(sweeps)
    result.figures["longest gap between sweeps s"] = round(sweep_gap, 1)
    result.figures["health samples"] = len(samples)
    result.figures["longest gap between health samples s"] = round(health_gap, 1)
    result.checks["sweeps every 30 s (no gap over 45 s)"] = len(sweeps) >= 2 and sweep_gap <= 45
    result.checks[f"health every {period} s (no gap over {period * 1.5:g} s)"] = (
        len(samples) >= 2 and health_gap <= period * 1.5
    )
    return [result]


def timezone_now() -> datetime:
    from django.utils import timezone

    return timezone.now()
