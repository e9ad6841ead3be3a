# Set-up is two commands: `make demo` and `make test`. Both create .venv on first use.
#
# torch: the CPU build unless GPU=1 (`make install GPU=1` for the CUDA build). pip keeps this
# machine's own configuration (pip.conf, PIP_* variables: a mirror, a local wheel folder, a
# constraints file can all serve the CPU wheel); the CPU index is only added to it.
VENV   := .venv
PY     := $(VENV)/bin/python
# pytest-xdist workers; the machines here have 2 cores.
JOBS   ?= 2
DEMO_OUT ?= demo_out

TORCH_VERSION := 2.13.0
CPU_INDEX     := https://download.pytorch.org/whl/cpu
# Retries for the torch step only (pip's default, 5, spends ~8 s when the CPU index's host
# cannot be resolved); a PIP_RETRIES of your own wins.
TORCH_RETRIES ?= $(or $(PIP_RETRIES),1)

GPU ?= 0
ifeq ($(GPU),1)
  BUILD := cuda
  OTHER := cpu
  # `===` is exact: 2.13.0 itself (the index's default wheel, a CUDA build), never a local
  # 2.13.0+cpu wheel that `==2.13.0` would also accept and pip would prefer.
  TORCH_REQ  := torch===$(TORCH_VERSION)
  TORCH_FROM :=
  TORCH_HELP := the CUDA build of torch ($(TORCH_REQ)) could not be installed from the package index: see pip's error above, or use the CPU build (make install, without GPU=1)
else ifeq ($(GPU),0)
  BUILD := cpu
  OTHER := cuda
  TORCH_REQ  := torch==$(TORCH_VERSION)+cpu
  TORCH_FROM := --extra-index-url $(CPU_INDEX) --retries $(TORCH_RETRIES)
  TORCH_HELP := the CPU build of torch ($(TORCH_REQ)) was found neither at $(CPU_INDEX) nor through this machine's pip configuration: reach that index, or point PIP_EXTRA_INDEX_URL at a mirror of it, or put the wheel in a folder named by PIP_FIND_LINKS, or run make install GPU=1 for the CUDA build (several GB)
else
  $(error GPU must be 0 (the CPU build of torch) or 1 (the CUDA build), not '$(GPU)')
endif

# The stamp's name says which build .venv holds (its text is the install's check): switching
# GPU=0/1 reinstalls, and a venv holding the other build is recreated (its CUDA libraries,
# ~3.7 GB, would otherwise stay behind).
STAMP := $(VENV)/.installed-$(BUILD)

# A second venv with the torch a user's pip gets by default (the CUDA build), for
# `make test-cuda-build`: pip sees none of this machine's configuration there.
CUDA_VENV  := .venv-cuda
CUDA_PY    := $(CUDA_VENV)/bin/python
CUDA_STAMP := $(CUDA_VENV)/.installed-cuda
USER_PIP    = env $$(env | sed -n 's/^\(PIP_[A-Za-z0-9_]*\)=.*/-u \1/p') PIP_CONFIG_FILE=/dev/null
# The sandbox, hostile-submission and assignment-grading tests (test_demo grades the bundled
# correct samples of all three assignments, test_correct_samples each one alone); a file
# not (yet) in tests/ is skipped.
CUDA_TESTS := tests/test_sandbox.py tests/test_sandbox_layers.py tests/test_hostile.py \
              tests/test_grade_sandbox.py tests/test_redteam.py tests/test_correct_samples.py \
              tests/test_grade.py tests/test_demo.py

.PHONY: install test demo bench clean test-cuda-build system-packages browser

install: $(STAMP)

