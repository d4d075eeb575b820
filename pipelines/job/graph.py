"""The roadchief pipeline: this module only wires the stages together.

    lines ─ ParseEvents ─ DropDuplicateDeliveries ─ RecognisePlates ─ AssignRoadSegment
                                                                               │
    passings ◄─ PseudonymiseNonHits ◄─ marked passings ◄─ MatchWatchlist ◄─────┘
                                                               │ hits ─────────► hits
                                                         DispatchOfficers ─────► dispatches
    marked passings, hits, dispatches ─ WindowedMetrics ─► metrics

    incident lines ─ ParseIncidents ─ PlaceReports ─────────────► incidents
    outcome lines ─ ParseOutcomes ─ PlaceReports ─┐
                               dispatches ─ FollowDispatches ──► outcomes, responses
    incidents, hits, responses ─ SafetyMetrics ─────────────────► safety_metrics
    every stage's rejects ──────────────────────────────────────► dead_letters

and WriteTables puts the tables under the output folder as Parquet (a live
run writes each event-time window's rows as it closes: WriteTableWindows);
PublishDispatches also appends each dispatch to a Redis Stream when asked.

A replay of files finds each event's later copies first (FindLaterCopies: their
dead letters) and leaves their lines out as it reads the files, so its events
need no duplicate check after parsing.

From parsing (a replay) or from the duplicate check (live, which takes
events one by one into its state per shard) to the passings table, camera
events travel in blocks (`transforms.blocks`); hits and everything after
them travel one by one.
"""
from typing import NamedTuple, Optional

import apache_beam as beam
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.transforms.window import GlobalWindows

from models.records import EventLine
from pipelines.flink.expansion import expansion_service
from pipelines.job.configs import stage_configs
from pipelines.job.options import RoadchiefOptions, arrival_targets, custom_periods, plate_key_id
from transforms.act.dispatch import DispatchOfficers
from transforms.act.publish_dispatches import PublishDispatches
from transforms.act.responses import FollowDispatches
from transforms.blocks import GatherBlocks
from transforms.enrich.assign_segment import AssignRoadSegment
from transforms.enrich.match_watchlist import MatchWatchlist
from transforms.enrich.place_reports import PlaceReports
from transforms.enrich.pseudonymise import PseudonymiseDeadLetters, PseudonymiseNonHits
from transforms.enrich.recognise_plates import RecognisePlates
from transforms.ingest.deduplicate import DropDuplicateDeliveries, FindLaterCopies
from transforms.ingest.parse_events import ParseEventBlocks, ParseEvents
from transforms.ingest.parse_reports import ParseIncidents, ParseOutcomes
from transforms.ingest.read_events import ReadEventBlocks, ReadEventLines
from transforms.ingest.read_kafka import ReadKafkaEvents
from transforms.ingest.read_redis_stream import ReadRedisStream
from transforms.measure.metrics import WindowedMetrics
from transforms.measure.safety_metrics import SafetyMetrics
from transforms.store.write_table_windows import WriteTableWindows
from transforms.store.write_tables import WriteTables


def build_tables(lines, options: RoadchiefOptions, incident_lines=None, outcome_lines=None,
                 replay: Optional["Replay"] = None) -> dict:
    """Lines of camera events (and of incident and outcome reports, if any) → the output
    tables, as PCollections keyed by table name. A `replay` of files parses its blocks of
    lines, whose later copies were found and left out as they were read."""
    configs = stage_configs(options)
    standard = options.view_as(StandardOptions)
    if replay is None:
        parsed = lines | "Parse" >> ParseEvents(
            options.world, options.max_future_s, allowed_lateness_s=options.allowed_lateness_minutes * 60)
        unique = parsed.events | "Deduplicate" >> DropDuplicateDeliveries(configs.deduplication)
        events, duplicates = unique.events | "Blocks" >> GatherBlocks(), unique.dead_letters
    else:
        parsed = lines | "Parse" >> replay.parse
        events, duplicates = parsed.events, replay.duplicates
    read, unusable_images = events | "RecognisePlates" >> RecognisePlates(configs.recognition)
    passings = read | "AssignRoadSegment" >> AssignRoadSegment(
        options.world, options.max_camera_distance_m)
    matched = passings | "MatchWatchlist" >> MatchWatchlist(configs.watchlist)
    hits, checked = matched.hits, matched.passings
    dispatches = hits | "Dispatch" >> DispatchOfficers(options.world, configs.dispatch)
    metrics = (checked, hits, dispatches) | "Metrics" >> WindowedMetrics(options.window_minutes, standard.streaming)
    stored = checked if options.plain_plates else (
        checked | "Pseudonymise" >> PseudonymiseNonHits(options.plate_key_file))
    # Safety metrics compare whole periods with a year earlier: a batch (nightly) job, not a live one.
    safety = ({"dead_letters": ()} if standard.streaming else
              _safety_tables(lines.pipeline, options, hits, dispatches, incident_lines, outcome_lines))
    dead_letters = (
        [rejects | f"Global{i}" >> beam.WindowInto(GlobalWindows())
         for i, rejects in enumerate((parsed.dead_letters, duplicates, unusable_images,
                                      *safety.pop("dead_letters")))]
        | "DeadLetters" >> beam.Flatten())
    if not options.plain_plates:
        dead_letters = dead_letters | "PseudonymiseDeadLetters" >> PseudonymiseDeadLetters(
            options.plate_key_file)
    return {"passings": stored, "hits": hits, "dispatches": dispatches,
            "metrics": metrics, **safety, "dead_letters": dead_letters}


