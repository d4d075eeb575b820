"""The stage metrics table at the end of a run, whatever the runner reports."""
from apache_beam.metrics.cells import DistributionData, DistributionResult
from apache_beam.metrics.execution import MetricKey, MetricResult
from apache_beam.metrics.metric import MetricResults
from apache_beam.metrics.metricbase import MetricName

from pipelines.job.stage_metrics import print_stage_metrics, stage_metrics


class Finished:
    """A finished run's result as a runner hands it back: its metrics, or none at all."""

    def __init__(self, counters=(), distributions=(), keeps_metrics=True):
        self._found = {MetricResults.COUNTERS: list(counters), MetricResults.DISTRIBUTIONS: list(distributions)}
        self._keeps_metrics = keeps_metrics

    def metrics(self):
        if not self._keeps_metrics:
            raise NotImplementedError("this runner keeps no metrics")
        return self

    def query(self, _filter):
        return self._found


def reported(step, name, committed, attempted):
    return MetricResult(MetricKey(step, MetricName("roadchief", name)), committed, attempted)


def spread(count, total, largest):
    return DistributionResult(DistributionData(total, count, 0, largest))


def test_counters_add_up_over_the_stages_that_count_them():
    found = stage_metrics(Finished([reported("Deduplicate", "dead_letters_duplicate", 3, 3),
                                    reported("ParseIncidents", "dead_letters_duplicate", 2, 2),
                                    reported("Parse", "events_in", 10, 12)]))
    assert found == {"dead_letters_duplicate": 5, "events_in": 10}


def test_without_committed_values_the_attempted_ones_are_shown():
    found = stage_metrics(Finished([reported("Parse", "events_in", None, 12)],
                                   [reported("Read", "recognition_ms", None, spread(2, 300, 200)),
                                    reported("Read2", "recognition_ms", None, spread(1, 60, 60))]))
    assert found["events_in"] == 12
    assert str(found["recognition_ms"]) == "count 3, mean 120.0, max 200"


def test_the_table_lists_the_stages_in_the_order_events_pass_them(capsys):
    print_stage_metrics(Finished([reported("D", "dispatches", 1, 1), reported("W", "redis_retries", 2, 2),
                                  reported("P", "dead_letters_bad_json", 4, 4),
                                  reported("P", "events_in", 1234, 1234)]))
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines()[4:-1]]
    assert rows == ["events_in", "dead_letters_bad_json", "dispatches", "redis_retries"]


def test_a_runner_that_reports_no_metrics_prints_nothing(capsys):
    print_stage_metrics(Finished())
    print_stage_metrics(Finished(keeps_metrics=False))
    assert capsys.readouterr().out == ""
