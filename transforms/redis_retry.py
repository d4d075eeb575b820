"""Redis calls that ride out a restart: retried with exponential backoff.

A refused password is not retried (it will not get better); every retry is
counted in the Beam metric `roadchief/redis_retries`, so a run can show
that it survived an outage rather than never having met one.
"""
import time
from typing import Callable, TypeVar

from apache_beam.metrics import Metrics

from transforms.stage_metrics import NAMESPACE

RETRIES = Metrics.counter(NAMESPACE, "redis_retries")
T = TypeVar("T")


def with_backoff(call: Callable[[], T], retries: int = 5) -> T:
    """call(), retried on connection errors after 0.1, 0.2, 0.4 … (at most 5) seconds."""
    import redis
    delay = 0.1
    for _ in range(retries):
        try:
            return call()
        except redis.AuthenticationError:
            raise
        except (redis.ConnectionError, redis.TimeoutError):
            RETRIES.inc()
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    return call()
