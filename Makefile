# The two set-up commands of the README: `make demo` and `make test`.
# Both build .venv from pyproject.toml on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint catalog catalog-check bench bench-sweep clean

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

test: lint
	$(BIN)/pytest -q

# catalog: extract every message (ours and click's) -> update the zh_CN .po -> compile its .mo
# (both shipped in the package). Translate the new empty msgstr in the .po, then run it again.
catalog: $(STAMP)
	$(BIN)/python scripts/catalog.py

# catalog-check: fail if a message of the code has no translation.
catalog-check: $(STAMP)
	$(BIN)/python scripts/catalog.py --check

# bench: release-build throughput, then the update-time benchmark on a network-namespace
# testbed (root or `unshare -Urnm`, see bench/README.md; ~12 min) and its flow model.
bench: $(STAMP)
	$(BIN)/python bench/release_build.py
	$(BIN)/python bench/update_time.py
	$(BIN)/python bench/model.py --compare bench/results/update_time.json --province

bench-sweep: $(STAMP)
	$(BIN)/python bench/update_time.py --sweep

clean:
	rm -rf $(VENV) build *.egg-info
