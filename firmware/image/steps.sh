#!/usr/bin/env bash
# The steps that make a Raspberry Pi system a SettleGuard appliance, run as root inside the
# image's root (a chroot): by `make image` (build.sh, Debian's archive) and by the pi-gen
# stage (Raspberry Pi OS). One list for both.
#   steps.sh SRC [install.sh options]    SRC: the repository's copy inside the root
# Wheels: SRC/firmware/wheels if it holds them (built for arm64 outside), else built here.
set -euo pipefail
src="$1"
shift
export DEBIAN_FRONTEND=noninteractive

# 1. what install.sh needs to run: Python's venv (the rest it installs itself)
if ! dpkg-query -W -f='${Status}' python3-venv 2>/dev/null | grep -q 'ok installed'; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi

# 2. the wheels, at the pinned versions
if ! compgen -G "$src/firmware/wheels/settle_guard-*.whl" >/dev/null; then
    bash "$src/firmware/build-wheels.sh" "$src/firmware/wheels"
fi

# 2b. lgpio (the light, buzzer and button through the kernel's GPIO chip): Raspberry Pi OS
# packages it as python3-lgpio, Debian's archive does not, so it is compiled here
if ! apt-cache show python3-lgpio >/dev/null 2>&1 &&
    compgen -G "$src/firmware/wheels/lgpio-*.tar.gz" >/dev/null; then
    bash "$src/firmware/build-lgpio.sh" "$src/firmware/wheels"
fi

# 3. the guard: nothing started, the first boot clears web logins and sets the hostname
bash "$src/firmware/install.sh" --image --no-start --wheels "$src/firmware/wheels" "$@"
