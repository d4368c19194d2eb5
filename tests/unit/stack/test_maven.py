from __future__ import annotations

from pathlib import Path

import pytest

from adtarget.stack import maven
from adtarget.stack.config import StackSettings
from adtarget.stack.errors import StackError

# What classpath() says when it goes to fetch Maven: proof that it did not use the cache.
TRIED_TO_RESOLVE = "maven: could not download http://127.0.0.1:9/none"


def _settings(tmp_path: Path) -> StackSettings:
    # An unreachable repository: any attempt to download would fail the test.
    return StackSettings(cache_dir=tmp_path / "cache", maven_repository="http://127.0.0.1:9/none")


def test_cached_classpath_is_used_without_maven(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    jar = tmp_path / "a.jar"
    jar.write_bytes(b"PK")
    cache = s.cache_dir / "classpath" / "thing.txt"
    cache.parent.mkdir(parents=True)
    cache.write_text(f"# g:a:1\n{jar}\n")
    assert maven.classpath(s, "thing", ["g:a:1"]) == [jar]
    assert not (s.cache_dir / "apache-maven-3.9.16").exists()


def test_cache_for_other_coordinates_is_not_reused(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    jar = tmp_path / "a.jar"
    jar.write_bytes(b"PK")
    cache = s.cache_dir / "classpath" / "thing.txt"
    cache.parent.mkdir(parents=True)
    cache.write_text(f"# g:a:1\n{jar}\n")
    with pytest.raises(StackError, match=TRIED_TO_RESOLVE):
        maven.classpath(s, "thing", ["g:a:2"])


def test_cache_with_a_deleted_jar_is_not_reused(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    cache = s.cache_dir / "classpath" / "thing.txt"
    cache.parent.mkdir(parents=True)
    cache.write_text(f"# g:a:1\n{tmp_path / 'gone.jar'}\n")
    with pytest.raises(StackError, match=TRIED_TO_RESOLVE):
        maven.classpath(s, "thing", ["g:a:1"])
