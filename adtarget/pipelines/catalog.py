"""Reading ``sql/pipelines/``: every pipeline found, validated, or the problems that stop it.

A pipeline is a folder of ``.sql`` step files run in file-name order (``depends_on`` says
otherwise), or a single ``.sql`` file directly in the folder. Its settings come from
``pipeline.yaml`` when the folder has one, else from the first step's frontmatter. One
pipeline's problems never stop another from loading: :func:`load_all` returns both lists.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from adtarget.hiveql import statements
from adtarget.pipelines import frontmatter, literals
from adtarget.pipelines.errors import PipelineError, Problem
from adtarget.pipelines.frontmatter import DEFAULTABLE_KEYS, OWN_STEP_KEYS, PIPELINE_KEYS, Frontmatter
from adtarget.pipelines.model import Engine, Pipeline, Step
from adtarget.pipelines.settings import PipelineSettings

NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
STEP = re.compile(r"^[A-Za-z0-9_.-]+$")
META = "pipeline.yaml"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def sources(root: Path) -> list[Path]:
    """The pipelines under ``root``: its sub-folders and its ``.sql`` files, by name.

    Names starting with ``.`` or ``_`` are left out (editor files, shared snippets).
    """
    if not root.is_dir():
        return []
    found = [
        p for p in root.iterdir() if not p.name.startswith((".", "_")) and (p.is_dir() or p.suffix == ".sql")
    ]
    return sorted(found, key=lambda p: p.name)


def seconds(value: int | str) -> int:
    """``90`` / ``"90s"`` / ``"5m"`` / ``"2h"`` / ``"1d"`` in seconds (the schema checked the form)."""
    if isinstance(value, int):
        return value
    return int(value[:-1]) * _UNITS[value[-1]]


def _name_of(source: Path) -> str:
    return source.stem if source.suffix == ".sql" else source.name


def _misplaced(fm: Frontmatter, keys: Iterable[str], why: str) -> list[Problem]:
    return [Problem(fm.path, fm.key_lines.get(k, 1), k, why) for k in sorted(set(keys) & set(fm.values))]


def _cycle(order: list[str], deps: dict[str, tuple[str, ...]]) -> list[str] | None:
    """A dependency cycle among the steps, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in deps[node]:
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in order:
        if node not in state and (found := visit(node)):
            return found
    return None


def _statements(fm: Frontmatter) -> tuple[tuple[str, ...], list[Problem]]:
    parts = tuple(statements(fm.sql))
    if not parts:
        return (), [Problem(fm.path, fm.sql_line, "", "no SQL statement after the frontmatter")]
    problem = literals.syntax_problem(fm.sql)
    if problem is not None:
        line, message = problem
        return (), [Problem(fm.path, fm.sql_line + line - 1, "", f"template does not parse: {message}")]
    return parts, []


