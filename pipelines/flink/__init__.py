"""Running roadchief on Apache Flink, with nothing beyond Maven Central and PyPI.

Map of the package:

- ``tools``     where `make flink` puts Flink's jars and Beam's job server, and their versions.
- ``cluster``   a real Flink session cluster on this machine: `roadchief flink up|down|status`.
- ``submit``    the options `roadchief run --runner FlinkRunner` adds: the job server jar,
                its Flink configuration, the worker environment, checkpoints for live runs.
- ``conf/``     the session cluster's Flink configuration and logging.
- ``conf-jobserver/``  the Flink configuration the job server builds each job from.
- ``jobserver.pom.xml`` Beam's Flink job server and the jars the jobs need (KafkaIO).

docs/deploy-flink.md says how it fits together on a real cluster.
"""
