"""Apache Cassandra 5.0 from ``org.apache.cassandra:cassandra-all``, with our own cassandra.yaml."""

from __future__ import annotations

from pathlib import Path

from adtarget.stack import maven
from adtarget.stack.engine import Engine, Launch

# The JDK 17 options Cassandra ships in conf/jvm17-server.options (GC and module access),
# plus the general ones of conf/jvm-server.options that matter for a small local node.
JVM17_SERVER_OPTIONS = (
    "-XX:+UseG1GC",
    "-XX:+ParallelRefProcEnabled",
    "-XX:MaxTenuringThreshold=1",
    "-XX:G1HeapRegionSize=16m",
    "-XX:G1RSetUpdatingPauseTimePercent=5",
    "-XX:MaxGCPauseMillis=300",
    "-XX:InitiatingHeapOccupancyPercent=70",
    "-Djdk.attach.allowAttachSelf=true",
    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports=java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.server=ALL-UNNAMED",
    "--add-exports=java.sql/java.sql=ALL-UNNAMED",
    "--add-exports=java.base/java.lang.ref=ALL-UNNAMED",
    "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED",
    "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
    "--add-exports=jdk.attach/sun.tools.attach=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.module=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.loader=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.reflect=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.math=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.module=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.util.jar=ALL-UNNAMED",
    "--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dio.netty.allocator.useCacheForAllThreads=true",
    "-Dio.netty.allocator.maxOrder=11",
    # From jvm-server.options.
    "-ea",
    "-Xss256k",
    "-XX:+UseThreadPriorities",
    "-XX:+HeapDumpOnOutOfMemoryError",
    "-XX:+ExitOnOutOfMemoryError",  # a node that ran out of heap must not go on writing
    "-XX:+UseTLAB",
    "-XX:+ResizeTLAB",
    "-XX:+PerfDisableSharedMem",
    "-XX:StringTableSize=1000003",
    "-Djava.net.preferIPv4Stack=true",
)

# A single local node. Names follow Cassandra 5.0's cassandra.yaml.
_YAML = """\
cluster_name: adtarget
num_tokens: 16
allocate_tokens_for_local_replication_factor: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "{host}:{storage_port}"
listen_address: {host}
rpc_address: {host}
storage_port: {storage_port}
native_transport_port: {native_port}
start_native_transport: true
data_file_directories:
  - {data}/data
commitlog_directory: {data}/commitlog
saved_caches_directory: {data}/saved_caches
hints_directory: {data}/hints
cdc_raw_directory: {data}/cdc_raw
commitlog_sync: periodic
commitlog_sync_period: 10000ms
disk_failure_policy: stop
commit_failure_policy: stop
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
# Tests drop keyspaces often; a snapshot of each would only fill the disk locally.
auto_snapshot: false
# Small caches and thread pools for a 2-core machine that runs the whole stack.
concurrent_reads: 16
concurrent_writes: 16
concurrent_counter_writes: 16
key_cache_size: 32MiB
counter_cache_size: 16MiB
read_request_timeout: 5000ms
write_request_timeout: 2000ms
counter_write_request_timeout: 5000ms
# The sketch store writes unlogged batches of one replica set's rows (up to 32 KiB and 100
# partitions each, adtarget.segments.sketches): expected, so not a warning per batch.
batch_size_warn_threshold: 64KiB
unlogged_batch_across_partitions_warn_threshold: 128
"""

_LOGBACK = """\
<configuration scan="false">
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="STDOUT"/></root>
  <logger name="org.apache.cassandra" level="INFO"/>
</configuration>
"""


class Cassandra(Engine):
    """A single-node Cassandra on the native protocol port; data under ``var/data/cassandra``."""

    name = "cassandra"

    def ports(self) -> list[int]:
        s = self.settings
        return [s.cassandra_port, s.cassandra_storage_port, s.cassandra_jmx_port]

    def endpoint(self) -> str:
        return f"cql://{self.settings.host}:{self.settings.cassandra_port}"

    @property
    def _conf(self) -> Path:
        return self.settings.conf_dir / "cassandra"

    @property
    def _data(self) -> Path:
        return self.settings.data_dir / "cassandra"

    def prepare(self) -> None:
        s = self.settings
        self._classpath = maven.classpath(
            s, "cassandra", [f"org.apache.cassandra:cassandra-all:{s.cassandra_version}"]
        )
        self._conf.mkdir(parents=True, exist_ok=True)
        self._data.mkdir(parents=True, exist_ok=True)
        (self._conf / "cassandra.yaml").write_text(
            _YAML.format(
                host=s.host,
                storage_port=s.cassandra_storage_port,
                native_port=s.cassandra_port,
                data=self._data,
            )
        )
        (self._conf / "logback.xml").write_text(_LOGBACK)

    def launch(self) -> Launch:
        s = self.settings
        heap = s.cassandra_heap
        argv: list[str] = [
            str(s.java()),
            f"-Xms{heap}",
            f"-Xmx{heap}",
            # Off-heap buffers (netty, chunk cache) are capped too, so the stack stays in budget.
            f"-XX:MaxDirectMemorySize={heap}",
            *JVM17_SERVER_OPTIONS,
            f"-Dcassandra.config=file://{self._conf / 'cassandra.yaml'}",
            f"-Dlogback.configurationFile={self._conf / 'logback.xml'}",
            f"-Dcassandra.logdir={s.log_dir}",
            f"-Dcassandra.storagedir={self._data}",
            f"-Dcassandra.jmx.local.port={s.cassandra_jmx_port}",
            "-Dcassandra-foreground=yes",
            # A node of its own: never skip the schema wait nor join a ring by accident.
            "-Dcassandra.skip_wait_for_gossip_to_settle=0",
            "-cp",
            ":".join([str(self._conf), *(str(j) for j in self._classpath)]),
            "org.apache.cassandra.service.CassandraDaemon",
        ]
        return Launch(argv=argv, timer_slack_ns=s.cassandra_timer_slack_us * 1000)

    def healthy(self) -> bool:
        from cassandra.cluster import Cluster

        cluster = Cluster(
            [self.settings.host],
            port=self.settings.cassandra_port,
            connect_timeout=2,
            control_connection_timeout=2,
        )
        try:
            session = cluster.connect()
            row = session.execute("SELECT release_version FROM system.local").one()
            return row is not None
        finally:
            cluster.shutdown()

    def after_start(self) -> None:
        """Create the profile keyspace and apply its migrations (idempotent)."""
        from adtarget.profiles import migrations
        from adtarget.profiles.config import CassandraSettings, cluster

        profile = CassandraSettings(hosts=[self.settings.host], port=self.settings.cassandra_port)
        with cluster(profile) as c:
            migrations.migrate(c.connect(), profile)
