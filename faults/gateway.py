"""The gateway failing: 5xx, refused, hanging, dropping answers, look-ups broken, a malformed
event (scenarios 6, 7, 11)."""

from __future__ import annotations

import time
from typing import Any

from faults.common import Ctx, finish, scenario, sleep_until
from faults.report import Result

LOOKUPS = ("message-by-id", "get-messages")


def _phase(
    ctx: Ctx, key: str, title: str, done: str, test: str, fault: dict[str, Any], seconds: float
) -> Result:
    """A backlog sent while `fault` holds for `seconds` (0: the whole drain)."""
    stack = ctx.stack
    stack.fresh()
    stack.instance("main")
    count = ctx.n(1000, 100)
    result = Result(6, key, title, done, f"{count} messages", live_test=test)
    if fault.get("refuse"):
        stack.sim.refuse(seconds)
    else:
        stack.sim.set_fault("send-message", **fault)
    ids = stack.backlog(key, count)
    if seconds:
        time.sleep(seconds)
        stack.sim.clear_faults()
    fault_ended = time.monotonic()
    return finish(ctx, result, ids, key, fault_ended)


@scenario(6, "gateway")
def gateway(ctx: Ctx) -> list[Result]:
    live = "`tests/messages/test_live.py::"
    return [
        _phase(
            ctx, "gateway_5xx", "Gateway answers 5xx for 20 s",
            "Every send answered 500 for 20 s from the moment the backlog was queued, then the "
            "gateway recovered.",
            f"{live}test_5xx_for_a_while_then_recovery`", {"error_rate": 1.0}, 20,
        ),
        _phase(
            ctx, "gateway_refused", "Gateway refuses connections for 15 s",
            "The gateway's port refused every connection for 15 s from the moment the backlog "
            "was queued.",
            f"{live}test_refused_connections_then_recovery`", {"refuse": True}, 15,
        ),
        _phase(
            ctx, "gateway_hang", "Gateway sends hang 20 s (past the 10 s read timeout) for 30 s",
            "For 30 s every send was held 20 s by the gateway, then carried out: the worker gave "
            "up at its read timeout without knowing whether it was sent.",
            "`tests/messages/test_flow.py::test_a_dropped_answer_is_reconciled_as_sent_without_a_"
            "second_send`", {"hang": 20}, 30,
        ),
        _phase(
            ctx, "gateway_drop", "Gateway accepts then drops the answer of 10 % of sends",
            "Through the whole drain, one send in ten was carried out and its connection cut "
            "before the answer.",
            f"{live}test_dropped_connections_end_sent_with_no_duplicate`", {"drop_rate": 0.1}, 0,
        ),
    ]  # fmt: skip


@scenario(7, "lookups_down")
def lookups_down(ctx: Ctx) -> list[Result]:
    from whatsapp.models import OutboundMessage

    stack = ctx.stack
    stack.instance("main")
    count = ctx.n(1000, 100)
    result = Result(
        7,
        "lookups_down",
        "Gateway look-ups failing together with dropped sends",
        f"{count} messages; 10 % of sends carried out with their answer dropped, and the "
        f"gateway's message look-ups ({', '.join(LOOKUPS)}) answering errors until every "
        "message left unknown was flagged for review (at most the 30 s grace plus one 30 s "
        "sweep after its last try; waited for up to 120 s). Then the look-ups work again.",
        f"{count} messages",
        live_test="`tests/messages/test_review.py::test_an_unknown_send_is_flagged_after_the_grace"
        "_period_and_announced_once`",
    )
    for route in LOOKUPS:
        stack.sim.set_fault(route, error_rate=1.0)
    stack.sim.set_fault("send-message", drop_rate=0.1)
    ids = stack.backlog("lookups", count)
    started = time.monotonic()
    unknown = OutboundMessage.objects.filter(status="unknown")
    flagged = unknown.filter(needs_review_since__isnull=False)
    # Flagged by the sweep once the last try is older than the grace: wait for the drain first.
    sleep_until(lambda: stack.not_final(ids) == unknown.count() and unknown.exists(), 60)
    all_flagged = sleep_until(lambda: flagged.count() == unknown.count(), 120)
    result.figures["left unknown by dropped answers"] = unknown.count()
    result.figures["of those flagged for review"] = flagged.count()
    result.figures["seconds until all were flagged"] = round(time.monotonic() - started)
    result.checks["every unknown flagged after the grace"] = all_flagged and unknown.exists()
    stack.sim.clear_faults()
    finish(ctx, result, ids, "lookups", time.monotonic())
    return [result]


@scenario(11, "malformed_event")
def malformed_event(ctx: Ctx) -> list[Result]:
    import requests
    from django.urls import reverse

    from whatsapp.models import GatewayEvent

    stack = ctx.stack
    instance = stack.instance("main")
    count = ctx.n(1000, 100)
    result = Result(
        11,
        "malformed_event",
        "A malformed gateway event (`onmessage` with `t: 1e20`)",
        f'The webhook receiver got an `onmessage` event with `"t": 1e20` (and one with '
        f"`-1e15`), then {count} messages were sent with delivery and read acks on: every later "
        "event of the instance must still be applied.",
        f"{count} messages, 2 malformed events",
        live_test="`tests/sessions/test_event_failures.py`",
    )
    stack.sim.set_acks(0.5, 1.0)
    path = reverse("whatsapp-webhook", args=[instance.slug, instance.webhook_secret])
    for n, t in enumerate((1e20, -1e15)):
        body = {
            "event": "onmessage", "session": instance.session_name, "id": f"bad_{n}",
            "from": "5521988887777@c.us", "body": "oi", "type": "chat", "t": t,
        }  # fmt: skip
        answer = requests.post(f"{stack.p.url}{path}", json=body, timeout=10)
        result.figures[f"webhook answer to t={t:g}"] = answer.status_code
    ids = stack.backlog("malformed", count)
    fault_ended = time.monotonic()
    finish(ctx, result, ids, "malformed", fault_ended)
    sleep_until(lambda: stack.statuses(ids) and set(stack.statuses(ids).values()) == {"read"}, 120)
    statuses = stack.statuses(ids)
    result.checks["every message's acks applied (all read)"] = set(statuses.values()) == {"read"}
    states = dict(GatewayEvent.objects.filter(payload__id__startswith="bad_").values_list(
        "payload__id", "state"))  # fmt: skip
    result.figures["the malformed events"] = states or "not stored"
    return [result]
