"""Media upload benchmark: how much the web process's memory grows while it takes a large file.

    .venv/bin/python -m bench media [--megabytes 20] [--rounds 3] [--quick]

Runs gunicorn (one sync worker, so one process takes every request) on the bench database, broker
and cache of bench/stack.py (BENCH_DATABASE_URL, BENCH_BROKER_URL, BENCH_CACHE_URL: it empties
them, so never point them at data you care about), with its media in a temporary folder. Each
round uploads a new document of the given size with `POST /api/v1/media`; the worker's peak
resident memory (VmHWM) is reset just before (`/proc/PID/clear_refs`) and read after, and compared
with its resident memory (VmRSS) before. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench import report  # noqa: E402
from bench.stack import (  # noqa: E402
    Processes,
    base_env,
    free_port,
    standalone_django,
    wait_for_http,
)

standalone_django()

import requests  # noqa: E402

from whatsapp.models import ApiKey  # noqa: E402

MB = 1024 * 1024


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def gunicorn_worker(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def upload(url: str, key: str, path: Path) -> dict:
    with path.open("rb") as handle:
        response = requests.post(
            f"{url}/api/v1/media",
            files={"file": (path.name, handle, "application/pdf")},
            headers={"Authorization": f"Bearer {key}"},
            timeout=300,
        )
    response.raise_for_status()
    return response.json()


def main() -> int:
    parser = report.parser(__doc__)
    parser.add_argument("--megabytes", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        args.megabytes, args.rounds = 1, 1

    _row, key = ApiKey.create(f"bench-media-{os.getpid()}")
    workdir = Path(tempfile.mkdtemp(prefix="media-bench-"))
    port = free_port()
    env = base_env(WHATSAPP_MEDIA_DIR=str(workdir / "media"))
    procs = Processes()
    rows = []
    try:
        master = procs.start(
            [sys.executable, "-m", "gunicorn", "leguas.wsgi:application", "--bind",
             f"127.0.0.1:{port}", "--workers", "1", "--worker-class", "sync", "--timeout", "300"],
            env,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/healthz")
        worker = gunicorn_worker(master.pid)
        warm = workdir / "warm.pdf"
        warm.write_bytes(b"%PDF-1.4\n" + os.urandom(64 * 1024))
        upload(url, key, warm)  # imports, connections, caches: not part of the measurement
        for n in range(args.rounds):
            path = workdir / f"document-{n}.pdf"
            path.write_bytes(b"%PDF-1.4\n" + os.urandom(args.megabytes * MB))
            before = memory_kb(worker, "VmRSS")
            Path(f"/proc/{worker}/clear_refs").write_text("5")  # reset the peak to now
            started = time.monotonic()
            answer = upload(url, key, path)
            seconds = time.monotonic() - started
            peak = memory_kb(worker, "VmHWM")
            assert answer["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
            rows.append((path.stat().st_size, before, peak, seconds))
            path.unlink()
    finally:
        procs.stop()
    size = args.megabytes * MB
    growths = [(peak - before) / 1024 for _s, before, peak, _t in rows]
    table = "\n".join(
        f"| {n + 1} | {size / MB:.0f} MB | {before / 1024:.1f} | {peak / 1024:.1f} | "
        f"{(peak - before) / 1024:.1f} | {seconds:.2f} |"
        for n, (size, before, peak, seconds) in enumerate(rows)
    )
    worst = max(growths)
    body = f"""
gunicorn with one sync worker on this machine (PostgreSQL, Redis), media on the local disk. Each
round uploads a new {args.megabytes} MB document (`POST /api/v1/media`, multipart, API key); the
worker's peak resident memory is reset before the upload and read after.

| round | file | RSS before (MB) | peak during (MB) | growth (MB) | seconds |
| ---: | ---: | ---: | ---: | ---: | ---: |
{table}

The upload goes to a temporary file in 64 KB chunks and is hashed, sniffed and copied into the
storage from there.
"""
    targets = [report.at_most("media-upload-memory-growth", worst, size / MB, "MB")]
    return report.finish("Media upload", "media", body, targets, quick=args.quick)


if __name__ == "__main__":
    raise SystemExit(main())
