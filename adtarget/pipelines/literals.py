"""Airflow's context in a step's SQL, always as SQL literals.

A step's SQL is a Jinja template over the run's context (``{{ ds }}``, ``{{ params.x }}``,
``{{ macros.ds_add(ds, -7) }}``). Every ``{{ ... }}`` value becomes a literal of Hive / Spark SQL:
a string is quoted and escaped, a number stays a number, a list becomes ``a, b, c`` for
``IN (...)``. So a value is never SQL text, whatever it holds: a quote, a backslash, a newline,
``${hiveconf:x}`` (the Thrift server and ``spark-sql`` substitute those even inside quotes, so
``$`` is written as the escape ``\\u0024``), or ``'; DROP TABLE``. ``{% if %}`` blocks may still
shape the SQL around the values.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0", "$": "\\u0024"}


def quote(text: str) -> str:
    """``text`` as a single-quoted Hive / Spark SQL string literal."""
    return "'" + "".join(_ESCAPES.get(ch, ch) for ch in text) + "'"


def sql_literal(value: Any) -> str:
    """The SQL literal of one template value; a type with no literal raises ``TypeError``."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{value!r} has no SQL literal")
        return repr(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise TypeError(f"{value!r} has no SQL literal")
        return str(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, dt.datetime):
        return quote(value.strftime("%Y-%m-%d %H:%M:%S"))
    if isinstance(value, dt.date):
        return quote(value.isoformat())
    if isinstance(value, Sequence | set | frozenset) and not isinstance(value, bytes | bytearray):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        if not items:
            raise TypeError("an empty list has no SQL literal (IN () does not parse)")
        return ", ".join(sql_literal(v) for v in items)
    raise TypeError(f"a {type(value).__name__} has no SQL literal: {value!r}")


def _finalize(value: Any) -> str:
    # Jinja calls finalize on the value of every {{ ... }}; Undefined raises here, naming itself.
    if isinstance(value, jinja2.Undefined):
        return str(value)
    return sql_literal(value)


@functools.cache
def environment() -> SandboxedEnvironment:
    """The Jinja environment of step SQL: sandboxed, strict about undefined names, literal values."""
    return SandboxedEnvironment(
        undefined=jinja2.StrictUndefined, finalize=_finalize, autoescape=False, keep_trailing_newline=True
    )


def render(sql: str, context: Mapping[str, Any]) -> str:
    """``sql`` with every ``{{ ... }}`` replaced by the literal of its value in ``context``."""
    return environment().from_string(sql).render(**context)


_SIMPLE = re.compile(r"\{\{\s*[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\s*\}\}")
_MARKUP = re.compile(r"\{[{%#]|[}%#]\}")


def syntax_problem(sql: str) -> tuple[int, str] | None:
    """``(line, message)`` when ``sql`` is not a valid template (line 1-based in ``sql``)."""
    if not _MARKUP.search(_SIMPLE.sub("", sql)):
        # Only plain text and {{ name }} / {{ name.attr }}: valid, no need to run the parser
        # (a third of the time a pipeline file takes to read).
        return None
    try:
        environment().parse(sql)
    except jinja2.TemplateSyntaxError as exc:
        return exc.lineno, exc.message or "syntax error"
    return None
