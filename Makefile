# Two entry points: `make run` (set up, load demo data, serve on :8080 with simulated
# devices) and `make test` (set up, run the whole suite). Both work on a fresh Debian or
# Raspberry Pi OS machine as root or with sudo.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := python3-venv libzbar0 espeak-ng chromium fonts-wqy-microhei socat
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: run test install system-packages translations bench clean

run: install
	$(BIN)/kiosk demo load
	$(BIN)/kiosk serve

test: install
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider $(PYTEST_ARGS)

install: system-packages $(STAMP) translations

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

bench: install
	$(BIN)/python bench/ticket_issue.py

clean:
	rm -rf $(VENV) var build *.egg-info
