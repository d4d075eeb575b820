"""Road network, cameras, road-chief roster, responders and the sample world.

- ``geo.world``: load and validate a world folder (``load_world``, ``chief_chain``).
- ``geo.build_world``: generate the illustrative Qionghai world in ``geo/data/qionghai``.
- ``geo.simulate``: seeded traffic over a world, written as camera events.
"""
