"""roadchief: camera events to interceptions under the road-chief system (路长制)."""
from setuptools import find_packages, setup

setup(
    name="roadchief",
    version="0.1.0",
    description="Apache Beam pipeline: camera plate reads → watchlist hits → dispatches "
                "to the responsible road chiefs and officers",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["pipelines*", "transforms*", "models*", "geo*"]),
    package_data={"geo": ["data/qionghai/*"],
                  "pipelines": ["flink/conf/*", "flink/conf-jobserver/*", "flink/*.pom.xml"],
                  "models": ["plates/weights/*", "plates/fonts/*"]},
    install_requires=[
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
    ],
    extras_require={"dev": ["pytest==9.2.0", "hypothesis==6.170.17", "fonttools==4.68.0",
                            "kafka-python==3.0.12", "ruff==0.17.6", "mypy==2.4.1"]},
    entry_points={"console_scripts": ["roadchief=pipelines.cli:main",
                                      "roadchief-worker-boot=pipelines.flink.worker:boot"]},
)
