"""One copy per worker process of the world and the indexes built from it.

DoFns call these from `setup()`. Loading the world and building spatial
indexes takes a second; caching them by folder means every DoFn instance in a
process shares one copy instead of building its own.
"""
from functools import lru_cache

from geo.intercept import Interceptor
from geo.placement import SegmentLocator, camera_placements
from geo.responders import ResponderIndex
from geo.world import chief_chain, load_world
from models.records import ChiefOnDuty


@lru_cache(maxsize=4)
def world_at(folder: str):
    return load_world(folder)


@lru_cache(maxsize=4)
def placements_at(folder: str, max_distance_m: float):
    return camera_placements(world_at(folder), locator_at(folder, max_distance_m))


@lru_cache(maxsize=4)
def locator_at(folder: str, max_distance_m: float) -> SegmentLocator:
    return SegmentLocator(world_at(folder), max_distance_m)


@lru_cache(maxsize=4)
def responders_at(folder: str) -> ResponderIndex:
    return ResponderIndex(world_at(folder))


@lru_cache(maxsize=4)
def chain_at(folder: str) -> dict[str, list[ChiefOnDuty]]:
    """segment_id → its chief chain, from the road manager up to 总路长."""
    world = world_at(folder)
    return {str(segment_id): chief_chain(world, manager)
            for segment_id, manager in world.roads.road_manager_id.items()}


@lru_cache(maxsize=4)
def interceptor_at(folder: str, margin_s: float) -> Interceptor:
    return Interceptor(world_at(folder), responders_at(folder), margin_s)
