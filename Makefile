# Two entry points: `make run` (set up, load demo data, serve on :8080 with simulated
# devices) and `make test` (set up, check the import contracts, lint and types, run the
# whole suite). Both work on a fresh Debian or Raspberry Pi OS machine as root or with
# sudo. `sudo make install` turns the box into an installed front desk (systemd units,
# /opt/kiosk, /etc/kiosk, udev rules; see docs/operator-guide.md); the developer setup
# the others use is `make setup`.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := python3-venv libzbar0 espeak-ng alsa-utils chromium fonts-wqy-microhei socat systemd postgresql libpq5
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: run test setup install uninstall docs system-packages translations bench clean

run: setup
	$(BIN)/kiosk demo load
	$(BIN)/kiosk serve

test: setup
	$(MAKE) --no-print-directory lint
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider $(PYTEST_ARGS)

setup: system-packages $(STAMP) translations

# The import contracts (.importlinter), ruff and mypy (configured in pyproject.toml);
# `make test` runs this first.
.PHONY: lint
lint: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check .
	$(BIN)/mypy

# The edge box (root): DESTDIR=/tmp/stage stages into a folder without touching the system,
# PREFIX (default /opt/kiosk), SKIP_VENV=1, PIP_ARGS: see deploy/install.sh.
install uninstall:
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" SKIP_VENV="$(SKIP_VENV)" PIP_ARGS="$(PIP_ARGS)" \
	  PYTHON="$(PYTHON)" KIOSK_CMD="$(KIOSK_CMD)" deploy/install.sh $@

# Files generated from the config schema (tests/deploy checks they are up to date).
docs: $(STAMP)
	$(BIN)/kiosk config reference > docs/config-reference.md
	$(BIN)/kiosk config example > deploy/kiosk.toml.example

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

translations: $(STAMP)
	$(BIN)/pybabel compile -d kiosk/web/translations
	$(BIN)/pybabel compile -d sync/central/translations

bench: setup
	$(BIN)/python bench/ticket_issue.py

clean:
	rm -rf $(VENV) var build *.egg-info
