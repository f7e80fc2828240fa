# SettleGuard developer entry points. Each target creates and reuses .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint format clean wheels install-test image image-test

$(STAMP): setup.py pyproject.toml firmware/constraints.txt
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { echo "make: Python's venv module is missing: sudo apt-get install python3-venv" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --constraint firmware/constraints.txt -e '.[test]'
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

## wheels: SettleGuard and its dependencies as wheels for firmware/install.sh (offline install),
## at the versions in firmware/constraints.txt; `make wheels ARCH=aarch64` for a 64-bit Pi
wheels:
	bash firmware/build-wheels.sh $(if $(ARCH),--arch $(ARCH)) firmware/wheels

## install-test: install.sh twice in a fresh Debian 12 rootfs (debootstrap, chroot; root), then uninstall
install-test:
	bash firmware/test-install.sh

## image: a flashable image for Raspberry Pi 3, 4, Zero 2 W from Debian bookworm arm64 (root;
## debootstrap, qemu-user-static): build/image/settleguard-VERSION-arm64.img.xz, .sha256, .manifest
image:
	bash firmware/image/build.sh

## image-test: boot that image in QEMU, the simulator on a USB serial adapter, and walk it
image-test: $(STAMP)
	$(PY) firmware/image/boot_test.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@command -v shellcheck >/dev/null || { echo "make: shellcheck is missing: sudo apt-get install shellcheck" >&2; exit 1; }
	shellcheck firmware/*.sh firmware/image/*.sh firmware/overlay/*.sh firmware/pi-gen/stage-settleguard/*.sh firmware/pi-gen/stage-settleguard/*/*.sh

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis firmware/wheels
