"""A small client of Airflow's REST API (v2): log in, unpause, trigger, wait for a DAG run.

Used by the tests, the demo and scripts that trigger DAG runs as sales would from the
trigger form. Only loopback or configured URLs are called; values travel as JSON, never
formatted into a URL path without quoting.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx

#: DAG run states after which nothing changes any more.
FINISHED = frozenset({"success", "failed"})


class AirflowApiError(RuntimeError):
    """Airflow answered with an error status; the message carries its detail."""


class AirflowClient:
    """Airflow's REST API with a JWT from ``POST /auth/token`` (SimpleAuthManager login)."""

    def __init__(self, base_url: str, username: str, password: str, *, timeout: float = 30.0) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self._username = username
        self._password = password
        self._token: str | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AirflowClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            resp = self._http.post(
                "/auth/token", json={"username": self._username, "password": self._password}
            )
            self._raise_for(resp, "login")
            self._token = str(resp.json()["access_token"])
        return {"Authorization": f"Bearer {self._token}"}

    @staticmethod
    def _raise_for(resp: httpx.Response, what: str) -> None:
        if resp.status_code >= 400:
            raise AirflowApiError(f"{what}: HTTP {resp.status_code}: {resp.text[:500]}")

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self._http.request(method, path, headers=self._headers(), **kwargs)
        self._raise_for(resp, f"{method} {path}")
        return resp.json() if resp.content else None

    def health(self) -> dict[str, Any]:
        resp = self._http.get("/api/v2/monitor/health")
        self._raise_for(resp, "health")
        body: dict[str, Any] = resp.json()
        return body

    def wait_for_dag(self, dag_id: str, *, timeout: float = 120.0) -> dict[str, Any]:
        """Wait until the dag-processor has parsed ``dag_id``; returns the DAG's details."""
        deadline = time.monotonic() + timeout
        while True:
            resp = self._http.get(f"/api/v2/dags/{quote(dag_id, safe='')}", headers=self._headers())
            if resp.status_code == 200:
                body: dict[str, Any] = resp.json()
                return body
            if resp.status_code != 404 or time.monotonic() > deadline:
                self._raise_for(resp, f"DAG {dag_id}")
                raise AirflowApiError(f"DAG {dag_id}: not parsed after {timeout:.0f}s")
            time.sleep(1.0)

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.request("PATCH", f"/api/v2/dags/{quote(dag_id, safe='')}", json={"is_paused": paused})

    def trigger(
        self, dag_id: str, conf: dict[str, Any] | None = None, *, logical_date: str | None = None
    ) -> str:
        """Start a run now with ``conf`` (the trigger form's params); returns its run id.

        ``logical_date`` (ISO, e.g. ``2026-11-27T00:00:00Z``) runs a scheduled DAG for that day.
        """
        body = self.request(
            "POST",
            f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns",
            json={"logical_date": logical_date, "conf": conf or {}},
        )
        return str(body["dag_run_id"])

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.request(
            "GET", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"
        )
        return body

    def wait_for_run(self, dag_id: str, run_id: str, *, timeout: float = 300.0) -> str:
        """Poll the run until it finishes; returns its final state."""
        deadline = time.monotonic() + timeout
        while True:
            state = str(self.dag_run(dag_id, run_id)["state"])
            if state in FINISHED:
                return state
            if time.monotonic() > deadline:
                raise AirflowApiError(f"{dag_id}/{run_id}: still {state} after {timeout:.0f}s")
            time.sleep(2.0)

    def delete_run(self, dag_id: str, run_id: str) -> None:
        self.request("DELETE", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}")

    def clear_run(self, dag_id: str, run_id: str) -> None:
        """Run an existing run again from its first task (safe while the scheduler handles it,
        unlike :meth:`delete_run`)."""
        self.request(
            "POST",
            f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}/clear",
            json={"dry_run": False},
        )

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        body = self.request(
            "GET", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}/taskInstances"
        )
        return {ti["task_id"]: str(ti["state"]) for ti in body["task_instances"]}

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """A task's XCom value (by default what it returned)."""
        path = (
            f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"
            f"/taskInstances/{quote(task_id, safe='')}/xcomEntries/{quote(key, safe='')}"
        )
        return self.request("GET", path, params={"deserialize": "true"})["value"]

    def backfill(
        self,
        dag_id: str,
        first_day: str,
        last_day: str,
        *,
        reprocess: str = "completed",
        max_active_runs: int = 2,
        conf: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create a backfill of the runs whose logical dates fall in ``first_day..last_day``.

        ``reprocess``: ``none`` (only missing runs), ``failed`` or ``completed`` (every day again).
        ``conf``: the runs' params, checked against the DAG's as a triggered run's are.
        """
        body: dict[str, Any] = self.request(
            "POST",
            "/api/v2/backfills",
            json={
                "dag_id": dag_id,
                "from_date": f"{first_day}T00:00:00Z",
                "to_date": f"{last_day}T00:00:00Z",
                "reprocess_behavior": reprocess,
                "max_active_runs": max_active_runs,
                "dag_run_conf": conf or {},
            },
        )
        return body

    def wait_for_backfill(self, backfill_id: int, *, timeout: float = 600.0) -> None:
        """Poll until the scheduler marks the backfill complete (whatever its runs' states)."""
        deadline = time.monotonic() + timeout
        while self.request("GET", f"/api/v2/backfills/{backfill_id}")["completed_at"] is None:
            if time.monotonic() > deadline:
                raise AirflowApiError(f"backfill {backfill_id}: not complete after {timeout:.0f}s")
            time.sleep(2.0)

    def dag_runs(self, dag_id: str, **filters: str) -> list[dict[str, Any]]:
        """The runs of ``dag_id`` matching the API's query filters (``run_type=backfill``...)."""
        body = self.request("GET", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns", params=filters)
        return list(body["dag_runs"])
