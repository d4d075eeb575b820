# SDK harness image for running roadchief's Python workers on a Flink cluster
# (environment type DOCKER), or as the worker pool beside each task manager
# (EXTERNAL: run it with `roadchief worker-pool --port 50000` as the command).
# Build it with `make worker-image`: the base image and every dependency take
# the versions pinned in setup.py; the Flink job server is Beam's 2.62.0
# (docs/deploy-flink.md explains the skew).
ARG BEAM_VERSION
FROM apache/beam_python3.11_sdk:${BEAM_VERSION}

WORKDIR /opt/roadchief
# Dependencies first, so a code change does not reinstall TensorFlow.
COPY setup.py README.md ./
RUN pip install --no-cache-dir $(python -c "import setup; print(*setup.REQUIREMENTS)")
# The code, the sample world and the plate model's weights, baked in: workers
# load nothing at run time. Training and synthetic data stay out (.dockerignore).
COPY pipelines/ pipelines/
COPY transforms/ transforms/
COPY geo/ geo/
COPY models/ models/
RUN pip install --no-cache-dir --no-deps . \
    && python -c "import models.records, models.plates.reader"
ENV TF_CPP_MIN_LOG_LEVEL=2
# The base image's entrypoint (/opt/apache/beam/boot) starts the SDK harness.
