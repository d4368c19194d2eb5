"""What the audience DAGs' tasks do, importable and testable outside Airflow.

A run's conf holds the template's params and the registration fields (:data:`CONTROL`).
:func:`check` validates both before any query starts; :func:`size` counts the audience over
HiveServer2 and keeps the request in the registry; :func:`register` stores the segment when
the run asked for it.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import closing
from typing import Any

from adtarget.hiveql import hive_cursor
from adtarget.segments.estimate import estimate
from adtarget.segments.form import CONTROL
from adtarget.segments.params import ParamError, validate
from adtarget.segments.registry import Registry, Status
from adtarget.segments.settings import SegmentSettings
from adtarget.segments.sizing import exact_size
from adtarget.segments.sketches import SketchStore
from adtarget.segments.staging import Staging
from adtarget.segments.templates import Template, template

log = logging.getLogger(__name__)


def split(tmpl: Template, conf: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The template's params and the control fields of a run's params."""
    own = {k: v for k, v in conf.items() if k not in CONTROL}
    control = {k: conf.get(k, spec["default"]) for k, spec in CONTROL.items()}
    return own, control


def check(template_id: str, conf: dict[str, Any], settings: SegmentSettings | None = None) -> dict[str, Any]:
    """Validate a run's params; raises :class:`ParamError` naming the field and the value."""
    settings = settings or SegmentSettings()
    tmpl = template(template_id)
    own, control = split(tmpl, conf)
    values = validate(tmpl, own)
    if control["register"] and not (control["name"] or "").strip():
        raise ParamError(tmpl.id, "name", control["name"], "a segment to register needs a name")
    if control["expires_on"] is not None:
        expires = dt.date.fromisoformat(control["expires_on"])
        if expires < dt.date.today():
            raise ParamError(tmpl.id, "expires_on", control["expires_on"], "is in the past")
    with closing(Registry(settings.registry_url)) as registry:
        registry.checked_resolver(tmpl, values)  # a combination names live segments only
    return {"template": tmpl.id, "params": _json(values), **control}


def _json(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in values.items()}


def size(
    template_id: str,
    conf: dict[str, Any],
    *,
    cursor: Any,
    run_id: str | None,
    requested_by: str,
    settings: SegmentSettings | None = None,
) -> dict[str, Any]:
    """The exact size of the run's audience on ``cursor`` (a HiveServer2 cursor)."""
    settings = settings or SegmentSettings()
    tmpl = template(template_id)
    own, _ = split(tmpl, conf)
    values = validate(tmpl, own)
    with closing(Registry(settings.registry_url)) as registry:
        result = exact_size(
            cursor,
            tmpl,
            values,
            staging=Staging(settings.staging_uri),
            resolve=registry.checked_resolver(tmpl, values),
        )
        registry.record_size(
            run_id=run_id,
            tmpl=tmpl,
            values=values,
            as_of=result.as_of,
            count=result.count,
            seconds=result.seconds,
            requested_by=requested_by,
        )
    log.info("%s: %d users as of %s (exact, %.1f s)", tmpl.id, result.count, result.as_of, result.seconds)
    return {
        "template": tmpl.id,
        "as_of": result.as_of.isoformat(),
        "exact_count": result.count,
        "seconds": round(result.seconds, 3),
    }


def register(
    template_id: str,
    conf: dict[str, Any],
    *,
    sized: dict[str, Any],
    requested_by: str,
    run_id: str | None = None,
    estimated: dict[str, Any] | None = None,
    settings: SegmentSettings | None = None,
) -> dict[str, Any]:
    """Register the run's segment if it asked to; the run's result either way (the exact
    size, the instant estimate and the segment)."""
    settings = settings or SegmentSettings()
    tmpl = template(template_id)
    own, control = split(tmpl, conf)
    result = {**sized, "estimate": estimated, "registered": False, "segment": None}
    if not control["register"]:
        log.info("%s: sized only (register is off)", tmpl.id)
        return result
    values = validate(tmpl, own)
    expires = dt.date.fromisoformat(control["expires_on"]) if control["expires_on"] else None
    with closing(Registry(settings.registry_url)) as registry:
        segment, outcome = registry.register(
            tmpl, values, name=control["name"], owner=control["owner"] or requested_by, expires_on=expires
        )
        if run_id:
            registry.link_request(run_id, segment.segment_id)
    log.info(
        "%s: segment %d (%s) version %d: %s",
        tmpl.id,
        segment.segment_id,
        segment.name,
        segment.version,
        outcome,
    )
    return {**result, "registered": True, "outcome": outcome.value, "segment": segment.as_json()}


