"""``adtarget-demo`` (``make demo``): the platform's daily job on embedded defaults, end to end.

Starts the stack, generates a day of synthetic logs, registers example segments, runs the daily
pipeline in Airflow (extraction -> Cassandra load -> sketches -> stats), sends a burst of ad
events through the bridge, mails the day's report, and prints where to look. Every step says
what it does and how long it took; running it again repeats the same day (every step replaces
what it wrote).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from adtarget.airflow_client import AirflowClient
from adtarget.stack import registry as stack_registry
from adtarget.stack.config import StackSettings
from adtarget.stack.engines.airflow import ADMIN_USER, admin_password, airflow_env
from adtarget.stack.engines.profile_api import profile_api_token

#: The example segments: (template, params, name), as sales would fill the trigger form.
EXAMPLES: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("search_any", {"keywords": ["나이키", "nike", "running shoes"], "days": 1}, "demo: Nike searchers"),
    ("banner_click", {"banner_ids": [1, 2, 3], "days": 1}, "demo: banner 1-3 clickers"),
    ("app_category", {"app_categories": ["game"], "days": 1}, "demo: game installers"),
    ("domain_visit", {"domains": ["travel.example.kr"], "days": 1}, "demo: travel site visitors"),
)
STEPS = 8


class Demo:
    """The demo's steps over one stack, printing progress as it goes."""

    def __init__(self, settings: StackSettings, day: dt.date, users: int, events: int) -> None:
        self.settings, self.day, self.users, self.events = settings, day, users, events
        self.step = 0
        self.started = time.monotonic()

    @contextmanager
    def stage(self, what: str) -> Iterator[None]:
        self.step += 1
        print(f"[{self.step}/{STEPS}] {what} ...", flush=True)
        t0 = time.monotonic()
        yield
        print(f"[{self.step}/{STEPS}] done in {time.monotonic() - t0:.0f} s", flush=True)

    def api(self) -> AirflowClient:
        s = self.settings
        return AirflowClient(f"http://{s.host}:{s.airflow_port}", ADMIN_USER, admin_password(s))

    def run_dag(
        self, api: AirflowClient, dag_id: str, logical_date: str, conf: dict[str, Any] | None = None
    ) -> str:
        """A run of ``dag_id`` for ``logical_date``: a run of that date that exists already (an
        earlier demo, or the scheduler's own run of yesterday) is cleared and run again; deleting
        it instead races the scheduler, which may be handling that very run."""
        api.wait_for_dag(dag_id, timeout=300)
        api.set_paused(dag_id, False)
        same_day = [r for r in api.dag_runs(dag_id) if str(r["logical_date"]).startswith(logical_date[:10])]
        if same_day:
            run = str(same_day[0]["dag_run_id"])
            api.clear_run(dag_id, run)
        else:
            run = api.trigger(dag_id, conf or {}, logical_date=logical_date)
        state = api.wait_for_run(dag_id, run, timeout=1800)
        if state != "success":
            raise SystemExit(f"demo: {dag_id} run {run} ended {state}; see it in the Airflow UI")
        return run

    def register(self) -> list[int]:
        from adtarget.segments.params import validate
        from adtarget.segments.registry import Registry
        from adtarget.segments.settings import SegmentSettings
        from adtarget.segments.templates import template

        url = SegmentSettings(
            registry_url=airflow_env(self.settings)["ADTARGET_SEGMENTS_REGISTRY_URL"]
        ).registry_url
        ids = []
        with Registry(url) as registry:
            for tmpl_id, params, name in EXAMPLES:
                tmpl = template(tmpl_id)
                segment, outcome = registry.register(tmpl, validate(tmpl, params), name=name, owner="demo")
                ids.append(segment.segment_id)
                print(f"      {outcome.value:<8} #{segment.segment_id} {name}")
            tmpl = template("segment_combination")
            combo = validate(tmpl, {"all_of": [ids[0]], "none_of": [ids[1]]})
            segment, outcome = registry.register(
                tmpl, combo, name="demo: Nike searchers who did not click", owner="demo"
            )
            ids.append(segment.segment_id)
            print(f"      {outcome.value:<8} #{segment.segment_id} demo: Nike searchers who did not click")
        return ids

    def send_events(self) -> int:
        from streaming.sender import EventSender
        from streaming.traffic import make_traffic

        now = int(time.time() * 1000)
        traffic = make_traffic(
            self.events,
            stamps=[now + i for i in range(self.events)],
            campaigns=list(range(1, 21)),
            prefix=f"demo-{uuid.uuid4().hex[:8]}-",
        )

        async def send() -> None:
            sender = EventSender(self.settings.host, self.settings.bridge_port)
            try:
                for line in traffic.lines:
                    await sender.send(line)
                await sender.flush(timeout=120)
            finally:
                await sender.close()

        asyncio.run(send())
        return len(traffic.lines)

    def sample_adid(self, segment_ids: list[int]) -> str | None:
        """A user who is in one of the example segments (read back from Cassandra)."""
        from adtarget.profiles.config import CassandraSettings, cluster

        profile = CassandraSettings(hosts=[self.settings.host], port=self.settings.cassandra_port)
        wanted = set(segment_ids)
        with cluster(profile) as c:
            session = c.connect(profile.keyspace)
            for row in session.execute("SELECT adid, segments FROM segment_memberships LIMIT 5000"):
                if wanted & set(row.segments or {}):
                    return str(row.adid)
        return None


