"""``adtarget-stack``: start, stop and inspect the local stack of real engines.

adtarget-stack up [ENGINE ...]     start what is missing, wait until healthy
adtarget-stack down [ENGINE ...]   stop by our PID files (all engines if none named)
adtarget-stack status              one line per engine
adtarget-stack env                 shell exports for Airflow/Spark in the stack's setup
"""

from __future__ import annotations

import argparse
import shlex
import sys

from adtarget.stack import registry
from adtarget.stack.config import StackSettings
from adtarget.stack.engines.airflow import ADMIN_USER, admin_password, airflow_env
from adtarget.stack.engines.profile_api import profile_api_token
from adtarget.stack.errors import StackError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adtarget-stack",
        description="Local stack of real engines: " + ", ".join(registry.NAMES) + ". "
        "Data and logs live under var/; ports and memory come from ADTARGET_* variables.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("up", "start engines and wait until healthy"), ("down", "stop engines")):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("engines", nargs="*", metavar="ENGINE", help=f"any of: {', '.join(registry.NAMES)}")
    sub.add_parser("status", help="show each engine's state and endpoint")
    sub.add_parser("env", help="print shell exports for using airflow/spark-submit against the stack")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = StackSettings()
    try:
        if args.command == "up":
            registry.up(settings, args.engines)
            if not args.engines or "airflow-api-server" in args.engines:
                print(
                    f"Airflow UI: http://{settings.host}:{settings.airflow_port}  "
                    f"login {ADMIN_USER} / {admin_password(settings)}"
                )
            if not args.engines or "profile-api" in args.engines:
                print(
                    f"Profile API: http://{settings.host}:{settings.profile_api_port}/v1/profiles/<adid>  "
                    f"header 'Authorization: Bearer {profile_api_token(settings)}'"
                )
        elif args.command == "down":
            registry.down(settings, args.engines)
        elif args.command == "status":
            rows = registry.status(settings)
            for name, state, endpoint in rows:
                print(f"{name:<22} {state:<34} {endpoint}")
            return 0 if all(state.startswith("healthy") for _, state, _ in rows) else 3
        elif args.command == "env":
            for key, value in sorted(airflow_env(settings).items()):
                print(f"export {key}={shlex.quote(value)}")
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
