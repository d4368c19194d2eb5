"""Settings of the streaming services (bridge and report), read from ``STREAMING_*``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StreamingSettings(BaseSettings):
    """Kafka, topics and the bridge's socket; every field can be set as ``STREAMING_<NAME>``."""

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
    #: Producer batching: how long to wait for a batch to fill (ms), and its size (bytes).
    linger_ms: int = Field(default=5, ge=0)
    max_batch_bytes: int = Field(default=256 * 1024, ge=1024)
