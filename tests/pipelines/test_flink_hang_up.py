"""An in-process worker's threads end quietly on Flink's hang-up at a job's end, and only on that."""
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from pipelines.flink.hang_up import is_hang_up, quiet_hang_ups


def refused_call(code: grpc.StatusCode, details: str) -> grpc.RpcError:
    """The error a real gRPC client raises when its server ends the call with `code` and `details`."""
    def end(request, context):
        context.abort(code, details)

    server = grpc.server(ThreadPoolExecutor(1))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "test.Worker", {"Data": grpc.unary_unary_rpc_method_handler(end)}),))
    port = server.add_insecure_port("localhost:0")
    server.start()
    try:
        with grpc.insecure_channel(f"localhost:{port}") as channel:
            with pytest.raises(grpc.RpcError) as raised:
                channel.unary_unary("/test.Worker/Data")(b"")
        return raised.value
    finally:
        server.stop(0)


def ended_threads(monkeypatch, *threads: tuple[str, BaseException]) -> list[tuple[str, BaseException]]:
    """The (thread, error) pairs that reach the hook in place before `quiet_hang_ups`."""
    reached = []
    monkeypatch.setattr(threading, "excepthook", lambda args: reached.append((args.thread.name, args.exc_value)))
    quiet_hang_ups()
    quiet_hang_ups()  # a second run's call does not wrap the hook again

    def raising(error):
        raise error

    for name, error in threads:
        thread = threading.Thread(target=raising, args=(error,), name=name)
        thread.start()
        thread.join()
    return reached


def test_the_taskmanagers_hang_up_ends_a_workers_threads_without_a_traceback(monkeypatch):
    hang_up = refused_call(grpc.StatusCode.CANCELLED, "Multiplexer hanging up")
    assert is_hang_up(hang_up)
    assert ended_threads(monkeypatch, ("read_grpc_client_inputs", hang_up), ("run_worker_1-1", hang_up)) == []


def test_any_other_error_of_those_threads_or_of_another_thread_still_reaches_the_hook(monkeypatch):
    hang_up = refused_call(grpc.StatusCode.CANCELLED, "Multiplexer hanging up")
    unavailable = refused_call(grpc.StatusCode.UNAVAILABLE, "Multiplexer hanging up")
    cancelled = refused_call(grpc.StatusCode.CANCELLED, "the job was cancelled")
    broken = ValueError("a bug")
    reached = ended_threads(monkeypatch, ("read_grpc_client_inputs", unavailable), ("run_worker_1-1", cancelled),
                            ("run_worker_1-1", broken), ("some_other_thread", hang_up))
    assert reached == [("read_grpc_client_inputs", unavailable), ("run_worker_1-1", cancelled),
                       ("run_worker_1-1", broken), ("some_other_thread", hang_up)]
    assert not any(is_hang_up(error) for error in (unavailable, cancelled, broken, None))
