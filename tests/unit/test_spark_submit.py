"""The spark-submit runner's process plumbing, with a stand-in ``spark-submit`` script."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

from adtarget.spark_submit import submit
from adtarget.stack.config import StackSettings
from adtarget.stack.engines.spark import spark_env

# A megabyte on standard error (a pipe holds 64 KiB), then standard output, then the exit code.
FAKE = """#!/bin/sh
head -c 1000000 /dev/zero | tr '\\0' 'x' >&2
echo >&2
echo >&2 "the last line"
echo "progress 1/1"
exit {code}
"""


def _settings(tmp_path: Path, code: int) -> StackSettings:
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    fake = bin_dir / "spark-submit"
    fake.write_text(FAKE.format(code=code))
    fake.chmod(0o755)
    return StackSettings(var_dir=tmp_path / "var", venv_dir=tmp_path / "venv")


def _run(settings: StackSettings) -> str | BaseException:
    """submit() in a thread, so a blocked job fails the test instead of hanging it."""
    result: list[str | BaseException] = []

    def target() -> None:
        try:
            result.append(submit(settings, "job.py", ["--day", "2026-01-01"], quiet=True))
        except BaseException as exc:  # handed to the test
            result.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert result, "submit() blocked on a job that writes more to stderr than a pipe holds"
    return result[0]


def test_a_job_that_logs_more_than_a_pipe_holds_finishes(tmp_path: Path) -> None:
    assert _run(_settings(tmp_path, 0)) == "progress 1/1\n"


def test_a_failed_job_raises_with_its_output_and_the_end_of_its_stderr(tmp_path: Path) -> None:
    error = _run(_settings(tmp_path, 3))
    assert isinstance(error, subprocess.CalledProcessError)
    assert error.returncode == 3
    assert error.output == "progress 1/1\n"
    assert error.stderr.endswith("the last line\n")
    assert str(error).endswith("\n  the last line")  # shown wherever the error is printed


def test_the_job_java_options_reach_the_driver_and_not_the_thrift_server(tmp_path: Path) -> None:
    settings = _settings(tmp_path, 0)
    fake = settings.venv_bin / "spark-submit"
    fake.write_text('#!/bin/sh\necho "opts=$SPARK_SUBMIT_OPTS"\n')
    fast = settings.model_copy(update={"spark_submit_java_options": " -XX:TieredStopAtLevel=1 "})
    # spark-submit puts SPARK_SUBMIT_OPTS on the driver's JVM command line.
    assert _run(fast) == "opts=-XX:TieredStopAtLevel=1\n"
    assert "SPARK_SUBMIT_OPTS" not in spark_env(fast)  # the long-running server keeps the full JIT
