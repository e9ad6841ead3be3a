# Set-up is two commands: `make demo` and `make test`. Both create .venv on first use.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# pytest-xdist workers; the machines here have 2 cores.
JOBS   ?= 2
DEMO_OUT ?= demo_out

.PHONY: install test demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU build of torch first, pinned, so nothing below can pull a CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

test: install
	$(PY) -m pytest -n $(JOBS) -q

demo: install
	$(VENV)/bin/cnnlab demo --out $(DEMO_OUT)

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) build *.egg-info
