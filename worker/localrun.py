"""`make run`: every process of the product on one machine, with embedded fallbacks.

Redis: the one at CELERY_BROKER_URL if it answers; else a `redis-server` started under var/ if one
is on PATH; else kombu's SQLAlchemy transport on a SQLite file. The gateway: WPPCONNECT_URL if
set, else the project's simulator. Ctrl-C stops every process started here (honcho kills each
process group).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
SIMULATOR_PORT = 21465
WEB_PORT = 8000
FLOWER_PORT = 5555


@dataclass
class Plan:
    env: dict[str, str]
    processes: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def choose_broker(env: dict[str, str], var_dir: Path, redis_server: str | None) -> Plan:
    """Decide where the broker comes from. Pure apart from probing the port."""
    plan = Plan(env=dict(env))
    url = env.get("CELERY_BROKER_URL") or DEFAULT_BROKER
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", "rediss"):
        plan.env["CELERY_BROKER_URL"] = url
        return plan
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    plan.env["CELERY_BROKER_URL"] = url
    if port_open(host, port):
        plan.notes.append(f"Broker: the Redis already running at {host}:{port}.")
        return plan
    if redis_server and host in ("127.0.0.1", "localhost"):
        data = var_dir / "redis"
        data.mkdir(parents=True, exist_ok=True)
        plan.processes["redis"] = (
            f"{redis_server} --bind 127.0.0.1 --port {port} --dir {data} "
            "--appendonly yes --maxmemory-policy noeviction"
        )
        plan.notes.append(f"Broker: starting redis-server on {host}:{port} (data in {data}).")
        return plan
    broker = f"sqla+sqlite:///{var_dir / 'celery-broker.sqlite3'}"
    plan.env["CELERY_BROKER_URL"] = broker
    plan.env.setdefault("CACHE_URL", f"file://{var_dir / 'cache'}")
    plan.notes.append(
        f"Broker: no Redis at {host}:{port} and no redis-server on PATH; using the embedded "
        "SQLite broker. Flower's worker view needs Redis: install redis-server for it."
    )
    return plan


def build_plan(env: dict[str, str]) -> Plan:
    var_dir = Path(env.get("LEGUAS_VAR_DIR", BASE_DIR / "var"))
    var_dir.mkdir(parents=True, exist_ok=True)
    env = {**env, "DEBUG": env.get("DEBUG", "true"), "PYTHONUNBUFFERED": "1"}
    plan = choose_broker(env, var_dir, shutil.which("redis-server"))
    py = sys.executable
    web_port = int(env.get("WEB_PORT") or WEB_PORT)
    flower_port = int(env.get("FLOWER_PORT") or FLOWER_PORT)
    sim_port = int(env.get("SIMULATOR_PORT") or SIMULATOR_PORT)
    plan.env.setdefault("WHATSAPP_PUBLIC_URL", f"http://127.0.0.1:{web_port}")
    if not env.get("WPPCONNECT_URL"):
        plan.env["WPPCONNECT_URL"] = f"http://127.0.0.1:{sim_port}"
        plan.env.setdefault("WPPCONNECT_SECRET_KEY", "THISISMYSECURETOKEN")
        plan.processes["simulator"] = (
            f"{py} -m whatsapp.simulator --host 127.0.0.1 --port {sim_port}"
        )
        plan.notes.append(
            f"Gateway: the WPPConnect simulator on 127.0.0.1:{sim_port} "
            f"(scan QR codes at http://127.0.0.1:{sim_port}/_sim/)."
        )
    else:
        plan.notes.append(f"Gateway: {env['WPPCONNECT_URL']} (from WPPCONNECT_URL).")
    celery = f"{py} -m celery -A worker"
    plan.processes.update(
        {
            "web": f"{py} manage.py runserver 127.0.0.1:{web_port} --noreload",
            # A session call may hold its worker 90 s; sends and housekeeping have their own worker.
            "worker-sessions": f"{celery} worker -Q sessions -c 2 -n sessions@%h --loglevel INFO",
            "worker-main": f"{celery} worker -Q messages,default -c 4 -n main@%h --loglevel INFO",
            # Housekeeping has its own worker: message traffic cannot delay the sweeps.
            "worker-housekeeping": (
                f"{celery} worker -Q housekeeping -c 1 -n housekeeping@%h --loglevel INFO"
            ),
            "beat": f"{celery} beat --loglevel INFO",
            "flower": f"{celery} flower --address=127.0.0.1 --port={flower_port}",
        }
    )
    return plan


def manage(args: list[str], env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def main() -> int:
    from honcho.manager import Manager

    plan = build_plan(dict(os.environ))
    for note in plan.notes:
        print(f"==> {note}")
    manager = Manager()
    try:
        manage(["migrate", "--no-input"], plan.env)
        manage(["ensure_admin"], plan.env)
        if (BASE_DIR / "whatsapp" / "management" / "commands" / "whatsapp_bootstrap.py").exists():
            manage(["whatsapp_bootstrap"], plan.env)
    except subprocess.CalledProcessError as exc:
        print(f"error: setup step failed (exit {exc.returncode}); see above.", file=sys.stderr)
        return 1
    # Redis first: workers wait for it at start (broker_connection_retry_on_startup).
    for name, command in plan.processes.items():
        manager.add_process(name, command, env=plan.env, cwd=str(BASE_DIR))
    web, flower = plan.env.get("WEB_PORT") or WEB_PORT, plan.env.get("FLOWER_PORT") or FLOWER_PORT
    print(f"==> web http://127.0.0.1:{web}  flower http://127.0.0.1:{flower}  (Ctrl-C stops all)")
    manager.loop()
    return manager.returncode or 0
