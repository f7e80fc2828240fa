#!/bin/bash -e
# pi-gen sub-stage: copy SettleGuard into the image, build its wheels there (the image's own
# Python and architecture, under qemu) and run install.sh in the chroot, through the steps
# `make image` runs too (firmware/image/steps.sh). Nothing is started:
# the service and the first-boot unit are enabled for the card's first boot.
#
# The repository is the one this stage lives in (firmware/pi-gen/stage-settleguard), or
# SETTLE_GUARD_SRC when the pi-gen config exports it. SETTLE_GUARD_OPTS adds install.sh
# options, e.g. "--rtc" for a DS3231 or "--display sh1106".

src="${SETTLE_GUARD_SRC:-$(realpath "${STAGE_DIR}/../../..")}"
if [ ! -f "${src}/firmware/install.sh" ] || [ ! -f "${src}/setup.py" ]; then
	echo "stage-settleguard: no SettleGuard repository at ${src}: export SETTLE_GUARD_SRC in the pi-gen config" >&2
	exit 1
fi

dest="${ROOTFS_DIR}/opt/settle-guard-src"
rm -rf "${dest}"
mkdir -p "${dest}"
# the sources only: no virtualenv, caches or wheels built for another machine
tar -C "${src}" --exclude=.git --exclude=.venv --exclude=./firmware/wheels --exclude=./build \
	--exclude='*.egg-info' --exclude=__pycache__ --exclude=.pytest_cache --exclude=.hypothesis \
	--exclude=.ruff_cache --exclude=demo-out --exclude=.benchmarks -cf - . | tar -C "${dest}" -xf -

# the same steps as `make image` (firmware/image/steps.sh): wheels, then install.sh --image
on_chroot <<CHROOT
bash /opt/settle-guard-src/firmware/image/steps.sh /opt/settle-guard-src ${SETTLE_GUARD_OPTS:-}
CHROOT

# install.sh copied what the image keeps (venv, units, firstboot.sh); the sources go
rm -rf "${dest}"
