"""A host project made as a newcomer would: the app's wheel in a fresh virtualenv, a
`django-admin startproject mysite`, and the blocks of docs/embedding.md applied as written."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "embedding.md"
# Outside the clone, so CI and later runs download the dependencies once, not every run.
CACHE = Path(os.environ.get("LEGUAS_WHEELHOUSE", Path.home() / ".cache" / "leguas-whatsapp"))
# What a host adds beside the app (docs/embedding.md step 1), at the versions the project pins.
HOST_EXTRAS = ("celery[redis]", "psycopg[binary]")
BLOCK = re.compile(r"<!-- (append|create): (\S+) -->\n```python\n(.*?)```", re.S)


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise AssertionError(
            f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def pinned(name: str) -> str:
    """`celery[redis]` → `celery[redis]==5.7.0` from requirements/base.txt."""
    base = name.split("[")[0].lower()
    for line in (ROOT / "requirements" / "base.txt").read_text().splitlines():
        spec = line.split("#")[0].strip()
        if spec.split("[")[0].split("==")[0].lower() == base:
            return spec
    return name


def build_wheel(out: Path) -> Path:
    # --no-build-isolation: the backend pinned in requirements/dev.txt, no download.
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ]
    )
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    for info in ROOT.glob("*.egg-info"):
        shutil.rmtree(info, ignore_errors=True)
    (wheel,) = out.glob("leguas_whatsapp-*.whl")
    return wheel


def wheelhouse(wheel: Path) -> Path:
    """Every dependency as a wheel, downloaded once per set of requirements."""
    requirements = [pinned(name) for name in HOST_EXTRAS]
    key = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + (ROOT / "requirements" / "base.txt").read_bytes()
    ).hexdigest()[:16]
    house = CACHE / f"wheelhouse-{key}"
    if not (house / ".complete").exists():
        house.mkdir(parents=True, exist_ok=True)
        # The versions this virtualenv already runs, so pip's cache answers most of it.
        frozen = run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"]).stdout
        constraints = house / "constraints.txt"
        constraints.write_text(
            "\n".join(line for line in frozen.splitlines() if "==" in line and "@" not in line)
        )
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--only-binary=:all:",
                "-d",
                str(house),
                "-c",
                str(constraints),
                str(wheel),
                *requirements,
            ]
        )
        (house / ".complete").write_text("ok")
    return house


def make_virtualenv(path: Path, wheel: Path, house: Path) -> Path:
    venv.EnvBuilder(with_pip=True).create(path)
    python = path / "bin" / "python"
    run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(house),
            str(wheel),
            *[name for name in HOST_EXTRAS],
        ]
    )
    return python


def apply_docs(project: Path) -> list[str]:
    """Write every marked block of docs/embedding.md into the project; the files touched."""
    touched = []
    for mode, name, code in BLOCK.findall(DOC.read_text()):
        target = project / name
        if mode == "create":
            target.write_text(code)
        else:
            target.write_text(target.read_text() + "\n\n" + code)
        touched.append(name)
    return touched


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """A long-running command of the host (runserver, a worker), its output in a file."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
        self.log = log
        handle = log.open("wb")
        self.proc = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
