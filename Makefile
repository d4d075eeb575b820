# roadchief: `make demo` simulates an hour of Qionghai traffic and two years of incidents,
# runs the pipeline and writes the safety report;
# `make test` lints, then runs the whole test suite; `make test-fast` runs the unit lane (no server,
# no pipeline, no plate model) in under a minute; `make lint` runs ruff and mypy. All create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := out/demo
# Fewer events make a quicker demo: `make demo DEMO_EVENTS=2000` (tests/test_readme.py does).
DEMO_EVENTS := 50000
# The demo's plate key sits beside its tables' folder, never inside it: out/keys/demo.key.
DEMO_KEY = $(dir $(DEMO))keys/demo.key
GOBIN := $(shell go env GOPATH 2>/dev/null)/bin
PRISM := $(GOBIN)/prism
# setup.py holds the pinned versions; Prism and the worker image follow its apache-beam.
BEAM_VERSION := $(shell $(PYTHON) -c 'import setup; print(setup.pinned("apache-beam"))')
TOOLS := .tools
FLINK_VERSION := 1.19.3
JOB_SERVER_VERSION := 2.62.0
FLINK_HOME := $(TOOLS)/flink-$(FLINK_VERSION)
JOB_SERVER := $(TOOLS)/beam-flink-job-server-$(JOB_SERVER_VERSION)/beam-flink-job-server-launcher.jar
VERSITYGW_VERSION := 1.8.0
VERSITYGW := $(TOOLS)/versitygw-$(VERSITYGW_VERSION)/versitygw
KAFKA_HOME := $(TOOLS)/kafka-3.9.1
EXPANSION_SERVICE := $(TOOLS)/beam-kafka-expansion-service-$(JOB_SERVER_VERSION)/beam-kafka-expansion-service-launcher.jar

.PHONY: demo test test-fast lint bench soak prism flink versitygw kafka system-packages worker-image clean

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

demo: $(VENV)/.installed $(DEMO_KEY)
	@mkdir -p $(DEMO)
	$(BIN)/roadchief simulate --out $(DEMO)/events.jsonl --events $(DEMO_EVENTS) --seed 7 --images \
		--incidents $(DEMO)/incidents.jsonl --outcomes $(DEMO)/outcomes.jsonl
	$(BIN)/roadchief run --runner FnApiRunner --events $(DEMO)/events.jsonl --output $(DEMO) \
		--incidents $(DEMO)/incidents.jsonl --outcomes $(DEMO)/outcomes.jsonl \
		--custom_period 2025-11-29..2026-11-28 --plate_key_file $(DEMO_KEY)
	$(BIN)/roadchief report --tables $(DEMO) --out $(DEMO)/report.html

# The demo's own plate key, outside the tables folder as a deployment's must be.
$(DEMO_KEY):
	@mkdir -p -m 700 $(dir $@)
	@umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_hex(32))" > $@

test: lint system-packages $(VENV)/.installed $(PRISM) flink $(VERSITYGW) kafka
	$(BIN)/python -m pytest -q tests

# The lanes are pytest markers (pyproject.toml, tests/lanes.py).
test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest -q -m unit tests

# ruff and mypy as pyproject.toml configures them.
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy

# What the tests start for real: redis-server, and headless Chromium with a font for the report.
system-packages:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
		else \
			echo "make test needs:$$missing. Install them with: sudo apt-get install -y$$missing"; exit 1; \
		fi; \
	fi

bench: $(VENV)/.installed $(PRISM)
	$(BIN)/python bench/bench_pipeline.py
	$(BIN)/python bench/bench_recognition.py
	$(BIN)/python bench/bench_safety.py
	$(BIN)/python bench/bench_interception.py
	$(BIN)/python bench/bench_live.py

soak: $(VENV)/.installed $(PRISM)
	$(BIN)/python bench/bench_soak.py
	$(BIN)/python bench/bench_soak.py --live

prism: $(PRISM)

# Flink and Beam's job server for it: Flink's lib/ from its PyPI distribution (an sdist whose
# deps/ holds the jars), the job server's classpath from Maven Central (pipelines/flink).
flink: $(FLINK_HOME)/lib $(JOB_SERVER)

$(FLINK_HOME)/lib:
	rm -rf $(TOOLS)/flink-download && mkdir -p $(TOOLS)/flink-download $(FLINK_HOME)/bin
	$(PYTHON) -m pip download -q --no-deps --no-binary :all: apache-flink-libraries==$(FLINK_VERSION) \
		-d $(TOOLS)/flink-download
	tar -xzf $(TOOLS)/flink-download/apache*flink*libraries-$(FLINK_VERSION).tar.gz -C $(TOOLS)/flink-download
	cp $(TOOLS)/flink-download/apache*flink*libraries-$(FLINK_VERSION)/deps/bin/bash-java-utils.jar $(FLINK_HOME)/bin/
	mv $(TOOLS)/flink-download/apache*flink*libraries-$(FLINK_VERSION)/deps/lib $(FLINK_HOME)/lib
	rm -rf $(TOOLS)/flink-download

$(JOB_SERVER): pipelines/flink/jobserver.pom.xml
	mvn -q -B -Dstyle.color=never -f pipelines/flink/jobserver.pom.xml -Dout=$(abspath $(dir $(JOB_SERVER))) package

# The Kafka source: Beam's expansion service for KafkaIO at the job server's version, and a
# Kafka broker (KRaft) for the tests, both from Maven Central (pipelines/flink/*.pom.xml).
kafka: $(KAFKA_HOME)/lib $(EXPANSION_SERVICE)

$(KAFKA_HOME)/lib: pipelines/flink/kafka-broker.pom.xml
	mvn -q -B -Dstyle.color=never -f $< -Dout=$(abspath $(KAFKA_HOME)) package
	touch $@

$(EXPANSION_SERVICE): pipelines/flink/expansion.pom.xml
	mvn -q -B -Dstyle.color=never -f $< -Dout=$(abspath $(dir $(EXPANSION_SERVICE))) package

$(PRISM):
	go install github.com/apache/beam/sdks/v2/go/cmd/prism@v$(BEAM_VERSION)

# An S3-compatible object store (versitygw over a folder) that the s3:// output tests start.
versitygw: $(VERSITYGW)

$(VERSITYGW):
	GOBIN=$(abspath $(dir $(VERSITYGW))) go install github.com/versity/versitygw/cmd/versitygw@v$(VERSITYGW_VERSION)

# The SDK harness image for Flink's DOCKER and EXTERNAL environments (Dockerfile).
worker-image:
	docker build --build-arg BEAM_VERSION=$(BEAM_VERSION) -t roadchief-worker:$(BEAM_VERSION) .

clean:
	rm -rf out
