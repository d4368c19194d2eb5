"""PostgreSQL for Airflow's metadata and the Hive metastore, from the ``pgserver`` wheel's binaries.

PostgreSQL refuses to run as root. When the stack is started by root (as in CI), the server
runs as an unprivileged system user ``adtarget`` that owns only the data folder.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import signal
import stat
import subprocess
from pathlib import Path
from typing import Any

from adtarget.stack import process
from adtarget.stack.engine import Engine, Launch
from adtarget.stack.errors import StackError

#: Databases the stack needs: Airflow's metadata, the shared Hive metastore and the segment registry.
DATABASES = ("airflow", "metastore", "adtarget")
#: The database role every client uses (trust auth on loopback only).
ROLE = "adtarget"
#: The system user that runs the server when the launcher is root.
SYSTEM_USER = "adtarget"


def postgres_bin() -> Path:
    """Folder of initdb, postgres and psql shipped in the pgserver wheel.

    Found without importing pgserver, whose own start-up code we do not use.
    """
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        raise StackError("postgres: the pgserver package is missing; run `make setup`")
    return Path(spec.origin).parent / "pginstall" / "bin"


class Postgres(Engine):
    """One PostgreSQL cluster under ``var/data/postgres``, listening on loopback."""

    name = "postgres"
    # SIGTERM is a "smart" shutdown that waits for every client (Airflow, the metastore's
    # pools) to hang up; SIGINT is PostgreSQL's "fast" one: roll back, close, stop cleanly.
    stop_signal = signal.SIGINT

    def ports(self) -> list[int]:
        return [self.settings.postgres_port]

    def endpoint(self) -> str:
        return f"postgresql://{ROLE}@{self.settings.host}:{self.settings.postgres_port}/"

    @property
    def _data(self) -> Path:
        return self.settings.data_dir / "postgres"

    @property
    def _socket_dir(self) -> Path:
        return self.settings.run_dir / "postgres"

    def _user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            subprocess.run(  # noqa: S603
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],  # noqa: S607
                check=True,
                capture_output=True,
            )
        return SYSTEM_USER

    def _give(self, path: Path, user: str) -> None:
        """Hand ``path`` to ``user`` and let it traverse the folders above (o+x only)."""
        entry = pwd.getpwnam(user)
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, entry.pw_uid, entry.pw_gid)
        for parent in path.parents:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                print(f"  postgres: allowing others to traverse {parent} (o+x) for user {user}", flush=True)
                parent.chmod(mode | stat.S_IXOTH)

    def prepare(self) -> None:
        user = self._user()
        self._socket_dir.mkdir(parents=True, exist_ok=True)
        if user is not None:
            self._give(self._data, user)
            self._give(self._socket_dir, user)
        if (self._data / "PG_VERSION").exists():
            return
        self._data.mkdir(parents=True, exist_ok=True)
        self._data.chmod(0o700)
        result = subprocess.run(  # noqa: S603
            [
                str(postgres_bin() / "initdb"),
                "--pgdata",
                str(self._data),
                "--username",
                ROLE,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
            ],
            capture_output=True,
            text=True,
            check=False,
            **process.as_user(user),
        )
        if result.returncode != 0:
            raise StackError(f"postgres: initdb failed: {(result.stderr or result.stdout).strip()[-300:]}")

    def launch(self) -> Launch:
        s = self.settings
        argv: list[str | os.PathLike[str]] = [
            postgres_bin() / "postgres",
            "-D",
            self._data,
            "-p",
            str(s.postgres_port),
            "-h",
            s.host,
            "-k",
            self._socket_dir,
            # Airflow's LocalExecutor, the scheduler, the api-server and Spark's metastore
            # clients each hold a small pool; 100 leaves headroom for tests.
            "-c",
            "max_connections=200",
            "-c",
            "shared_buffers=128MB",
        ]
        return Launch(argv=argv, user=self._user())

    def _connect(self, dbname: str = "postgres") -> Any:
        import psycopg2

        return psycopg2.connect(
            host=self.settings.host,
            port=self.settings.postgres_port,
            user=ROLE,
            dbname=dbname,
            connect_timeout=2,
        )

    def healthy(self) -> bool:
        with self._connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            return bool(cur.fetchone() == (1,))

    def after_start(self) -> None:
        conn = self._connect()
        conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
        try:
            with conn.cursor() as cur:
                for db in DATABASES:
                    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,))
                    if cur.fetchone() is None:
                        # Identifiers cannot be bound; these are constants of this module.
                        cur.execute(f'CREATE DATABASE "{db}"')
        finally:
            conn.close()
