"""Which flags `roadchief run` knows: its own and every flag Beam defines.

Beam drops an argument it does not know and says so only in a log line the
operator never sees, so a misspelt `--windw_minutes 5` would run with the
default window. Every flag is therefore checked against the flags of all
PipelineOptions classes (roadchief's, the runners', the environments') and a
misspelt one is refused with the nearest known name. A Flink run also takes
the Flink runner's own flags, which only its job server knows in full.
"""
from difflib import get_close_matches

from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

from pipelines.flink.submit import FLINK_RUNNER_FLAGS
from pipelines.job.options import RoadchiefOptions  # noqa: F401  registers roadchief's flags with Beam


def known_flags() -> set[str]:
    """Every flag some PipelineOptions class defines, as Beam would parse it."""
    parser = _BeamArgumentParser(allow_abbrev=False, conflict_handler="resolve")
    classes, seen = list(PipelineOptions.__subclasses__()), set()
    while classes:
        options_class = classes.pop()
        if options_class not in seen:
            seen.add(options_class)
            options_class._add_argparse_args(parser)
            classes += options_class.__subclasses__()
    return {flag for action in parser._actions for flag in action.option_strings if flag.startswith("--")}


def unknown_flag_problems(argv: list[str], runner: str) -> list[str]:
    """One problem per flag in `argv` that no options class defines (nor, on FlinkRunner, the
    Flink runner), with the nearest known name."""
    known = known_flags() | (FLINK_RUNNER_FLAGS if runner == "FlinkRunner" else set())
    problems = []
    for arg in argv:
        flag = arg.partition("=")[0]
        if not flag.startswith("--") or flag in known:
            continue
        nearest = get_close_matches(flag, known, n=1)
        problems.append(f"{flag}: unknown flag" + (f"; did you mean {nearest[0]}?" if nearest else
                                                   " (roadchief run --help lists roadchief's flags)"))
    return problems
