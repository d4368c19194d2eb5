"""Pure parts of the profile store: settings, membership diffs, chunks, migration files."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from adtarget.profiles import migrations
from adtarget.profiles.config import CassandraSettings
from adtarget.profiles.errors import MigrationError
from adtarget.profiles.loader import MembershipChange, chunk_of, diff_memberships
from adtarget.profiles.tables import PROFILE_TABLES


def test_diff_rewrites_current_users_and_deletes_departed_ones() -> None:
    changes = list(diff_memberships({"a": [3, 1], "b": [2]}, previous=["b", "c"], versions={1: 4}))
    assert changes == [
        MembershipChange("a", {1: 4, 3: 1}),
        MembershipChange("b", {2: 1}),
        MembershipChange("c", {}),
    ]
    assert [c.rows for c in changes] == [2, 1, 1]


def test_chunks_are_stable_and_spread() -> None:
    keys = [f"user-{i}" for i in range(10_000)]
    chunks = [chunk_of(k, 16) for k in keys]
    assert chunks == [chunk_of(k, 16) for k in keys]
    counts = [chunks.count(c) for c in range(16)]
    assert min(counts) > 500


def test_replication_by_strategy() -> None:
    assert CassandraSettings().replication_map() == {"class": "SimpleStrategy", "replication_factor": 1}
    ring = CassandraSettings(replication="NetworkTopologyStrategy", datacenters={"dc1": 3, "dc-2": 2})
    assert ring.replication_map() == {"class": "NetworkTopologyStrategy", "dc1": 3, "dc-2": 2}
    with pytest.raises(ValueError, match="datacenters"):
        CassandraSettings(replication="NetworkTopologyStrategy").replication_map()


@pytest.mark.parametrize("name", ["x; DROP KEYSPACE y", "1abc", "a" * 49, ""])
def test_a_bad_keyspace_name_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="keyspace"):
        CassandraSettings(keyspace=name)


def test_hosts_come_comma_separated_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADTARGET_CASSANDRA_HOSTS", "10.0.0.1, 10.0.0.2")
    assert CassandraSettings().hosts == ["10.0.0.1", "10.0.0.2"]


def test_the_shipped_migrations_parse() -> None:
    found = migrations.discover()
    assert [m.version for m in found] == sorted(m.version for m in found)
    ddl = " ".join(found[0].statements)
    for table in PROFILE_TABLES:
        assert f"CREATE TABLE IF NOT EXISTS {table.name} " in ddl


def test_a_badly_named_migration_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_x.cql").write_text("CREATE TABLE t (a int PRIMARY KEY);\n")
    with pytest.raises(MigrationError, match=r"1_x.cql: the name must look like"):
        migrations.discover(tmp_path)


def test_an_empty_migration_is_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_nothing.cql").write_text("-- only a comment\n")
    with pytest.raises(MigrationError, match="no CQL statement"):
        migrations.discover(tmp_path)
