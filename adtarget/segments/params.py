"""Validating a template's params: a bad one fails with its field and value named.

:func:`validate` checks the JSON schema of the template, then the rules across params that a
schema cannot state (``quiet_days`` smaller than ``days``, ...), and returns the params with
their defaults filled in. :func:`definition` is the canonical form of a segment (template and
params, lists sorted, ``as_of`` left out): two registrations with the same definition are one
segment.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from adtarget.matcher import needle
from adtarget.segments.templates import Template


class ParamError(ValueError):
    """A param breaks its template's schema; the message names the field and the value."""

    def __init__(self, template_id: str, field: str, value: Any, problem: str) -> None:
        self.template_id, self.field, self.value, self.problem = template_id, field, value, problem
        shown = json.dumps(value, ensure_ascii=False, default=str)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        super().__init__(f"{template_id}: {field}: {problem} (got {shown})")


def _field(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "params"


def _schema_errors(template: Template, raw: dict[str, Any]) -> None:
    validator = Draft202012Validator(template.schema, format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(raw), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if not errors:
        return
    error = errors[0]
    if error.validator == "additionalProperties":
        unknown = sorted(set(raw) - set(template.properties))
        raise ParamError(
            template.id,
            unknown[0],
            raw[unknown[0]],
            f"not a param of this template; its params are {', '.join(template.properties)}",
        )
    if error.validator == "required":
        missing = next(n for n in template.schema["required"] if n not in raw)
        raise ParamError(template.id, missing, None, "is required")
    # The message jsonschema gives repeats the value; keep only what is wrong with it.
    problem = error.message
    shown = repr(error.instance)
    if problem.startswith(shown):
        problem = problem[len(shown) :].strip()
    raise ParamError(template.id, _field(error.absolute_path), error.instance, problem)


#: The days an audience can be asked about (a window must not run off the calendar).
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)


def _cross_checks(template: Template, values: dict[str, Any]) -> None:
    def fail(field: str, problem: str) -> None:
        raise ParamError(template.id, field, values[field], problem)

    as_of = values["as_of"]
    if as_of is not None and not EARLIEST <= as_of <= LATEST:
        raise ParamError(template.id, "as_of", as_of.isoformat(), f"must be between {EARLIEST} and {LATEST}")

    if "quiet_days" in values and values["quiet_days"] >= values["days"]:
        fail("quiet_days", f"must be smaller than days ({values['days']})")
    if "max_impressions" in values and values["max_impressions"] < values["min_impressions"]:
        fail("max_impressions", f"must be at least min_impressions ({values['min_impressions']})")
    if "min_active_days" in values and values["min_active_days"] > values["days"]:
        fail("min_active_days", f"must be at most days ({values['days']})")
    for name in ("keywords", "exclude_keywords"):
        for i, keyword in enumerate(values.get(name) or ()):
            # As the matcher refuses them: an empty needle would match every search.
            if not needle(keyword, values["match"]).strip():
                raise ParamError(
                    template.id,
                    f"{name}[{i}]",
                    keyword,
                    f"has no letters or digits to match in {values['match']} mode",
                )
    if template.id == "segment_combination":
        if not values["all_of"] and not values["any_of"]:
            fail("all_of", "all_of or any_of must name at least one segment")
        for name in ("all_of", "any_of"):
            clash = sorted(set(values[name]) & set(values["none_of"]))
            if clash:
                fail("none_of", f"segment {clash[0]} is also in {name}")


def validate(template: Template, raw: dict[str, Any] | None) -> dict[str, Any]:
    """The params of ``raw`` with defaults filled in; raises :class:`ParamError` if any is bad.

    ``as_of`` comes back as a :class:`datetime.date` or None.
    """
    raw = dict(raw or {})
    _schema_errors(template, raw)
    values = {name: raw.get(name, spec.get("default")) for name, spec in template.properties.items()}
    if values["as_of"] is not None:
        values["as_of"] = dt.date.fromisoformat(values["as_of"])
    _cross_checks(template, values)
    return values


def definition(template: Template, values: dict[str, Any]) -> dict[str, Any]:
    """The canonical definition: template id and params (lists sorted), without ``as_of``."""
    params = {
        name: sorted(value) if isinstance(value, list) else value
        for name, value in sorted(values.items())
        if name != "as_of"
    }
    return {"template": template.id, "params": params}


def definition_hash(template: Template, values: dict[str, Any]) -> str:
    """A digest of :func:`definition`: equal for equal segments, whatever the order of lists."""
    text = json.dumps(definition(template, values), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
