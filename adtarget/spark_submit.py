"""Running the project's Spark jobs (``spark/*.py``) with ``spark-submit`` on the stack's conf.

The jobs share the stack's metastore (``var/conf/spark``) and master (``local[2]`` by default,
a cluster master by ``ADTARGET_SPARK_MASTER``). Progress lines of the job are echoed as they
come, so a long job shows it is alive.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence

from adtarget.stack.config import StackSettings
from adtarget.stack.engines.spark import spark_env, write_spark_conf


def submit_argv(settings: StackSettings, script: str, args: Sequence[str]) -> list[str]:
    """The ``spark-submit`` command line of ``spark/<script>``."""
    java_options = settings.spark_submit_java_options.strip()
    return [
        str(settings.venv_bin / "spark-submit"),
        "--master",
        settings.spark_master,
        *(["--driver-java-options", java_options] if java_options else []),
        str(settings.root / "spark" / script),
        *args,
    ]


def submit_env(settings: StackSettings, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    write_spark_conf(settings)
    env = dict(os.environ)
    env.update(spark_env(settings))
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
    """Run ``spark/<script>`` and return its standard output; raises CalledProcessError."""
    cmd = submit_argv(settings, script, args)
    proc = subprocess.Popen(  # noqa: S603 - our own command line
        cmd, env=submit_env(settings, env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines = []
    for line in proc.stdout or ():
        lines.append(line)
        if not quiet:
            print(line, end="", flush=True)
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.wait() != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd, "".join(lines), stderr)
    return "".join(lines)
