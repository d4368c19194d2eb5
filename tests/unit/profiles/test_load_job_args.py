"""The profile load job's command line refuses what it cannot do, naming the options."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "spark" / "load_profiles.py"


def _job() -> ModuleType:
    spec = importlib.util.spec_from_file_location("load_profiles_job", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_adaptive_needs_a_rate_cap(capsys: pytest.CaptureFixture[str]) -> None:
    job = _job()
    with pytest.raises(SystemExit):
        job.parse_args(["--day", "2026-11-27", "--adaptive"])
    assert "--adaptive backs off below a cap: give --rate above 0 (got --rate 0)" in capsys.readouterr().err
    args = job.parse_args(["--day", "2026-11-27", "--adaptive", "--rate", "5000"])
    assert (args.adaptive, args.rate) == (True, 5000.0)
    assert job.parse_args(["--day", "2026-11-27"]).adaptive is False


def test_a_negative_rate_is_refused_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _job().parse_args(["--day", "2026-11-27", "--rate", "-1"])
    assert "--rate >= 0" in capsys.readouterr().err
