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
from pathlib import Path

from adtarget import class_archive
from adtarget.stack.config import StackSettings
from adtarget.stack.engines.spark import (
    job_conf_dir,
    job_properties_file,
    log4j_file,
    spark_job_env,
    write_spark_conf,
)

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
        "--properties-file",
        str(job_properties_file(settings)),
        "--master",
        settings.spark_master,
        str(settings.root / "spark" / script),
        *args,
    ]


def submit_env(
    settings: StackSettings, extra: Mapping[str, str] | None = None, *, dump: Path | None = None
) -> dict[str, str]:
    """The environment of ``spark-submit``: ours, the stack's Spark conf and job options, ``extra``.

    The driver maps the class archive if there is one, or writes its classes to ``dump`` at exit.
    """
    write_spark_conf(settings)
    env = dict(os.environ)
    env.update(spark_job_env(settings))
    options = env.get("SPARK_SUBMIT_OPTS", "")
    env["SPARK_CONF_DIR"] = str(job_conf_dir(settings))
    options += f" -Dlog4j2.configurationFile={log4j_file(settings).as_uri()}"
    # The JVM's own warnings (a class archive it cannot use) go to standard error: standard output
    # is the job's, and its last line is the job's summary.
    options += " -Xlog:disable -Xlog:all=warning:stderr"
    if settings.spark_class_archive:
        archive = _archive(settings)
        if dump is not None:
            options += f" -XX:ArchiveClassesAtExit={dump}"
        elif archive.is_file():
            options += f" -XX:SharedArchiveFile={archive}"
    env["SPARK_SUBMIT_OPTS"] = options.strip()
    env.update(extra or {})
    return env


def _archive(settings: StackSettings) -> Path:
    """The class archive for the jobs' JVM options and properties (their extra class path)."""
    props = job_properties_file(settings)
    return class_archive.archive_path(
        settings, settings.spark_submit_java_options.strip(), props.read_text() if props.is_file() else ""
    )


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
    write_spark_conf(settings)
    archive = _archive(settings)
    dump = None
    if settings.spark_class_archive:
        if archive.is_file():
            class_archive.used(archive)
        else:
            dump = class_archive.dump_path(archive)  # this job writes the archive the next ones map
    proc = subprocess.Popen(  # noqa: S603 - our own command line
        cmd,
        env=submit_env(settings, env, dump=dump),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
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
    if dump is not None:
        if returncode == 0:
            class_archive.keep(dump, archive)
        else:
            dump.unlink(missing_ok=True)
    if returncode != 0:
        raise SparkJobError(returncode, cmd, "".join(lines), "".join(errors))
    return "".join(lines)
