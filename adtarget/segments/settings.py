"""Where the segment registry and the audience queries run: ``ADTARGET_SEGMENTS_*``."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from adtarget.stack.config import PROJECT_ROOT


class SegmentSettings(BaseSettings):
    """The registry database, the HiveServer2 connection, the staging folder of params and the
    research copy of the memberships."""

    model_config = SettingsConfigDict(env_prefix="ADTARGET_SEGMENTS_", extra="forbid")

    #: The registry's PostgreSQL database (libpq URL).
    registry_url: str = "postgresql://adtarget@127.0.0.1:5432/adtarget"
    #: The Airflow connection of HiveServer2 (the Spark Thrift server) the exact counts run on.
    hive_conn_id: str = "hiveserver2_default"
    #: Where a request's params are written as Parquet for the query to read. Spark must read
    #: it: a local folder for a local master, a shared file system (``hdfs://``, ``s3a://``)
    #: for a cluster.
    staging_uri: str = (PROJECT_ROOT / "var" / "data" / "staging").as_uri()
    #: Where the daily extraction also writes each day's memberships as Parquet for research
    #: (``<uri>/segment_membership/dt=YYYY-MM-DD``): HDFS-style, any URI Spark can write.
    research_uri: str = (PROJECT_ROOT / "var" / "data" / "research").as_uri()
    #: How long an exact count may run (seconds) before it is given up.
    query_timeout: float = Field(default=1800.0, gt=0)

    @field_validator("staging_uri")
    @classmethod
    def _plain_uri(cls, value: str) -> str:
        # The staging path is the one value written into SQL text (Spark cannot bind a path):
        # refuse anything that could end the literal or be substituted.
        for bad in ("'", "\\", "${", "\n", ";"):
            if bad in value:
                raise ValueError(f"staging_uri: {value!r} holds {bad!r}; use a plain path or URI")
        if "://" not in value:
            raise ValueError(f"staging_uri: {value!r} is not a URI (file:///..., hdfs://...)")
        return value.rstrip("/")
