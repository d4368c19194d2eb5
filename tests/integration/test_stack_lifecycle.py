"""`up` twice is harmless and `down` leaves no process of ours: on a separate, throw-away stack."""

from __future__ import annotations

from pathlib import Path

import pytest

from adtarget.stack import process, registry
from adtarget.stack.config import StackSettings

pytestmark = pytest.mark.integration


def test_up_twice_then_down_leaves_nothing_running(tmp_path: Path, settings: StackSettings) -> None:
    # Its own folders and ports, so the developer's stack is left alone; the venv and jar cache are shared.
    mini = StackSettings(
        var_dir=tmp_path / "var",
        venv_dir=settings.venv_dir,
        cache_dir=settings.cache_dir,
        postgres_port=process.free_port(),
        smtp_port=process.free_port(),
    )
    names = ["postgres", "smtp"]
    try:
        registry.up(mini, names)
        first = {e.name: e.pid_file.alive_pid() for e in registry.engines(mini, names)}
        assert all(first.values())

        registry.up(mini, names)  # again: nothing restarts
        second = {e.name: e.pid_file.alive_pid() for e in registry.engines(mini, names)}
        assert second == first
        assert [state.split()[0] for name, state, _ in registry.status(mini) if name in names] == [
            "healthy",
            "healthy",
        ]
    finally:
        registry.down(mini)

    for engine in registry.engines(mini, names):
        assert engine.pid_file.alive_pid() is None
        assert not engine.pid_file.path.exists()
    for pid in first.values():
        assert pid is not None
        assert process.start_time(pid) is None, f"pid {pid} still runs after down"
    assert not process.port_open("127.0.0.1", mini.postgres_port)
    assert not process.port_open("127.0.0.1", mini.smtp_port)
