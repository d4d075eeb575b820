"""Every stage's config, built from the flags in one place, so that the graph only wires stages."""
from dataclasses import dataclass

from apache_beam.options.pipeline_options import StandardOptions

from geo.world import world_province, world_zone
from pipelines.job.options import RoadchiefOptions, watchlist_spec
from transforms.act.dispatch import DispatchConfig
from transforms.enrich.match_watchlist import WatchlistConfig
from transforms.enrich.recognise_plates import RecognitionConfig
from transforms.ingest.deduplicate import DeduplicationConfig
from transforms.ingest.read_kafka import KafkaConfig
from transforms.ingest.read_redis_stream import StreamConfig


@dataclass(frozen=True)
class StageConfigs:
    stream: StreamConfig
    kafka: KafkaConfig
    deduplication: DeduplicationConfig
    recognition: RecognitionConfig
    watchlist: WatchlistConfig
    dispatch: DispatchConfig


def stage_configs(options: RoadchiefOptions) -> StageConfigs:
    """The configs of one run. A live run keeps dedup state for the allowed lateness."""
    standard = options.view_as(StandardOptions)
    app = options.view_as(RoadchiefOptions)
    lateness_s = app.allowed_lateness_minutes * 60
    return StageConfigs(
        stream=StreamConfig(
            stream=app.stream_name, after=app.stream_after, image_base=app.image_root or "",
            out_of_orderness_s=app.out_of_orderness_s, idle_advance_s=app.idle_advance_s,
            max_future_s=app.max_future_s, allowed_lateness_s=lateness_s, stop_at_end=app.stream_until_end),
        kafka=KafkaConfig(
            topic=app.kafka_topic, image_base=app.image_root or "", max_records=app.kafka_max_records,
            max_future_s=app.max_future_s, allowed_lateness_s=lateness_s),
        deduplication=DeduplicationConfig(
            horizon_minutes=app.dedup_window_minutes, allowed_lateness_s=lateness_s),
        recognition=RecognitionConfig(
            model_path=app.model, region=world_province(app.world), min_camera_confidence=app.min_camera_confidence,
            max_image_bytes=app.max_image_bytes, max_image_pixels=app.max_image_pixels,
            image_root=app.image_root, max_image_decoded_bytes=app.max_image_decoded_bytes,
            max_image_memory_bytes=app.max_image_memory_bytes),
        watchlist=WatchlistConfig(
            watchlist=watchlist_spec(app), timezone=world_zone(app.world).key,
            max_substitutions=app.max_substitutions,
            ttl_s=app.watchlist_ttl_s, snapshot=app.watchlist_snapshot, wait_s=app.watchlist_wait_s,
            max_age_s=app.watchlist_max_age_h * 3600),
        dispatch=DispatchConfig(
            cooldown_minutes=app.cooldown_minutes, responders_k=app.responders_k,
            min_score=app.min_dispatch_score, streaming=standard.streaming,
            intercept_margin_s=app.intercept_margin_s))
