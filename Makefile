# pfs — the two commands a newcomer needs: `make app` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8501

.PHONY: app test lint typecheck unit e2e browser libreoffice bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall whenever the project's metadata changes.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

## Start the Streamlit app on the default scenario.
app: $(STAMP)
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.headless true --browser.gatherUsageStats false

## Lint, type-check and run the whole test suite (browser tests included).
test: $(STAMP) browser libreoffice lint typecheck
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check pfs tests benchmarks scripts app.py
	$(VENV)/bin/ruff format --check pfs tests benchmarks scripts app.py

typecheck: $(STAMP)
	$(VENV)/bin/mypy pfs

## Debian's chromium for the browser tests (never a downloaded browser build).
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "chromium could not be installed: browser tests will skip (they fail under CI=true)"; \
	else echo "chromium missing and not root: browser tests will skip (apt-get install chromium to enable)"; fi

## LibreOffice (headless) to check that generated workbooks open cleanly.
libreoffice:
	@if command -v soffice >/dev/null; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  echo "Installing LibreOffice Calc (headless) for the workbook test"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-calc-nogui >/dev/null) \
	    || echo "LibreOffice could not be installed: the workbook conversion test will skip (fails under CI=true)"; \
	else echo "soffice missing and not root: the workbook conversion test will skip"; fi

unit: $(STAMP)
	$(PY) -m pytest -m "not e2e"

e2e: $(STAMP) browser
	$(PY) -m pytest tests/e2e

## Speed and memory benchmarks: printed figures and ratios, never asserted.
bench: $(STAMP)
	$(PY) benchmarks/bench_engine.py
	$(PY) benchmarks/bench_analysis.py
	$(PY) benchmarks/bench_scale.py --full --cli
	$(PY) benchmarks/bench_sweep.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis artifacts
