"""The shape of one local engine: prepare, start, health-check, stop, each idempotent."""

from __future__ import annotations

import os
import signal
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from adtarget.stack import process, timer_slack
from adtarget.stack.config import StackSettings
from adtarget.stack.errors import StackError


@dataclass(frozen=True)
class Launch:
    """How to run an engine's process."""

    argv: Sequence[str | os.PathLike[str]]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    user: str | None = None
    #: Timer slack of every thread of the process, in ns (0: the kernel's); see timer_slack.
    timer_slack_ns: int = 0


class Engine(ABC):
    """One engine of the local stack, tracked by its own PID file under ``var/run``."""

    #: Short name used by the CLI, the PID file and the log file.
    name: str
    #: Engines that must be healthy before this one starts.
    requires: tuple[str, ...] = ()
    #: Seconds this engine may take to become healthy (None: the stack-wide default).
    timeout: float | None = None
    #: The signal that asks the engine for a clean shutdown.
    stop_signal: signal.Signals = signal.SIGTERM

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings

    @property
    def pid_file(self) -> process.PidFile:
        return process.PidFile(self.settings.run_dir / f"{self.name}.pid")

    @property
    def log_file(self) -> Path:
        return self.settings.log_dir / f"{self.name}.log"

    @abstractmethod
    def ports(self) -> list[int]:
        """Ports this engine listens on (checked to be free before it starts)."""

    def prepare(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Fetch, configure and initialise what the engine needs; safe to call again."""

    @abstractmethod
    def launch(self) -> Launch:
        """The process to start."""

    @abstractmethod
    def healthy(self) -> bool:
        """True when the engine answers a real request."""

    def after_start(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Work that needs the engine up (databases, users); safe to call again."""

    def endpoint(self) -> str:
        """Where a person or a client reaches this engine."""
        return ", ".join(f"{self.settings.host}:{p}" for p in self.ports())

    def running(self) -> bool:
        return self.pid_file.alive_pid() is not None

    def start(self) -> bool:
        """Start the engine unless it already runs. Returns True if it was started now."""
        if self.running():
            return False
        for port in self.ports():
            if process.port_open(self.settings.host, port):
                raise StackError(
                    f"{self.name}: port {port} on {self.settings.host} is taken by another process; "
                    f"stop it or set the port in the environment (see adtarget/stack/config.py)"
                )
        self.prepare()
        spec = self.launch()
        env = dict(os.environ)
        env.update(spec.env)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("a") as log:
            log.write(f"\n===== adtarget: starting {self.name}\n")
        process.spawn(
            timer_slack.wrap(spec.argv, spec.timer_slack_ns),
            pid_file=self.pid_file,
            log_file=self.log_file,
            env=env,
            cwd=spec.cwd,
            user=spec.user,
        )
        return True

    def wait(self) -> None:
        """Block until healthy; a one-line error naming the engine and its log otherwise."""
        process.wait_until(
            self.healthy,
            timeout=self.timeout or self.settings.start_timeout,
            what=self.name,
            log_file=self.log_file,
            pid_file=self.pid_file,
        )
        self.after_start()

    def stop(self) -> bool:
        return process.stop(self.pid_file, timeout=60.0, sig=self.stop_signal)
