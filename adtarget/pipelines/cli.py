"""``adtarget-pipelines``: check, list and render the SQL-file pipelines without Airflow running.

    adtarget-pipelines lint                  # every problem, as file:line: field: message
    adtarget-pipelines list                  # the pipelines, their schedule and steps
    adtarget-pipelines render keyword_stats --ds 2026-11-28   # the SQL a run of that day sends

``make lint-sql`` runs ``lint``; it exits 1 when a pipeline has a problem, so CI can gate on it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from adtarget.pipelines import catalog, literals
from adtarget.pipelines.errors import PipelineError
from adtarget.pipelines.settings import PipelineSettings


def lint(settings: PipelineSettings) -> int:
    """Print every problem of every pipeline; 0 when there is none."""
    pipelines, errors = catalog.load_all(settings)
    for error in errors:
        for problem in error.problems:
            print(problem)
    steps = sum(len(p.steps) for p in pipelines)
    summary = f"{len(pipelines)} pipeline(s), {steps} step(s) valid; {len(errors)} pipeline(s) with problems"
    print(summary, file=sys.stderr)
    return 1 if errors else 0


def list_pipelines(settings: PipelineSettings) -> int:
    pipelines, errors = catalog.load_all(settings)
    for p in pipelines:
        waits = f"  waits for {', '.join(p.wait_for)}" if p.wait_for else ""
        print(f"{p.dag_id:<32} {p.schedule or 'manual':<12} {' -> '.join(s.task_id for s in p.steps)}{waits}")
    for e in errors:
        print(f"{settings.dag_id_prefix + e.pipeline:<32} BROKEN       run `adtarget-pipelines lint`")
    return 1 if errors else 0


def context_for(day: dt.date, params: dict[str, Any]) -> dict[str, Any]:
    """The template context of a daily run covering ``day`` (what the DAG's run renders with)."""
    from airflow.sdk.execution_time import macros

    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=1)
    return {
        "ds": day.isoformat(),
        "ds_nodash": day.strftime("%Y%m%d"),
        "logical_date": start,
        "data_interval_start": start,
        "data_interval_end": end,
        "params": params,
        "macros": SimpleNamespace(**{k: getattr(macros, k) for k in dir(macros) if not k.startswith("_")}),
    }


def render(settings: PipelineSettings, name: str, day: dt.date, params: dict[str, Any]) -> int:
    source = next((s for s in catalog.sources(settings.dir) if s.stem == name or s.name == name), None)
    if source is None:
        print(f"error: no pipeline named {name!r} in {settings.dir}", file=sys.stderr)
        return 2
    try:
        pipeline = catalog.load(source, settings)
    except PipelineError as exc:
        print(exc, file=sys.stderr)
        return 1
    context = context_for(day, params)
    for step in pipeline.steps:
        print(f"-- {step.task_id} ({step.engine}, {step.path})")
        for statement in step.statements:
            print(literals.render(statement, context) + ";\n")
    return 0


def _param(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--param wants key=value, got {text!r}")
    return key, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="adtarget-pipelines", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dir", type=Path, help="the pipelines folder (default: ADTARGET_PIPELINES_DIR or sql/pipelines)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("lint", help="validate every pipeline; exit 1 on any problem")
    sub.add_parser("list", help="list the pipelines with their schedule and steps")
    ren = sub.add_parser("render", help="print the SQL a daily run would send")
    ren.add_argument("pipeline", help="its name (folder or file name without .sql)")
    ren.add_argument(
        "--ds",
        type=dt.date.fromisoformat,
        default=dt.date.today() - dt.timedelta(days=1),
        help="the run's day, YYYY-MM-DD (default: yesterday)",
    )
    ren.add_argument(
        "--param", type=_param, action="append", default=[], help="key=value for {{ params.key }}"
    )
    args = parser.parse_args(argv)
    settings = PipelineSettings(dir=args.dir) if args.dir else PipelineSettings()
    if args.command == "lint":
        return lint(settings)
    if args.command == "list":
        return list_pipelines(settings)
    return render(settings, args.pipeline, args.ds, dict(args.param))


if __name__ == "__main__":
    sys.exit(main())
