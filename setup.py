"""roadchief: camera events to interceptions under the road-chief system (路长制).

The versions pinned here are the project's only list of them: the Makefile and
the worker image's Dockerfile read them with `python -c "import setup; ..."`,
which is why setup() runs only when pip or setuptools run this file.
"""

REQUIREMENTS = [
    "apache-beam==2.77.0",
    "tensorflow-cpu==2.21.0",
    "opencv-python-headless==5.0.0.93",
    "geopandas==1.2.0",
    "shapely==2.2.0",
    "pyproj==3.7.2",
    "pyogrio==0.13.0",
    "pandas==3.1.1",
    "numpy==2.4.6",
    "redis==8.1.0",
    "duckdb==2.0.1",
    "pyarrow==25.0.1",
    "boto3==1.44.18",  # s3:// outputs: Beam's S3 filesystem, the lease and the pointer
    "matplotlib==3.11.2",
    "rich==15.0.0",  # the progress line of long commands on a terminal
    "orjson==3.13.0",  # camera event lines read in a quarter of the standard library's time
]
DEV_REQUIREMENTS = ["pytest==9.2.0", "hypothesis==6.170.17", "fonttools==4.68.0", "kafka-python==3.0.12",
                    "ruff==0.17.6", "mypy==2.4.1"]

# Training and synthetic data stay in the checkout (`pip install -e .`), out of
# the runtime package and the worker image.
CHECKOUT_ONLY = ["models.plates.training", "models.plates.training.*", "geo.synthetic", "geo.synthetic.*"]


def pinned(name: str) -> str:
    """The version pinned for the distribution `name`."""
    versions = dict(requirement.split("==") for requirement in REQUIREMENTS + DEV_REQUIREMENTS)
    return versions[name]


if __name__ == "__main__":
    from setuptools import find_packages, setup

    setup(
        name="roadchief",
        version="0.1.0",
        description="Apache Beam pipeline: camera plate reads → watchlist hits → dispatches "
                    "to the responsible road chiefs and officers",
        python_requires=">=3.11,<3.12",
        packages=find_packages(include=["pipelines*", "transforms*", "models*", "geo*"],
                               exclude=CHECKOUT_ONLY),
        package_data={"geo": ["data/qionghai/*"],
                      "pipelines": ["flink/conf/*", "flink/conf-jobserver/*", "flink/*.pom.xml"],
                      "models": ["plates/weights/*"]},
        install_requires=REQUIREMENTS,
        extras_require={"dev": DEV_REQUIREMENTS},
        entry_points={"console_scripts": ["roadchief=pipelines.cli:main",
                                          "roadchief-worker-boot=pipelines.flink.worker:boot"]},
    )
