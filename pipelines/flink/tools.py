"""Where Flink's jars and Beam's job server live once `make flink` has fetched them.

Flink 1.19.3 comes from PyPI (the `apache-flink-libraries` sdist ships Flink's lib/); Beam's
job server for Flink 1.19 from Maven Central at 2.62.0, the newest version whose runner
and dependencies are all served there. The Python SDK stays at 2.77.0 (apache-beam 2.62
cannot be installed beside tensorflow-cpu 2.21): the job server and the SDK talk over
Beam's portability protocol, which `tests/pipelines/test_flink.py` exercises on every table.

`make kafka` adds the Kafka source's pieces: Beam's expansion service for KafkaIO at the job
server's version (the Java stages it expands run inside the job server), and a Kafka broker
for the tests.
"""
import os
from pathlib import Path

FLINK_VERSION = "1.19.3"
JOB_SERVER_VERSION = "2.62.0"
PACKAGE = Path(__file__).resolve().parent
CONF = PACKAGE / "conf"
JOB_SERVER_CONF = PACKAGE / "conf-jobserver"
TOOLS = Path(os.environ.get("ROADCHIEF_TOOLS", PACKAGE.parent.parent / ".tools"))
FLINK_HOME = TOOLS / f"flink-{FLINK_VERSION}"
JOB_SERVER_JAR = TOOLS / f"beam-flink-job-server-{JOB_SERVER_VERSION}" / "beam-flink-job-server-launcher.jar"
KAFKA_VERSION = "3.9.1"
KAFKA_HOME = TOOLS / f"kafka-{KAFKA_VERSION}"
EXPANSION_SERVICE_JAR = (TOOLS / f"beam-kafka-expansion-service-{JOB_SERVER_VERSION}"
                         / "beam-kafka-expansion-service-launcher.jar")
# What Flink's own scripts give every JVM on Java 17 (env.java.opts.all).
JAVA17_OPENS = [f"--add-{kind}=java.{module}=ALL-UNNAMED" for kind, module in (
    ("exports", "base/sun.net.util"), ("exports", "rmi/sun.rmi.registry"),
    ("exports", "security.jgss/sun.security.krb5"), ("opens", "base/java.lang"),
    ("opens", "base/java.net"), ("opens", "base/java.io"), ("opens", "base/java.nio"),
    ("opens", "base/sun.nio.ch"), ("opens", "base/java.lang.reflect"), ("opens", "base/java.text"),
    ("opens", "base/java.time"), ("opens", "base/java.util"), ("opens", "base/java.util.concurrent"),
    ("opens", "base/java.util.concurrent.atomic"), ("opens", "base/java.util.concurrent.locks"))]


FETCHED_BY = {"flink": "Flink from PyPI, Beam's job server from Maven Central",
              "kafka": "Beam's KafkaIO expansion service and a Kafka broker from Maven Central"}


def missing(path: Path, target: str = "flink") -> str | None:
    """Why a fetched tool cannot be used, with the command that fetches it."""
    if path.exists():
        return None
    return f"{path} is missing: run `make {target}` ({FETCHED_BY[target]})"
