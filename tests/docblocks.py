"""The fenced code blocks of the README and docs/, as docs/writing-docs.md describes them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
RUNNABLE = {"sh", "bash", "python"}
FENCE = re.compile(
    r"^(?P<fence>```+)(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S
)
NOT_RUN = re.compile(r"<!--\s*not run:\s*(?P<reason>[^<>]*?)\s*-->\s*$")
# docs/embedding.md marks the files of its example host project; its own test writes and runs them.
HOST_FILE = re.compile(r"<!--\s*(?:append|create):\s*(?P<path>[^<>]*?)\s*-->\s*$")
HOST_FILE_REASON = (
    "{path} of the example host project: tests/embedding/test_host_project.py writes it into "
    "a new project and runs it"
)


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    language: str
    code: str
    not_run: str | None  # the reason given, or None when the block runs

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(BASE_DIR).as_posix()}:{self.line}"

    @property
    def runnable(self) -> bool:
        return self.language in RUNNABLE


def documents() -> list[Path]:
    return [BASE_DIR / "README.md", *sorted((BASE_DIR / "docs").glob("*.md"))]


def blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip()
        marker = NOT_RUN.search(before[-400:]) if before.endswith("-->") else None
        host_file = HOST_FILE.search(before[-400:]) if before.endswith("-->") else None
        reason = marker["reason"].strip() if marker else None
        if host_file:
            reason = HOST_FILE_REASON.format(path=host_file["path"])
        found.append(
            Block(
                path=path,
                line=text.count("\n", 0, match.start()) + 1,
                language=match["info"].strip().split(" ")[0].lower(),
                code=match["body"],
                not_run=reason,
            )
        )
    return found


def all_blocks() -> list[Block]:
    return [block for path in documents() for block in blocks(path)]
