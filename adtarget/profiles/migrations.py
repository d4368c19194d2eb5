"""Versioned, idempotent CQL migrations from ``sql/cassandra/NNNN_name.cql``.

Each file is applied once, in version order, and recorded with its checksum in
``schema_migrations``; running ``migrate`` again applies only what is new, and a file changed
after it was applied is refused rather than silently skipped. Statements use ``IF NOT EXISTS``,
so a run that died half-way through a file can simply be run again.
"""

from __future__ import annotations

import argparse
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from adtarget import hiveql
from adtarget.profiles.config import CassandraSettings, cluster
from adtarget.profiles.errors import MigrationError

if TYPE_CHECKING:
    from cassandra.cluster import Session

#: Where the migration files live, next to the warehouse's SQL.
MIGRATIONS_DIR = hiveql.SQL_DIR / "cassandra"

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.cql$")

CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
  version int PRIMARY KEY, name text, checksum text, applied_at timestamp
)"""
SELECT_KEYSPACE = "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?"
SELECT_APPLIED = "SELECT version, name, checksum FROM schema_migrations"
INSERT_APPLIED = (
    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, toTimestamp(now()))"
)


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    statements: tuple[str, ...]
    checksum: str


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in ``directory``, by version; a badly named or duplicate file is an error."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.cql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path}: the name must look like 0001_what_it_does.cql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{path}: version {version} is used twice")
        text = path.read_text(encoding="utf-8")
        statements = tuple(hiveql.statements(text))
        if not statements:
            raise MigrationError(f"{path}: holds no CQL statement")
        found[version] = Migration(
            version=version,
            name=match.group(2),
            statements=statements,
            checksum=hashlib.sha256(text.encode()).hexdigest(),
        )
    return [found[v] for v in sorted(found)]


def create_keyspace(session: Session, settings: CassandraSettings) -> None:
    """Create the keyspace with the configured replication, or bring its replication in line."""
    # Names and the replication map cannot be bound; both were validated by the settings.
    options = ", ".join(
        f"'{k}': {v if isinstance(v, int) else repr(v)}" for k, v in settings.replication_map().items()
    )
    exists = session.execute(session.prepare(SELECT_KEYSPACE), (settings.keyspace,)).one()
    verb = "ALTER KEYSPACE" if exists else "CREATE KEYSPACE IF NOT EXISTS"
    session.execute(f"{verb} {settings.keyspace} WITH replication = {{{options}}}")


def migrate(
    session: Session, settings: CassandraSettings, directory: Path = MIGRATIONS_DIR
) -> list[Migration]:
    """Apply every migration not applied yet; returns the ones applied by this call."""
    migrations = discover(directory)
    create_keyspace(session, settings)
    session.set_keyspace(settings.keyspace)
    session.execute(CREATE_LEDGER)
    applied = {row.version: row for row in session.execute(SELECT_APPLIED)}
    done: list[Migration] = []
    record = session.prepare(INSERT_APPLIED)
    for migration in migrations:
        previous = applied.get(migration.version)
        if previous is not None:
            if previous.checksum != migration.checksum:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name}: changed after it was applied "
                    f"(checksum {previous.checksum[:12]} in the keyspace, {migration.checksum[:12]} on disk);"
                    " "
                    "add a new migration instead"
                )
            continue
        for statement in migration.statements:
            session.execute(statement)
        session.execute(record, (migration.version, migration.name, migration.checksum))
        done.append(migration)
    return done


def main(argv: list[str] | None = None) -> int:
    """``adtarget-cassandra migrate``: create the keyspace and apply new migrations."""
    parser = argparse.ArgumentParser(prog="adtarget-cassandra", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create the keyspace (ADTARGET_CASSANDRA_*) and apply new migrations")
    sub.add_parser("list", help="list the migration files")
    args = parser.parse_args(argv)
    if args.command == "list":
        for m in discover():
            print(f"{m.version:04d}_{m.name}  {len(m.statements)} statement(s)  {m.checksum[:12]}")
        return 0
    settings = CassandraSettings()
    with cluster(settings) as c:
        session = c.connect()
        applied = migrate(session, settings)
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "nothing new"
    print(f"cassandra: keyspace {settings.keyspace} migrated ({names})")
    return 0
