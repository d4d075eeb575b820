"""Python SDK workers beside Flink's TaskManagers, when they cannot run inside `roadchief run`.

A cluster on other hosts cannot call back into the process that submitted the job
(LOOPBACK). Two ways serve it:

- EXTERNAL: `roadchief worker-pool --port P` beside each TaskManager (the sidecar that
  Flink on Kubernetes runs), and `--environment_type EXTERNAL --environment_config
  localhost:P`. Its workers are threads of the pool process.
- PROCESS: each TaskManager starts its own worker processes with
  `--environment_type PROCESS --environment_config '{"command": "<venv>/bin/roadchief-worker-boot"}'`;
  worker ids cannot collide across TaskManagers as they can in a pool both use.

Either way the worker imports `models.records` before it decodes a row, so rows come
back as the project's record types (their schema ids are fixed there).
"""
import argparse
import json
import os
import sys
import time


def pool(port: int) -> None:
    """Serve workers on `port` until killed."""
    from apache_beam.runners.worker.worker_pool_main import BeamFnExternalWorkerPoolServicer

    import models.records  # noqa: F401  (registers the records' schemas)
    import pipelines.job.collector  # noqa: F401  (the pool's workers are its threads)
    import pipelines.job.sampler  # noqa: F401
    import pipelines.job.signatures  # noqa: F401
    address, server = BeamFnExternalWorkerPoolServicer.start(port=port)
    print(f"roadchief worker pool listening at {address}", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        server.stop(1)


def boot(argv: list[str] | None = None) -> None:
    """What an SDK container's boot program does, for `--environment_type PROCESS`:
    ask the runner's provision service for the worker's endpoints and options, then run."""
    import grpc
    from apache_beam.portability.api import beam_provision_api_pb2, beam_provision_api_pb2_grpc
    from apache_beam.runners.worker import sdk_worker_main
    from google.protobuf import json_format, text_format

    parser = argparse.ArgumentParser(prog="roadchief-worker-boot")
    parser.add_argument("--id", required=True)
    parser.add_argument("--provision_endpoint", required=True)
    args, _ = parser.parse_known_args(argv)
    with grpc.insecure_channel(args.provision_endpoint) as channel:
        info = beam_provision_api_pb2_grpc.ProvisionServiceStub(channel).GetProvisionInfo(
            beam_provision_api_pb2.GetProvisionInfoRequest(), metadata=[("worker_id", args.id)]).info
    os.environ.update(
        WORKER_ID=args.id, PIPELINE_OPTIONS=json.dumps(json_format.MessageToDict(info.pipeline_options)),
        CONTROL_API_SERVICE_DESCRIPTOR=text_format.MessageToString(info.control_endpoint),
        LOGGING_API_SERVICE_DESCRIPTOR=text_format.MessageToString(info.logging_endpoint))
    if info.HasField("status_endpoint"):
        os.environ["STATUS_API_SERVICE_DESCRIPTOR"] = text_format.MessageToString(info.status_endpoint)
    import models.records  # noqa: F401  (registers the records' schemas)
    sys.argv = sys.argv[:1]
    sdk_worker_main.main(sys.argv)
