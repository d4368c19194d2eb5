"""The profile_load DAG, triggered with params through Airflow's REST API, fills Cassandra."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from adtarget import synthetic, testdata
from adtarget.airflow_client import AirflowApiError, AirflowClient
from adtarget.profiles.config import CassandraSettings, cluster
from adtarget.stack.config import StackSettings
from adtarget.stack.engines.airflow import ADMIN_USER, admin_password

pytestmark = pytest.mark.e2e

DAY = dt.date(2003, 3, 3)
USERS = 1_000
SEED = 5


def test_profile_load_run_loads_the_day_through_cassandra_default(
    stack: Callable[..., None], settings: StackSettings
) -> None:
    stack()
    testdata.generate(settings, start=DAY, users=USERS, seed=SEED, tables=["user_attributes"], quiet=True)
    users = synthetic.users(SEED, 0, USERS)
    checked = [str(users.adid[i]) for i in (0, 999)]
    profile = CassandraSettings()
    with cluster(profile) as c:
        session = c.connect(profile.keyspace)
        for adid in checked:  # so only this run can have written them
            session.execute(session.prepare("DELETE FROM geo WHERE adid = ?"), (adid,))
    with AirflowClient(
        f"http://{settings.host}:{settings.airflow_port}", ADMIN_USER, admin_password(settings)
    ) as api:
        api.wait_for_dag("profile_load", timeout=180)
        api.set_paused("profile_load", False)  # its scheduled run of yesterday may run too
        with pytest.raises(AirflowApiError, match="not-a-day"):
            api.trigger("profile_load", {"day": "not-a-day", "rate": 0})  # refused by the trigger form
        with pytest.raises(AirflowApiError, match="chunks"):
            api.trigger("profile_load", {"day": DAY.isoformat(), "chunks": 0})
        # Two chunks: a thousand users need no finer checkpoints, and each chunk costs a Spark
        # task and a checkpoint per table (12 tables x 16 chunks by default).
        conf = {"day": DAY.isoformat(), "rate": 0, "force": True, "chunks": 2}
        run_id = api.trigger("profile_load", conf)
        state = api.wait_for_run("profile_load", run_id, timeout=900)
        assert state == "success"
        summary = api.xcom("profile_load", run_id, "load")
    assert {t: s["chunks_written"] for t, s in summary["tables"].items()} == dict.fromkeys(
        summary["tables"], 2
    )

    with cluster(profile) as c:
        session = c.connect(profile.keyspace)
        select = session.prepare("SELECT region, updated_day FROM geo WHERE adid = ?")
        for i in (0, 999):
            row = session.execute(select, (str(users.adid[i]),)).one()
            assert (row.region, row.updated_day) == (users.region[i], DAY.isoformat())
