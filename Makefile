# Developer entry points; .ci/run runs `make check` and then the tests, exactly as here.
PYTHON ?= python

.PHONY: check lint format-check types test test-quick bench

check: lint format-check types  ## lint, formatting and types: what CI checks before the tests

lint:
	$(PYTHON) -m ruff check .

format-check:
	$(PYTHON) -m ruff format --check .

types:
	$(PYTHON) -m mypy

test:  ## the README's test command (Debian's chromium for the browser tests)
	$(PYTHON) -m pytest -q

test-quick:  ## while working: all but the browser (Chromium) and Dask cluster tests (markers: pyproject.toml)
	$(PYTHON) -m pytest -q -m "not browser and not cluster"

# The README's speed and video figures. Both need only requirements-test.txt; photos and clips come from
# ../shared/samples (speed.py falls back to a synthetic photo). Other benchmarks, run by hand:
# benchmarks/page_memory.py (chromium), benchmarks/batch.py, benchmarks/hostile.py, and
# benchmarks/quality.py (benchmarks/requirements-bench.txt and held-out photos).
bench:
	$(PYTHON) benchmarks/speed.py
	$(PYTHON) benchmarks/video.py
