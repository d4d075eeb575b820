# SDK harness image for running roadchief's Python workers on a Flink cluster
# (environment type DOCKER), or as the worker pool beside each task manager
# (EXTERNAL: run it with `roadchief worker-pool --port 50000` as the command).
# The Python SDK's version is the one pinned in setup.py (2.77.0); the Flink job
# server is Beam's 2.62.0 (docs/deploy-flink.md explains the skew).
FROM apache/beam_python3.11_sdk:2.77.0

WORKDIR /opt/roadchief
# Dependencies first, so a code change does not reinstall TensorFlow.
COPY setup.py README.md ./
RUN pip install --no-cache-dir "apache-beam==2.77.0" \
    "tensorflow-cpu==2.21.0" "opencv-python-headless==5.0.0.93" "geopandas==1.2.0" \
    "shapely==2.2.0" "pyproj==3.7.2" "pyogrio==0.13.0" "pandas==3.1.1" "numpy==2.4.6" \
    "redis==8.1.0" "duckdb==2.0.1" "pyarrow==25.0.1" "matplotlib==3.11.2" "boto3==1.44.18"
# The code, the sample world and the plate model's weights, baked in: workers
# load nothing at run time.
COPY pipelines/ pipelines/
COPY transforms/ transforms/
COPY geo/ geo/
COPY models/ models/
RUN pip install --no-cache-dir --no-deps . \
    && python -c "import models.records, models.plates.reader"
ENV TF_CPP_MIN_LOG_LEVEL=2
# The base image's entrypoint (/opt/apache/beam/boot) starts the SDK harness.
