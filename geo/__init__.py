"""Road network, cameras, road-chief roster, responders and the sample world.

- ``geo.world``: load and validate a world folder (``load_world``, ``chief_chain``).
- ``geo.placement``, ``geo.responders``: segments near a point, responders near a segment.
- ``geo.synthetic``: the sample world's builder and the traffic and incident simulators
  (not shipped to workers).
"""
