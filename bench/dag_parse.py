"""DagBag parse time of the SQL-pipeline DAG factory for 500 and 2,000 pipeline files.

For each size, in fresh processes (Airflow imported first, as in the dag-processor), times a
``DagBag`` over a dags folder holding only the two pipeline DAG files, with
``ADTARGET_PIPELINES_DIR`` pointing at generated pipelines:

- ``files``: N one-step pipelines, one ``.sql`` file each (the most DAGs per file);
- ``folders``: N step files in N/5 pipelines of five steps;
- ``python``: the peer, N hand-written Python DAG files with the same operator, one DAG each
  (what a team writes without the factory).

Each figure is the median of ``--repeat`` runs, the kinds interleaved; the ratio to the peer is
printed and written to bench/results/dag_parse.json. Goal: under 1 s for 500 files. Run: ``make bench`` or
``var/venv/bin/python bench/dag_parse.py [--sizes 500 2000] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from adtarget.stack.config import StackSettings
from adtarget.stack.engines.airflow import airflow_env

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "dag_parse.json"
GOAL_SECONDS_500 = 1.0

STEP = """/* ---
{head}retries: 2
retry_delay: 5m
produces: [marts.t{i}]
--- */
INSERT OVERWRITE TABLE marts.t{i} PARTITION (dt = {{{{ ds }}}})
SELECT keyword, count(*) FROM adtarget.search_log WHERE dt = {{{{ ds }}}} GROUP BY keyword;
"""
HEAD = 'schedule: "@daily"\nstart_date: 2026-01-01\ntags: [bench]\n'

PEER = '''"""Pipeline {i}, written by hand."""
from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Asset

from adtarget.alerts import StepFailureMail
from adtarget.pipelines.operator import SqlStepOperator

with DAG(
    dag_id="py_{i}",
    schedule="@daily",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    tags={{"bench"}},
):
    SqlStepOperator(
        task_id="step",
        sql=["INSERT OVERWRITE TABLE marts.t{i} PARTITION (dt = {{{{ ds }}}}) "
             "SELECT keyword, count(*) FROM adtarget.search_log WHERE dt = {{{{ ds }}}} GROUP BY keyword"],
        engine="hiveserver2",
        conn_id="hiveserver2_default",
        retries=2,
        retry_delay=dt.timedelta(minutes=5),
        outlets=[Asset(name="marts.t{i}", uri="hive://warehouse/marts/t{i}")],
        on_failure_callback=StepFailureMail(["data-oncall@localhost"]),
    )
'''

TIMER = textwrap.dedent(
    """
    import json, sys, time
    from airflow.dag_processing.dagbag import DagBag
    import airflow.sdk  # the dag-processor has these loaded before it parses a file
    started = time.perf_counter()
    bag = DagBag(dag_folder=sys.argv[1], safe_mode=True)
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "dags": len(bag.dags), "errors": len(bag.import_errors),
                      "tasks": sum(len(d.tasks) for d in bag.dags.values())}))
    """
)


def _write_files(root: Path, n: int) -> None:
    for i in range(n):
        (root / f"p{i:05d}.sql").write_text(STEP.format(head=HEAD, i=i))


def _write_folders(root: Path, n: int) -> None:
    for i in range(n):
        folder = root / f"p{i // 5:05d}"
        folder.mkdir(exist_ok=True)
        (folder / f"{i % 5:02d}_step.sql").write_text(STEP.format(head=HEAD if i % 5 == 0 else "", i=i))


def _write_peer(dags: Path, n: int) -> None:
    for i in range(n):
        (dags / f"py_{i:05d}.py").write_text(PEER.format(i=i))


def _time(dags: Path, pipelines: Path | None) -> dict[str, float]:
    env = dict(os.environ)
    env.update(airflow_env(StackSettings()))  # the stack's Airflow config, as the dag-processor has
    if pipelines is not None:
        env["ADTARGET_PIPELINES_DIR"] = str(pipelines)
    out = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", TIMER, str(dags)], env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


KINDS = ("files", "folders", "python")


def _prepare(base: Path, kind: str, n: int) -> tuple[Path, Path | None]:
    """A dags folder (and pipelines folder) of ``kind`` with ``n`` files under ``base``."""
    dags, pipelines = base / kind / "dags", base / kind / "pipelines"
    dags.mkdir(parents=True)
    pipelines.mkdir()
    if kind == "python":
        _write_peer(dags, n)
        return dags, None
    for name in ("sql_pipelines.py", "sql_pipeline_errors.py"):
        shutil.copy(ROOT / "dags" / name, dags / name)
    (_write_files if kind == "files" else _write_folders)(pipelines, n)
    return dags, pipelines


def measure(n: int, repeat: int) -> dict[str, dict[str, Any]]:
    """Each kind ``repeat`` times, interleaved, so a noisy moment hits every kind alike."""
    with tempfile.TemporaryDirectory(prefix="dag-parse-") as tmp:
        folders = {kind: _prepare(Path(tmp), kind, n) for kind in KINDS}
        runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in KINDS}
        for _ in range(repeat):
            for kind in KINDS:
                runs[kind].append(_time(*folders[kind]))
    out: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        first = runs[kind][0]
        if first["errors"]:
            raise SystemExit(f"{kind} x {n}: {first['errors']:.0f} import error(s)")
        seconds = statistics.median(r["seconds"] for r in runs[kind])
        each = ", ".join(format(r["seconds"], ".2f") for r in runs[kind])
        print(
            f"  {kind:<8} {n:>5} files: {seconds:6.2f} s  ({first['dags']:.0f} DAGs,"
            f" {first['tasks']:.0f} tasks; runs {each})",
            flush=True,
        )
        out[kind] = {
            "seconds": seconds,
            "runs": [r["seconds"] for r in runs[kind]],
            "dags": first["dags"],
            "tasks": first["tasks"],
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, Any] = {"goal": {"files": 500, "max_seconds": GOAL_SECONDS_500}, "sizes": {}}
    sizes: dict[str, dict[str, Any]] = {}
    for n in args.sizes:
        print(f"== {n} pipeline files", flush=True)
        row = measure(n, args.repeat)
        peer = row["python"]["seconds"]
        ratios = {kind: row[kind]["seconds"] / peer for kind in ("files", "folders")}
        print(
            f"  factory / hand-written Python: files {ratios['files']:.2f}x, folders {ratios['folders']:.2f}x"
        )
        sizes[str(n)] = {**row, "ratio_to_python": ratios}
    results["sizes"] = sizes
    if "500" in sizes:
        worst = max(sizes["500"][k]["seconds"] for k in ("files", "folders"))
        results["goal_met"] = worst < GOAL_SECONDS_500
        print(
            f"goal (< {GOAL_SECONDS_500:.0f} s for 500 files): "
            f"{'met' if results['goal_met'] else 'NOT met'} ({worst:.2f} s)"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
