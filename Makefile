# SettleGuard developer entry points. Each target creates and reuses .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint format clean wheels install-test

$(STAMP): setup.py pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { echo "make: Python's venv module is missing: sudo apt-get install python3-venv" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

## demo: the built-in terminal simulator on a pty, with status, totals and a settlement
demo: $(STAMP)
	$(PY) -m pi_agent demo

## test: the whole test suite (real ptys, sockets and subprocesses)
test: $(STAMP)
	$(PY) -m pytest -q

## bench: poll round trip against the ZVT and POSLink simulators, start-up, agent, push, page, store, fleet (the agent on a broker; 1,000 guards on Mosquitto) (prints figures)
bench: $(STAMP)
	$(PY) bench/bench_poll.py
	$(PY) bench/bench_start.py
	$(PY) bench/bench_agent.py
	$(PY) bench/bench_notify.py
	$(PY) bench/bench_web.py
	$(PY) bench/bench_store.py
	$(PY) bench/bench_fleet.py
	$(PY) bench/bench_fleet_agent.py

## wheels: SettleGuard and its dependencies as wheels for firmware/install.sh (offline install)
wheels:
	bash firmware/build-wheels.sh firmware/wheels

## install-test: install.sh twice in a fresh Debian 12 rootfs (debootstrap, chroot; root), then uninstall
install-test:
	bash firmware/test-install.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@command -v shellcheck >/dev/null || { echo "make: shellcheck is missing: sudo apt-get install shellcheck" >&2; exit 1; }
	shellcheck firmware/*.sh firmware/pi-gen/stage-settleguard/*.sh firmware/pi-gen/stage-settleguard/*/*.sh

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis firmware/wheels
