"""Flink hanging up on an in-process worker that has finished: not an error of the run.

When a Flink job ends, the TaskManager closes the data stream of the Python
worker it used (`CANCELLED: Multiplexer hanging up`) and then its control
stream. A worker that runs inside `roadchief run` (LOOPBACK) often sees the
data stream go first: Beam's reader thread records the hang-up as an error
and raises it, and the worker's thread raises it again when it closes the
channel. Both print a traceback after a run whose tables are already
written; the job's own state, which `roadchief run` reports, is unaffected
(a job that failed says so there). Those two threads' hang-ups, and nothing
else, are passed over quietly.
"""
import threading

import grpc

_WORKER_THREADS = ("read_grpc_client_inputs", "run_worker_")


def is_hang_up(error: BaseException | None) -> bool:
    """Whether `error` is the TaskManager closing a worker's stream at the end of its job."""
    return (isinstance(error, grpc.RpcError) and isinstance(error, grpc.Call)
            and error.code() == grpc.StatusCode.CANCELLED and "Multiplexer hanging up" in (error.details() or ""))


def quiet_hang_ups() -> None:
    """Let an in-process worker's threads end on the TaskManager's hang-up without a traceback."""
    previous = threading.excepthook
    if getattr(previous, "passes_hang_ups", False):
        return

    def hook(args: threading.ExceptHookArgs) -> None:
        thread = args.thread.name if args.thread else ""
        if thread.startswith(_WORKER_THREADS) and is_hang_up(args.exc_value):
            return
        previous(args)

    hook.passes_hang_ups = True  # type: ignore[attr-defined]
    threading.excepthook = hook
