"""The segment registry in PostgreSQL: registered segments, their versions and size requests.

A segment is a template and its params (the *definition*), with a name, an owner, a version, a
status (active / paused / expired) and an optional expiry day. Registering a definition that
is already live returns the live segment instead of a second one; registering a new
definition under a live segment's name makes a new version of it. The daily extraction reads
:meth:`Registry.active`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from adtarget.hiveql import SQL_DIR
from adtarget.segments.params import ParamError, definition, definition_hash, validate
from adtarget.segments.templates import Template, template


class Status(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    EXPIRED = "expired"


class Outcome(StrEnum):
    """What a registration did."""

    CREATED = "created"
    #: The same definition was live already: nothing new was stored.
    EXISTING = "existing"
    #: The name was live with another definition: its version went up.
    NEW_VERSION = "new_version"


class RegistryError(LookupError):
    """A segment is unknown or cannot change as asked; the message names the segment."""


@dataclass(frozen=True)
class Segment:
    """One registered segment, as stored."""

    segment_id: int
    name: str
    template: str
    params: dict[str, Any]
    version: int
    owner: str
    status: Status
    expires_on: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready view (run results, the serving app)."""
        return {
            "segment_id": self.segment_id,
            "name": self.name,
            "template": self.template,
            "params": self.params,
            "version": self.version,
            "owner": self.owner,
            "status": self.status.value,
            "expires_on": self.expires_on.isoformat() if self.expires_on else None,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _segment(row: dict[str, Any]) -> Segment:
    return Segment(
        segment_id=row["segment_id"],
        name=row["name"],
        template=row["template"],
        params=row["params"],
        version=row["version"],
        owner=row["owner"],
        status=Status(row["status"]),
        expires_on=row["expires_on"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _returned(row: dict[str, Any] | None) -> dict[str, Any]:
    """The row of an UPDATE/INSERT ... RETURNING that matched (a vanished row is a bug)."""
    if row is None:
        raise RegistryError("registry: the segment changed under this request; try again")
    return row


class Registry:
    """The registry over one connection (``registry_url`` of :class:`SegmentSettings`)."""

    def __init__(self, url: str) -> None:
        self._conn = psycopg.connect(url, row_factory=dict_row, autocommit=True)
        # Statements split on ';' line ends: the DDL file holds no ';' inside a literal.
        ddl = (SQL_DIR / "registry" / "registry.sql").read_text()
        with self._conn.transaction():
            # Two first connections at once must not both create the tables.
            self._conn.execute("SELECT pg_advisory_xact_lock(hashtext('adtarget.registry.schema'))")
            self._conn.execute(ddl.encode())

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, segment_id: int) -> Segment:
        row = self._conn.execute("SELECT * FROM segment WHERE segment_id = %s", (segment_id,)).fetchone()
        if row is None:
            raise RegistryError(f"segment {segment_id}: not registered")
        return _segment(row)

    def find(self, name: str) -> Segment | None:
        """The live segment called ``name`` (case-insensitive), if any."""
        row = self._conn.execute(
            "SELECT * FROM segment WHERE lower(name) = lower(%s) AND status <> 'expired'", (name,)
        ).fetchone()
        return _segment(row) if row else None

    def register(
        self,
        tmpl: Template,
        values: dict[str, Any],
        *,
        name: str,
        owner: str,
        expires_on: dt.date | None = None,
    ) -> tuple[Segment, Outcome]:
        """Store a segment (validated ``values``); see the module doc for what a repeat does."""
        if not name.strip():
            raise RegistryError("name: a segment needs a name")
        digest = definition_hash(tmpl, values)
        params = Jsonb(definition(tmpl, values)["params"])
        with self._conn.transaction():
            # Registrations of one definition or one name are serialised; others run side by side.
            self._conn.execute("SELECT pg_advisory_xact_lock(hashtext('adtarget.registry.register'))")
            row = self._conn.execute(
                "SELECT * FROM segment WHERE definition_hash = %s AND status <> 'expired'",
                (digest,),
            ).fetchone()
            if row is not None:
                return _segment(row), Outcome.EXISTING
            same_name = self.find(name)
            if same_name is not None:
                row = self._conn.execute(
                    """UPDATE segment SET template = %s, params = %s, definition_hash = %s,
                           version = version + 1, owner = %s, expires_on = %s, status = 'active',
                           updated_at = now()
                        WHERE segment_id = %s RETURNING *""",
                    (tmpl.id, params, digest, owner, expires_on, same_name.segment_id),
                ).fetchone()
                outcome = Outcome.NEW_VERSION
            else:
                row = self._conn.execute(
                    """INSERT INTO segment (name, template, params, definition_hash, owner, expires_on)
                        VALUES (%s, %s, %s, %s, %s, %s) RETURNING *""",
                    (name.strip(), tmpl.id, params, digest, owner, expires_on),
                ).fetchone()
                outcome = Outcome.CREATED
            segment = _segment(_returned(row))
            self._conn.execute(
                """INSERT INTO segment_version
                       (segment_id, version, template, params, definition_hash, created_by)
                   VALUES (%s, %s, %s, %s, %s, %s)""",
                (segment.segment_id, segment.version, tmpl.id, params, digest, owner),
            )
        return segment, outcome

    def set_status(self, segment_id: int, status: Status) -> Segment:
        """Pause, re-activate or expire a segment. An expired segment stays expired."""
        current = self.get(segment_id)
        if current.status is Status.EXPIRED and status is not Status.EXPIRED:
            raise RegistryError(
                f"segment {segment_id}: expired segments cannot become {status.value}; register it again"
            )
        row = self._conn.execute(
            "UPDATE segment SET status = %s, updated_at = now() WHERE segment_id = %s RETURNING *",
            (status.value, segment_id),
        ).fetchone()
        return _segment(_returned(row))

    def expire_due(self, day: dt.date) -> list[Segment]:
        """Expire every live segment whose expiry day is before ``day``; returns them."""
        rows = self._conn.execute(
            """UPDATE segment SET status = 'expired', updated_at = now()
                WHERE status <> 'expired' AND expires_on < %s RETURNING *""",
            (day,),
        ).fetchall()
        return [_segment(r) for r in rows]

    def stamp(self) -> tuple[int, dt.datetime | None]:
        """How many segments there are and when the last one changed: equal stamps, same registry."""
        row = _returned(
            self._conn.execute("SELECT count(*) AS n, max(updated_at) AS last FROM segment").fetchone()
        )
        return row["n"], row["last"]

    def active(self, day: dt.date) -> list[Segment]:
        """The segments the extraction of ``day`` delivers: active and not past their expiry."""
        rows = self._conn.execute(
            """SELECT * FROM segment
                WHERE status = 'active' AND (expires_on IS NULL OR expires_on >= %s)
                ORDER BY segment_id""",
            (day,),
        ).fetchall()
        return [_segment(r) for r in rows]

    def resolve(self, segment_id: int) -> tuple[Template, dict[str, Any]]:
        """A live segment's template and params: what a combination of segments reads."""
        segment = self.get(segment_id)
        if segment.status is Status.EXPIRED:
            raise RegistryError(f"segment {segment_id}: expired")
        tmpl = template(segment.template)
        return tmpl, validate(tmpl, segment.params)

    def checked_resolver(
        self, tmpl: Template, values: dict[str, Any]
    ) -> Callable[[int], tuple[Template, dict[str, Any]]]:
        """:meth:`resolve`, once every segment a combination names is known to be live; an
        unknown or expired one is a :class:`ParamError` naming the field and the segment."""
        if tmpl.id == "segment_combination":
            for group in ("all_of", "any_of", "none_of"):
                for segment_id in values[group]:
                    try:
                        self.resolve(segment_id)
                    except RegistryError as exc:
                        raise ParamError(tmpl.id, group, segment_id, str(exc)) from None
        return self.resolve

    def link_request(self, run_id: str, segment_id: int) -> None:
        """Note on a run's size request the segment the run registered."""
        self._conn.execute(
            "UPDATE audience_request SET segment_id = %s WHERE run_id = %s", (segment_id, run_id)
        )

    def record_size(
        self,
        *,
        run_id: str | None,
        tmpl: Template,
        values: dict[str, Any],
        as_of: dt.date,
        count: int,
        seconds: float,
        requested_by: str,
    ) -> None:
        """Keep a size request (a retry of the same run replaces its row)."""
        params = Jsonb(json.loads(json.dumps(definition(tmpl, values)["params"], default=str)))
        self._conn.execute(
            """INSERT INTO audience_request
                   (run_id, template, params, as_of, exact_count, seconds, requested_by)
               VALUES (%s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (run_id) DO UPDATE SET
                   exact_count = EXCLUDED.exact_count, seconds = EXCLUDED.seconds, requested_at = now()""",
            (run_id, tmpl.id, params, as_of, count, seconds, requested_by),
        )

    def record_deliveries(self, day: dt.date, stats: list[dict[str, Any]]) -> None:
        """Keep the extraction's per-segment counts of ``day`` (a re-run replaces the day)."""
        with self._conn.transaction():
            self._conn.execute("DELETE FROM segment_delivery WHERE day = %s", (day,))
            with self._conn.cursor() as cur:
                cur.executemany(
                    # A segment deleted from the registry since the extraction has no row to keep.
                    """INSERT INTO segment_delivery
                           (segment_id, day, version, members, joined, left_segment)
                       SELECT %s, %s, %s, %s, %s, %s
                        WHERE EXISTS (SELECT 1 FROM segment WHERE segment_id = %s)""",
                    [
                        (
                            s["segment_id"],
                            day,
                            s["segment_version"],
                            s["members"],
                            s["joined"],
                            s["left_segment"],
                            s["segment_id"],
                        )
                        for s in stats
                    ],
                )

    def deliveries(self, day: dt.date) -> list[dict[str, Any]]:
        """The extraction's counts of ``day`` per segment, by segment id."""
        return list(
            self._conn.execute(
                "SELECT * FROM segment_delivery WHERE day = %s ORDER BY segment_id", (day,)
            ).fetchall()
        )

    def size_requests(self, since: dt.datetime, until: dt.datetime | None = None) -> list[dict[str, Any]]:
        """Size requests from ``since`` (up to ``until``, excluded), oldest first (the daily report
        reads them)."""
        return list(
            self._conn.execute(
                """SELECT * FROM audience_request
                    WHERE requested_at >= %s AND (%s::timestamptz IS NULL OR requested_at < %s)
                    ORDER BY request_id""",
                (since, until, until),
            ).fetchall()
        )

    def names(self, segment_ids: list[int]) -> dict[int, str]:
        """The names of these segments (ids not in the registry are left out)."""
        rows = self._conn.execute(
            "SELECT segment_id, name FROM segment WHERE segment_id = ANY(%s)", (segment_ids,)
        ).fetchall()
        return {int(r["segment_id"]): str(r["name"]) for r in rows}

    def keep_api_sample(self, day: dt.date, sample: dict[str, Any]) -> dict[str, Any]:
        """Keep ``sample`` as the profile API's counters of ``day`` unless one is kept already;
        the kept one is returned (two runs of a day's report at once agree on it)."""
        self._conn.execute(
            "INSERT INTO api_traffic_sample (day, sample) VALUES (%s, %s) ON CONFLICT (day) DO NOTHING",
            (day, Jsonb(sample)),
        )
        kept = self.api_sample(day)
        if kept is None:  # only if someone deleted it between the two statements
            raise RegistryError(f"api_traffic_sample: the sample of {day} vanished while kept")
        return kept

    def api_sample(self, day: dt.date) -> dict[str, Any] | None:
        """The profile API's counters kept for ``day``, if any."""
        row = self._conn.execute("SELECT sample FROM api_traffic_sample WHERE day = %s", (day,)).fetchone()
        return dict(row["sample"]) if row else None
