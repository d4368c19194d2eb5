"""Rows of the warehouse turned into profile-table writes, one statement per user.

The warehouse side (``sql/profiles/<table>.sql``) selects exactly the columns of the Cassandra
table; the column names are checked against the table's schema in Cassandra before anything is
written, and the values are always bound. A user's rows of a multi-row table go in one
single-partition unlogged batch; counters are brought to the warehouse's totals by writing the
difference from what Cassandra holds, so loading the same day twice leaves them unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from adtarget.profiles.errors import LoadError
from adtarget.profiles.tables import BY_NAME

if TYPE_CHECKING:
    from cassandra.cluster import Session

SELECT_COUNTERS = "SELECT campaign_id, impressions, clicks FROM ad_counters WHERE adid = ?"
UPDATE_COUNTERS = (
    "UPDATE ad_counters SET impressions = impressions + ?, clicks = clicks + ? "
    "WHERE adid = ? AND campaign_id = ?"
)
#: Tables loaded from the warehouse besides the profile tables.
EXTRA_TABLES = {"ids_by_bid": 0}


def table_columns(session: Session, keyspace: str, table: str) -> set[str]:
    """The columns of ``table`` as Cassandra knows them; an unknown table is a LoadError."""
    meta = session.cluster.metadata.keyspaces.get(keyspace)
    if meta is None or table not in meta.tables:
        raise LoadError(f"table: {keyspace}.{table} does not exist (run `adtarget-cassandra migrate`)")
    return set(meta.tables[table].columns)


def ttl_of(table: str) -> int:
    if table in EXTRA_TABLES:
        return EXTRA_TABLES[table]
    if table not in BY_NAME:
        raise LoadError(f"table: {table!r} is not a profile table")
    return BY_NAME[table].ttl


class RowStatements:
    """Upserts of one table's rows, one statement (or single-partition batch) per user."""

    def __init__(self, session: Session, keyspace: str, table: str, columns: Sequence[str]) -> None:
        known = table_columns(session, keyspace, table)
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise LoadError(f"columns: {unknown} are not columns of {keyspace}.{table} ({sorted(known)})")
        self.table = table
        self.columns = tuple(columns)
        self.ttl = ttl_of(table)
        marks = ", ".join("?" for _ in columns)
        # Table and column names were checked against the schema above; values are bound.
        self._insert = session.prepare(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) USING TTL ?"  # noqa: S608
        )

    def statement(self, rows: Sequence[Mapping[str, Any]]) -> tuple[Any, int]:
        """The write of one user's ``rows`` (all with the same partition key)."""
        from cassandra.query import BatchStatement, BatchType

        bound = [self._insert.bind((*(row[c] for c in self.columns), self.ttl)) for row in rows]
        if len(bound) == 1:
            return bound[0], 1
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        for b in bound:
            batch.add(b)
        return batch, len(bound)


class CounterStatements:
    """Brings ``ad_counters`` of one user to the warehouse's totals (campaign -> (imps, clicks))."""

    table = "ad_counters"

    def __init__(self, session: Session) -> None:
        self._session = session
        self._select = session.prepare(SELECT_COUNTERS)
        self._update = session.prepare(UPDATE_COUNTERS)

    def statement(self, rows: Sequence[Mapping[str, Any]]) -> tuple[Any, int] | None:
        """The counter batch for one user, or None when Cassandra already holds the totals."""
        from cassandra.query import BatchStatement, BatchType

        adid = rows[0]["adid"]
        want = {int(r["campaign_id"]): (int(r["impressions"]), int(r["clicks"])) for r in rows}
        have = {
            r.campaign_id: (r.impressions or 0, r.clicks or 0)
            for r in self._session.execute(self._select, (adid,))
        }
        batch = BatchStatement(batch_type=BatchType.COUNTER)
        changed = 0
        for campaign in sorted(set(want) | set(have)):
            wi, wc = want.get(campaign, (0, 0))
            hi, hc = have.get(campaign, (0, 0))
            if (wi, wc) != (hi, hc):
                batch.add(self._update, (wi - hi, wc - hc, adid, campaign))
                changed += 1
        return (batch, changed) if changed else None
