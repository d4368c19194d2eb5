"""Where the profile store lives: one settings object, read from ``ADTARGET_CASSANDRA_*``.

The loaders, the migration CLI and the profile API all connect through :func:`cluster` (the
profile API's reads through :func:`async_cluster`), so the contact points, the keyspace and its
replication are configured in one place. Inside Airflow the
``cassandra_default`` connection is used instead (see :func:`settings_from_connection`).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from adtarget.settings_types import CommaList

if TYPE_CHECKING:
    from cassandra.cluster import Cluster

driver_log = logging.getLogger("acsylla")
# The C++ driver (Scylla's build of it) looks for Scylla's shard info on every connection and
# logs its absence as an error; against Apache Cassandra there is none to find.
_SCYLLA_ONLY = "Could not retrieve sharding info"
_DRIVER_LEVELS = {"CRITICAL": logging.CRITICAL, "ERROR": logging.ERROR, "WARN": logging.WARNING}


class CassandraSettings(BaseSettings):
    """Connection and keyspace of the profile store."""

    model_config = SettingsConfigDict(env_prefix="ADTARGET_CASSANDRA_", extra="forbid")

    #: Contact points (comma-separated in the environment); any node of the ring will do.
    hosts: CommaList = Field(default_factory=lambda: ["127.0.0.1"])
    #: The native protocol port.
    port: int = 9042
    #: Keyspace of the profile tables.
    keyspace: str = "adtarget"
    #: SimpleStrategy for one local node; NetworkTopologyStrategy for a ring.
    replication: Literal["SimpleStrategy", "NetworkTopologyStrategy"] = "SimpleStrategy"
    #: Replicas with SimpleStrategy.
    replication_factor: int = Field(default=1, ge=1)
    #: Replicas per datacenter with NetworkTopologyStrategy, e.g. ``{"dc1": 3, "dc2": 3}``.
    datacenters: dict[str, int] = Field(default_factory=dict)
    #: The datacenter whose nodes are queried first (None: the driver's default).
    local_dc: str | None = None
    username: str | None = None
    password: str | None = None
    connect_timeout: float = Field(default=5.0, gt=0)

    @field_validator("keyspace")
    @classmethod
    def _keyspace_name(cls, value: str) -> str:
        # A keyspace name cannot be bound as a value, so it is checked before it is written into CQL.
        if not value.replace("_", "a").isalnum() or not value[:1].isalpha() or len(value) > 48:
            raise ValueError(f"keyspace: {value!r} is not a valid name (letters, digits, _)")
        return value

    @field_validator("datacenters")
    @classmethod
    def _datacenter_names(cls, value: dict[str, int]) -> dict[str, int]:
        for name, replicas in value.items():
            if not name.replace("_", "a").replace("-", "a").isalnum() or replicas < 1:
                raise ValueError(f"datacenters: {name!r}: {replicas!r} is not a datacenter and replica count")
        return value

    def replication_map(self) -> dict[str, str | int]:
        """The keyspace's replication option, as CQL's map literal wants it."""
        if self.replication == "SimpleStrategy":
            return {"class": "SimpleStrategy", "replication_factor": self.replication_factor}
        if not self.datacenters:
            raise ValueError("datacenters: NetworkTopologyStrategy needs at least one datacenter")
        return {"class": "NetworkTopologyStrategy", **self.datacenters}


def settings_env(settings: CassandraSettings) -> dict[str, str]:
    """``settings`` as the environment variables that read back into the same settings."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump(exclude_none=True).items():
        key = f"ADTARGET_CASSANDRA_{name.upper()}"
        if name == "hosts":
            env[key] = ",".join(value)
        elif isinstance(value, dict):
            env[key] = json.dumps(value)
        else:
            env[key] = str(value)
    return env


def settings_from_connection(conn_id: str = "cassandra_default") -> CassandraSettings:
    """The settings of an Airflow connection (host, port, schema = keyspace, login)."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    extra = conn.extra_dejson
    values: dict[str, object] = {"hosts": conn.host or "127.0.0.1", "port": conn.port or 9042}
    if conn.schema:
        values["keyspace"] = conn.schema
    if conn.login:
        values["username"], values["password"] = conn.login, conn.password
    if extra.get("local_dc"):
        values["local_dc"] = extra["local_dc"]
    return CassandraSettings(**values)  # type: ignore[arg-type]


def cluster(
    settings: CassandraSettings,
    *,
    request_timeout: float = 10.0,
    reconnect_delay: float | None = None,
    dict_rows: bool = False,
) -> Cluster:
    """A driver cluster with token-aware routing over a DC-aware round robin.

    Token-aware routing sends each statement to a replica of its partition, which saves a hop
    per write on a ring; the driver computes the token from the bound partition key.
    ``reconnect_delay`` retries a lost node every that many seconds (a server wants it back
    soon) instead of the driver's exponential backoff up to ten minutes. ``dict_rows`` returns
    rows as dicts instead of named tuples.
    """
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import ConstantReconnectionPolicy, DCAwareRoundRobinPolicy, TokenAwarePolicy
    from cassandra.query import dict_factory

    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=settings.local_dc)),
        request_timeout=request_timeout,
        **({"row_factory": dict_factory} if dict_rows else {}),
    )
    auth = (
        PlainTextAuthProvider(username=settings.username, password=settings.password or "")
        if settings.username
        else None
    )
    return Cluster(
        settings.hosts,
        port=settings.port,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        auth_provider=auth,
        connect_timeout=settings.connect_timeout,
        control_connection_timeout=settings.connect_timeout,
        # v5 wraps every frame in checksummed segments the driver computes in pure Python
        # (crc24 + crc32 per request: a third of the client CPU of a profile read); v4 has none.
        protocol_version=4,
        **(
            {"reconnection_policy": ConstantReconnectionPolicy(reconnect_delay, max_attempts=None)}
            if reconnect_delay
            else {}
        ),
    )


async def _driver_message(message: Any) -> None:
    """The C++ driver's log, into Python's ``acsylla`` logger (it would otherwise print to stderr)."""
    level = _DRIVER_LEVELS.get(message.log_level, logging.INFO)
    if message.message.startswith(_SCYLLA_ONLY):
        level = logging.DEBUG
    driver_log.log(level, "%s", message.message)


def async_cluster(
    settings: CassandraSettings, *, request_timeout: float = 10.0, reconnect_delay: float | None = None
) -> Any:
    """An acsylla cluster (asyncio over the C++ driver) for the same settings as :func:`cluster`:
    what the profile API reads through. Token-aware routing is the C++ driver's default; its log
    goes to Python's ``acsylla`` logger. ``reconnect_delay`` as for :func:`cluster`.
    """
    import acsylla

    return acsylla.create_cluster(
        settings.hosts,
        port=settings.port,
        **({"username": settings.username, "password": settings.password or ""} if settings.username else {}),
        connect_timeout=settings.connect_timeout,
        request_timeout=request_timeout,
        protocol_version=4,  # as :func:`cluster`: v5's checksummed frames buy nothing here
        load_balance_dc_aware=settings.local_dc,
        **({"constant_reconnect_delay_ms": round(reconnect_delay * 1000)} if reconnect_delay else {}),
        log_level="warn",
        logging_callback=_driver_message,
    )
