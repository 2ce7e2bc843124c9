# The two set-up commands of the README: `make demo` and `make test`.
# Both build .venv from pyproject.toml on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint catalog catalog-check fuzz bench bench-sweep clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/p2pdist demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy keys manifest

# Bytecode first: the environment may set PYTHONDONTWRITEBYTECODE, and the suite starts
# hundreds of daemons that would each compile the packages again.
test: lint
	$(BIN)/python -m compileall -q p2pdist seeder keys manifest
	$(BIN)/pytest -q

# catalog: extract every message (ours and click's) -> update the zh_CN .po -> compile its .mo
# (both shipped in the package). Translate the new empty msgstr in the .po, then run it again.
catalog: $(STAMP)
	$(BIN)/python scripts/catalog.py

# catalog-check: fail if a message of the code has no translation.
catalog-check: $(STAMP)
	$(BIN)/python scripts/catalog.py --check

# fuzz: every untrusted entry point (tests/fuzz/, 7 targets) for FUZZ_SECONDS each (~10 min in
# all); one JSON line per target (examples, max RSS growth of a call, CPU) goes to FUZZ_REPORT.
FUZZ_SECONDS ?= 85
FUZZ_REPORT ?= fuzz-report.jsonl
fuzz: $(STAMP)
	rm -f $(FUZZ_REPORT)
	P2PDIST_FUZZ_SECONDS=$(FUZZ_SECONDS) P2PDIST_FUZZ_REPORT=$(abspath $(FUZZ_REPORT)) \
		$(BIN)/pytest -q -p no:cacheprovider -m fuzz tests/fuzz
	cat $(FUZZ_REPORT)

# bench: release-build throughput, the scale benchmark (1, 5, 10 GB on disk under /var/tmp;
# ~30 min), then the update-time benchmark with the real daemons on a network-namespace
# testbed (root or `unshare -Urnm`, see bench/README.md; ~15 min for central, mirror and the
# swarm's start modes and lossy run, ~10 min more for the four fault scenarios) and its flow model.
bench: $(STAMP)
	$(BIN)/python bench/release_build.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/update_time.py
	$(BIN)/python bench/model.py --compare bench/results/update_time.json --province

# bench-sweep: N = 6, 12, 24, 48 (6 boxes per site, F = 8 MiB), real daemons, model beside each.
bench-sweep: $(STAMP)
	$(BIN)/python bench/update_time.py --sweep

clean:
	rm -rf $(VENV) build *.egg-info
