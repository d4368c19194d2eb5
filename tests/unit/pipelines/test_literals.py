"""Template values become SQL literals, whatever they hold."""

from __future__ import annotations

import datetime as dt
import decimal

import jinja2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adtarget.pipelines import literals


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (None, "NULL"),
        (True, "TRUE"),
        (False, "FALSE"),
        (42, "42"),
        (-1.5, "-1.5"),
        (decimal.Decimal("1.10"), "1.10"),
        ("2026-11-28", "'2026-11-28'"),
        (dt.date(2026, 11, 28), "'2026-11-28'"),
        (dt.datetime(2026, 11, 28, 6, 30, tzinfo=dt.UTC), "'2026-11-28 06:30:00'"),
        (["a", 1], "'a', 1"),
        ("x'; DROP TABLE t; --", "'x\\'; DROP TABLE t; --'"),
        ("back\\slash", "'back\\\\slash'"),
        ("two\nlines", "'two\\nlines'"),
        ("${hiveconf:x}", "'\\u0024{hiveconf:x}'"),
        ("한국어 키워드", "'한국어 키워드'"),
    ],
)
def test_literals(value: object, literal: str) -> None:
    assert literals.sql_literal(value) == literal


@pytest.mark.parametrize("value", [float("nan"), [], object(), b"bytes", {"a": 1}])
def test_values_without_a_literal_are_refused(value: object) -> None:
    with pytest.raises(TypeError):
        literals.sql_literal(value)


def _unescape(literal: str) -> str:
    """How Spark SQL reads a quoted literal (its unescapeSQLString, for the escapes we emit)."""
    assert literal[0] == literal[-1] == "'"
    body, out, i = literal[1:-1], [], 0
    simple = {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "\\": "\\", "'": "'"}
    while i < len(body):
        ch = body[i]
        if ch == "'":
            raise AssertionError(f"an unescaped quote ends the literal early: {literal!r}")
        if ch == "\\":
            nxt = body[i + 1]
            if nxt == "u":
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(simple[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@given(st.text())
def test_every_string_round_trips_and_never_opens_a_variable(text: str) -> None:
    literal = literals.sql_literal(text)
    assert _unescape(literal) == text
    assert "${" not in literal
    assert "\n" not in literal


def test_render_uses_the_context_and_refuses_unknown_names() -> None:
    sql = "SELECT * FROM t WHERE dt = {{ ds }} AND k IN ({{ params.words }})"
    sql += "{% if params.limit %} LIMIT 5{% endif %}"
    out = literals.render(sql, {"ds": "2026-11-28", "params": {"words": ["a'b", 2], "limit": True}})
    assert out == "SELECT * FROM t WHERE dt = '2026-11-28' AND k IN ('a\\'b', 2) LIMIT 5"
    with pytest.raises(jinja2.UndefinedError, match="nope"):
        literals.render("SELECT {{ nope }}", {})


def test_the_sandbox_refuses_python_internals() -> None:
    with pytest.raises(jinja2.exceptions.SecurityError):
        literals.render("SELECT {{ ds.__class__.__mro__[1].__subclasses__() }}", {"ds": "x"})


def test_syntax_problem_names_the_line() -> None:
    assert literals.syntax_problem("SELECT 1\nFROM t\nWHERE {{ ds") == (
        3,
        "unexpected end of template, expected 'end of print statement'.",
    )
    assert literals.syntax_problem("SELECT {{ ds }}") is None


@given(st.text(alphabet="{}%# ab.(1)_\n", max_size=40))
def test_the_fast_syntax_check_agrees_with_jinja(text: str) -> None:
    try:
        literals.environment().parse(text)
        valid = True
    except jinja2.TemplateSyntaxError:
        valid = False
    assert (literals.syntax_problem(text) is None) == valid
