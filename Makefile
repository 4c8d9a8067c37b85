# Two entry points (see README): `make demo` runs the end-to-end demo, `make test` runs the tests.
# Both create .venv with Python 3.12 and install the project (pinned by constraints.txt) when needed.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
DEMO_OUT ?= demo-output

.PHONY: demo test lint bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@PYBIN=$$(command -v python3.12 || command -v python3); \
	  $$PYBIN -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python >= 3.12 is needed (pyenv: see .python-version)")' && \
	  { [ -x $(PY) ] || $$PYBIN -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/forecast demo --out $(DEMO_OUT) --force

# pytest exits 5 when a filter selects no tests: that is not a failure here.
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 5 ]

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) benchmarks/bench_default_fit.py

clean:
	rm -rf $(VENV) $(DEMO_OUT)
