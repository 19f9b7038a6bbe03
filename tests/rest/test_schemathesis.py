"""schemathesis against the generated OpenAPI document, over real HTTP to a live server.

Its default phases and checks (not a server error, status codes, content types, headers and
bodies conforming to the document, invalid data rejected, valid data accepted), bounded in time.
The configuration beside this file lists, with reasons, the rules the document cannot express.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from whatsapp.models import ApiKey
from whatsapp.scopes import ALL_SCOPES

pytestmark = pytest.mark.live
CONFIG = Path(__file__).with_name("schemathesis.toml")
# About two minutes in all, however busy the machine: schemathesis stops itself at its budget.
BUDGET_SECONDS = 100


def test_the_api_conforms_to_its_document(live_server, transactional_db, make_instance, tmp_path):
    make_instance("main")
    make_instance("other", default=False)
    row, key = ApiKey.create("schemathesis", scopes=ALL_SCOPES)
    ApiKey.objects.filter(pk=row.pk).update(rate_limit=0)  # fuzzing is faster than any budget
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "--no-color",
        "run", f"{live_server.url}/api/v1/openapi.json",
        "--header", f"Authorization: Bearer {key}",
        "--max-time", str(BUDGET_SECONDS), "--max-examples", "25", "--seed", "7",
        "--workers", "1", "--request-timeout", "20",
        "--report", "junit", "--report-dir", str(tmp_path),
    ]  # fmt: skip
    # From a scratch folder: schemathesis keeps its example cache in the working directory.
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=BUDGET_SECONDS + 60, cwd=tmp_path
    )
    report = result.stdout[-12000:]
    assert result.returncode == 0, report
    assert "No issues found" in report or " 0 failures" in report or "passed" in report, report
