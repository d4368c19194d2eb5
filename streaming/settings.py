"""Settings of the streaming services (bridge and report), read from ``STREAMING_*``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StreamingSettings(BaseSettings):
    """Kafka, topics, the bridge's socket and the report worker; each field is ``STREAMING_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="STREAMING_", extra="forbid")

    #: Kafka bootstrap servers, comma-separated (any broker of the cluster).
    kafka_bootstrap: str = "127.0.0.1:9092"
    #: Valid events, keyed by campaign.
    events_topic: str = "ad-events"
    #: Lines that are not valid events, as they came, with the reason in the headers.
    dead_letter_topic: str = "ad-events-dead-letter"
    #: Partitions and replicas of the topics the bridge creates when they are missing.
    partitions: int = Field(default=4, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    #: The socket the ad server writes newline-delimited JSON events to.
    bridge_host: str = "127.0.0.1"
    bridge_port: int = 9009
    #: Prometheus metrics of the bridge (``/metrics``); 0 turns them off.
    bridge_metrics_port: int = 9109
    #: A longer line goes to the dead-letter topic, cut to this length.
    max_line_bytes: int = Field(default=64 * 1024, ge=256)
    #: Lines of one connection read but not yet stored by Kafka; beyond, the bridge stops reading
    #: that socket (the sender's TCP window fills) instead of buffering more.
    max_in_flight: int = Field(default=10_000, ge=1)
    #: Producer batching: how long to wait for a batch to fill (ms), and its size (bytes). The
    #: bridge also packs a campaign's events into one record for this long, up to
    #: ``max_pack_events`` events or half the batch size.
    linger_ms: int = Field(default=5, ge=0)
    max_pack_events: int = Field(default=500, ge=1, le=4096)
    max_batch_bytes: int = Field(default=256 * 1024, ge=1024)

    # --- the report (``python -m streaming.report_app``) ---
    #: The Faust app's id: its consumer group, and the prefix of its changelog topics.
    report_app_id: str = "adtarget-report"
    #: Compacted topic of report rows, keyed ``window:campaign:creative`` (idempotent upserts).
    report_topic: str = "ad-report"
    #: ``at_least_once`` (the default) or ``exactly_once`` (Kafka transactions). The report is
    #: exact either way: rows carry the source offset they include, so replays change nothing.
    report_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    #: An event is counted into its window until the watermark passes the window's end by this.
    allowed_lateness_ms: int = Field(default=30_000, ge=0)
    #: Event ids are remembered this long after their window's end (resends later than that
    #: would count again, as late events, since their window has closed).
    dedup_horizon_ms: int = Field(default=10 * 60_000, ge=0)
    #: Rows older than this (behind the watermark) leave the worker's tables; Cassandra keeps them.
    retention_ms: int = Field(default=2 * 3600_000, ge=60_000)
    #: Changed rows are written to the report topic this often (seconds): the realtime feed.
    flush_interval: float = Field(default=0.2, gt=0)
    #: ... and to Cassandra (what the report views read) this often (seconds).
    store_interval: float = Field(default=1.0, gt=0)
    #: The longest the broker holds a fetch of partitions with nothing new (ms); data of other
    #: partitions waits behind it, so this bounds the added latency (Faust's own: 1500).
    fetch_max_wait_ms: int = Field(default=100, ge=1, le=10_000)
    #: Records (packs of events) counted before their changelog is written and they are
    #: acknowledged, and the longest a record waits for that (seconds). The report does not wait
    #: for it; a longer wait writes a changed row's changelog less often, and replays more after
    #: a crash.
    batch_size: int = Field(default=2_000, ge=1)
    batch_wait: float = Field(default=0.25, gt=0)
    #: The report's web server (JSON at ``/report``, HTML at ``/report.html``, ``/metrics``).
    report_host: str = "127.0.0.1"
    report_port: int = 6066
    #: Recent windows shown by the report views, in minutes.
    report_minutes: int = Field(default=15, ge=1, le=1440)
    #: Group session timeout (seconds): how soon a killed worker's partitions move on.
    session_timeout: float = Field(default=10.0, gt=0)
    #: A partition behind its log's end that the worker was handed no record of for this long
    #: (seconds) is resumed, and every partition is read again from its committed offset (see
    #: :mod:`streaming.stall_watch`).
    stall_timeout: float = Field(default=30.0, gt=0)
    #: For tests only: Faust stops handing over this partition's records after the first one of
    #: each assignment (the partition is paused in Faust's consumer), until the stall watch has
    #: resumed it once. None (the default) in any real deployment.
    fault_stall_partition: int | None = Field(default=None, ge=0)
    #: Faust's local state (offsets of the memory store are not kept; tables restore from Kafka).
    report_datadir: str = "var/streaming/report"

    def as_env(self) -> dict[str, str]:
        """These settings as the ``STREAMING_*`` variables that read back into them (for a child process)."""
        return {
            f"STREAMING_{name.upper()}": str(value)
            for name, value in self.model_dump().items()
            if value is not None  # unset reads back as None
        }
