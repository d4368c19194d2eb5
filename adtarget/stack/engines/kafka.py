"""Apache Kafka 4 in KRaft mode (one broker that is its own controller), from Maven Central."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

from adtarget.stack import maven, process
from adtarget.stack.engine import Engine, Launch
from adtarget.stack.errors import StackError

_PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@{host}:{controller_port}
listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}
advertised.listeners=PLAINTEXT://{host}:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data}
num.partitions=3
# One broker: internal topics cannot have more replicas than that.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Consumers in tests and restarts join at once instead of waiting 3 s for peers.
group.initial.rebalance.delay.ms=0
log.retention.hours=168
# An idle active controller writes a no-op record to the metadata log (default every 500 ms) so
# that brokers and other controllers see it alive; on one node every 5 s does (idle: ~9 % -> ~5 %
# of a core).
metadata.max.idle.interval.ms=5000
"""

_LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
"""


class Kafka(Engine):
    """A single KRaft broker; topics and offsets under ``var/data/kafka``."""

    name = "kafka"

    def ports(self) -> list[int]:
        return [self.settings.kafka_port, self.settings.kafka_controller_port]

    def endpoint(self) -> str:
        return f"kafka://{self.settings.kafka_bootstrap}"

    @property
    def _conf(self) -> Path:
        return self.settings.conf_dir / "kafka"

    @property
    def _data(self) -> Path:
        return self.settings.data_dir / "kafka"

    def _java(self, main: str, *args: str) -> list[str]:
        s = self.settings
        return [
            str(s.java()),
            f"-Dlog4j2.configurationFile={self._conf / 'log4j2.properties'}",
            "-cp",
            ":".join(str(j) for j in self._classpath),
            main,
            *args,
        ]

    def prepare(self) -> None:
        s = self.settings
        v = s.kafka_version
        self._classpath = maven.classpath(
            s,
            "kafka",
            [
                f"org.apache.kafka:kafka_2.13:{v}",
                f"org.apache.kafka:kafka-tools:{v}",
                # The binding the Kafka distribution ships; without it the broker logs nothing.
                "org.apache.logging.log4j:log4j-slf4j-impl:2.24.3",
            ],
        )
        self._conf.mkdir(parents=True, exist_ok=True)
        (self._conf / "log4j2.properties").write_text(_LOG4J2)
        props = self._conf / "server.properties"
        props.write_text(
            _PROPERTIES.format(
                host=s.host, port=s.kafka_port, controller_port=s.kafka_controller_port, data=self._data
            )
        )
        if (self._data / "meta.properties").exists():
            return
        # A new log folder gets a cluster id once; formatting again would refuse (and must not wipe).
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        result = subprocess.run(  # noqa: S603
            # "--cluster-id=": a base64url id may start with "-", which argparse would take for an option.
            self._java("kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(props)),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(
                f"kafka: formatting {self._data} failed: {(result.stderr or result.stdout).strip()[-300:]}"
            )

    def launch(self) -> Launch:
        heap = self.settings.kafka_heap
        argv = self._java("kafka.Kafka", str(self._conf / "server.properties"))
        argv[1:1] = [
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
        ]
        return Launch(argv=argv)

    def healthy(self) -> bool:
        from confluent_kafka.admin import AdminClient

        if not process.port_open(self.settings.host, self.settings.kafka_port):
            return False  # librdkafka would log every refused connection
        admin = AdminClient(
            {"bootstrap.servers": self.settings.kafka_bootstrap, "socket.timeout.ms": 2000, "log_level": 0}
        )
        metadata = admin.list_topics(timeout=2)
        return bool(metadata.brokers)
