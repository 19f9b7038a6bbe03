"""Metrics for Prometheus: counters and histograms written by every process, gauges read from
the database at scrape time (`collector.py`), served at `/metrics` (`whatsapp/views/metrics.py`).

Processes write to `PROMETHEUS_MULTIPROC_DIR` (prometheus-client's multiprocess mode), so the
web and every worker add up to one number; without that variable each process counts alone. A
new metric is one line here, used where the thing happens:

    WEBHOOK_DELIVERIES.labels(result="delivered").inc()
"""

from __future__ import annotations

import os
import socket

from prometheus_client import Counter, Histogram, values

# Files are named by process; containers share the folder but each numbers its processes from
# 1, so the host name joins the pid.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    values.ValueClass = values.MultiProcessValue(
        process_identifier=lambda: f"{socket.gethostname()}-{os.getpid()}"
    )

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
ACK_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)

SEND_ATTEMPTS = Counter(
    "whatsapp_send_attempts",
    "Tries to send a message, by instance and outcome (sent, unknown_number, unreachable, ...).",
    ["instance", "outcome"],
)
GATEWAY_REQUESTS = Histogram(
    "whatsapp_gateway_request_seconds",
    "Calls to the gateway, by route and outcome (HTTP status or error kind).",
    ["route", "outcome"],
    buckets=LATENCY_BUCKETS,
)
ACKS = Counter(
    "whatsapp_acks",
    "Delivery receipts applied, by instance and the status they moved to (delivered, read).",
    ["instance", "status"],
)
ACK_DELAY = Histogram(
    "whatsapp_ack_delay_seconds",
    "Time from a message's send to its receipt, by status (delivered, read).",
    ["status"],
    buckets=ACK_BUCKETS,
)
SESSION_CHANGES = Counter(
    "whatsapp_session_changes",
    "Session state changes, by instance and new status.",
    ["instance", "status"],
)
RECONNECTIONS = Counter(
    "whatsapp_reconnections",
    "Sessions connected again after a disconnection, by instance.",
    ["instance"],
)
RECONNECT_ATTEMPTS = Counter(
    "whatsapp_reconnect_attempts",
    "Automatic reconnection attempts (session starts), by instance.",
    ["instance"],
)
WEBHOOK_DELIVERIES = Counter(
    "whatsapp_webhook_deliveries",
    "Outgoing webhook deliveries, by result (delivered, failed, gave_up).",
    ["result"],
)
TASKS = Histogram(
    "whatsapp_task_seconds",
    "Celery task run time, by queue and task, with how it ended (success, failure, retry).",
    ["queue", "task", "state"],
    buckets=LATENCY_BUCKETS,
)


def connect() -> None:
    """Hook the metrics into the gateway client, the state writers and Celery (once)."""
    from whatsapp.metrics import hooks

    hooks.connect()
