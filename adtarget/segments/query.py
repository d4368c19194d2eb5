"""The HiveQL of an audience: a template's member query, its params staged as tables.

A template's file reads its params as ``p_scalars`` (one row) and ``p_<list>`` (one value per
row; keyword lists also carry the ``needle`` the matcher looks for). :func:`build` renames
those to names unique to the request, wraps the member query in the demographic filters, and
returns the SQL together with the tables to stage under those names. The SQL text is made of
the project's files and generated names only: a param's value is never part of it.

A template reads its days as ``l.dt BETWEEN (SELECT dt_from FROM p_scalars) AND (SELECT dt_to
FROM p_scalars)``: Spark prunes a partition column against scalar subqueries when the query runs,
so only the window's days are read. A range against a joined column (``CROSS JOIN p_scalars c
... l.dt BETWEEN c.dt_from AND c.dt_to``) reads every day of the log, and did until 2026-11.

A combination of segments is built from each referenced segment's own query (resolved by the
caller, usually from the registry), each with its own staged params.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from adtarget.matcher import needle
from adtarget.segments.templates import FILTERS, Template

#: How a template file names a staged table.
_REFERENCE = re.compile(r"\bp_([a-z_]+)\b")
#: Combinations may nest (a combination of combinations), this deep at most.
MAX_DEPTH = 5
#: The user attribute column of each demographic filter.
_FILTER_COLUMN = {
    "age_bands": "age_band",
    "genders": "gender",
    "regions": "region",
    "devices": "device",
    "oses": "os",
}

#: ``resolve(segment_id)`` -> the segment's template and validated params.
Resolver = Callable[[int], tuple[Template, dict[str, Any]]]


class QueryError(ValueError):
    """The audience cannot be built as asked (an unknown or cyclic segment reference)."""


@dataclass
class Audience:
    """The member query of an audience and the tables it reads."""

    #: ``SELECT adid ...``: the members (an adid may repeat).
    sql: str
    #: View name -> rows to stage under that name before the query runs.
    tables: dict[str, pa.Table] = field(default_factory=dict)

    @property
    def count_sql(self) -> str:
        """The exact audience size: distinct members."""
        return f"SELECT count(DISTINCT m.adid) FROM ({self.sql}) m"


def references(template: Template) -> set[str]:
    """The staged names a template file reads (without the ``p_`` prefix)."""
    return set(_REFERENCE.findall(template.sql))


def window(values: dict[str, Any], as_of: dt.date) -> dict[str, str]:
    """The days a template reads, as the partition strings of the warehouse."""
    out = {"as_of": as_of.isoformat()}
    if "days" in values:
        out["dt_from"] = (as_of - dt.timedelta(days=values["days"] - 1)).isoformat()
        out["dt_to"] = as_of.isoformat()
    if "quiet_days" in values:
        out["quiet_from"] = (as_of - dt.timedelta(days=values["quiet_days"] - 1)).isoformat()
    return out


def _scalars(template: Template, values: dict[str, Any], as_of: dt.date) -> pa.Table:
    row: dict[str, pa.Array] = {}
    for name in template.scalar_params:
        if name == "as_of":
            continue
        kind = template.properties[name]["type"]
        arrow_type = {"integer": pa.int64(), "number": pa.float64()}.get(kind, pa.string())
        row[name] = pa.array([values[name]], arrow_type)
    for name, day in window(values, as_of).items():
        row[name] = pa.array([day], pa.string())
    for name in template.list_params:
        # Lets a query treat an empty optional list as "any" without a second query shape.
        row[f"any_{name}"] = pa.array([not values[name]], pa.bool_())
    return pa.table(row)


def _list(template: Template, name: str, values: dict[str, Any]) -> pa.Table:
    items = template.properties[name]["items"]
    data = values[name]
    if items.get("type") == "integer":
        return pa.table({"value": pa.array(data, pa.int64())})
    table = {"value": pa.array(data, pa.string())}
    if name.endswith("keywords"):
        mode = values["match"]
        table["needle"] = pa.array([needle(v, mode) for v in data], pa.string())
    return pa.table(table)


def _filtered(sql: str, scalars: str, names: dict[str, str], values: dict[str, Any]) -> str:
    conditions = [
        f"u.{column} IN (SELECT value FROM {names[param]})"
        for param, column in _FILTER_COLUMN.items()
        if values.get(param)
    ]
    if not conditions:
        return sql
    return (
        f"SELECT f.adid FROM ({sql}) f WHERE f.adid IN ("
        f"SELECT u.adid FROM adtarget.user_attributes u "
        f"WHERE u.dt = (SELECT as_of FROM {scalars}) AND {' AND '.join(conditions)})"
    )


def _combination(
    values: dict[str, Any], as_of: dt.date, prefix: str, resolve: Resolver, seen: tuple[int, ...]
) -> Audience:
    parts: dict[str, list[str]] = {"all_of": [], "any_of": [], "none_of": []}
    tables: dict[str, pa.Table] = {}
    for group in parts:
        for segment_id in values[group]:
            if segment_id in seen:
                chain = " -> ".join(map(str, (*seen, segment_id)))
                raise QueryError(
                    f"segment_combination: {group}: segment {segment_id} refers back to itself ({chain})"
                )
            template, params = resolve(segment_id)
            inner = build(
                template,
                {**params, "as_of": as_of},
                as_of,
                resolve=resolve,
                prefix=f"{prefix}_s{segment_id}",
                seen=(*seen, segment_id),
            )
            parts[group].append(f"SELECT adid FROM ({inner.sql}) s{segment_id}")
            tables.update(inner.tables)
    base = [" INTERSECT ".join(f"({q})" for q in parts["all_of"])] if parts["all_of"] else []
    if parts["any_of"]:
        base.append(" UNION ".join(f"({q})" for q in parts["any_of"]))
    sql = " INTERSECT ".join(f"({q})" for q in base)
    if parts["none_of"]:
        sql = f"({sql}) EXCEPT ({' UNION '.join(f'({q})' for q in parts['none_of'])})"
    return Audience(f"SELECT adid FROM ({sql}) c", tables)


def build(
    template: Template,
    values: dict[str, Any],
    as_of: dt.date,
    *,
    resolve: Resolver | None = None,
    prefix: str | None = None,
    seen: tuple[int, ...] = (),
) -> Audience:
    """The member query of ``template`` with validated ``values``, as of the day ``as_of``.

    ``resolve`` finds the segments a combination names; ``prefix`` makes the staged names
    unique (a fresh one by default).
    """
    prefix = prefix or f"p{uuid.uuid4().hex[:16]}"
    if len(seen) > MAX_DEPTH:
        raise QueryError(
            f"segment_combination: nested deeper than {MAX_DEPTH} levels ({' -> '.join(map(str, seen))})"
        )
    names = {name: f"{prefix}_{name}" for name in (*template.list_params, "scalars")}
    tables = {names["scalars"]: _scalars(template, values, as_of)}
    for name in template.list_params:
        tables[names[name]] = _list(template, name, values)

    if template.id == "segment_combination":
        if resolve is None:
            raise QueryError("segment_combination: no registry to find the segments in")
        inner = _combination(values, as_of, prefix, resolve, seen)
        tables.update(inner.tables)
        sql = inner.sql
    else:
        unknown = references(template) - set(names)
        if unknown:
            raise QueryError(f"{template.sql_path.name}: reads p_{sorted(unknown)[0]}, which is not a param")
        sql = _REFERENCE.sub(lambda m: names[m[1]], template.sql)
    return Audience(_filtered(sql, names["scalars"], {n: names[n] for n in FILTERS}, values), tables)
