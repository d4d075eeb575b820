# roadchief: `make demo` simulates an hour of Qionghai traffic and two years of incidents,
# runs the pipeline and writes the safety report;
# `make test` runs the test suite. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := out/demo
GOBIN := $(shell go env GOPATH 2>/dev/null)/bin
PRISM := $(GOBIN)/prism
BEAM_VERSION := 2.77.0

.PHONY: demo test bench soak prism system-packages clean

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

demo: $(VENV)/.installed $(DEMO)/plate.key
	$(BIN)/roadchief simulate --out $(DEMO)/events.jsonl --events 50000 --seed 7 --images \
		--incidents $(DEMO)/incidents.jsonl --outcomes $(DEMO)/outcomes.jsonl
	$(BIN)/roadchief run --runner FnApiRunner --events $(DEMO)/events.jsonl --output $(DEMO) \
		--incidents $(DEMO)/incidents.jsonl --outcomes $(DEMO)/outcomes.jsonl \
		--custom_period 2025-11-29..2026-11-28 --plate_key_file $(DEMO)/plate.key
	$(BIN)/roadchief report --tables $(DEMO) --out $(DEMO)/report.html

# The demo's own plate key; a deployment keeps its key outside the output folder.
$(DEMO)/plate.key:
	@mkdir -p $(DEMO)
	@umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_hex(32))" > $@

test: system-packages $(VENV)/.installed $(PRISM)
	$(BIN)/python -m pytest -q tests

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
	$(BIN)/python bench/bench_live.py

soak: $(VENV)/.installed $(PRISM)
	$(BIN)/python bench/bench_soak.py
	$(BIN)/python bench/bench_soak.py --live

prism: $(PRISM)

$(PRISM):
	go install github.com/apache/beam/sdks/v2/go/cmd/prism@v$(BEAM_VERSION)

clean:
	rm -rf out
