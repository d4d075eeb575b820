"""Python's cyclic garbage collector, tuned for a process that runs roadchief's stages.

Importing this module applies the setting: it is a Beam plugin (`--beam_plugins`,
added by `pipelines.job.run.pipeline_options`), so every SDK worker imports it as it
starts, whether a container, `roadchief-worker-boot` or a worker pool, and `roadchief
run` imports it for the stages it runs itself (the FnApiRunner, LOOPBACK workers).

The collector counts every container object made (each record, list and dict)
and, by Python's default, looks through the youngest objects after every 700
of them and through older ones after every 7,000. A stage keeps almost
everything it makes until its block leaves, so each look finds nothing to
free while its cost grows with all that a replay holds: a replay of 200,000
events spent about a quarter of its time there. Young looks after every 10,000
objects took that time back (docs/performance.md), and the older generations
keep Python's own rhythm relative to them.
"""
import gc

YOUNG_OBJECTS = 10_000
THRESHOLDS = (YOUNG_OBJECTS, 10, 10)

gc.set_threshold(*THRESHOLDS)
