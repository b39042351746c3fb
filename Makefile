# The two commands: `make baseline` runs the main job, `make test` runs the checks and tests.
# Both create the virtual environment (.venv, Python 3.12+) when it is missing.

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTHON ?= $(shell for p in python3.12 python3.13 python3; do $$p -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null && command -v $$p && break; done)

.PHONY: baseline test browser lint env clean

baseline: $(STAMP)
	$(VENV)/bin/escalation run scenarios/baseline.yaml

test: $(STAMP) browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q

# The dashboard's browser test drives Debian's Chromium: installed here when missing.
APT := $(if $(filter 0,$(shell id -u)),,sudo) apt-get
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Chromium for the dashboard's browser test"; \
	  $(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq chromium >/dev/null; }

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

env: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is needed: install it, or run make PYTHON=/path/to/python3.12"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[test]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) results/*/ .pytest_cache .ruff_cache .mypy_cache *.egg-info