def _curl(url: str, token: str, body: dict[str, Any] | None = None) -> tuple[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if body is None:
        answer = httpx.get(url, headers=headers, timeout=10)
        command = f"curl -H 'Authorization: Bearer {token}' {url}"
    else:
        answer = httpx.post(url, headers=headers, json=body, timeout=30)
        command = (
            f"curl -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' "
            f"-d '{json.dumps(body, ensure_ascii=False)}' {url}"
        )
    text = json.dumps(answer.json(), ensure_ascii=False)
    return command, (text if len(text) < 600 else text[:600] + " ...")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="adtarget-demo", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--day",
        type=dt.date.fromisoformat,
        default=dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1),
        help="the day to generate and process (default: yesterday, UTC)",
    )
    parser.add_argument("--users", type=int, default=10_000, help="synthetic users (default 10,000)")
    parser.add_argument("--events", type=int, default=5_000, help="ad events sent through the bridge")
    args = parser.parse_args(argv)
    settings = StackSettings()
    demo = Demo(settings, args.day, args.users, args.events)
    day = args.day.isoformat()

    with demo.stage("starting the platform (every engine, embedded defaults)"):
        stack_registry.up(settings, [])
    with demo.stage(f"generating {args.users:,} users' logs for {day} into the warehouse"):
        from adtarget import testdata

        testdata.generate(settings, start=args.day, users=args.users, seed=42)
    with demo.stage("registering example segments (as sales do from the trigger form)"):
        segment_ids = demo.register()
    with demo.api() as api:
        with demo.stage("the daily pipeline in Airflow: extraction -> Cassandra -> sketches -> profiles"):
            run = demo.run_dag(api, "segment_extraction", f"{day}T00:00:00Z", {"rate": 0, "force": True})
            summary = api.xcom("segment_extraction", run, "publish_stats")
            print(f"      {summary['segments']:,} segments, {summary['memberships']:,} memberships")
            # The other profile tables (demographics, interests, counters, ...), for the API's answer.
            api.wait_for_dag("profile_load", timeout=300)
            api.set_paused("profile_load", False)
            load = api.trigger("profile_load", {"day": day, "rate": 0, "force": True})
            if api.wait_for_run("profile_load", load, timeout=1800) != "success":
                raise SystemExit(f"demo: profile_load run {load} failed; see it in the Airflow UI")
            print("      profile tables loaded into Cassandra")
        with demo.stage(f"sending {args.events:,} ad events through the bridge"):
            sent = demo.send_events()
            print(f"      {sent:,} lines sent (with duplicates, late and malformed ones on purpose)")
        with demo.stage("the day's log volume (a SQL-file pipeline)"):
            demo.run_dag(api, "sql_log_volume", f"{day}T00:00:00Z")
        with demo.stage("asking the profile API, as the ad server does"):
            token = profile_api_token(settings)
            base = f"http://{settings.host}:{settings.profile_api_port}"
            adid = demo.sample_adid(segment_ids)
            profile = _curl(f"{base}/v1/profiles/{adid}", token) if adid else None
            estimate = _curl(
                f"{base}/v1/audiences/estimate",
                token,
                {
                    "template": "search_any",
                    "params": {"keywords": ["나이키", "nike"], "days": 1, "as_of": day},
                },
            )
        with demo.stage("the daily report, mailed"):
            run = demo.run_dag(api, "daily_report", f"{day}T06:00:00Z")
            published = api.xcom("daily_report", run, "publish")

    mails = sorted(settings.mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime)
    s = settings
    print(f"\nadtarget demo: done in {time.monotonic() - demo.started:.0f} s. Where to look:\n")
    print(f"  Airflow UI        http://{s.host}:{s.airflow_port}   login {ADMIN_USER} / {admin_password(s)}")
    print("                    DAGs: segment_extraction, audience_<template> (Trigger), daily_report")
    if profile:
        print(f"  profile API       {profile[0]}")
        print(f"                    -> {profile[1]}")
    print(f"  audience estimate {estimate[0]}")
    print(f"                    -> {estimate[1]}")
    print(f"  realtime report   http://{s.host}:{s.report_port}/report.html")
    print(f"  daily report      {published['url']} (in the Airflow UI: Daily reports)")
    print(f"                    kept at {published['path']}")
    if mails:
        print(f"  report mail       {mails[-1]}")
    print(f"  every mail        {s.mail_dir}/   (the SMTP sink keeps them as .eml files)")
    print("\nStop everything with `make down`.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