def change_status(segment_id: int, action: str, settings: SegmentSettings | None = None) -> dict[str, Any]:
    """Pause, activate or expire a segment (the ``segment_admin`` DAG)."""
    settings = settings or SegmentSettings()
    status = {"pause": Status.PAUSED, "activate": Status.ACTIVE, "expire": Status.EXPIRED}.get(action)
    if status is None:
        raise ValueError(f"action: {action!r} is not pause, activate or expire")
    with closing(Registry(settings.registry_url)) as registry:
        segment = registry.set_status(segment_id, status)
    log.info("segment %d (%s): %s", segment.segment_id, segment.name, segment.status)
    return segment.as_json()


def expire_due(day: dt.date, settings: SegmentSettings | None = None) -> list[int]:
    """Expire the segments past their last day; returns their ids."""
    settings = settings or SegmentSettings()
    with closing(Registry(settings.registry_url)) as registry:
        expired = registry.expire_due(day)
    for segment in expired:
        log.info(
            "segment %d (%s): expired (last day %s)", segment.segment_id, segment.name, segment.expires_on
        )
    return [s.segment_id for s in expired]


def size_in_airflow(
    template_id: str, conf: dict[str, Any], *, run_id: str | None, requested_by: str
) -> dict[str, Any]:
    """:func:`size` on the ``hive_conn_id`` connection (HiveServer2Hook)."""
    settings = SegmentSettings()
    with hive_cursor(settings.hive_conn_id) as cursor:
        return size(
            template_id,
            conf,
            cursor=cursor,
            run_id=run_id,
            requested_by=requested_by,
            settings=settings,
        )


def instant_estimate(
    template_id: str, conf: dict[str, Any], *, session: Any, settings: SegmentSettings | None = None
) -> dict[str, Any]:
    """The sketch estimate of the run's audience; ``available: false`` (with the reason) when
    there is none to give, so sizing goes on with the exact count."""
    settings = settings or SegmentSettings()
    tmpl = template(template_id)
    own, _ = split(tmpl, conf)
    values = validate(tmpl, own)
    store = SketchStore(session)
    as_of = values["as_of"] or store.newest_day()
    if as_of is None:
        return {"available": False, "reason": "no day has sketches yet (the daily sketch build has not run)"}
    with closing(Registry(settings.registry_url)) as registry:
        try:
            result = estimate(tmpl, values, as_of, store, resolve=registry.checked_resolver(tmpl, values))
        except LookupError as exc:
            return {"available": False, "reason": str(exc)}
    log.info(
        "%s: about %d users as of %s (%s, bounds %s..%s, %.3f s)",
        tmpl.id,
        result.estimate,
        as_of,
        result.relation,
        result.lower,
        result.upper,
        result.seconds,
    )
    return {"available": True, "as_of": as_of.isoformat(), **result.as_json()}


def estimate_in_airflow(
    template_id: str, conf: dict[str, Any], conn_id: str = "cassandra_default"
) -> dict[str, Any]:
    """:func:`instant_estimate` over the ``cassandra_default`` connection."""
    from adtarget.profiles.config import cluster, settings_from_connection

    cassandra = settings_from_connection(conn_id)
    try:
        with cluster(cassandra) as c:
            return instant_estimate(template_id, conf, session=c.connect(cassandra.keyspace))
    except ParamError:
        raise
    except Exception as exc:  # no estimate is no reason to withhold the exact count
        log.warning("%s: no estimate (%s)", template_id, exc)
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"[:300]}
