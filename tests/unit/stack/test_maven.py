from __future__ import annotations

from pathlib import Path

from adtarget.stack import maven
from adtarget.stack.config import StackSettings


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
    try:
        maven.classpath(s, "thing", ["g:a:2"])
    except Exception as exc:  # noqa: BLE001 - any failure proves it tried to resolve again
        assert "maven" in str(exc)
    else:
        raise AssertionError("a changed version must be resolved again")


def test_cache_with_a_deleted_jar_is_not_reused(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    cache = s.cache_dir / "classpath" / "thing.txt"
    cache.parent.mkdir(parents=True)
    cache.write_text(f"# g:a:1\n{tmp_path / 'gone.jar'}\n")
    try:
        maven.classpath(s, "thing", ["g:a:1"])
    except Exception as exc:  # noqa: BLE001
        assert "maven" in str(exc)
    else:
        raise AssertionError("a missing jar must be resolved again")
