"""The roadchief pipeline: this module only wires the stages together.

    lines ─ ParseEvents ─ DropDuplicateDeliveries ─ RecognisePlates ─ AssignRoadSegment
                                                                               │
    passings ◄─ PseudonymiseNonHits ◄─ marked passings ◄─ MatchWatchlist ◄─────┘
                                                               │ hits ─────────► hits
                                                         DispatchOfficers ─────► dispatches
    marked passings, hits, dispatches ─ WindowedMetrics ─► metrics
    every stage's rejects ──────────────────────────────► dead_letters

and WriteTables puts the five tables under the output folder as Parquet;
PublishDispatches also appends each dispatch to a Redis Stream when asked.
"""
import apache_beam as beam
from apache_beam.options.pipeline_options import StandardOptions

from pipelines.options import RoadchiefOptions, plate_key_id, watchlist_spec
from transforms.assign_segment import AssignRoadSegment
from transforms.deduplicate import DropDuplicateDeliveries
from transforms.dispatch import DispatchOfficers
from transforms.match_watchlist import MatchWatchlist
from transforms.metrics import WindowedMetrics
from transforms.parse_events import ParseEvents
from transforms.pseudonymise import PseudonymiseNonHits
from transforms.publish_dispatches import PublishDispatches
from transforms.read_events import ReadEventLines
from transforms.recognise_plates import RecognisePlates
from transforms.write_tables import WriteTables


def build_tables(lines, options: RoadchiefOptions) -> dict:
    """EventLines → the five output tables, as PCollections keyed by table name."""
    parsed = lines | "Parse" >> ParseEvents(options.world, options.max_future_s)
    standard = options.view_as(StandardOptions)
    unique = parsed.events | "Deduplicate" >> DropDuplicateDeliveries(
        options.dedup_window_minutes, standard.streaming,
        watermark_driven=standard.runner != "FnApiRunner")
    read, unusable_images = unique.events | "RecognisePlates" >> RecognisePlates(
        options.model, options.min_camera_confidence, options.max_image_bytes,
        options.max_image_pixels, options.image_root)
    passings = read | "AssignRoadSegment" >> AssignRoadSegment(
        options.world, options.max_camera_distance_m)
    matched = passings | "MatchWatchlist" >> MatchWatchlist(
        watchlist_spec(options), options.max_substitutions, options.watchlist_ttl_s,
        options.watchlist_snapshot)
    hits, checked = matched.hits, matched.passings
    dispatches = hits | "Dispatch" >> DispatchOfficers(
        options.world, options.cooldown_minutes, options.responders_k, options.min_dispatch_score)
    metrics = (checked, hits, dispatches) | "Metrics" >> WindowedMetrics(options.window_minutes)
    stored = checked if options.plain_plates else (
        checked | "Pseudonymise" >> PseudonymiseNonHits(options.plate_key_file))
    dead_letters = (
        [rejects | f"Global{i}" >> beam.WindowInto(beam.window.GlobalWindows())
         for i, rejects in enumerate((parsed.dead_letters, unique.dead_letters, unusable_images))]
        | "DeadLetters" >> beam.Flatten())
    return {"passings": stored, "hits": hits, "dispatches": dispatches,
            "metrics": metrics, "dead_letters": dead_letters}


def build(pipeline: beam.Pipeline, options: RoadchiefOptions, output: str) -> dict:
    """The whole graph: read the event files, compute the tables, write them under `output`."""
    lines = pipeline | "Read" >> ReadEventLines(options.events)
    tables = build_tables(lines, options)
    tables | "Write" >> WriteTables(output, {"roadchief.plate_key_id": plate_key_id(options)})
    if options.publish_dispatches:
        tables["dispatches"] | "Publish" >> PublishDispatches(options.publish_dispatches)
    return tables
