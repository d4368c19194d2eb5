"""``adtarget-data``: load reproducible synthetic logs into the warehouse (the test data tool).

    adtarget-data generate --start 2026-11-27 --days 3 --users 100000

Runs ``spark/generate_logs.py`` with ``spark-submit`` against the stack's shared metastore and
prints one progress line per table and day. Re-running a day replaces it with the same rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys

from adtarget import synthetic
from adtarget.stack.config import StackSettings
from adtarget.stack.engines.spark import spark_env, write_spark_conf


def generate(
    settings: StackSettings,
    *,
    start: dt.date,
    days: int = 1,
    users: int = 10_000,
    seed: int = 42,
    tables: list[str] | None = None,
    quiet: bool = False,
) -> str:
    """Run the generation job; returns its progress lines. Raises CalledProcessError on failure."""
    write_spark_conf(settings)
    env = dict(os.environ)
    env.update(spark_env(settings))
    cmd = [
        str(settings.venv_bin / "spark-submit"),
        "--master",
        settings.spark_master,
        str(settings.root / "spark" / "generate_logs.py"),
        "--start",
        start.isoformat(),
        "--days",
        str(days),
        "--users",
        str(users),
        "--seed",
        str(seed),
    ]
    if tables:
        cmd += ["--tables", *tables]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603
    lines = []
    for line in proc.stdout or ():
        lines.append(line)
        if not quiet:
            print(line, end="", flush=True)
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.wait() != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd, "".join(lines), stderr)
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="adtarget-data", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="generate synthetic logs for a range of days")
    gen.add_argument("--start", type=dt.date.fromisoformat, default=dt.date.today() - dt.timedelta(days=1))
    gen.add_argument("--days", type=int, default=1)
    gen.add_argument("--users", type=int, default=10_000)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--tables", nargs="*", choices=list(synthetic.TABLES), help="default: all")
    args = parser.parse_args(argv)
    try:
        generate(
            StackSettings(),
            start=args.start,
            days=args.days,
            users=args.users,
            seed=args.seed,
            tables=args.tables,
        )
    except subprocess.CalledProcessError as exc:
        print(
            f"error: the generation job failed (exit {exc.returncode}):\n{exc.stderr[-3000:]}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
