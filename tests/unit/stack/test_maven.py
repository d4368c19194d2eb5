from __future__ import annotations

from pathlib import Path

import pytest

from adtarget.stack import maven
from adtarget.stack.config import StackSettings
from adtarget.stack.errors import StackError

# What classpath() says when it goes to fetch Maven: proof that it did not use the cache.
TRIED_TO_RESOLVE = "maven: could not download http://127.0.0.1:9/none"


def _settings_with_cache(tmp_path: Path, jar: Path) -> StackSettings:
    """Settings whose classpath cache says ``thing`` = g:a:1 -> ``jar``.

    The repository is unreachable: any attempt to download fails with TRIED_TO_RESOLVE.
    """
    s = StackSettings(cache_dir=tmp_path / "cache", maven_repository="http://127.0.0.1:9/none")
    cache = s.cache_dir / "classpath" / "thing.txt"
    cache.parent.mkdir(parents=True)
    cache.write_text(f"# g:a:1\n{jar}\n")
    return s


def _jar(tmp_path: Path) -> Path:
    jar = tmp_path / "a.jar"
    jar.write_bytes(b"PK")
    return jar


def test_cached_classpath_is_used_without_maven(tmp_path: Path) -> None:
    jar = _jar(tmp_path)
    s = _settings_with_cache(tmp_path, jar)
    assert maven.classpath(s, "thing", ["g:a:1"]) == [jar]
    assert not (s.cache_dir / "apache-maven-3.9.16").exists()


def test_cache_for_other_coordinates_is_not_reused(tmp_path: Path) -> None:
    s = _settings_with_cache(tmp_path, _jar(tmp_path))
    with pytest.raises(StackError, match=TRIED_TO_RESOLVE):
        maven.classpath(s, "thing", ["g:a:2"])


def test_cache_with_a_deleted_jar_is_not_reused(tmp_path: Path) -> None:
    s = _settings_with_cache(tmp_path, tmp_path / "gone.jar")
    with pytest.raises(StackError, match=TRIED_TO_RESOLVE):
        maven.classpath(s, "thing", ["g:a:1"])
