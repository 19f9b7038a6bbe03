"""Session lifecycle under a hanging gateway: start POST and status poll latency, gateway calls.

    .venv/bin/python -m bench sessions [--seconds 40] [--interval 2] [--stress-interval 0.5] [--quick]

The simulator hangs start-session for 90 s (as a stuck WPPConnect does). We measure the start
POST (new operation, and a repeat that returns the running one) and the status poll, with 1 and
with 50 concurrent pollers each polling every --interval seconds, and how many gateway calls
per minute the pollers cause. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import random
import threading
import time
from importlib import import_module

import requests

from bench import report
from bench.stack import (
    GATEWAY_SECRET,
    base_env,
    empty_messages,
    free_port,
    percentiles,
    prepare_database,
    running_stack,
    setup_django,
)

START_TARGET_MS = 200
STATUS_TARGET_MS = 50


def login_cookies() -> dict[str, str]:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User

    user, _ = User.objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    user.set_password("bench-password")
    user.save()
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return {settings.SESSION_COOKIE_NAME: store.session_key or ""}


def make_instances(sim_url: str, count: int) -> list[str]:
    from whatsapp.models import Instance

    # The bench database is scratch, shared with the message bench: clear what protects instances.
    empty_messages()
    Instance.objects.all().delete()
    slugs = []
    for index in range(count):
        slug = "bench" if index == 0 else f"bench-{index}"
        instance = Instance(
            slug=slug,
            name=slug,
            session_name=f"{slug}-{int(time.time())}",
            gateway_url=sim_url,
            is_default=index == 0,
        )
        instance.secret_key = GATEWAY_SECRET
        instance.save()
        slugs.append(slug)
    return slugs


def session_of(slug: str) -> str:
    from whatsapp.models import Instance

    return Instance.objects.get(slug=slug).session_name


def timed_ms(call) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed


def measure_starts(
    url: str, cookies: dict[str, str], slugs: list[str]
) -> tuple[list[float], list[float]]:
    http = requests.Session()
    http.cookies.update(cookies)
    http.get(f"{url}/accounts/login/")  # sets the csrftoken cookie
    headers = {"X-CSRFToken": http.cookies["csrftoken"], "Accept": "application/json"}
    new, repeat = [], []
    for slug in slugs[1:]:
        new.append(
            timed_ms(
                lambda s=slug: http.post(
                    f"{url}/system/whatsapp/instances/{s}/start/", headers=headers
                )
            )
        )
    for _ in range(len(slugs) - 1):
        repeat.append(
            timed_ms(
                lambda: http.post(
                    f"{url}/system/whatsapp/instances/{slugs[1]}/start/", headers=headers
                )
            )
        )
    return new, repeat


def poll(
    url: str, cookies: dict[str, str], pollers: int, seconds: float, interval: float
) -> list[float]:
    samples: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def run() -> None:
        http = requests.Session()
        http.cookies.update(cookies)
        http.get(
            f"{url}/system/whatsapp/status/", headers={"Accept": "application/json"}
        )  # warm-up
        # Browsers open the page at different moments: pollers are not in lockstep.
        time.sleep(random.uniform(0, interval))
        mine = []
        while time.monotonic() < stop:
            began = time.monotonic()
            mine.append(
                timed_ms(
                    lambda: http.get(
                        f"{url}/system/whatsapp/status/", headers={"Accept": "application/json"}
                    )
                )
            )
            time.sleep(max(0.0, interval - (time.monotonic() - began)))
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=run) for _ in range(pollers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


def gateway_calls(sim, session: str) -> int:  # type: ignore[no-untyped-def]
    return sum(sim.calls(session).values())


def main() -> int:
    parser = report.parser(__doc__)
    parser.add_argument("--seconds", type=float, default=40.0, help="length of each polling phase")
    parser.add_argument(
        "--interval",
        type=float,
        default=2.0,
        help="seconds between one poller's polls (the dashboard's fast rate)",
    )
    parser.add_argument(
        "--stress-interval",
        type=float,
        default=0.5,
        help="a faster rate, reported beside the targets but not judged by them",
    )
    parser.add_argument("--instances", type=int, default=31, help="instances (one per new start)")
    parser.add_argument("--pollers", type=int, default=50, help="concurrent pollers")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.instances, args.pollers = 2.0, 3, 5

    from whatsapp.simulator.testing import start_simulator

    prepare_database()
    sim = start_simulator(GATEWAY_SECRET, init_delay=0.2)
    port = free_port()
    env = base_env(WHATSAPP_PUBLIC_URL=f"http://127.0.0.1:{port}")
    setup_django(env)
    slugs = make_instances(sim.url, args.instances)
    cookies = login_cookies()
    sim.set_fault("start-session", hang=90)
    results: dict[str, dict[str, float]] = {}
    calls: dict[str, float] = {}
    try:
        with running_stack(port, env, workers=[("sessions", 2), ("messages,default", 2)]) as url:
            new, repeat = measure_starts(url, cookies, slugs)
            results["start POST (new operation)"] = percentiles(new)
            results["start POST (operation already running)"] = percentiles(repeat)
            session = session_of("bench")
            for pollers, interval in (
                (1, args.interval),
                (args.pollers, args.interval),
                (args.pollers, args.stress_interval),
            ):
                before = gateway_calls(sim, session)
                samples = poll(url, cookies, pollers, args.seconds, interval)
                key = f"{pollers} poller(s) every {interval:g} s"
                results[f"status poll, {key}"] = percentiles(samples)
                calls[key] = round((gateway_calls(sim, session) - before) * 60 / args.seconds, 1)
    finally:
        sim.stop()

    start_p95 = max(
        results["start POST (new operation)"]["p95"],
        results["start POST (operation already running)"]["p95"],
    )
    judged = [k for k in results if k.startswith("status") and f"every {args.interval:g} s" in k]
    status_p95 = max(results[k]["p95"] for k in judged)
    lines = [
        "gunicorn (3 processes × 8 threads), a sessions worker and a messages+default worker,",
        "PostgreSQL and Redis on this machine; the simulator hangs every start-session for 90 s.",
        f"Each poller asks for `status/` every {args.interval:g} s (the dashboard's fast rate) for"
        f" {args.seconds:g} s; the last row is a stress run at {args.stress_interval:g} s, not judged.",
        "",
        "| measurement | samples | p50 ms | p95 ms | p99 ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, figures in results.items():
        lines.append(
            f"| {name} | {figures['n']} | {figures['p50']} | {figures['p95']} | {figures['p99']} |"
        )
    lines += [
        "",
        "| pollers | gateway calls per minute (all routes, the polled session) |",
        "| --- | ---: |",
        *[f"| {key} | {value} |" for key, value in calls.items()],
    ]
    steady = max(calls.values()) <= min(calls.values()) * 1.5 + 2
    targets = [
        report.at_most("session-start-post-p95", start_p95, START_TARGET_MS, "ms"),
        report.at_most("session-status-poll-p95", status_p95, STATUS_TARGET_MS, "ms"),
        report.Target(
            "session-gateway-calls-per-minute",
            max(calls.values()),
            "calls/min",
            "flat in the pollers",
            steady,
        ),
    ]
    return report.finish(
        "Session lifecycle", "sessions", "\n".join(lines), targets, quick=args.quick
    )


if __name__ == "__main__":
    raise SystemExit(main())
