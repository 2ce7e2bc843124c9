# The two set-up commands of the README: `make demo` and `make test`.
# Both build .venv from pyproject.toml on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench bench-sweep clean

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

# bench: release-build throughput, the scale benchmark (1, 5, 10 GB on disk under /var/tmp;
# ~30 min), then the update-time benchmark on a network-namespace
# testbed (root or `unshare -Urnm`, see bench/README.md; ~12 min) and its flow model.
bench: $(STAMP)
	$(BIN)/python bench/release_build.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/update_time.py
	$(BIN)/python bench/model.py --compare bench/results/update_time.json --province

bench-sweep: $(STAMP)
	$(BIN)/python bench/update_time.py --sweep

clean:
	rm -rf $(VENV) build *.egg-info