def load(source: Path, settings: PipelineSettings | None = None) -> Pipeline:
    """The pipeline at ``source`` (a folder or a ``.sql`` file); raises :class:`PipelineError`."""
    settings = settings or PipelineSettings()
    name = _name_of(source)
    problems: list[Problem] = []
    if not NAME.match(name):
        problems.append(
            Problem(source, 1, "", f"pipeline name {name!r} must be lowercase letters, digits and _ (max 63)")
        )
    if source.is_dir():
        files = sorted(p for p in source.glob("*.sql") if not p.name.startswith((".", "_")))
        meta_path = source / META
    else:
        files, meta_path = [source], None
    if not files:
        raise PipelineError(name, [Problem(source, 1, "", "the folder holds no .sql step file")])

    read = [frontmatter.read(p) for p in files]
    for _, found in read:
        problems += found
    steps_fm = [fm for fm, _ in read]
    if meta_path is not None and meta_path.exists():
        head, found = frontmatter.read(meta_path)
        problems += found
        problems += _misplaced(head, OWN_STEP_KEYS, f"belongs to a step file, not {META}")
        step_blocks = steps_fm
    else:
        head = steps_fm[0]
        step_blocks = steps_fm[1:]
    for fm in step_blocks:
        problems += _misplaced(fm, PIPELINE_KEYS, f"belongs to the pipeline: set it in {head.path.name}")
    if problems:  # the values below would be read from blocks that are not valid
        raise PipelineError(name, problems)

    p = head.values
    defaults: dict[str, Any] = {k: p[k] for k in DEFAULTABLE_KEYS if k in p}
    ids = [fm.path.stem for fm in steps_fm]
    for fm in steps_fm:
        if not STEP.match(fm.path.stem):
            problems.append(Problem(fm.path, 1, "", "a step file name may hold letters, digits, _ . - only"))

    steps: list[Step] = []
    deps: dict[str, tuple[str, ...]] = {}
    for i, fm in enumerate(steps_fm):
        own = {**defaults, **fm.values}  # the head's own values are the defaults: same for it
        task_id = fm.path.stem
        depends = tuple(own.get("depends_on", [ids[i - 1]] if i else []))
        for dep in depends:
            if dep not in ids or dep == task_id:
                why = "a step cannot wait for itself" if dep == task_id else f"no step file {dep}.sql here"
                problems.append(Problem(fm.path, fm.key_lines.get("depends_on", 1), "depends_on", why))
        deps[task_id] = tuple(d for d in depends if d in ids and d != task_id)
        parts, found = _statements(fm)
        problems += found
        engine = cast(Engine, own.get("engine", "hiveserver2"))
        default_conn = settings.hiveserver2_conn_id if engine == "hiveserver2" else settings.spark_conn_id
        steps.append(
            Step(
                task_id=task_id,
                path=fm.path,
                statements=parts,
                engine=engine,
                conn_id=str(own.get("conn_id", default_conn)),
                retries=int(own.get("retries", settings.retries)),
                retry_delay=seconds(own.get("retry_delay", settings.retry_delay)),
                timeout=seconds(own.get("timeout", settings.timeout)),
                depends_on=deps[task_id],
                produces=tuple(own.get("produces", ())),
            )
        )
    if (cycle := _cycle(ids, deps)) is not None:
        problems.append(
            Problem(steps_fm[ids.index(cycle[0])].path, 1, "depends_on", "a cycle: " + " -> ".join(cycle))
        )

    schedule = p.get("schedule", "@daily")
    start = p.get("start_date")
    end = p.get("end_date")
    if schedule is not None and start is None:
        problems.append(
            Problem(head.path, 1, "start_date", "required for a scheduled pipeline (YYYY-MM-DD, UTC)")
        )
    if isinstance(schedule, str) and not schedule.startswith("@"):
        from croniter import croniter

        if not croniter.is_valid(schedule):
            problems.append(
                Problem(
                    head.path,
                    head.key_lines.get("schedule", 1),
                    "schedule",
                    f"{schedule!r} is not a valid cron expression",
                )
            )
    start_day = _day(start)
    end_day = _day(end)
    if start_day and end_day and end_day < start_day:
        problems.append(
            Problem(
                head.path,
                head.key_lines.get("end_date", 1),
                "end_date",
                f"{end} is before start_date {start}",
            )
        )
    if problems:
        raise PipelineError(name, problems)
    alert = p.get("alert_email", settings.alert_email)
    return Pipeline(
        name=name,
        dag_id=settings.dag_id_prefix + name,
        source=source,
        description=str(p.get("description", "")),
        schedule=schedule,
        start_date=start_day,
        end_date=end_day,
        catchup=bool(p.get("catchup", False)),
        max_active_runs=int(p.get("max_active_runs", 1)),
        owner=str(p.get("owner", settings.owner)),
        tags=tuple(p.get("tags", ())),
        alert_email=tuple([alert] if isinstance(alert, str) else alert),
        wait_for=tuple(p.get("wait_for", ())),
        steps=tuple(steps),
    )


def _day(value: Any) -> dt.date | None:
    # The schema checked the form (YYYY-MM-DD, a real date) before we get here.
    return None if value is None else dt.date.fromisoformat(str(value))


def load_all(settings: PipelineSettings | None = None) -> tuple[list[Pipeline], list[PipelineError]]:
    """Every pipeline of ``settings.dir`` that is valid, and the errors of those that are not."""
    settings = settings or PipelineSettings()
    pipelines: list[Pipeline] = []
    errors: list[PipelineError] = []
    seen: dict[str, Path] = {}
    for source in sources(settings.dir):
        name = _name_of(source)
        if name in seen:
            errors.append(
                PipelineError(
                    name,
                    [Problem(source, 1, "", f"a second pipeline named {name!r} (the first is {seen[name]})")],
                )
            )
            continue
        seen[name] = source
        try:
            pipelines.append(load(source, settings))
        except PipelineError as exc:
            errors.append(exc)
    return pipelines, errors