def _safety_tables(pipeline, options: RoadchiefOptions, hits, dispatches, incident_lines, outcome_lines) -> dict:
    """Incidents and outcomes placed on the roads, responses followed, safety metrics."""
    def lines_or_none(given, label):
        return given if given is not None else pipeline | label >> beam.Create([]).with_output_types(EventLine)
    incidents = lines_or_none(incident_lines, "NoIncidents") | "ParseIncidents" >> ParseIncidents(
        options.world, options.max_future_s)
    outcomes = lines_or_none(outcome_lines, "NoOutcomes") | "ParseOutcomes" >> ParseOutcomes(
        options.world, options.max_future_s)
    placed = incidents["incidents"] | "PlaceIncidents" >> PlaceReports(options.world, options.max_report_distance_m)
    reports = outcomes["outcomes"] | "PlaceOutcomes" >> PlaceReports(options.world, options.max_report_distance_m)
    followed = (dispatches, reports) | "FollowDispatches" >> FollowDispatches()
    safety = (placed, hits, followed["responses"]) | "SafetyMetrics" >> SafetyMetrics(
        options.world, custom_periods(options), arrival_targets(options))
    return {"incidents": placed, "outcomes": followed["outcomes"], "responses": followed["responses"],
            "safety_metrics": safety,
            "dead_letters": (incidents["dead_letters"], outcomes["dead_letters"], followed["dead_letters"])}


class Replay(NamedTuple):
    """A replay's parsing, and the dead letters of the later copies left out of its lines."""
    parse: ParseEventBlocks
    duplicates: beam.PCollection


def read_events(pipeline: beam.Pipeline, options: RoadchiefOptions):
    """Camera event lines, live: from a Redis Stream or a Kafka topic, or from files line by line."""
    configs = stage_configs(options)
    if options.events_kafka:
        return pipeline | "ReadKafka" >> ReadKafkaEvents(
            options.events_kafka, expansion_service(options.kafka_expansion_service), configs.kafka)
    if not options.events_stream:
        return pipeline | "Read" >> ReadEventLines(options.events)
    return pipeline | "ReadStream" >> ReadRedisStream(options.events_stream, configs.stream)


def build(pipeline: beam.Pipeline, options: RoadchiefOptions, output: str) -> dict:
    """The whole graph: read the inputs, compute the tables, write them under `output`."""
    if options.view_as(StandardOptions).streaming:
        tables = build_tables(read_events(pipeline, options), options)
    else:  # a replay of files, in blocks, each event's later copies found first and left out
        parse = ParseEventBlocks(options.world, options.max_future_s)
        later = pipeline | "FindLaterCopies" >> FindLaterCopies(options.events, parse.again())
        lines = pipeline | "Read" >> ReadEventBlocks(options.events, beam.pvalue.AsList(later.sources))
        tables = build_tables(lines, options,
                              pipeline | "ReadIncidents" >> ReadEventLines(options.incidents),
                              pipeline | "ReadOutcomes" >> ReadEventLines(options.outcomes),
                              Replay(parse, later.dead_letters))
    metadata = {"roadchief.plate_key_id": plate_key_id(options)}
    if options.view_as(StandardOptions).streaming:  # analysts query each window as it closes
        tables | "Write" >> WriteTableWindows(output, metadata, options.window_minutes,
                                              options.allowed_lateness_minutes)
    else:
        tables | "Write" >> WriteTables(output, metadata)
    if options.publish_dispatches:
        tables["dispatches"] | "Publish" >> PublishDispatches(options.publish_dispatches, options.world)
    return tables
