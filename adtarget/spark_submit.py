"""Running the project's Spark jobs (``spark/*.py``) with ``spark-submit`` on the stack's conf.

The jobs share the stack's metastore (``var/conf/spark``) and master (``local[2]`` by default,
a cluster master by ``ADTARGET_SPARK_MASTER``). Progress lines of the job are echoed as they
come, so a long job shows it is alive.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections import deque
from collections.abc import Mapping, Sequence

from adtarget.stack.config import StackSettings
from adtarget.stack.engines.spark import spark_job_env, write_spark_conf

#: The last lines of a job's standard error kept for the error raised when it fails.
STDERR_LINES = 5_000


class SparkJobError(subprocess.CalledProcessError):
    """A failed job; its message ends with the job's last lines (the Python traceback of a
    ``spark/*.py`` job is on its standard error), so a failure says why wherever it is shown."""

    def __str__(self) -> str:
        tail = (self.stderr or "").splitlines()[-25:]
        return "\n".join([super().__str__(), *("  " + line[:400] for line in tail)])


def submit_argv(settings: StackSettings, script: str, args: Sequence[str]) -> list[str]:
    """The ``spark-submit`` command line of ``spark/<script>``."""
    return [
        str(settings.venv_bin / "spark-submit"),
        "--master",
        settings.spark_master,
        str(settings.root / "spark" / script),
        *args,
    ]


def submit_env(settings: StackSettings, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of ``spark-submit``: ours, the stack's Spark conf and job options, ``extra``."""
    write_spark_conf(settings)
    env = dict(os.environ)
    env.update(spark_job_env(settings))
    env.update(extra or {})
    return env


def submit(
    settings: StackSettings,
    script: str,
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    quiet: bool = False,
) -> str:
    """Run ``spark/<script>`` and return its standard output; raises :class:`SparkJobError` (a
    CalledProcessError)."""
    cmd = submit_argv(settings, script, args)
    proc = subprocess.Popen(  # noqa: S603 - our own command line
        cmd, env=submit_env(settings, env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # Standard error is drained while standard output is read: a job that logs more than a pipe
    # holds (a warning with its stack traces) would otherwise block in its logger, forever.
    errors: deque[str] = deque(maxlen=STDERR_LINES)
    drain = threading.Thread(target=errors.extend, args=(proc.stderr or (),), daemon=True)
    drain.start()
    lines = []
    for line in proc.stdout or ():
        lines.append(line)
        if not quiet:
            print(line, end="", flush=True)
    returncode = proc.wait()
    drain.join()
    if returncode != 0:
        raise SparkJobError(returncode, cmd, "".join(lines), "".join(errors))
    return "".join(lines)
