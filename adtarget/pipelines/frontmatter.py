"""The YAML frontmatter of a step file, validated against ``frontmatter.schema.json``.

A step file may start with a block comment holding YAML, so the file stays valid SQL::

    /* ---
    schedule: "@daily"
    start_date: 2026-11-01
    retries: 3
    --- */
    INSERT OVERWRITE TABLE ...

Every problem is reported with the file's own line number and the field's name.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from adtarget.pipelines.errors import Problem

if TYPE_CHECKING:
    import jsonschema

OPEN, CLOSE = "/* ---", "--- */"
SCHEMA_PATH = Path(__file__).with_name("frontmatter.schema.json")

#: Keys about the whole pipeline: only in its first file or its ``pipeline.yaml``.
PIPELINE_KEYS = frozenset(
    {
        "description",
        "schedule",
        "start_date",
        "end_date",
        "catchup",
        "max_active_runs",
        "owner",
        "tags",
        "alert_email",
        "wait_for",
    }
)
#: Step keys that, in the pipeline's own block, are the defaults of all its steps.
DEFAULTABLE_KEYS = frozenset({"engine", "conn_id", "retries", "retry_delay", "timeout"})
#: Step keys that only concern the step whose file holds them.
OWN_STEP_KEYS = frozenset({"depends_on", "produces"})

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Frontmatter:
    """A file's settings and its SQL; ``sql_line`` is the file line where the SQL starts."""

    path: Path
    values: dict[str, Any]
    sql: str
    sql_line: int
    #: The YAML text and the file line it starts on (``None``: the file has no block).
    block: str | None = None
    block_line: int = 1

    @functools.cached_property
    def key_lines(self) -> dict[str, int]:
        """File line of each top-level key; parsed again only when a message needs it."""
        if not self.block:
            return {}
        root = yaml.compose(self.block, Loader=_Loader)
        if not isinstance(root, yaml.MappingNode):
            return {}
        return {str(k.value): self.block_line + k.start_mark.line for k, _ in root.value}


@functools.cache
def schema() -> dict[str, Any]:
    """The JSON schema of a frontmatter block."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return loaded


@functools.cache
def _fast_validator() -> Any:
    """jsonschema-rs (Rust): answers "valid?" for the common case in microseconds."""
    import jsonschema_rs

    return jsonschema_rs.validator_for(schema(), validate_formats=True)


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    # Imported only to explain an invalid block: it costs a quarter of a second to import.
    import jsonschema

    cls = jsonschema.validators.validator_for(schema())
    return cls(schema(), format_checker=cls.FORMAT_CHECKER)


def split(text: str) -> tuple[str | None, int, str, int]:
    """``(yaml, yaml_first_line, sql, sql_first_line)`` of a step file; no block gives ``None``.

    Raises ``ValueError`` with the opening line when a block is opened and never closed.
    """
    lines = text.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None or lines[first].strip() != OPEN:
        return None, 0, text, 1
    for end in range(first + 1, len(lines)):
        if lines[end].strip() == CLOSE:
            block = "\n".join(lines[first + 1 : end])
            return block, first + 2, "\n".join(lines[end + 1 :]), end + 2
    raise ValueError(first + 1)


def _node_line(root: yaml.Node | None, path: Sequence[Any]) -> int | None:
    """0-based line of the YAML node at ``path`` (keys and indexes), or of its nearest parent."""
    node, line = root, root.start_mark.line if root is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
            if pair is None:
                return line
            node, line = pair[1], pair[0].start_mark.line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        else:
            return line
    return line


def _field(path: Sequence[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(error: jsonschema.ValidationError) -> tuple[list[Any], str]:
    """The path and a reader's message of one schema error."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(known))
        name = extra[0] if extra else ""
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known fields: {', '.join(known)}"
        return [*path, name], f"unknown field; {hint}"
    if error.validator in ("oneOf", "anyOf", "pattern", "enum", "format"):
        described = error.schema.get("description")
        if described is None and error.validator == "pattern":
            described = f"must match {error.validator_value}"
        if error.validator == "enum":
            described = "one of " + ", ".join(map(repr, error.validator_value))
        return path, f"{error.instance!r} is not valid: {described or error.message}"
    return path, error.message


def _plain(value: Any) -> Any:
    """YAML dates become ISO strings, so the schema (and JSON) sees what the author wrote."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def parse_block(path: Path, block: str, first_line: int) -> tuple[dict[str, Any], list[Problem]]:
    """Values and problems of one YAML block starting at file line ``first_line``."""
    try:
        loaded = yaml.load(block, Loader=_Loader)  # noqa: S506 - a safe loader (C or Python)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = first_line + (mark.line if mark is not None else 0)
        reason = getattr(exc, "problem", None) or str(exc)
        return {}, [Problem(path, line, "", f"YAML does not parse: {reason}")]
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        return {}, [Problem(path, first_line, "", "the frontmatter must be a mapping of field: value")]
    values = _plain(loaded)
    if _fast_validator().is_valid(values):
        return values, []
    # Invalid: the Python validator explains each error, and the YAML nodes give their lines.
    root = yaml.compose(block, Loader=_Loader)
    found = []
    for error in sorted(_validator().iter_errors(values), key=lambda e: list(map(str, e.absolute_path))):
        err_path, message = _message(error)
        node_line = _node_line(root, err_path)
        found.append(Problem(path, first_line + (node_line or 0), _field(err_path), message))
    return values, found


def read(path: Path) -> tuple[Frontmatter, list[Problem]]:
    """Read one step file (or ``pipeline.yaml``); problems are returned, not raised."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return Frontmatter(path, {}, "", 1), [Problem(path, 1, "", f"not UTF-8 text: {exc.reason}")]
    if path.suffix in (".yaml", ".yml"):
        values, found = parse_block(path, text, 1)
        return Frontmatter(path, values, "", 1, text, 1), found
    try:
        block, first_line, sql, sql_line = split(text)
    except ValueError as exc:
        line = int(exc.args[0])
        return Frontmatter(path, {}, "", 1), [
            Problem(path, line, "", f"the frontmatter opened by '{OPEN}' is never closed by a '{CLOSE}' line")
        ]
    if block is None:
        return Frontmatter(path, {}, sql, sql_line), []
    values, found = parse_block(path, block, first_line)
    return Frontmatter(path, values, sql, sql_line, block, first_line), found
