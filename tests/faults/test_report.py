"""The fault suite's page: runs of some scenarios merge into the committed rows of earlier runs."""

from __future__ import annotations

from faults import report
from faults.report import Result


def test_a_run_of_one_scenario_keeps_the_other_rows_and_shows_each_rows_scale(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(report, "RESULTS", tmp_path / "reliability.json")
    monkeypatch.setattr(report, "DOC", tmp_path / "reliability.md")
    report.save([Result(1, "kill9", "kill -9", "Killed.", "200 messages", enqueued=200)], 0.05)
    report.save([Result(8, "restart_all", "Restart", "Restarted.", "10000", enqueued=10000)], 1)
    stored = report.save([], 1)
    page = report.write_doc(stored, "python -m faults restart_all --scale 1", 600).read_text()
    assert "| 1 | kill -9 | 0.05 | 200 messages | 200 | 0 | 0 |" in page
    assert "| 8 | Restart | 1 | 10000 | 10000 | 0 | 0 |" in page
    assert "Run `kill9` at scale 0.05" in page and "Run `restart_all` at scale 1" in page


def test_the_results_are_kept_beside_the_page_not_in_an_ignored_directory():
    assert report.RESULTS.parent == report.DOC.parent


def test_a_process_reads_only_its_own_lines_from_a_log_with_non_ascii_text(tmp_path, monkeypatch):
    """The start mark is a byte offset: a masked number's "…" before it must not shift the cut."""
    import os
    import sys

    from faults import processes

    monkeypatch.setattr(processes, "LOG_DIR", tmp_path)
    (tmp_path / "echo.log").write_text("earlier run: 5521…99 sent\n" * 50, encoding="utf-8")
    proc = processes.Proc("echo", [sys.executable, "-c", "print('ready.')"], env=dict(os.environ))
    proc.start()
    proc.proc.wait(timeout=30)
    assert proc.since_start() == "ready.\n"
