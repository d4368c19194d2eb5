"""The class-data-sharing archive of the Spark jobs' driver JVM, written by the first job.

Before a job runs a line of its own, its driver loads and verifies thousands of classes from
the ~280 jars of Spark and Hive. The JDK can keep the classes one run loaded in an archive
(``-XX:ArchiveClassesAtExit``) and map them into the next runs (``-XX:SharedArchiveFile``).
:func:`adtarget.spark_submit.submit` writes the archive on the first job that finds none (35-40 s
more for that job, 170-220 MB) and uses it from then on. A no-op job (a session and one Hive
query) took 22-25 s without it and 11-16 s with it.

An archive fits one JDK, one list of jars and one set of JVM options; its name is a hash of
them, so a new pyspark, JDK or option makes a new one. Two sets of options can be in use side by
side (the tests' jobs and Airflow's on a developer's stack), so an archive is deleted only when
no job mapped it for :data:`UNUSED_FOR`: deleting every other one made each side write its own
again, 35-40 s, every time the other had run. A JVM that finds the archive unfit says so on
standard error and runs without it: slower, never wrong.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import uuid
from pathlib import Path

from adtarget.stack.config import StackSettings

PREFIX = "spark-job-"
#: Seconds without a job mapping an archive after which a new archive's writer deletes it.
UNUSED_FOR = 2 * 24 * 3600


def archive_path(settings: StackSettings, java_options: str, conf: str) -> Path:
    """Where the archive for these JVM options and Spark properties (the extra class path is one)
    lives; it may not exist yet."""
    digest = hashlib.sha256()
    java_home = settings.java().resolve().parent.parent
    release = java_home / "release"
    digest.update(str(java_home).encode())
    digest.update(release.read_bytes() if release.is_file() else b"")
    for jar in _spark_jars(settings):
        stat = jar.stat()
        digest.update(f"{jar.name} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    digest.update(f"{java_options}\n{conf}\n".encode())
    return settings.var_dir / "class-archives" / f"{PREFIX}{digest.hexdigest()[:16]}.jsa"


def _spark_jars(settings: StackSettings) -> list[Path]:
    """The jars of the venv's pyspark, which spark-submit puts on the driver's class path."""
    return sorted(settings.venv_dir.glob("lib/python*/site-packages/pyspark/jars/*.jar"))


def dump_path(archive: Path) -> Path:
    """A file of this run's own to dump to: jobs that start together must not write one file."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    return archive.with_name(f"{archive.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part")


def used(archive: Path) -> None:
    """Mark ``archive`` as mapped by a job now (its modification time; the file is read-only)."""
    with contextlib.suppress(OSError):  # a mark missed costs nothing until UNUSED_FOR has passed
        os.utime(archive)


def keep(dump: Path, archive: Path) -> bool:
    """Make a finished dump the archive (archives unused for :data:`UNUSED_FOR` are deleted);
    False if the JVM wrote none."""
    if not dump.is_file() or dump.stat().st_size == 0:
        dump.unlink(missing_ok=True)
        return False
    dump.replace(archive)
    unused = time.time() - UNUSED_FOR
    for old in archive.parent.glob(f"{PREFIX}*.jsa"):
        # Another job keeping its dump may delete the same file between the listing and here.
        with contextlib.suppress(FileNotFoundError):
            if old != archive and old.stat().st_mtime < unused:
                old.unlink()
    stale = time.time() - 3600  # dumps of killed jobs (a live one takes seconds)
    for part in archive.parent.glob(f"{PREFIX}*.part"):
        if part.stat().st_mtime < stale:
            part.unlink(missing_ok=True)
    return True
