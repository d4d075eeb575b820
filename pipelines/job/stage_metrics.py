"""The stages' counters at the end of a run (`transforms.stage_metrics`), as `roadchief run` prints them.

A runner reports each counter per stage (a duplicate is counted by two
stages); the table adds them up. It shows what the runner committed, or what
its workers attempted where it reports no committed values (Prism); a
runner that reports no metrics at all leaves the table out.
"""
from apache_beam.metrics.metric import MetricResults, MetricsFilter

from pipelines.analysis.tables import render
from transforms.stage_metrics import DEAD_LETTERS, NAMESPACE

# The stages in the order events pass them; any other counter follows, by name.
ORDER = ("events_in", DEAD_LETTERS, "frames_recognised", "recognition_ms",
         "watchlist_lookups", "watchlist_cache_hits", "hits", "dispatches")


class Spread:
    """A distribution (of durations, never negative) added up over stages: how many values,
    their sum and the largest."""

    def __init__(self):
        self.count = self.sum = self.max = 0

    def add(self, count: int, total: int, largest: int) -> None:
        if count:
            self.count += count
            self.sum += total
            self.max = max(self.max, largest)

    def __str__(self) -> str:
        mean = self.sum / self.count if self.count else 0.0
        return f"count {self.count:,}, mean {mean:,.1f}, max {self.max:,}"


def stage_metrics(result) -> dict[str, int | Spread]:
    """Counter name → value (int) and distribution name → Spread, summed over stages."""
    try:
        found = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    except Exception:  # a runner that keeps no metrics: the run has still succeeded
        return {}
    counters: dict[str, int] = {}
    for counter in found.get(MetricResults.COUNTERS, ()):
        value = _value(counter)
        if value is not None:
            name = counter.key.metric.name
            counters[name] = counters.get(name, 0) + value
    spreads: dict[str, Spread] = {}
    for distribution in found.get(MetricResults.DISTRIBUTIONS, ()):
        value = _value(distribution)
        if value is not None:
            spreads.setdefault(distribution.key.metric.name, Spread()).add(value.count, value.sum, value.max)
    return {**counters, **spreads}


def _value(metric):
    return metric.committed if metric.committed is not None else metric.attempted


def _place(name: str) -> tuple[int, str]:
    return next((i for i, start in enumerate(ORDER) if name.startswith(start)), len(ORDER)), name


def print_stage_metrics(result) -> None:
    """The table of stage metrics, or nothing where the runner reported none."""
    metrics = stage_metrics(result)
    if not metrics:
        return
    rows = [(name, f"{value:,}" if isinstance(value, int) else str(value))
            for name, value in sorted(metrics.items(), key=lambda item: _place(item[0]))]
    print(f"\nStage metrics ({NAMESPACE})")
    print(render(["metric", "value"], rows, max_rows=len(rows)))
