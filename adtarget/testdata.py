"""``adtarget-data``: load reproducible synthetic logs into the warehouse (the test data tool).

    adtarget-data generate --start 2026-11-27 --days 3 --users 100000

Runs ``spark/generate_logs.py`` with ``spark-submit`` against the stack's shared metastore and
prints one progress line per table and day. Re-running a day replaces it with the same rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys

from adtarget import spark_submit, synthetic
from adtarget.stack.config import StackSettings


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
    args = ["--start", start.isoformat(), "--days", str(days), "--users", str(users), "--seed", str(seed)]
    if tables:
        args += ["--tables", *tables]
    return spark_submit.submit(settings, "generate_logs.py", args, quiet=quiet)


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
