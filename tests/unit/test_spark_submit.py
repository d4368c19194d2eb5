"""The spark-submit runner's process plumbing, with a stand-in ``spark-submit`` script."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

from adtarget import class_archive
from adtarget.spark_submit import submit, submit_env
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
    out = _run(fast)
    assert isinstance(out, str), out
    assert out.startswith("opts=-XX:TieredStopAtLevel=1 ")
    assert "SPARK_SUBMIT_OPTS" not in spark_env(fast)  # the long-running server keeps the full JIT


# A driver JVM as far as the class archive goes: it writes the file -XX:ArchiveClassesAtExit names.
DUMPING = """#!/bin/sh
echo "$SPARK_SUBMIT_OPTS" | tr ' ' '\\n' | grep -e '^-XX:.*Archive' >&2
dump=$(echo "$SPARK_SUBMIT_OPTS" | tr ' ' '\\n' | sed -n 's/^-XX:ArchiveClassesAtExit=//p')
[ -n "$dump" ] && echo "classes" > "$dump"
echo "conf=$SPARK_CONF_DIR args=$*"
exit {code}
"""


def _archives(settings: StackSettings) -> list[str]:
    folder = settings.var_dir / "class-archives"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_the_first_job_writes_the_class_archive_and_the_next_ones_map_it(tmp_path: Path) -> None:
    settings = _settings(tmp_path, 0)
    fake = settings.venv_bin / "spark-submit"
    fake.write_text(DUMPING.format(code=0))
    out = _run(settings)
    assert isinstance(out, str), out
    # The job's conf is one properties file; the conf folder on its class path is empty.
    conf = Path(out.split("conf=")[1].split()[0])
    assert conf.is_dir()
    assert not any(conf.iterdir())
    assert "--properties-file" in out
    (archive,) = _archives(settings)
    assert archive.startswith(class_archive.PREFIX)
    assert archive.endswith(".jsa")
    options = submit_env(settings)["SPARK_SUBMIT_OPTS"]
    assert f"-XX:SharedArchiveFile={settings.var_dir / 'class-archives' / archive}" in options
    assert "ArchiveClassesAtExit" not in options
    # Other JVM options make another archive; the first, in use, stays.
    other = settings.model_copy(update={"spark_submit_java_options": "-Xss2m"})
    assert isinstance(_run(other), str)
    assert len(_archives(settings)) == 2
    # A job that maps an archive marks it used; one unused for UNUSED_FOR goes when another is
    # written.
    first = settings.var_dir / "class-archives" / archive
    long_ago = time.time() - class_archive.UNUSED_FOR - 60
    os.utime(first, (long_ago, long_ago))
    assert isinstance(_run(settings), str)
    assert first.stat().st_mtime > long_ago + 60
    os.utime(first, (long_ago, long_ago))
    third = settings.model_copy(update={"spark_submit_java_options": "-Xss4m"})
    assert isinstance(_run(third), str)
    assert archive not in _archives(settings)
    assert len(_archives(settings)) == 2


def test_a_failed_job_leaves_no_archive_and_no_dump(tmp_path: Path) -> None:
    settings = _settings(tmp_path, 3)
    (settings.venv_bin / "spark-submit").write_text(DUMPING.format(code=3))
    assert isinstance(_run(settings), subprocess.CalledProcessError)
    assert _archives(settings) == []


def test_the_archive_can_be_switched_off(tmp_path: Path) -> None:
    settings = _settings(tmp_path, 0).model_copy(update={"spark_class_archive": False})
    (settings.venv_bin / "spark-submit").write_text(DUMPING.format(code=0))
    assert isinstance(_run(settings), str)
    assert _archives(settings) == []
    assert "Archive" not in submit_env(settings)["SPARK_SUBMIT_OPTS"]
