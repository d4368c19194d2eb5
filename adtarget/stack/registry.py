"""The engines of the local stack, in start order, and the operations over several of them."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterable

from adtarget.stack.config import StackSettings
from adtarget.stack.engine import Engine
from adtarget.stack.engines.airflow import (
    AirflowApiServer,
    AirflowDagProcessor,
    AirflowScheduler,
    AirflowTriggerer,
)
from adtarget.stack.engines.bridge import Bridge
from adtarget.stack.engines.cassandra import Cassandra
from adtarget.stack.engines.kafka import Kafka
from adtarget.stack.engines.postgres import Postgres
from adtarget.stack.engines.profile_api import ProfileApi
from adtarget.stack.engines.report import Report
from adtarget.stack.engines.smtp import Smtp
from adtarget.stack.engines.spark import SparkThrift
from adtarget.stack.errors import StackError

#: Start order: slow JVMs are spawned early so they boot while the rest prepares.
ENGINE_CLASSES: tuple[type[Engine], ...] = (
    Postgres,
    Cassandra,
    Kafka,
    Smtp,
    SparkThrift,
    AirflowApiServer,
    AirflowScheduler,
    AirflowDagProcessor,
    AirflowTriggerer,
    Bridge,
    Report,
    ProfileApi,
)

NAMES = tuple(cls.name for cls in ENGINE_CLASSES)


def _known(names: Iterable[str]) -> set[str]:
    """The names as a set; an error naming any that is not an engine of the stack."""
    wanted = set(names)
    unknown = wanted - set(NAMES)
    if unknown:
        raise StackError(f"unknown engine(s) {sorted(unknown)}; choose from {', '.join(NAMES)}")
    return wanted


def engines(settings: StackSettings, names: Iterable[str] = ()) -> list[Engine]:
    """The named engines (all if none) plus what they require, in start order."""
    by_name = {cls.name: cls(settings) for cls in ENGINE_CLASSES}
    wanted = _known(names) or set(NAMES)
    pending = list(wanted)
    while pending:
        for dep in by_name[pending.pop()].requires:
            if dep not in wanted:
                wanted.add(dep)
                pending.append(dep)
    return [by_name[n] for n in NAMES if n in wanted]


def check_java(settings: StackSettings) -> int:
    """The JDK's major version; a clear error if there is none or it is older than 17."""
    java = settings.java()
    try:
        out = subprocess.run(  # noqa: S603
            [str(java), "-version"], capture_output=True, text=True, check=True, timeout=30
        ).stderr
    except (OSError, subprocess.SubprocessError) as exc:
        raise StackError(f"java: cannot run {java} ({exc}); install a JDK 17 or set JAVA_HOME") from exc
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0" style
        major = int(match.group(2))
    if major < 17:
        raise StackError(f"java: {java} is version {major or 'unknown'}; the engines need a JDK 17 or newer")
    return major


def up(settings: StackSettings, names: Iterable[str] = ()) -> None:
    """Start what is not running and wait until every engine is healthy; idempotent."""
    selected = engines(settings, names)
    check_java(settings)
    started: dict[str, float] = {}
    waited: set[str] = set()
    t0 = time.monotonic()

    def wait_for(engine: Engine) -> None:
        if engine.name in waited:
            return
        engine.wait()
        waited.add(engine.name)
        took = (
            f"in {time.monotonic() - started[engine.name]:.0f}s" if engine.name in started else "(already up)"
        )
        print(f"  {engine.name:<22} healthy {took:<14} {engine.endpoint()}", flush=True)

    by_name = {e.name: e for e in selected}
    for engine in selected:
        # An engine starts once what it requires is healthy; the others boot meanwhile.
        for dep in engine.requires:
            wait_for(by_name[dep])
        if engine.start():
            started[engine.name] = time.monotonic()
            print(f"  {engine.name:<22} starting (log {engine.log_file})", flush=True)
    for engine in selected:
        wait_for(engine)
    print(f"stack: {len(selected)} engine(s) healthy after {time.monotonic() - t0:.0f}s", flush=True)


def dependents(names: Iterable[str]) -> set[str]:
    """The named engines and every engine that requires them, directly or not."""
    wanted = _known(names)
    changed = True
    while changed:
        changed = False
        for cls in ENGINE_CLASSES:
            if cls.name not in wanted and wanted.intersection(cls.requires):
                wanted.add(cls.name)
                changed = True
    return wanted


def down(settings: StackSettings, names: Iterable[str] = ()) -> None:
    """Stop the named engines and those that need them (all if none named), by their PID files."""
    names = list(names)
    wanted = dependents(names) if names else set(NAMES)
    for engine in reversed([cls(settings) for cls in ENGINE_CLASSES if cls.name in wanted]):
        if engine.stop():
            print(f"  {engine.name:<22} stopped", flush=True)
    print("stack: stopped", flush=True)


def status(settings: StackSettings) -> list[tuple[str, str, str]]:
    """(engine, state, endpoint) for each engine: running+healthy, running, or stopped."""
    rows = []
    for cls in ENGINE_CLASSES:
        engine = cls(settings)
        pid = engine.pid_file.alive_pid()
        if pid is None:
            state = "stopped"
        else:
            try:
                ok = engine.healthy()
            except Exception:
                ok = False
            state = f"healthy (pid {pid})" if ok else f"running, not healthy (pid {pid})"
        rows.append((engine.name, state, engine.endpoint()))
    return rows
