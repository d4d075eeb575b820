"""The expansion service that turns the Kafka source into Java KafkaIO stages (`make kafka`).

A Python pipeline reads Kafka through Beam's Java KafkaIO: while the pipeline is built, an
expansion service answers with the Java stages, and the Flink job server runs them. Beam
starts the job server from its jar for a run; `roadchief run` starts the expansion service the
same way, from the jar `make kafka` built, for as long as the pipeline is being built
(`--kafka_expansion_service HOST:PORT` names one already running instead). Every instance,
the tests' included, runs with:

- `--defaultEnvironmentType=EMBEDDED`: the Java stages run inside the job server's JVM, whose
  classpath carries KafkaIO (jobserver.pom.xml); Beam's default, DOCKER, needs Docker on
  every TaskManager.
- `--experiments=use_deprecated_read`: KafkaIO's UnboundedSource, which Flink runs as a source
  of its own, with the reader's watermark and offsets in Flink's checkpoints. KafkaIO 2.62's
  default reader, a splittable DoFn, delivered no record in a streaming job in trials here.
"""
from apache_beam.transforms.external import JavaJarExpansionService

from pipelines.flink.tools import EXPANSION_SERVICE_JAR

EXPANSION_ARGS = ["--defaultEnvironmentType=EMBEDDED", "--experiments=use_deprecated_read"]


def expansion_service(address: str | None):
    """What a cross-language transform is given: the service at `address`, or one to start from the jar."""
    if address:
        return address
    return JavaJarExpansionService(str(EXPANSION_SERVICE_JAR), extra_args=["{{PORT}}", *EXPANSION_ARGS])
