"""`make run`: every process of the product on one machine, with embedded fallbacks.

Settings come from the environment, then `.env`, then what the previous run chose (one loader,
`leguas.env.load_env_files`, shared with `manage.py`). Redis: the one at CELERY_BROKER_URL if it
answers (by default the local Redis, databases 2 and 3, so nothing else kept in database 0 or 1
is touched); else a `redis-server` started under var/ if one is on PATH; else kombu's SQLAlchemy
transport on a SQLite file. The gateway: WPPCONNECT_URL if set, else the project's simulator.
Ports that are taken are refused before anything starts. The processes run under
`worker.supervisor`: one that exits is restarted, the others keep running; Ctrl-C stops them all.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
# The local run's own Redis databases: 2 for the broker (and opted-in results), 3 for the cache.
DEFAULT_BROKER = "redis://127.0.0.1:6379/2"
DEFAULT_CACHE_DB = 3
SIMULATOR_PORT = 21465
WEB_PORT = 8000
FLOWER_PORT = 5555
CONTROL = f"{Path(sys.executable).name} scripts/run.py"
# What the run chose, for `manage.py` beside it (read by leguas.env.load_env_files).
CHOSEN = (
    "DEBUG",
    "LEGUAS_VAR_DIR",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "WPPCONNECT_URL",
    "WPPCONNECT_SECRET_KEY",
    "WHATSAPP_PUBLIC_URL",
)


@dataclass
class Plan:
    env: dict[str, str]
    processes: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # (variable, port) pairs this run will listen on; checked before anything starts.
    ports: list[tuple[str, int]] = field(default_factory=list)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        # As the servers themselves bind: only a listening program makes the port busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def busy_ports(plan: Plan) -> list[str]:
    """A sentence for each port this run needs that another program already holds."""
    return [
        f"Port {port} is already in use by another program, so {variable}={port} cannot be "
        f"served. Stop that program, or choose another port: put {variable}={port + 1} in .env "
        f"(or run `{variable}={port + 1} make run`)."
        for variable, port in plan.ports
        if not port_free(port)
    ]


def _cache_next_to(broker: str) -> str:
    base, _sep, _db = broker.rpartition("/")
    return f"{base}/{DEFAULT_CACHE_DB}"


def choose_broker(env: dict[str, str], var_dir: Path, redis_server: str | None) -> Plan:
    """Decide where the broker comes from. Pure apart from probing the port."""
    plan = Plan(env=dict(env))
    url = env.get("CELERY_BROKER_URL") or DEFAULT_BROKER
    parsed = urlparse(url)
    plan.env["CELERY_BROKER_URL"] = url
    if parsed.scheme not in ("redis", "rediss"):
        return plan
    if not env.get("CELERY_BROKER_URL") and not env.get("CACHE_URL"):
        plan.env["CACHE_URL"] = _cache_next_to(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    if port_open(host, port):
        plan.notes.append(f"Broker: the Redis already running at {host}:{port} ({url}).")
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
    plan.env["CELERY_BROKER_URL"] = f"sqla+sqlite:///{var_dir / 'celery-broker.sqlite3'}"
    plan.env["CACHE_URL"] = env.get("CACHE_URL") or f"file://{var_dir / 'cache'}"
    plan.notes.append(
        f"Broker: no Redis at {host}:{port} and no redis-server on PATH; using the embedded "
        "SQLite broker. Flower's worker view needs Redis: install redis-server for it."
    )
    return plan


def _port(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name) or str(default)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SystemExit(f"error: {name} must be a port number (1-65535), not {raw!r}.")
    return int(raw)


def build_plan(env: dict[str, str]) -> Plan:
    var_dir = Path(env.get("LEGUAS_VAR_DIR") or BASE_DIR / "var")
    var_dir.mkdir(parents=True, exist_ok=True)
    env = {**env, "DEBUG": env.get("DEBUG") or "true", "PYTHONUNBUFFERED": "1"}
    env["LEGUAS_VAR_DIR"] = str(var_dir)
    plan = choose_broker(env, var_dir, shutil.which("redis-server"))
    py = sys.executable
    web_port = _port(env, "WEB_PORT", WEB_PORT)
    flower_port = _port(env, "FLOWER_PORT", FLOWER_PORT)
    plan.ports += [("WEB_PORT", web_port), ("FLOWER_PORT", flower_port)]
    plan.env["WHATSAPP_PUBLIC_URL"] = (
        env.get("WHATSAPP_PUBLIC_URL") or f"http://127.0.0.1:{web_port}"
    )
    if not env.get("WPPCONNECT_URL"):
        sim_port = _port(env, "SIMULATOR_PORT", SIMULATOR_PORT)
        plan.ports.append(("SIMULATOR_PORT", sim_port))
        plan.env["WPPCONNECT_URL"] = f"http://127.0.0.1:{sim_port}"
        plan.env["WPPCONNECT_SECRET_KEY"] = (
            env.get("WPPCONNECT_SECRET_KEY") or "THISISMYSECURETOKEN"
        )
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
            # A slow receiver of outgoing webhooks never holds a send's worker.
            "worker-webhooks": f"{celery} worker -Q webhooks -c 2 -n webhooks@%h --loglevel INFO",
            "beat": f"{celery} beat --loglevel INFO",
            "flower": f"{celery} flower --address=127.0.0.1 --port={flower_port}",
        }
    )
    return plan


FLOWER_AUTH_FILE = "flower-auth"


def flower_credentials(env: dict[str, str], var_dir: Path) -> tuple[str, str, bool]:
    """Flower's basic-auth user and password, and whether they were made just now.

    The first run makes them the admin's: the user DJANGO_SUPERUSER_USERNAME (admin), the
    password DJANGO_SUPERUSER_PASSWORD or a generated one, which `ensure_admin` then gives the
    admin it creates. They are kept in var/flower-auth (readable by its owner only), so Flower
    keeps them across runs (Flower shows task arguments and tracebacks: never open).
    """
    path = var_dir / FLOWER_AUTH_FILE
    if path.is_file():
        user, _sep, password = path.read_text().strip().partition(":")
        if user and password:
            return user, password, False
    user = env.get("DJANGO_SUPERUSER_USERNAME") or "admin"
    password = env.get("DJANGO_SUPERUSER_PASSWORD") or secrets.token_urlsafe(12)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(f"{user}:{password}\n")
    return user, password, True


def write_chosen(plan: Plan) -> Path:
    """Record what this run chose, so `manage.py` beside it needs no variables."""
    path = Path(plan.env["LEGUAS_VAR_DIR"]) / "local-run.env"
    lines = [
        "# Written by `make run` at each start: what it chose. manage.py reads it after .env,",
        "# so commands act on the local run; the environment and .env win over it.",
    ]
    lines += [f"{name}={plan.env[name]}" for name in CHOSEN if plan.env.get(name)]
    path.write_text("\n".join(lines) + "\n")
    return path


def manage(args: list[str], env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def run() -> int:
    from worker.supervisor import Supervisor

    plan = build_plan(dict(os.environ))
    busy = busy_ports(plan)
    if busy:
        for sentence in busy:
            print(f"error: {sentence}", file=sys.stderr)
        return 2
    for note in plan.notes:
        print(f"==> {note}")
    write_chosen(plan)
    var = Path(plan.env["LEGUAS_VAR_DIR"])
    # Every process starts now: the metrics of the previous run's processes go (counters restart
    # from zero, as Prometheus expects after a restart).
    for stale in (var / "metrics").glob("*.db"):
        stale.unlink(missing_ok=True)
    user, password, made = flower_credentials(plan.env, var)
    # Flower reads FLOWER_* variables: the password stays off every command line (ps).
    plan.env["FLOWER_BASIC_AUTH"] = f"{user}:{password}"
    admin_env = {
        **plan.env,
        "DJANGO_SUPERUSER_USERNAME": user,
        "DJANGO_SUPERUSER_PASSWORD": password,
    }
    try:
        manage(["migrate", "--no-input"], plan.env)
        manage(["ensure_admin"], admin_env)
        manage(["whatsapp_bootstrap"], plan.env)
    except subprocess.CalledProcessError as exc:
        print(f"error: setup step failed (exit {exc.returncode}); see above.", file=sys.stderr)
        return 1
    web, flower = dict(plan.ports)["WEB_PORT"], dict(plan.ports)["FLOWER_PORT"]
    print(f"==> web http://127.0.0.1:{web}  flower http://127.0.0.1:{flower}  (Ctrl-C stops all)")
    if made:
        print(
            f"==> Sign in to the dashboard, the admin and Flower as {user!r} with password: "
            f"{password}  (Flower keeps it in {var / FLOWER_AUTH_FILE})"
        )
    else:
        print(f"==> Flower asks for user {user!r} and the password in {var / FLOWER_AUTH_FILE}.")
    print(
        f"==> A process that exits is restarted. One at a time, from another terminal: "
        f"{CONTROL} stop|start|restart NAME, or {CONTROL} status "
        f"(names: {', '.join(plan.processes)})."
    )
    supervisor = Supervisor(
        plan.processes,
        env=plan.env,
        cwd=str(BASE_DIR),
        run_dir=run_dir(plan.env),
        control_hint=CONTROL,
    )
    return supervisor.loop()


def run_dir(env: dict[str, str]) -> Path:
    return Path(env.get("LEGUAS_VAR_DIR") or BASE_DIR / "var") / "run"


def control(action: str, names: list[str]) -> int:
    """`run.py stop|start|restart NAME…` and `run.py status`, beside a running `make run`."""
    from worker.supervisor import read_state, send_request

    where = run_dir(dict(os.environ))
    state = read_state(where)
    if state is None or not _alive(int(state["pid"])):
        print("error: no `make run` is running here (start it with `make run`).", file=sys.stderr)
        return 2
    if action == "status":
        for name, info in state["processes"].items():
            pid = f"pid {info['pid']}" if info["pid"] else "-"
            print(f"{name:16} {info['state']:11} {pid:12} exits: {info['exits']}")
        return 0
    unknown = [n for n in names if n not in state["processes"]]
    if unknown or not names:
        print(
            f"error: name one of: {', '.join(state['processes'])} (not {', '.join(unknown)}).",
            file=sys.stderr,
        )
        return 2
    for name in names:
        send_request(where, action, name)
        print(f"asked `make run` to {action} {name}; its output says when it is done.")
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    from leguas.env import load_env_files

    load_env_files(BASE_DIR)
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        return run()
    if args[0] in ("stop", "start", "restart", "status"):
        return control(args[0], args[1:])
    print(f"usage: {CONTROL} [stop|start|restart NAME… | status]", file=sys.stderr)
    return 2
