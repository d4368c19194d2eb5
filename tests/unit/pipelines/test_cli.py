"""``adtarget-pipelines``: lint exits 1 naming every problem; render prints the run's SQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from adtarget.pipelines import cli

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pipelines"
REAL = Path(__file__).resolve().parents[3] / "sql" / "pipelines"


def test_lint_passes_on_the_platform_and_fixture_pipelines(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--dir", str(REAL), "lint"]) == 0
    assert cli.main(["--dir", str(FIXTURES), "lint"]) == 0
    assert "0 pipeline(s) with problems" in capsys.readouterr().err


def test_lint_names_file_line_and_field_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.sql").write_text("/* ---\nstart_date: 2026-01-01\n--- */\nSELECT 1;\n")
    (tmp_path / "bad.sql").write_text("/* ---\nstart_date: 2026-01-01\nengine: presto\n--- */\nSELECT 1;\n")
    assert cli.main(["--dir", str(tmp_path), "lint"]) == 1
    out = capsys.readouterr()
    assert (
        out.out
        == f"{tmp_path}/bad.sql:3: field 'engine': 'presto' is not valid: one of 'hiveserver2', 'spark'\n"
    )
    assert "1 pipeline(s), 1 step(s) valid; 1 pipeline(s) with problems" in out.err


def test_render_prints_literals_for_the_day(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(
        ["--dir", str(FIXTURES), "render", "daily_counts", "--ds", "2026-11-28", "--param", "label=it's"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "PARTITION (dt = '2026-11-28')" in out
    assert "SELECT 'it\\'s', count(*)" in out


def test_list_shows_schedule_and_steps(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--dir", str(FIXTURES), "list"]) == 0
    out = capsys.readouterr().out
    assert "sql_ordered" in out
    assert "010_stage -> 020_report -> 030_publish" in out
