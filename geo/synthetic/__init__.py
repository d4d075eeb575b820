"""The made-up city and its traffic: what demos, tests and benchmarks feed the pipeline.

Kept out of the runtime package (setup.py) and the worker image: the pipeline
reads real worlds and events and never generates them.

- ``build_world``: generate the illustrative Qionghai world in ``geo/data/qionghai``.
- ``simulate``: seeded traffic over a world, written as camera events.
- ``history``: seeded incident reports and dispatch outcomes before a day.
"""
