#!/bin/sh
# initramfs-tools hook (install.sh --overlay-root): the overlay filesystem's module in the
# initramfs, for SettleGuard's read-only root (scripts/init-bottom/settle-guard-overlay).
PREREQ=""
prereqs() { echo "$PREREQ"; }
case "$1" in
    prereqs) prereqs; exit 0 ;;
esac
# shellcheck disable=SC1091 # initramfs-tools' own
. /usr/share/initramfs-tools/hook-functions
manual_add_modules overlay
# the flag, for init-premount (the root is not mounted yet when it runs)
if [ -e /etc/settle-guard/overlay-root ]; then
    # shellcheck disable=SC2154 # DESTDIR comes from mkinitramfs
    cp /etc/settle-guard/overlay-root "${DESTDIR}/conf/settle-guard-overlay"
fi
