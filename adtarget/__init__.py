"""adtarget: an ad-targeting data platform on Airflow, Spark, Cassandra and Kafka."""

from __future__ import annotations

__version__ = "0.1.0"