$(STAMP): pyproject.toml
	@if [ -x $(PY) ] && $(PY) -m autograder.torch_build --expect $(OTHER) >/dev/null 2>&1; then \
	  echo "$(VENV) holds the $(OTHER) build of torch; recreating it for the $(BUILD) build"; \
	  rm -rf $(VENV); fi
	@$(MAKE) --no-print-directory system-packages
	python3 -m venv $(VENV)
	rm -f $(VENV)/.installed*
	$(PY) -m pip install -q --upgrade pip
	# torch first, the build asked for, so nothing below can pull another one.
	@echo "$(PY) -m pip install -q $(TORCH_FROM) $(TORCH_REQ)"
	@$(PY) -m pip install -q $(TORCH_FROM) $(TORCH_REQ) || { echo "make install: $(TORCH_HELP)" >&2; exit 1; }
	$(PY) -m pip install -q -e '.[dev]'
	@$(PY) -m autograder.torch_build --expect $(BUILD) > $(STAMP).tmp || { \
	  echo "make install: $(VENV) did not end up with the $(BUILD) build of torch asked for" >&2; exit 1; }
	@mv $(STAMP).tmp $(STAMP) && cat $(STAMP)

# The sandbox's seccomp layer uses the system's libseccomp (Debian's libseccomp2); as root
# with apt, it is installed when missing, otherwise the install says how to get it (without
# it the sandbox runs with its other layers, and says so).
system-packages:
	@if ! ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2'; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq libseccomp2; \
	  else echo "make install: libseccomp2 is missing (apt-get install libseccomp2): the sandbox will run without its seccomp layer" >&2; fi; fi

# The report's tests open report.html in a real browser, Debian's chromium: as root with apt,
# it is installed when missing; otherwise, or when apt cannot reach its mirrors, the set-up
# goes on and says so, and those tests skip with that reason (under CI=true they fail).
CHROMIUM ?= chromium
browser:
	@if ! command -v $(CHROMIUM) >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    { apt-get update -qq && apt-get install -y -qq chromium; } || \
	      echo "make browser: apt-get could not install chromium: the report's browser tests will skip" >&2; \
	  else echo "make browser: chromium is missing (apt-get install chromium): the report's browser tests will skip" >&2; fi; fi

test: install browser
	$(PY) -m pytest -n $(JOBS) -q --durations=15

demo: install
	$(VENV)/bin/cnnlab demo --out $(DEMO_OUT)

bench: install
	$(PY) bench/run_all.py

# The grader under the CUDA build of torch, on any machine (no GPU needed): a user-like pip
# (the package index only) installs torch===$(TORCH_VERSION) (~2.7 GB of wheels; pip's cache
# keeps them), then the project with torch held where it is.
$(CUDA_STAMP): pyproject.toml
	python3 -m venv $(CUDA_VENV)
	rm -f $(CUDA_STAMP)
	$(USER_PIP) $(CUDA_PY) -m pip install -q --upgrade pip
	$(USER_PIP) $(CUDA_PY) -m pip install -q torch===$(TORCH_VERSION)
	echo 'torch===$(TORCH_VERSION)' > $(CUDA_VENV)/constraints.txt
	$(USER_PIP) $(CUDA_PY) -m pip install -q -c $(CUDA_VENV)/constraints.txt -e '.[dev]'
	@$(CUDA_PY) -m autograder.torch_build --expect cuda > $(CUDA_STAMP).tmp || { \
	  echo "make test-cuda-build: $(CUDA_VENV) did not get a CUDA build of torch" >&2; exit 1; }
	@mv $(CUDA_STAMP).tmp $(CUDA_STAMP) && cat $(CUDA_STAMP)

CUDA_FOUND   = $(strip $(foreach t,$(CUDA_TESTS),$(if $(wildcard $(t)),$(t))))
CUDA_MISSING = $(strip $(foreach t,$(CUDA_TESTS),$(if $(wildcard $(t)),,$(t))))

test-cuda-build: $(CUDA_STAMP)
	@$(if $(CUDA_MISSING),echo "test-cuda-build: skipped (not in tests/): $(CUDA_MISSING)")
	$(CUDA_PY) -m pytest -n $(JOBS) -q $(CUDA_FOUND)

clean:
	rm -rf $(VENV) $(CUDA_VENV) $(DEMO_OUT) build *.egg-info
