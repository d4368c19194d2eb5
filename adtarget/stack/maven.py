"""JVM engines as Maven artifacts: fetch Maven itself, resolve an artifact's classpath, cache both.

Only Maven Central is contacted. Maven's own distribution is itself published there, so a
machine with nothing but a JDK can resolve the engines. The first resolution of an engine
downloads its jars into ``var/cache/m2``; later ones read the cached classpath file.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from adtarget.stack.config import StackSettings
from adtarget.stack.errors import StackError

_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>adtarget.engines</groupId>
  <artifactId>{name}</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{dependencies}
  </dependencies>
</project>
"""

_DEPENDENCY = """    <dependency>
      <groupId>{group}</groupId>
      <artifactId>{artifact}</artifactId>
      <version>{version}</version>
    </dependency>"""

_SETTINGS = """<settings>
  <localRepository>{repo}</localRepository>
  <mirrors>
    <mirror><id>central</id><mirrorOf>*</mirrorOf><url>{url}</url></mirror>
  </mirrors>
</settings>
"""


def maven_executable(settings: StackSettings) -> Path:
    """``mvn`` of the pinned Maven release, downloaded from Maven Central on first use."""
    home = settings.cache_dir / f"apache-maven-{settings.maven_version}"
    mvn = home / "bin" / "mvn"
    if mvn.exists():
        return mvn
    version = settings.maven_version
    url = (
        f"{settings.maven_repository}/org/apache/maven/apache-maven/{version}/"
        f"apache-maven-{version}-bin.tar.gz"
    )
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    archive = settings.cache_dir / f"apache-maven-{version}-bin.tar.gz"
    print(f"  maven: downloading Apache Maven {version} from Maven Central", flush=True)
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, archive.open("wb") as out:  # noqa: S310
            shutil.copyfileobj(resp, out)
    except OSError as exc:
        raise StackError(f"maven: could not download {url}: {exc}; check the network and retry") from exc
    with tarfile.open(archive) as tar:
        tar.extractall(settings.cache_dir, filter="data")
    archive.unlink()
    # extractall(filter="data") drops the executable bit of bin/mvn in some Python releases.
    mvn.chmod(0o755)
    return mvn


def classpath(settings: StackSettings, name: str, coordinates: Sequence[str]) -> list[Path]:
    """The jars of ``coordinates`` (``group:artifact:version``) and all they depend on.

    The result is cached in ``var/cache/classpath/<name>.txt`` keyed by the coordinates, so a
    version change resolves again and an unchanged one starts without touching the network.
    """
    cache = settings.cache_dir / "classpath" / f"{name}.txt"
    key = "# " + " ".join(coordinates)
    if cache.exists():
        head, _, body = cache.read_text().partition("\n")
        jars = [Path(p) for p in body.strip().split(":") if p]
        if head == key and jars and all(j.exists() for j in jars):
            return jars
    work = settings.cache_dir / "classpath" / name
    work.mkdir(parents=True, exist_ok=True)
    deps = []
    for coordinate in coordinates:
        group, artifact, version = coordinate.split(":")
        deps.append(
            _DEPENDENCY.format(group=escape(group), artifact=escape(artifact), version=escape(version))
        )
    (work / "pom.xml").write_text(_POM.format(name=escape(name), dependencies="\n".join(deps)))
    (work / "settings.xml").write_text(
        _SETTINGS.format(repo=escape(str(settings.cache_dir / "m2")), url=escape(settings.maven_repository))
    )
    out_file = work / "classpath.txt"
    log_file = settings.log_dir / f"maven-{name}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    print(f"  {name}: resolving {' '.join(coordinates)} from Maven Central (once)", flush=True)
    cmd = [
        str(maven_executable(settings)),
        "--batch-mode",
        "--no-transfer-progress",
        "--settings",
        str(work / "settings.xml"),
        "--file",
        str(work / "pom.xml"),
        "dependency:build-classpath",
        "-Dmdep.includeScope=runtime",
        f"-Dmdep.outputFile={out_file}",
    ]
    java = settings.java()
    env = {"PATH": f"{java.parent}:/usr/bin:/bin", "JAVA_HOME": str(java.parent.parent)}
    with log_file.open("w") as log:
        result = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, check=False)  # noqa: S603
    if result.returncode != 0 or not out_file.exists():
        raise StackError(
            f"{name}: Maven could not resolve {' '.join(coordinates)}; read {log_file} "
            "(is Maven Central reachable?)"
        )
    jars = [Path(p) for p in out_file.read_text().strip().split(":") if p]
    cache.write_text(key + "\n" + ":".join(str(j) for j in jars) + "\n")
    return jars
