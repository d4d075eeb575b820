import json
import shutil
from dataclasses import replace
from pathlib import Path

from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.job.configs import stage_configs
from pipelines.job.options import SAMPLE_WORLD
from transforms.act.dispatch import DispatchConfig
from transforms.enrich.recognise_plates import RecognitionConfig
from transforms.ingest.deduplicate import DeduplicationConfig
from transforms.ingest.read_kafka import KafkaConfig
from transforms.ingest.read_redis_stream import StreamConfig


def configs(*flags):
    return stage_configs(PipelineOptions(["--runner", "FnApiRunner", *flags]))


def test_the_defaults_of_the_flags_are_the_defaults_of_the_configs():
    built = configs()
    assert replace(built.recognition, region=None) == RecognitionConfig()  # the region is the world's, not a flag's
    assert built.dispatch == DispatchConfig()
    assert (built.stream, built.kafka) == (StreamConfig(), KafkaConfig())
    assert built.watchlist.watchlist.endswith("watchlist.csv")
    assert built.deduplication == DeduplicationConfig(horizon_minutes=10.0, allowed_lateness_s=1800.0)


def test_each_flag_reaches_its_stage():
    built = configs("--min_camera_confidence", "0.6", "--image_root", "/srv/frames",
                    "--max_substitutions", "2", "--watchlist", "redis://cache:6379/0",
                    "--watchlist_snapshot", "list.csv", "--watchlist_max_age_h", "2",
                    "--cooldown_minutes", "10", "--responders_k", "5", "--min_dispatch_score", "0.7",
                    "--dedup_window_minutes", "4")
    assert (built.recognition.min_camera_confidence, built.recognition.image_root) == (0.6, "/srv/frames")
    assert built.watchlist == built.watchlist.__class__(
        "redis://cache:6379/0", "Asia/Shanghai", max_substitutions=2, snapshot="list.csv", max_age_s=7200.0)
    assert built.dispatch == DispatchConfig(cooldown_minutes=10, responders_k=5, min_score=0.7)
    assert built.deduplication.horizon_minutes == 4


def test_the_watchlist_reads_its_validity_days_in_the_worlds_time_zone(tmp_path):
    world = Path(shutil.copytree(SAMPLE_WORLD, tmp_path / "world"))
    meta = json.loads((world / "world.json").read_text(encoding="utf-8"))
    (world / "world.json").write_text(json.dumps({**meta, "timezone": "Europe/Berlin"}), encoding="utf-8")
    assert configs("--world", str(world)).watchlist.timezone == "Europe/Berlin"


def test_a_live_run_dispatches_at_once_and_keeps_duplicates_for_the_allowed_lateness():
    built = stage_configs(PipelineOptions(["--runner", "PrismRunner", "--streaming",
                                           "--allowed_lateness_minutes", "20", "--stream_after", "17-0",
                                           "--image_root", "/srv/frames", "--kafka_max_records", "9"]))
    assert built.dispatch.streaming
    assert built.deduplication.allowed_lateness_s == 1200
    assert built.stream == StreamConfig(after="17-0", image_base="/srv/frames", allowed_lateness_s=1200)
    assert built.kafka == KafkaConfig(image_base="/srv/frames", max_records=9, allowed_lateness_s=1200)


def test_the_interception_margin_reaches_the_dispatch_stage():
    assert configs("--intercept_margin_s", "90").dispatch.intercept_margin_s == 90


def test_the_plate_reader_weighs_the_province_the_worlds_cameras_stand_in(tmp_path):
    assert configs("--world", str(SAMPLE_WORLD)).recognition.region == "琼"
    world = Path(shutil.copytree(SAMPLE_WORLD, tmp_path / "world"))
    meta = json.loads((world / "world.json").read_text(encoding="utf-8"))
    (world / "world.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "province"}), encoding="utf-8")
    assert configs("--world", str(world)).recognition.region is None
